"""Long-poll waits on jobs, in worker threads, that the server can end when it stops.

A wait blocks a worker thread (never the event loop) on the runtime clock, as
``Job.wait`` does - ``clock.wait_for`` - so on a virtual clock with auto-advance a waiting
client moves time exactly as an embedded ``job.wait`` would. Besides the job ending or the
client's timeout (clock seconds), a wait ends after :data:`REAL_CAP` real seconds (the
client asks again) and when the server stops, so a stopping server never hangs on a
long-poll of a job that stays queued.

A *passive* wait (a client's background watcher, for ``add_done_callback``) waits in real
time only and never moves a virtual clock, as an embedded done-callback never does.
:meth:`Waits.settle` is a short passive wait on the event loop itself (no thread): the
submission's wait for a short job (see :mod:`.jobs`).
"""

from __future__ import annotations

import asyncio
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
        self._futures: set[tuple[asyncio.AbstractEventLoop, asyncio.Future[None]]] = set()
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

    async def settle(self, job: Any, seconds: float) -> bool:
        """Wait on the event loop, passively (real time; a virtual clock never moves), up to
        ``seconds`` for ``job`` to be final; ends early when the server stops.

        The job's done-callback wakes the loop; a final job's waiters are released once
        its state is stored, and callbacks run after that, so the job is settled then.

        Returns:
            True if the job is final.
        """
        if job.in_final_state() or self._stopping:
            return bool(job.in_final_state())
        loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = loop.create_future()
        entry = (loop, future)

        def wake(_job: Any = None) -> None:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop is closed: nobody waits any more
                pass

        with self._lock:
            self._futures.add(entry)
        timer = loop.call_later(seconds, _resolve, future)
        try:
            job.add_done_callback(wake)
            if not self._stopping:
                await future
        finally:
            timer.cancel()
            with self._lock:
                self._futures.discard(entry)
        return bool(job.in_final_state())

    def stop(self) -> None:
        """End every wait in progress and refuse to start new ones (they answer at once)."""
        with self._lock:
            self._stopping = True
            conds = list(self._conds)
            futures = list(self._futures)
        for cond in conds:
            with cond:
                cond.notify_all()
        for loop, future in futures:
            try:
                loop.call_soon_threadsafe(_resolve, future)
            except RuntimeError:  # the loop is closed
                pass


def _resolve(future: asyncio.Future[None]) -> None:
    """End a :meth:`Waits.settle` (on its loop)."""
    if not future.done():
        future.set_result(None)
