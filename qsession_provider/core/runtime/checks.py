"""Checks and encodings for arguments the runtime accepts (internal to the core).

Every check raises :class:`~qsession_provider.errors.InputError` with a message naming the
argument, before anything is changed.
"""

from __future__ import annotations

import os
import random
import threading
import time
from collections.abc import Iterable
from datetime import datetime
from typing import Any

from ...errors import InputError, StoreError
from ..clock import parse_duration
from ..ir.encoding import dumps, loads, to_jsonable
from ..ir.payload import PROGRAMS, payload_from_json
from ..job_record import JobStatus

__all__ = [
    "check_text",
    "check_name",
    "check_tags",
    "new_id",
    "positive_duration",
    "paging",
    "timestamp",
    "statuses",
    "encode",
    "decode_payload",
    "decode_result",
]


def check_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, got {type(value).__name__}")
    return value


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{what} must be a non-empty string, got {value!r}")
    return value


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise InputError(f"tags must be a list of strings, got the string {tags!r}")
    try:
        out = tuple(tags)
    except TypeError:
        raise InputError(f"tags must be a list of strings, got {tags!r}") from None
    for tag in out:
        if not isinstance(tag, str):
            raise InputError(f"tags must be strings, got {tag!r}")
    return out


class _IdSource:
    """New ids: version-7 UUIDs (RFC 9562), made without a system call each.

    A version-7 UUID starts with the time in milliseconds, so ids made one after the other
    sort in that order: the store's id indexes then grow at their end, where a random id
    (version 4) would dirty a different index page for every job (twice the store's work
    per job, growing with the store). Within one millisecond the 12 bits after the version
    count up from a random start; the last 62 bits are random. Unique, not secret: the
    generator is seeded from ``os.urandom``, ours alone (``random.seed`` in user code
    cannot make ids repeat) and reseeded in a forked child.
    """

    def __init__(self) -> None:
        self._random = random.Random()
        self._last_ms = 0
        self._count = 0
        self.reseed()
        os.register_at_fork(after_in_child=self.reseed)

    def reseed(self) -> None:
        self._random.seed(os.urandom(32))
        # (Re)made here: a lock some other thread held at fork would stay held in the child.
        self._lock = threading.Lock()

    def __call__(self) -> str:
        rand = self._random.getrandbits(73)
        with self._lock:
            ms = time.time_ns() // 1_000_000
            if ms > self._last_ms:
                self._last_ms, self._count = ms, rand >> 62  # start low: room to count up
            else:  # same millisecond (or the clock went back): count on, never repeat
                self._count += 1
                if self._count > 0xFFF:
                    self._last_ms, self._count = self._last_ms + 1, 0
            ms, count = self._last_ms, self._count
        value = (ms & 0xFFFF_FFFF_FFFF) << 80 | 0x7 << 76 | count << 64 | 0b10 << 62
        h = f"{value | rand & 0x3FFF_FFFF_FFFF_FFFF:032x}"
        return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


random_id = _IdSource()


def new_id(value: str | None, what: str) -> str:
    """``value`` checked as a name, or a new id (a version-7 UUID)."""
    if value is None:
        return random_id()
    return check_name(value, what)


def positive_duration(value: Any, default: float, what: str) -> float:
    if value is None:
        return default
    seconds = parse_duration(value)
    if seconds <= 0:
        raise InputError(f"{what} must be > 0, got {value!r}")
    return seconds


def paging(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def timestamp(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.timestamp()
    raise InputError(f"expected a timestamp or datetime, got {value!r}")


def statuses(status: Any) -> frozenset[JobStatus]:
    items = [status] if isinstance(status, (str, JobStatus)) else list(status)
    out = set()
    for item in items:
        try:
            out.add(JobStatus(item.upper() if isinstance(item, str) else item))
        except ValueError:
            allowed = ", ".join(s.value for s in JobStatus)
            raise InputError(f"unknown job status {item!r}; expected one of {allowed}") from None
    return frozenset(out)


def encode(value: Any, what: str) -> str:
    try:
        text = getattr(value, "to_json_text", None)
        if text is not None:
            return str(text())
        return dumps(value.to_json() if hasattr(value, "to_json") else value)
    except StoreError as exc:
        raise InputError(f"the {what} cannot be stored: {exc}") from None


def check_storable(value: Any, what: str) -> None:
    """Check that the store's encoding can hold ``value``.

    Raises:
        InputError: it cannot (the message names the type).
    """
    try:
        to_jsonable(value)
    except StoreError as exc:
        raise InputError(f"the {what} cannot be stored: {exc}") from None


def decode_payload(program_id: str, text: str) -> Any:
    data = loads(text)
    return payload_from_json(program_id, data) if program_id in PROGRAMS else data


def decode_result(text: str | None) -> Any:
    return None if text is None else loads(text)
