"""The :class:`Clock` protocol: the only place the runtime reads time, sets timers or waits.

Every timestamp, session timer and emulated execution time in the core goes through a
:class:`Clock`. :class:`~.real.RealClock` is wall time. :class:`~.virtual.VirtualClock`
is time that moves only when it is told to (``clock.advance("10m")``), which lets tests
and users check session timeouts in milliseconds of real time; its module documents the
no-deadlock rule.

"Idle" is tracked with :meth:`Clock.hold`: the runtime holds an
:class:`~.timers.Activity` from the moment it dispatches a job until the job's computation
is over, and a virtual clock holds one while it runs timer callbacks.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Protocol, runtime_checkable

from .timers import Activity, Timer

__all__ = ["Clock"]


@runtime_checkable
class Clock(Protocol):
    """What the runtime needs from time. Implementations must be thread-safe."""

    #: True for clocks whose time is not wall time.
    virtual: bool

    def now(self) -> float:
        """Current time as POSIX seconds (UTC)."""
        ...

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` once the clock reaches ``when`` (at once if already past)."""
        ...

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        """Run ``callback()`` ``delay`` seconds from now."""
        ...

    def hold(self) -> Activity:
        """Mark the runtime busy until the returned activity is released (see module doc)."""
        ...

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        cond: threading.Condition,
    ) -> bool:
        """Block until ``predicate()`` is true or ``timeout`` clock seconds pass.

        ``cond`` is the condition that is notified whenever the predicate may have become
        true; the caller must not hold it. The predicate is evaluated while holding it.

        Returns:
            The last value of ``predicate()`` (False on timeout).
        """
        ...

    def sleep(self, seconds: float) -> None:
        """Block the calling thread for ``seconds`` of clock time."""
        ...

    def close(self) -> None:
        """Stop background threads; pending timers no longer fire. Idempotent."""
        ...
