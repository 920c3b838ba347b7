"""The job handle: status, waiting, results and cancellation of one job.

The :class:`Job` handle holds one :class:`threading.Condition`; its state changes only
through the producer-only ``_transition`` method, which checks
:data:`~.job_record.TRANSITIONS` and raises
:class:`~qsession_provider.errors.InvalidJobStateError` on an illegal change (the
``concurrent.futures.Future`` pattern). Done-callbacks never run under that lock. The
states, error codes and the record are re-exported from :mod:`.job_record`.

Waiters (:meth:`Job.wait`, :meth:`Job.result`) are released when the job is *settled*:
final and persisted. The runtime moves a job to its final state, writes it to the store
and only then settles it (``_transition(..., settle=False)`` then ``_settle()``), so a
result returned by a handle is always in the store already.

Run-on-wait: while a job has been handed to an in-process thread pool but no worker has
picked it up yet, the runtime leaves a ``_steal`` hook on the handle; a thread that blocks
on :meth:`Job.wait` without a timeout runs the job itself instead of sleeping until a
worker has run it (the same computation and bookkeeping, minus two thread hand-offs).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..errors import (
    InvalidJobStateError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
)
from .clock import Clock, RealClock
from .job_record import (
    FINAL_STATES,
    PENDING_STATES,
    TRANSITIONS,
    JobErrorCode,
    JobRecord,
    JobRecordView,
    JobStatus,
)
from .wait_observer import WaitObserver, wait_observed

#: The handle, and the records of :mod:`.job_record` it re-exports.
__all__ = [
    "Job",
    "FINAL_STATES",
    "PENDING_STATES",
    "TRANSITIONS",
    "JobErrorCode",
    "JobRecord",
    "JobStatus",
]


class Job(JobRecordView):
    """A handle on one job: status, waiting, result, cancellation.

    Handles for jobs this process runs are updated in place by the runtime. Handles for
    jobs owned by another process (loaded by id) read the store: :meth:`refresh` reloads,
    and :meth:`wait` polls the store in real time.

    Args:
        record: the current record.
        clock: the clock waits are measured on.
        payload: the payload object, or None to load it lazily with ``load_payload``.
        load_payload: returns the payload (decoded from the store).
        load_result: returns the result of a DONE job (decoded from the store).
        cancel: asks the runtime to cancel this job; returns True if it did.
        reload: returns a fresh record from the store (set for foreign jobs only).
    """

    def __init__(
        self,
        record: JobRecord,
        *,
        clock: Clock,
        payload: Any = None,
        load_payload: Callable[[], Any] | None = None,
        load_result: Callable[[], Any] | None = None,
        cancel: Callable[[Job], bool] | None = None,
        reload: Callable[[], JobRecord] | None = None,
    ) -> None:
        self._record = record
        self._clock = clock
        self._lock = threading.Lock()
        self._cond_made: threading.Condition | None = None  # made by the first waiter
        self._payload = payload
        self._load_payload = load_payload
        self._load_result = load_result
        self._cancel = cancel
        self._reload = reload
        self._result: Any = None
        self._has_result = False
        self._callbacks: list[Callable[[Job], object]] = []
        #: Final and persisted: what waiters wait for (see the module docstring).
        self._settled = record.status in FINAL_STATES
        #: Set by ``Runtime.submit(fail_with=...)``: the job fails with this message at start.
        self._fail_with: str | None = None
        #: Set by the scheduler while a thread-pool worker has not started the job: runs it
        #: in the calling thread instead, returns True if it did (see the module docstring).
        self._steal: Callable[[], bool] | None = None
        #: Set by the runtime when the store refused this job's final write: ``result()``
        #: raises it (a result is never handed out that the store may not hold).
        self._write_error: BaseException | None = None

    # -- what the shared record views do not cover ----------------------------------
    @property
    def payload(self) -> Any:
        """The neutral payload (loaded from the store on first use for stored jobs)."""
        if self._payload is None and self._load_payload is not None:
            self._payload = self._load_payload()
        return self._payload

    @property
    def is_foreign(self) -> bool:
        """True if another process runs this job (this handle reads the store)."""
        return self._reload is not None

    @property
    def clock(self) -> Clock:
        """The clock waits are measured on."""
        return self._clock

    def wait(self, timeout: float | None = None, *, progress: WaitObserver | None = None) -> bool:
        """Block until the job is final or ``timeout`` clock seconds pass.

        On a :class:`~qsession_provider.core.clock.VirtualClock` the timeout is virtual
        time (see the clock's no-deadlock rule). Foreign jobs are polled in real time.
        With ``progress``, the wait goes in steps that report the record to it
        (:func:`~.wait_observer.wait_observed`).

        Returns:
            True if the job is in a final state.
        """
        if progress is not None:
            return wait_observed(self, timeout, progress)
        if self._reload is not None:
            return self._poll_until_final(timeout)
        if self._settled:
            return True
        steal = self._steal
        if steal is not None and timeout is None:
            steal()
        return self._clock.wait_for(self._is_settled, timeout, self._condition())

    def _condition(self) -> threading.Condition:
        """The condition waiters wait on (on ``self._lock``; made once, when first needed:
        most jobs are never waited for before they are final)."""
        with self._lock:
            if self._cond_made is None:
                self._cond_made = threading.Condition(self._lock)
            return self._cond_made

    def _notify(self) -> None:
        """Wake the waiters (``self._lock`` held)."""
        if self._cond_made is not None:
            self._cond_made.notify_all()

    def _is_settled(self) -> bool:
        return self._settled

    def result(self, timeout: float | None = None, *, progress: WaitObserver | None = None) -> Any:
        """The job's result, waiting for it if needed (reporting to ``progress`` if given).

        Raises:
            JobTimeoutError: not final after ``timeout`` seconds.
            JobFailedError: the job ended in ERROR (message from the job).
            JobCancelledError: the job was cancelled.
            StoreError: the store failed to write the job's final state.
        """
        if not self.wait(timeout, progress=progress):
            raise JobTimeoutError(f"job {self.id} did not finish within {timeout} s")
        if self._write_error is not None:
            raise self._write_error
        record = self._record
        if record.status is JobStatus.CANCELLED:
            err: Exception = JobCancelledError(
                f"job {record.id} was cancelled: {record.error_message or 'cancelled'}"
            )
        elif record.status is JobStatus.ERROR:
            err = JobFailedError(f"job {record.id} failed: {record.error_message}")
        else:
            with self._lock:
                if not self._has_result and self._load_result is not None:
                    self._result = self._load_result()
                    self._has_result = True
                return self._result
        err.job_id = record.id  # type: ignore[attr-defined]
        err.error_code = record.error_code  # type: ignore[attr-defined]
        raise err

    def cancel(self) -> bool:
        """Ask the runtime to cancel the job.

        A queued job is always cancelled; a running one only if its device allows it.

        Returns:
            True if the job is now CANCELLED because of this call.
        """
        if self._cancel is None:
            return False
        return self._cancel(self)

    def refresh(self) -> JobRecord:
        """Reload a foreign job's record from the store; returns the current record."""
        if self._reload is not None and not self.in_final_state():
            record = self._reload()
            callbacks: list[Callable[[Job], object]] = []
            with self._lock:
                self._record = record
                if record.status in FINAL_STATES:
                    callbacks, self._callbacks = self._callbacks, []
                    self._settled = True
                self._notify()
            for fn in callbacks:
                fn(self)
        return self._record

    def add_done_callback(self, fn: Callable[[Job], object]) -> None:
        """Call ``fn(job)`` once the job is final (at once if it already is).

        Callbacks run in a runtime thread, never under a runtime lock; they must not block
        waiting for other jobs.
        """
        with self._lock:
            if self._record.status not in FINAL_STATES:
                self._callbacks.append(fn)
                return
        fn(self)

    # -- producer side (runtime only) -----------------------------------------------------
    def _transition(
        self,
        status: JobStatus,
        *,
        result: Any = None,
        has_result: bool = False,
        settle: bool = True,
        **changes: Any,
    ) -> list[Callable[[], object]]:
        """Move to ``status`` with record ``changes``. Producer-only (the runtime).

        With ``settle=False`` a final state does not release waiters yet: the caller
        persists it, then calls :meth:`_settle`.

        Returns:
            The done-callbacks to run (bound, without arguments) once the caller has
            released its locks; empty unless the new state is final.

        Raises:
            InvalidJobStateError: the transition table does not allow the change.
        """
        with self._lock:
            current = self._record.status
            if status not in TRANSITIONS[current]:
                raise InvalidJobStateError(
                    f"job {self._record.id}: cannot go from {current.value} to {status.value}"
                )
            self._record = self._record.replace(status=status, **changes)
            if has_result:
                self._result, self._has_result = result, True
            callbacks: list[Callable[[], object]] = []
            if status in FINAL_STATES:
                callbacks = [_bind(fn, self) for fn in self._callbacks]
                self._callbacks = []
                self._steal = None
                if settle:
                    self._settled = True
            self._notify()
        return callbacks

    def _settle(self) -> None:
        """Release the waiters of a final job (after ``_transition(..., settle=False)``)."""
        with self._lock:
            if self._record.status in FINAL_STATES:
                self._settled = True
                self._notify()

    def _update(self, **changes: Any) -> None:
        """Change non-status fields (name, tags, metadata). Producer-only (the runtime)."""
        with self._lock:
            self._record = self._record.replace(**changes)

    def _poll_until_final(self, timeout: float | None) -> bool:
        wall = RealClock()
        deadline = None if timeout is None else wall.monotonic() + timeout
        interval = 0.02
        while True:
            if self.refresh().status in FINAL_STATES:
                return True
            if deadline is not None:
                left = deadline - wall.monotonic()
                if left <= 0:
                    return False
                interval = min(interval, left)
            wall.sleep(interval)
            interval = min(interval * 1.5, 0.5)

    def __repr__(self) -> str:
        r = self._record
        return f"<Job {r.id} {r.program_id} on {r.device} {r.status.value}>"


def _bind(fn: Callable[[Job], object], job: Job) -> Callable[[], object]:
    return lambda: fn(job)
