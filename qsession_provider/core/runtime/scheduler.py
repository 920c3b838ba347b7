"""The scheduler: per-device queues and slots, and the choice of the next job to start.

Dispatch is event-driven, with no scheduler thread: whenever a job is queued or ends, a
session releases a device or a timer fires, :meth:`Scheduler.dispatch` fills the free
slots of that device with the jobs its :class:`~.policies.SchedulingPolicy` picks. A
started job is computed by :class:`~.execution.Execution` (the executor, at submission, or
by a waiting thread; see :mod:`.execution`), which hands the outcome back to
:meth:`Scheduler._finish` at the job's modelled finish time. The scheduler reports job
starts and ends of a session to the session rules through the :class:`SessionHooks` it is
built with. All methods except the executor callbacks expect the runtime lock to be held.

Persistence goes through :class:`~.transitions.JobTransitions`: every transition is
written to the store, a job's start and a job's end (with everything it triggers) form one
store group, and a final job's waiters are released only once its state is in the store.

Small jobs: a job whose size is known (a neutral payload) and small - at most
:data:`SMALL_JOB_WORK` amplitude-executions (``num_executions * 2**num_qubits``), on a device
without modelled time, so well under a few milliseconds of computation - does not have its
RUNNING state written to the store on its own: the store goes QUEUED (written before
``submit`` returns) -> final state (with ``started_at``, written before anyone waiting is
released), and its session's record is saved once, at the job's end. In memory, and for
every in-process reader, the job is RUNNING as usual; another process reading the store
sees it QUEUED for those milliseconds, and if this process died meanwhile the orphan sweep
reports it "was QUEUED". Larger jobs, jobs with modelled time and payloads of unknown size
are stored RUNNING when they start.

Run at submission: a *tiny* job (at most :data:`INLINE_MAX_WORK` amplitude-executions and
:data:`INLINE_MAX_SHOTS` shots, on a device without modelled time) that starts the moment
it is submitted - a free slot, the policy picks it - is computed in the submitting thread
(:meth:`~.execution.Execution.run_here`) instead of being handed to the executor. Only with
an in-process thread pool (the default executor): another executor (Dask, a user's) gets
every job, and larger jobs keep the pool's parallelism (a burst of them on a device with
several slots runs side by side).
"""

from __future__ import annotations

import itertools
from typing import Any, Protocol

from ...errors import QSessionError
from ..calibrations import CALIBRATION_KEY, CALIBRATION_PROGRAM
from ..clock import Activity
from ..device import Device
from ..job import Job, JobErrorCode, JobStatus
from ..plans import Reservation
from .allowances import WAIT, Allowances
from .calibrations import Calibrations
from .context import RuntimeContext
from .estimates import QueueEstimate, queue_estimate
from .execution import Execution, Failure, Run
from .executors import Executor
from .live_session import LiveSession
from .policies import SchedulingPolicy
from .queues import DeviceQueue, QueuedJob
from .transitions import JobTransitions

__all__ = ["INLINE_MAX_SHOTS", "INLINE_MAX_WORK", "SMALL_JOB_WORK", "Scheduler", "SessionHooks"]


#: Largest ``num_executions * 2**num_qubits`` of a job run at submission (module docstring):
#: up to 12 qubits, one execution. Handing a job to the pool costs ~45 us of wall time and
#: ~90 us of CPU (a worker wakes and takes the GIL) - what such a job's engine run costs
#: (a 12-qubit, 50-term estimator job: ~100 us), so the pool's parallelism cannot pay.
INLINE_MAX_WORK = 1 << 12
#: Largest ``num_executions * 2**num_qubits`` of a job stored QUEUED -> final (module docstring).
SMALL_JOB_WORK = 1 << 14
#: Largest ``total_shots`` of a sampler/run job run at submission.
INLINE_MAX_SHOTS = 10_000


class SessionHooks(Protocol):
    """What the scheduler reports about a session's jobs (the session rules implement it).

    Given to :class:`Scheduler` when it is built; called with the runtime lock held.
    """

    def job_started(
        self, session: LiveSession, job: Job, now: float, *, persist: bool = True
    ) -> None:
        """A job of ``session`` began executing (``persist=False``: a small job)."""

    def job_ended(self, session: LiveSession, job: Job, now: float, *, was_running: bool) -> None:
        """A job of ``session`` reached a final state through execution or cancellation."""


