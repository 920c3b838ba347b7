"""Long-poll waits on jobs, in worker threads, that the server can end when it stops.

A wait blocks a worker thread (never the event loop) on the runtime clock, as
``Job.wait`` does - ``clock.wait_for`` - so on a virtual clock with auto-advance a waiting
client moves time exactly as an embedded ``job.wait`` would. Besides the job ending or the
client's timeout (clock seconds), a wait ends after :data:`REAL_CAP` real seconds (the
client asks again) and when the server stops, so a stopping server never hangs on a
long-poll of a job that stays queued.

A *passive* wait (a client's background watcher, for ``add_done_callback``) waits in real
time only and never moves a virtual clock, as an embedded done-callback never does.
"""

from __future__ import annotations

import threading
import time
from typing import Any

__all__ = ["Waits", "REAL_CAP"]

#: Real seconds one long-poll lasts at most.
REAL_CAP = 25.0


class Waits:
    """The waits in progress on one runtime's clock.

    Args:
        clock: the runtime clock.
        real_cap: real seconds one wait lasts at most.
    """

    def __init__(self, clock: Any, *, real_cap: float = REAL_CAP) -> None:
        self._clock = clock
        self._real_cap = real_cap
        self._lock = threading.Lock()
        self._conds: set[threading.Condition] = set()
        self._stopping = False

    @property
    def stopping(self) -> bool:
        """True once :meth:`stop` was called."""
        return self._stopping

    def wait(self, job: Any, timeout: float | None, *, passive: bool = False) -> bool:
        """Block until ``job`` is final, ``timeout`` clock seconds pass, the real cap passes
        or the server stops.

        Args:
            job: the job handle.
            timeout: clock seconds (None: until final, or the real cap).
            passive: wait in real time (``timeout`` in real seconds too) without moving a
                virtual clock.

        Returns:
            True if the job is final (and its outcome stored).
        """
        if not job.in_final_state() and not self._stopping:
            self._wait(job, timeout, passive)
        if job.in_final_state():
            job.wait()  # settled: the final state is in the store
            return True
        return False

    def _wait(self, job: Any, timeout: float | None, passive: bool) -> None:
        cond = threading.Condition()

        def wake(_job: Any = None) -> None:
            with cond:
                cond.notify_all()

        with self._lock:
            self._conds.add(cond)
        try:
            job.add_done_callback(wake)
            deadline = time.monotonic() + self._real_cap
            real = passive or not self._clock.virtual  # timeout in real seconds
            if real:
                timeout = self._real_cap if timeout is None else min(timeout, self._real_cap)

            def over() -> bool:
                return job.in_final_state() or self._stopping or time.monotonic() >= deadline

            if passive:
                with cond:
                    cond.wait_for(over, max(0.0, timeout))
            else:
                left = None if timeout is None else max(0.0, timeout)
                self._clock.wait_for(over, left, cond)
        finally:
            with self._lock:
                self._conds.discard(cond)

    def stop(self) -> None:
        """End every wait in progress and refuse to start new ones (they answer at once)."""
        with self._lock:
            self._stopping = True
            conds = list(self._conds)
        for cond in conds:
            with cond:
                cond.notify_all()
