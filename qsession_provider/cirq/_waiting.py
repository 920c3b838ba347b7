"""Waiting for a runtime job inside duet's event loop without blocking it.

Each job completes a duet future from its done-callback, which fires on a runtime thread.
``concurrent.futures`` guards the future with its own lock and duet's ready-set is a
``threading.Condition``, so that hand-off is thread-safe. On a
:class:`~qsession_provider.core.clock.VirtualClock`, modelled time moves only while
someone waits on the clock, so a small helper thread waits on the job there (and enforces
``timeout`` in clock time); it starts only when duet's loop is idle, so all the jobs of a
``run_batch`` are queued before virtual time moves.
"""

from __future__ import annotations

import threading

import duet

from ..core.clock import Clock
from ..core.job import Job
from ..errors import JobTimeoutError

__all__ = ["until_final"]


async def until_final(job: Job, clock: Clock, timeout: float | None) -> None:
    """Wait without blocking duet's loop until ``job`` is final (or raise on timeout)."""
    await _JobFuture(job, clock, timeout)


class _JobFuture(duet.BufferedFuture):
    """Completed from the job's done-callback; a clock-driving waiter starts on ``flush``.

    duet flushes buffered futures only when its loop has nothing left to run, i.e. once
    every task has submitted what it can (``run_batch``'s sweeps, a ``Collector``'s
    concurrent jobs). Starting the waiter only then keeps a virtual clock from moving
    between two submissions of one batch, so the jobs queue together.
    """

    def __init__(self, job: Job, clock: Clock, timeout: float | None) -> None:
        super().__init__()
        self._job = job
        self._timeout = timeout
        self._needs_waiter = bool(getattr(clock, "virtual", False)) or timeout is not None
        self._flush_lock = threading.Lock()
        job.add_done_callback(lambda _job: self.try_set_result(None))

    def flush(self) -> None:
        with self._flush_lock:
            if not self._needs_waiter or self.done():
                return
            self._needs_waiter = False
        threading.Thread(target=self._wait, name=f"cirq-wait-{self._job.id}", daemon=True).start()

    def _wait(self) -> None:
        """Wait on the job through the clock (moving virtual time); report timeouts/errors."""
        try:
            if not self._job.wait(self._timeout):
                self.try_set_exception(
                    JobTimeoutError(f"job {self._job.id} did not finish within {self._timeout} s")
                )
        except BaseException as exc:  # e.g. ClockStalledError: hand it to the awaiting task
            self.try_set_exception(exc)
