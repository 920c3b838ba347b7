"""New job and session ids: version-7 UUIDs (RFC 9562), made without a system call each."""

from __future__ import annotations

import os
import random
import threading
import time

from .checks import check_name

__all__ = ["IdSource", "new_id", "random_id"]


class IdSource:
    """A callable that returns a new version-7 UUID string each call.

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
        """Draw a new seed (and a new lock): at creation and in a forked child."""
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


#: The process's id source (one per process: ids stay in order across runtimes).
random_id = IdSource()


def new_id(value: str | None, what: str) -> str:
    """``value`` checked as a name, or a new id (a version-7 UUID).

    Raises:
        InputError: ``value`` is not a non-empty string.
    """
    if value is None:
        return random_id()
    return check_name(value, what)
