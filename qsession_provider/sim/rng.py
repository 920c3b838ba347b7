"""The random generators jobs draw from.

A seeded job draws from ``np.random.default_rng(seed)``, so the same seed gives the same
bits. Building a Generator costs ~10 us (seed mixing), more than a whole tiny job, so
:class:`JobRandom` keeps the initial state of ``default_rng(seed)`` per seed and loads it
into a generator kept per thread. Unseeded jobs share the process's generator
(:func:`shared_generator`): successive jobs draw disjoint parts of its stream, and a forked
child makes its own.
"""

from __future__ import annotations

import os
import threading
from typing import Any

import numpy as np

__all__ = ["JobRandom", "SharedGenerator", "shared_generator"]

_SEED_STATES_KEPT = 256
_BUFFERED = 4096  # uniforms the shared generator draws at a time


class SharedGenerator(np.random.Generator):
    """A generator for unseeded jobs (fresh OS entropy), safe to share between threads.

    ``random(n)`` for small ``n`` hands out uniforms from a buffer filled in bulk: every
    array draw of a numpy generator releases the GIL, and taking it back costs a thread
    switch (~10 us) whenever another thread of the runtime is busy. Each uniform is used
    once, so jobs still draw disjoint parts of one stream.
    """

    def __init__(self) -> None:
        super().__init__(np.random.PCG64())
        self._buffer = np.empty(0)
        self._next = 0
        self._buffer_lock = threading.Lock()

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        """:meth:`numpy.random.Generator.random`."""
        if out is None and dtype is np.float64 and type(size) is int and 0 < size <= 256:
            with self._buffer_lock:
                start = self._next
                if start + size > len(self._buffer):
                    self._buffer = super().random(_BUFFERED)
                    start = 0
                self._next = start + size
                return self._buffer[start : start + size].copy()
        return super().random(size, dtype, out)


# The process's generator for unseeded jobs: one entropy stream per process, not a cache.
# A forked child must not repeat its parent's draws, so it forgets the parent's.
_shared: list[SharedGenerator] = []


def _forget_shared() -> None:
    _shared.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared)


def shared_generator() -> SharedGenerator:
    """The process's generator for unseeded jobs (made on first use, and anew after fork)."""
    if not _shared:
        _shared.append(SharedGenerator())
    return _shared[0]


class JobRandom:
    """Hands out the generator of a job: its seed's, or the process's for no seed."""

    def __init__(self) -> None:
        self._seed_states: dict[int, dict[str, Any]] = {}
        self._local = threading.local()

    def generator(self, seed: Any) -> np.random.Generator:
        """``default_rng(seed)`` (a per-thread generator reset to that state) for a seed,
        :func:`shared_generator` for None.

        The result is only valid until the next call on the same thread.
        """
        if seed is None:
            return shared_generator()
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
            return np.random.default_rng(seed)
        key = int(seed)
        state = self._seed_states.get(key)
        if state is None:
            fresh = np.random.default_rng(key)
            self._seed_states[key] = fresh.bit_generator.state
            while len(self._seed_states) > _SEED_STATES_KEPT:
                self._seed_states.pop(next(iter(self._seed_states)), None)
            return fresh
        rng: np.random.Generator | None = getattr(self._local, "rng", None)
        if rng is None:
            rng = self._local.rng = np.random.Generator(np.random.PCG64())
        rng.bit_generator.state = state
        return rng
