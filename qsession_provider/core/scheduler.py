"""The scheduler: per-device queues and slots, dispatch, execution, completion.

Dispatch is event-driven, with no scheduler thread: whenever a job is queued or ends, a
session releases a device or a timer fires, :meth:`Scheduler.dispatch` fills the free
slots of that device with the jobs its :class:`~.policies.SchedulingPolicy` picks. A
started job is handed to the :class:`~.executors.Executor` once the runtime lock is
released. When its computation ends, the job finishes at ``started_at + modelled
duration`` on the clock (at once if that time has passed), so an emulated QPU takes
realistic time without sleeping on a virtual clock.

The runtime holds a clock :class:`~.clock.Activity` from dispatch until the computation
is over, which is what lets a :class:`~.clock.VirtualClock` know the runtime is idle.
All methods except the executor callbacks expect the runtime lock to be held.
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ..errors import InputError, QSessionError, StoreError
from .clock import Activity, Timer
from .context import RuntimeContext
from .device import Device
from .encoding import dumps
from .executors import Executor
from .job import Job, JobErrorCode, JobStatus
from .policies import SchedulingPolicy
from .queues import DeviceQueue, QueuedJob

if TYPE_CHECKING:
    from .session import Session
    from .session_rules import SessionRules

__all__ = ["Scheduler"]

_log = logging.getLogger(__name__)


@dataclass(eq=False)
class _Run:
    """A job occupying a slot."""

    job: Job
    device: Device
    session: Session | None
    expected: float
    timer: Timer | None = None


class _MaxExecutionTimeExceeded(QSessionError):
    """Internal marker: the job ran past its max_execution_time."""


def _execute(
    execute: Callable[[str, Any], Any], program_id: str, payload: Any
) -> tuple[Any, Any, Any]:
    """Run on an executor: compute and encode; errors are returned, not raised."""
    try:
        result = execute(program_id, payload)
    except Exception as exc:
        return None, None, exc
    try:
        encoded = dumps(result)
    except Exception as exc:
        return None, None, StoreError(f"the device returned a result that cannot be stored: {exc}")
    return result, encoded, None


def _refuse(message: str, program_id: str, payload: Any) -> Any:
    """Stands in for a device's ``execute`` for jobs submitted with ``fail_with``."""
    raise InputError(message)


