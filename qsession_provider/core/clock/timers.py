"""Timer handles, runtime activities and duration strings, shared by every clock."""

from __future__ import annotations

import logging
import math
import re
import threading
from collections.abc import Callable

from ...errors import InputError

__all__ = ["Activity", "Timer", "parse_duration", "NO_ACTIVITY"]

_log = logging.getLogger(__name__)

_UNIT_SECONDS = {"d": 86400.0, "h": 3600.0, "m": 60.0, "s": 1.0, "ms": 1e-3, "us": 1e-6}
_TOKEN = r"(\d+(?:\.\d+)?|\.\d+)\s*(ms|us|d|h|m|s)"
_DURATION_RE = re.compile(rf"\s*(?:{_TOKEN}\s*)+", re.IGNORECASE)
_TOKEN_RE = re.compile(_TOKEN, re.IGNORECASE)


def parse_duration(value: float | int | str) -> float:
    """Seconds in ``value``: a number of seconds or a string such as ``"1h 30m"``.

    Strings are a sequence of ``<number><unit>`` with units ``d``, ``h``, ``m``, ``s``,
    ``ms`` and ``us`` (``"10m"``, ``"1h 30m"``, ``"500ms"``, ``"2h 30m 40s"``, ``"1.5s"``);
    a bare number string (``"90"``) is seconds.

    Raises:
        InputError: negative, not finite, a bool, or a string that is not a duration.
    """
    if isinstance(value, bool):
        raise InputError(f"invalid duration {value!r}: expected seconds or a string like '10m'")
    if isinstance(value, str):
        text = value.strip()
        try:
            seconds = float(text)
        except ValueError:
            if not text or not _DURATION_RE.fullmatch(text):
                raise InputError(
                    f"invalid duration {value!r}: expected seconds or a string like "
                    "'10m', '1h 30m', '500ms'"
                ) from None
            seconds = sum(
                float(num) * _UNIT_SECONDS[unit.lower()] for num, unit in _TOKEN_RE.findall(text)
            )
    elif isinstance(value, (int, float)):
        seconds = float(value)
    else:
        raise InputError(
            f"invalid duration {value!r}: expected seconds or a string like '10m', "
            f"got {type(value).__name__}"
        )
    if not math.isfinite(seconds) or seconds < 0:
        raise InputError(f"invalid duration {value!r}: must be finite and >= 0")
    return seconds


class Timer:
    """A callback scheduled on a clock; :meth:`cancel` stops it if it has not fired."""

    __slots__ = ("when", "callback", "_cancelled", "_fired")

    def __init__(self, when: float, callback: Callable[[], object]) -> None:
        self.when = when
        self.callback = callback
        self._cancelled = False
        self._fired = False

    def cancel(self) -> bool:
        """Cancel the timer. Returns False if it already fired (or was cancelled)."""
        if self._fired or self._cancelled:
            return False
        self._cancelled = True
        # The entry may sit in the clock's heap until its due time: let go of the closure.
        self.callback = _noop
        return True

    @property
    def cancelled(self) -> bool:
        """True once :meth:`cancel` succeeded."""
        return self._cancelled

    def _run(self) -> None:
        if self._cancelled:
            return
        self._fired = True
        try:
            self.callback()
        except Exception:  # a broken callback must not kill the clock
            _log.exception("timer callback %r failed", self.callback)


class Activity:
    """Marks the runtime busy on a clock until :meth:`release` (idempotent, thread-safe)."""

    __slots__ = ("_release", "_lock")

    def __init__(self, release: Callable[[], None] | None) -> None:
        self._release = release
        self._lock = threading.Lock()

    def release(self) -> None:
        """End the activity; later calls do nothing."""
        with self._lock:
            release, self._release = self._release, None
        if release is not None:
            release()

    def __enter__(self) -> Activity:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


#: The activity of clocks that do not track activity.
NO_ACTIVITY = Activity(None)


def _noop() -> None:
    """What a cancelled timer holds instead of its callback."""