class Scheduler:
    """Queues and slots of every device of a runtime; starts and ends jobs (internal).

    Args:
        ctx: the shared runtime context.
        policy: picks the next job of a device.
        executor: computes payloads (through :class:`~.execution.Execution`).
        hooks: told when a session's job starts and ends (the session rules).
    """

    def __init__(
        self,
        ctx: RuntimeContext,
        policy: SchedulingPolicy,
        executor: Executor,
        hooks: SessionHooks,
    ) -> None:
        self.ctx = ctx
        self.policy = policy
        self.hooks = hooks
        self.transitions = JobTransitions(ctx)
        self.execution = Execution(ctx, executor, batch=self.transitions.batch, finish=self._finish)
        self._queues: dict[str, DeviceQueue] = {}
        self._running: dict[str, Run] = {}
        self._seq = itertools.count()
        #: The job :meth:`enqueue` may run at submission, while it dispatches.
        self._inline_candidate: Job | None = None
        #: The started job :meth:`enqueue` runs at submission once its dispatch is over.
        self._inline_run: tuple[Run, Activity] | None = None
        #: Largest work of a job run at submission (0: never; see the module docstring).
        self.inline_max_work = INLINE_MAX_WORK
        #: Largest work of a job whose RUNNING state is not stored (0: store every start).
        self.small_job_work = SMALL_JOB_WORK
        #: Start nothing more (a runtime shutting down that keeps its queued jobs).
        self.paused = False
        #: Scripted faults (:class:`~.faults.FaultInjector`), installed by tests; or None.
        self.faults: Any = None
        #: Plans, usage limits and reservations (:class:`~.allowances.Allowances`), or None.
        self.allowances: Allowances | None = None
        #: Calibration schedules and the calibration in force per device, or None.
        self.calibrations: Calibrations | None = None

    # -- queueing ----------------------------------------------------------------------------
    def queue(self, device: Device) -> DeviceQueue:
        """The queue of ``device`` (created on first use)."""
        q = self._queues.get(device.name)
        if q is None:
            q = self._queues[device.name] = DeviceQueue(device)
        elif q.device is not device:
            q.device = device  # the device was re-registered; its queue carries on
        return q

    def enqueue(
        self, job: Job, device: Device, session: LiveSession | None, *, submitted: bool = False
    ) -> None:
        """Queue a new job and dispatch its device.

        ``submitted``: called by ``submit`` for a new job, which may then run at submission
        if it starts at once and is tiny (see the module docstring).
        """
        entry = QueuedJob(job, next(self._seq), session, device.execution_time(job.payload))
        self.queue(device).push(entry)
        if submitted and self.faults is not None:
            self.faults.job_submitted(job)
        self._inline_candidate = job if submitted else None
        try:
            self.dispatch(device.name)
        finally:
            self._inline_candidate = None
        inline, self._inline_run = self._inline_run, None
        if inline is not None:
            self.execution.run_here(*inline)

    def dispatch(self, device_name: str) -> None:
        """Fill the free slots of a device with the jobs the policy picks."""
        q = self._queues.get(device_name)
        if q is None or self.paused or not self.execution.available:
            return  # (an executor unavailable: a Dask cluster gone; queued jobs wait)
        if self.faults is not None and self.faults.device_offline(device_name):
            return  # an injected outage: queued jobs wait

        now = self.ctx.clock.now()
        allowances = self.allowances
        if allowances is not None:
            q.reserved_for = allowances.reserved_for(device_name, now)
        while self.execution.slots(q.device) > len(q.running) and q.queued:
            entry = self.policy.select(q, now)
            if entry is None:
                return
            if allowances is not None:
                refusal = allowances.refusal(entry, device_name, now)
                if refusal == WAIT:
                    return  # another instance's reservation (a custom policy's pick)
                if refusal is not None:  # its instance has met its usage limit
                    self._fail_queued(q, [entry], JobErrorCode.USAGE_LIMIT, refusal)
                    continue
            if q.remove(entry.job.id) is None:
                raise QSessionError(f"the scheduling policy picked job {entry.job.id}, not queued")
            self._start(q, entry, now)

    def pending(self, device_name: str) -> tuple[int, int]:
        """``(queued, running)`` job counts of a device in this runtime."""
        q = self._queues.get(device_name)
        return (0, 0) if q is None else (q.queued, len(q.running))

    def holder(self, device_name: str) -> LiveSession | None:
        """The dedicated session holding a device, or None."""
        q = self._queues.get(device_name)
        return None if q is None else q.holder

    def estimate(self, device_name: str, job_id: str) -> QueueEstimate | None:
        """Position and expected times of a queued job (see :mod:`.estimates`)."""
        q = self._queues.get(device_name)
        return None if q is None else queue_estimate(q, job_id, self.ctx.clock.now())

    # -- starting and ending ---------------------------------------------------------------------
    def _start(self, q: DeviceQueue, entry: QueuedJob, now: float) -> None:
        job, session = entry.job, entry.session
        run = Run(job, q.device, session, entry.expected)
        if self.faults is not None:
            self.faults.job_starting(run, now)  # may change its time or outcome
        work = self._work(run)
        inline = (
            self._inline_candidate is job
            and work is not None
            and work[0] <= self.inline_max_work
            and work[1] <= INLINE_MAX_SHOTS
            and self.execution.in_process_pool
        )
        # A small job is stored QUEUED -> final (module docstring).
        small = work is not None and work[0] <= self.small_job_work
        changes: dict[str, Any] = {"started_at": now}
        if self.calibrations is not None and not q.device.simulator:
            calibration = _calibration_for(self.calibrations, job, q.device.name)
            if calibration is not None:
                changes["metadata"] = calibration
        self.transitions.set_status(job, JobStatus.RUNNING, persist=not small, **changes)
        q.running[job.id] = job
        self._running[job.id] = run
        self.policy.charge(job.instance, run.expected, now)
        self.ctx.emitter.post("job_started", job)
        if session is not None:
            if session.dedicated and q.holder is None:
                q.holder = session
            self.hooks.job_started(session, job, now, persist=not small)
        activity = self.ctx.clock.hold()
        if inline:
            self._inline_run = (run, activity)
        else:
            self.ctx.after_unlock(lambda: self.execution.launch(run, activity))

    @staticmethod
    def _work(run: Run) -> tuple[int, int] | None:
        """``(num_executions * 2**num_qubits, shots)`` of a job on a device without modelled
        time, or None (modelled time, or a payload whose size is not known)."""
        if run.expected != 0:
            return None
        payload = run.job.payload
        try:
            work = int(payload.num_executions) << int(payload.num_qubits)
            shots = 0 if run.job.program_id == "estimator" else int(payload.total_shots)
        except (AttributeError, TypeError, ValueError):
            return None
        return work, shots

    def _finish(self, run: Run, result: Any, encoded: Any, failure: Failure | None) -> None:
        """A computed job ends (the execution's callback): free its slot, store its state."""
        job = run.job
        now = self.ctx.clock.now()
        self._vacate(run)
        if failure is None:
            self.transitions.set_status(
                job,
                JobStatus.DONE,
                finished_at=now,
                result=result,
                has_result=True,
                stored_result=encoded,
            )
        else:
            self._end(job, JobStatus.ERROR, now, *failure)
        self._ended(run.session, job, now, was_running=True)
        if self.calibrations is not None:
            self.calibrations.finished(job)
        if self.allowances is not None:
            self._charge(job, now)
        self.dispatch(run.device.name)

    # -- plans, limits and reservations (see :mod:`.allowances`) ----------------------------
    def _charge(self, job: Job, now: float) -> None:
        """Count a finished job's device time; reaching the limit fails the instance's
        queued jobs everywhere."""
        assert self.allowances is not None
        r = job.record
        finished = now if r.finished_at is None else r.finished_at
        seconds = finished - (finished if r.started_at is None else r.started_at)
        if self.allowances.charge(r.instance, seconds, now):
            message = self.allowances.limit_message(r.instance, now)
            for q in list(self._queues.values()):
                mine = [e for e in q.entries() if e.job.record.instance == r.instance]
                self._fail_queued(q, mine, JobErrorCode.USAGE_LIMIT, message)

    def reservation_window(self, reservation: Reservation, opens: bool) -> None:
        """A reservation's window opens or closes (lock held): at its close the reserving
        instance's session jobs still queued on the device fail; then the device is
        dispatched again."""
        q = self._queues.get(reservation.device)
        if q is None:
            return
        if not opens:
            ending = [
                e
                for e in q.entries()
                if e.session is not None and e.job.record.instance == reservation.instance
            ]
            message = (
                f"the reservation of {reservation.device} for instance "
                f"{reservation.instance!r} ended before the job started"
            )
            self._fail_queued(q, ending, JobErrorCode.RESERVATION_ENDED, message)
        self.dispatch(reservation.device)

    def _fail_queued(
        self, q: DeviceQueue, entries: list[QueuedJob], code: JobErrorCode, message: str
    ) -> None:
        """End queued ``entries`` of ``q`` as ERROR, telling their sessions."""
        now = self.ctx.clock.now()
        for entry in sorted(entries):
            if q.remove(entry.job.id) is None:
                continue
            self._end(entry.job, JobStatus.ERROR, now, code, message)
            self._ended(entry.session, entry.job, now, was_running=False)

    def _vacate(self, run: Run) -> None:
        self._running.pop(run.job.id, None)
        q = self._queues.get(run.device.name)
        if q is not None:
            q.running.pop(run.job.id, None)
        if run.timer is not None:
            run.timer.cancel()

    def _end(
        self, job: Job, status: JobStatus, now: float, code: JobErrorCode, message: str
    ) -> None:
        """Move a job to a final ``status`` other than DONE, with its error code and message."""
        self.transitions.set_status(
            job, status, finished_at=now, error_code=code.value, error_message=message
        )

    def _ended(
        self, session: LiveSession | None, job: Job, now: float, *, was_running: bool
    ) -> None:
        self.ctx.emitter.post("job_finished", job)
        if session is not None:
            self.hooks.job_ended(session, job, now, was_running=was_running)

    # -- cancellation and session-driven changes ------------------------------------------------
    def cancel(self, job: Job, device: Device, *, code: JobErrorCode, message: str) -> bool:
        """Cancel a queued job, or a running one if its device allows. True if cancelled."""
        if job.in_final_state():
            return False
        now = self.ctx.clock.now()
        q = self.queue(device)
        if job.status is JobStatus.QUEUED:
            entry = q.remove(job.id)
            session, was_running = (entry.session if entry is not None else None), False
        else:
            run = self._running.get(job.id)
            if run is None or not device.can_cancel_running:
                return False
            self._vacate(run)
            session, was_running = run.session, True
        self._end(job, JobStatus.CANCELLED, now, code, message)
        self._ended(session, job, now, was_running=was_running)
        self.dispatch(device.name)
        return True

    def drop_queued(
        self, session: LiveSession, status: JobStatus, code: JobErrorCode, message: str
    ) -> int:
        """End every queued job of ``session`` with ``status``; returns how many."""
        q = self._queues.get(session.record.device)
        if q is None:
            return 0
        now = self.ctx.clock.now()
        entries = q.session_entries(session.id)
        for entry in entries:
            q.remove(entry.job.id)
            self._drop(entry.job, status, now, code, message)
        session.queued -= len(entries)
        q.forget_session(session.id)
        return len(entries)

    def cancel_running(self, session: LiveSession, code: JobErrorCode, message: str) -> int:
        """Cancel the running jobs of ``session`` where the device allows; returns how many."""
        now = self.ctx.clock.now()
        runs = [
            r
            for r in self._running.values()
            if r.session is session and r.device.can_cancel_running
        ]
        for run in runs:
            self._vacate(run)
            self._drop(run.job, JobStatus.CANCELLED, now, code, message)
        session.running -= len(runs)
        return len(runs)

    def hold(self, session: LiveSession, device: Device) -> None:
        """Dedicate ``device`` to ``session`` unless another session holds it (an adopted
        session that was active keeps its device)."""
        q = self.queue(device)
        if q.holder is None:
            q.holder = session

    def forget_queued(self) -> list[Job]:
        """Take every queued job out of the queues without ending it (its stored record
        stays QUEUED, for a later runtime to adopt); returns them."""
        jobs = []
        for q in self._queues.values():
            for job_id in q.job_ids():
                entry = q.remove(job_id)
                if entry is not None:
                    jobs.append(entry.job)
        return jobs

    def release(self, session: LiveSession) -> None:
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
                self._drop(entry.job, JobStatus.CANCELLED, now, code, message)
                if entry.session is not None:
                    entry.session.queued -= 1
        if running:
            for run in list(self._running.values()):
                self._vacate(run)
                self._drop(run.job, JobStatus.ERROR, now, code, message)
                if run.session is not None:
                    run.session.running -= 1

    def _drop(
        self, job: Job, status: JobStatus, now: float, code: JobErrorCode, message: str
    ) -> None:
        """End a job without telling its session (the caller settles the session's counts)."""
        self._end(job, status, now, code, message)
        self.ctx.emitter.post("job_finished", job)

    def tracks(self, job_id: str) -> bool:
        """True if the job is queued or running here (False for a job a submission
        interrupted half-way never handed over)."""
        return job_id in self._running or any(q.has(job_id) for q in self._queues.values())

    @property
    def busy(self) -> bool:
        """True while any job of this runtime is queued or running."""
        return bool(self._running) or any(q.queued for q in self._queues.values())


def _calibration_for(calibrations: Calibrations, job: Job, device: str) -> dict[str, Any] | None:
    """The metadata of a starting job with the calibration it runs with, or None when it has
    one already (named by its user), is itself a calibration, or the device has none yet."""
    metadata = job.record.metadata
    if CALIBRATION_KEY in metadata or job.program_id == CALIBRATION_PROGRAM:
        return None
    current = calibrations.in_force(device)
    return None if current is None else {**metadata, CALIBRATION_KEY: current}