class Scheduler:
    """Queues, slots and job execution for every device of a runtime (internal).

    Args:
        ctx: the shared runtime context.
        policy: picks the next job of a device.
        executor: computes payloads.
    """

    def __init__(self, ctx: RuntimeContext, policy: SchedulingPolicy, executor: Executor) -> None:
        self.ctx = ctx
        self.policy = policy
        self.executor = executor
        self.rules: SessionRules | None = None
        self._queues: dict[str, DeviceQueue] = {}
        self._running: dict[str, _Run] = {}
        self._seq = itertools.count()

    # -- queueing ----------------------------------------------------------------------------
    def queue(self, device: Device) -> DeviceQueue:
        """The queue of ``device`` (created on first use)."""
        q = self._queues.get(device.name)
        if q is None:
            q = self._queues[device.name] = DeviceQueue(device)
        elif q.device is not device:
            q.device = device  # the device was re-registered; its queue carries on
        return q

    def enqueue(self, job: Job, device: Device, session: Session | None) -> None:
        """Queue a new job and dispatch its device."""
        entry = QueuedJob(job, next(self._seq), session, device.execution_time(job.payload))
        self.queue(device).push(entry)
        self.dispatch(device.name)

    def dispatch(self, device_name: str) -> None:
        """Fill the free slots of a device with the jobs the policy picks."""
        q = self._queues.get(device_name)
        if q is None:
            return
        now = self.ctx.clock.now()
        while q.free_slots > 0 and q.queued:
            entry = self.policy.select(q, now)
            if entry is None:
                return
            if q.remove(entry.job.id) is None:
                raise QSessionError(f"the scheduling policy picked job {entry.job.id}, not queued")
            self._start(q, entry, now)

    def pending(self, device_name: str) -> tuple[int, int]:
        """``(queued, running)`` job counts of a device in this runtime."""
        q = self._queues.get(device_name)
        return (0, 0) if q is None else (q.queued, len(q.running))

    def holder(self, device_name: str) -> Session | None:
        """The dedicated session holding a device, or None."""
        q = self._queues.get(device_name)
        return None if q is None else q.holder

    # -- running ---------------------------------------------------------------------------------
    def _start(self, q: DeviceQueue, entry: QueuedJob, now: float) -> None:
        job, session = entry.job, entry.session
        self.set_status(job, JobStatus.RUNNING, started_at=now)
        run = _Run(job, q.device, session, entry.expected)
        q.running[job.id] = job
        self._running[job.id] = run
        self.policy.charge(job.instance, entry.expected, now)
        self.ctx.emitter.post("job_started", job)
        if session is not None:
            if session.dedicated and q.holder is None:
                q.holder = session
            assert self.rules is not None
            self.rules.job_started(session, job, now)
        activity = self.ctx.clock.hold()
        self.ctx.after_unlock(lambda: self._launch(run, activity))

    def _launch(self, run: _Run, activity: Activity) -> None:
        """Hand a started job to the executor (runs without the lock)."""
        job = run.job
        execute = run.device.execute
        if job._fail_with is not None:
            execute = functools.partial(_refuse, job._fail_with)
        try:
            future = self.executor.submit(_execute, execute, job.program_id, job.payload)
        except Exception as exc:  # e.g. the executor was shut down
            future = concurrent.futures.Future()
            future.set_result((None, None, exc))
        future.add_done_callback(lambda f: self._computed(run, activity, f))

    def _computed(
        self, run: _Run, activity: Activity, future: concurrent.futures.Future[Any]
    ) -> None:
        """Executor callback: schedule the job's end at its modelled finish time."""
        try:
            try:
                result, encoded, error = future.result()
            except BaseException as exc:  # a cancelled future or a broken executor
                result, encoded, error = None, None, exc
            with self.ctx.locked():
                self._complete(run, result, encoded, error)
        finally:
            activity.release()

    def _complete(self, run: _Run, result: Any, encoded: Any, error: BaseException | None) -> None:
        job = run.job
        if job.in_final_state():
            return  # cancelled while computing
        now = self.ctx.clock.now()
        started = job.record.started_at or now
        limit = job.record.max_execution_time
        finish_at = started + run.expected
        if error is not None:
            finish_at = now  # a job that cannot run fails at once
        elif limit is not None and (run.expected > limit or now - started > limit):
            error = _MaxExecutionTimeExceeded(
                f"the job exceeded its maximum execution time of {limit:g} s"
            )
            finish_at = started + limit if run.expected > limit else now
        if finish_at > now:
            run.timer = self.ctx.clock.call_at(
                finish_at, lambda: self._finish_later(run, result, encoded, error)
            )
        else:
            self._finish(run, result, encoded, error)

    def _finish_later(
        self, run: _Run, result: Any, encoded: Any, error: BaseException | None
    ) -> None:
        with self.ctx.locked():
            if not run.job.in_final_state():
                self._finish(run, result, encoded, error)

    def _finish(self, run: _Run, result: Any, encoded: Any, error: BaseException | None) -> None:
        job = run.job
        now = self.ctx.clock.now()
        self._vacate(run)
        if error is None:
            self.set_status(
                job,
                JobStatus.DONE,
                finished_at=now,
                result=result,
                has_result=True,
                stored_result=encoded,
            )
        else:
            code = (
                JobErrorCode.MAX_EXECUTION_TIME
                if isinstance(error, _MaxExecutionTimeExceeded)
                else JobErrorCode.EXECUTION_FAILED
            )
            message = (
                str(error)
                if isinstance(error, _MaxExecutionTimeExceeded)
                else (f"{type(error).__name__}: {error}")
            )
            self.set_status(
                job, JobStatus.ERROR, finished_at=now, error_code=code.value, error_message=message
            )
        self._ended(run.session, job, now, was_running=True)
        self.dispatch(run.device.name)

    def _vacate(self, run: _Run) -> None:
        self._running.pop(run.job.id, None)
        q = self._queues.get(run.device.name)
        if q is not None:
            q.running.pop(run.job.id, None)
        if run.timer is not None:
            run.timer.cancel()

    def _ended(self, session: Session | None, job: Job, now: float, *, was_running: bool) -> None:
        self.ctx.emitter.post("job_finished", job)
        if session is not None:
            assert self.rules is not None
            self.rules.job_ended(session, job, now, was_running=was_running)

    # -- transitions and persistence -----------------------------------------------------------
    def set_status(
        self, job: Job, status: JobStatus, *, stored_result: str | None = None, **changes: Any
    ) -> None:
        """Move a job to ``status``, persist it, queue its done-callbacks."""
        for callback in job._transition(status, **changes):
            self.ctx.emitter.post_call(callback)
        try:
            if not self.ctx.store.update_job(job.record, result=stored_result):
                _log.warning(
                    "job %s was finalised in the store by another process; "
                    "its %s state is kept in memory only",
                    job.id,
                    status.value,
                )
        except Exception:
            _log.exception("could not persist job %s (%s)", job.id, status.value)

    # -- cancellation and session-driven changes ------------------------------------------------
    def cancel(self, job: Job, device: Device, *, code: JobErrorCode, message: str) -> bool:
        """Cancel a queued job, or a running one if its device allows. True if cancelled."""
        if job.in_final_state():
            return False
        now = self.ctx.clock.now()
        q = self.queue(device)
        if job.status is JobStatus.QUEUED:
            entry = q.remove(job.id)
            session = entry.session if entry is not None else None
            self.set_status(
                job,
                JobStatus.CANCELLED,
                finished_at=now,
                error_code=code.value,
                error_message=message,
            )
            self._ended(session, job, now, was_running=False)
        else:
            run = self._running.get(job.id)
            if run is None or not device.can_cancel_running:
                return False
            self._vacate(run)
            self.set_status(
                job,
                JobStatus.CANCELLED,
                finished_at=now,
                error_code=code.value,
                error_message=message,
            )
            self._ended(run.session, job, now, was_running=True)
        self.dispatch(device.name)
        return True

    def drop_queued(
        self, session: Session, status: JobStatus, code: JobErrorCode, message: str
    ) -> int:
        """End every queued job of ``session`` with ``status``; returns how many."""
        q = self._queues.get(session.record.device)
        if q is None:
            return 0
        now = self.ctx.clock.now()
        entries = q.session_entries(session.id)
        for entry in entries:
            q.remove(entry.job.id)
            self.set_status(
                entry.job, status, finished_at=now, error_code=code.value, error_message=message
            )
            self.ctx.emitter.post("job_finished", entry.job)
        session.queued -= len(entries)
        q.forget_session(session.id)
        return len(entries)

    def cancel_running(self, session: Session, code: JobErrorCode, message: str) -> int:
        """Cancel the running jobs of ``session`` where the device allows; returns how many."""
        now = self.ctx.clock.now()
        runs = [
            r
            for r in self._running.values()
            if r.session is session and r.device.can_cancel_running
        ]
        for run in runs:
            self._vacate(run)
            self.set_status(
                run.job,
                JobStatus.CANCELLED,
                finished_at=now,
                error_code=code.value,
                error_message=message,
            )
            self.ctx.emitter.post("job_finished", run.job)
        session.running -= len(runs)
        return len(runs)

    def release(self, session: Session) -> None:
        """``session`` no longer holds its device: dispatch other work."""
        q = self._queues.get(session.record.device)
        if q is not None and q.holder is session:
            q.holder = None
            self.dispatch(q.device.name)

    def drop_everything(self, code: JobErrorCode, message: str, *, running: bool) -> None:
        """Cancel every queued job (and fail running ones if ``running``): shutdown."""
        now = self.ctx.clock.now()
        for q in self._queues.values():
            q.holder = None
            for job_id in q.job_ids():
                entry = q.remove(job_id)
                if entry is None:
                    continue
                self.set_status(
                    entry.job,
                    JobStatus.CANCELLED,
                    finished_at=now,
                    error_code=code.value,
                    error_message=message,
                )
                self.ctx.emitter.post("job_finished", entry.job)
                if entry.session is not None:
                    entry.session.queued -= 1
        if running:
            for run in list(self._running.values()):
                self._vacate(run)
                self.set_status(
                    run.job,
                    JobStatus.ERROR,
                    finished_at=now,
                    error_code=code.value,
                    error_message=message,
                )
                self.ctx.emitter.post("job_finished", run.job)
                if run.session is not None:
                    run.session.running -= 1

    @property
    def busy(self) -> bool:
        """True while any job of this runtime is queued or running."""
        return bool(self._running) or any(q.queued for q in self._queues.values())
