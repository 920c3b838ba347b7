"""Wall-clock time: :class:`RealClock`, whose timers fire on one daemon thread."""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable

from ...errors import QSessionError
from .timers import NO_ACTIVITY, Activity, Timer

__all__ = ["RealClock"]


class RealClock:
    """Wall-clock time. Timers fire on one daemon thread, started on first use."""

    virtual = False

    #: The heap is compacted (cancelled timers dropped) when it grows past this, then past
    #: twice its size after compaction: a session re-arms its interactive timer after every
    #: job, and a cancelled timer would otherwise stay in the heap until its due time.
    _COMPACT_MIN = 256

    def __init__(self) -> None:
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._thread: threading.Thread | None = None
        self._closed = False
        self._compact_at = self._COMPACT_MIN

    def now(self) -> float:
        return time.time()

    def monotonic(self) -> float:
        """Seconds from a monotonic source (for measuring real intervals)."""
        return time.monotonic()

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(when, callback)
        # Deadlines are kept on the monotonic clock so a wall-clock jump does not move them.
        deadline = time.monotonic() + (when - time.time())
        with self._cv:
            if self._closed:
                raise QSessionError("the clock is closed")
            heap = self._heap
            if len(heap) >= self._compact_at:
                heap[:] = [item for item in heap if not item[2].cancelled]
                heapq.heapify(heap)
                self._compact_at = max(self._COMPACT_MIN, 2 * len(heap))
            earliest = heap[0][0] if heap else None
            heapq.heappush(heap, (deadline, next(self._seq), timer))
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="qsession-clock", daemon=True
                )
                self._thread.start()
            elif earliest is None or deadline < earliest:
                # Only a new earliest deadline changes what the clock thread waits for; not
                # waking it otherwise saves a thread switch per timer (one per session job).
                self._cv.notify()
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        return self.call_at(self.now() + delay, callback)

    def hold(self) -> Activity:
        return NO_ACTIVITY

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        cond: threading.Condition,
    ) -> bool:
        with cond:
            return cond.wait_for(predicate, timeout)

    def sleep(self, seconds: float) -> None:
        time.sleep(max(0.0, seconds))

    def close(self) -> None:
        with self._cv:
            self._closed = True
            self._heap.clear()
            self._cv.notify_all()
            thread = self._thread
        if thread is not None and thread is not threading.current_thread():
            thread.join(timeout=5)

    def _run(self) -> None:
        while True:
            with self._cv:
                while True:
                    if self._closed:
                        return
                    if not self._heap:
                        self._cv.wait()
                        continue
                    deadline, _, timer = self._heap[0]
                    if timer.cancelled:
                        heapq.heappop(self._heap)
                        continue
                    delay = deadline - time.monotonic()
                    if delay > 0:
                        self._cv.wait(delay)
                        continue
                    heapq.heappop(self._heap)
                    break
            timer._run()

    def __repr__(self) -> str:
        return "RealClock()"
