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

Persistence: every transition is written to the store (:meth:`Scheduler.set_status`).
Inside :meth:`Scheduler.batch` - a job's start, a job's end with everything it triggers -
the writes form one store group when the store offers ``batch()`` (the SQLite store does:
one transaction, committed behind the caller with write-behind, before the block ends
without), and jobs that reached a final state are *settled* (their waiters released) only
after the group is handed to the store; outside a batch a final job is settled right after
its write. So ``result()`` never returns a result the store does not hold (a write-behind
store serves it to every reader of this process before it is on disk).

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
it is submitted - a free slot, the policy picks it - is computed right there, in the
submitting thread and inside the submission's store batch, instead of being handed to the
executor: a thread-pool round trip costs more than such a job (tens of microseconds of
engine time; the runtime lock is held meanwhile, as for any bookkeeping). Same
computation, same bookkeeping (:meth:`_completed`), same events in the same order; the job
is already final when ``submit`` returns (with a pool it would be a few microseconds
later), and the store gets it in one write (the insert carries the final state).
Only with an in-process thread pool (the default executor): another executor (Dask, a
user's) gets every job, and larger jobs keep the pool's parallelism (a burst of them on a
device with several slots runs side by side).

Run-on-wait: with an in-process thread pool (:class:`concurrent.futures.ThreadPoolExecutor`,
the default), a started job is submitted to the pool as usual and also left claimable on
its handle (``Job._steal``). Whoever claims it first runs it - a pool worker, or a thread
that blocks on ``job.wait()``/``job.result()`` without a timeout (and not inside the
runtime's lock), which then computes the job itself instead of sleeping through two thread
hand-offs. The computation, the timing model and the bookkeeping (:meth:`_completed`) are
the same either way; a tiny sequential job gains ~60-100 us.
"""

from __future__ import annotations

import concurrent.futures
import functools
import itertools
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ...errors import InputError, QSessionError, StoreError
from ..clock import Activity, Timer
from ..device import Device
from ..ir.encoding import dumps
from ..job import FINAL_STATES, Job, JobErrorCode, JobStatus
from .context import RuntimeContext
from .executors import Executor
from .policies import SchedulingPolicy
from .queues import DeviceQueue, QueuedJob

if TYPE_CHECKING:
    from ..session import Session
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


#: What a pool task returns when a waiting thread claimed (and ran) its job first.
_STOLEN: Any = object()

#: Largest ``num_executions * 2**num_qubits`` of a job run at submission (module docstring).
INLINE_MAX_WORK = 1 << 10
#: Largest ``num_executions * 2**num_qubits`` of a job stored QUEUED -> final (module docstring).
SMALL_JOB_WORK = 1 << 14
#: Largest ``total_shots`` of a sampler/run job run at submission.
INLINE_MAX_SHOTS = 10_000


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
        #: Jobs to settle once the current :meth:`batch` is committed (None: no batch).
        self._to_settle: list[Job] | None = None
        #: The job :meth:`enqueue` may run at submission, while it dispatches.
        self._inline_candidate: Job | None = None
        #: The started job :meth:`enqueue` runs at submission once its dispatch is over.
        self._inline_run: tuple[_Run, Activity] | None = None
        #: Largest work of a job run at submission (0: never; see the module docstring).
        self.inline_max_work = INLINE_MAX_WORK
        #: Largest work of a job whose RUNNING state is not stored (0: store every start).
        self.small_job_work = SMALL_JOB_WORK

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
        self, job: Job, device: Device, session: Session | None, *, submitted: bool = False
    ) -> None:
        """Queue a new job and dispatch its device.

        ``submitted``: called by ``submit`` for a new job, which may then run at submission
        if it starts at once and is tiny (see the module docstring).
        """
        entry = QueuedJob(job, next(self._seq), session, device.execution_time(job.payload))
        self.queue(device).push(entry)
        self._inline_candidate = job if submitted else None
        try:
            self.dispatch(device.name)
        finally:
            self._inline_candidate = None
        inline, self._inline_run = self._inline_run, None
        if inline is not None:
            self._run_inline(*inline)

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
        run = _Run(job, q.device, session, entry.expected)
        work = self._work(run)
        inline = (
            self._inline_candidate is job
            and work is not None
            and work[0] <= self.inline_max_work
            and work[1] <= INLINE_MAX_SHOTS
            and isinstance(self.executor, concurrent.futures.ThreadPoolExecutor)
        )
        # A small job is stored QUEUED -> final (module docstring).
        small = work is not None and work[0] <= self.small_job_work
        self.set_status(job, JobStatus.RUNNING, persist=not small, started_at=now)
        q.running[job.id] = job
        self._running[job.id] = run
        self.policy.charge(job.instance, entry.expected, now)
        self.ctx.emitter.post("job_started", job)
        if session is not None:
            if session.dedicated and q.holder is None:
                q.holder = session
            assert self.rules is not None
            self.rules.job_started(session, job, now, persist=not small)
        activity = self.ctx.clock.hold()
        if inline:
            self._inline_run = (run, activity)
        else:
            self.ctx.after_unlock(lambda: self._launch(run, activity))

    @staticmethod
    def _work(run: _Run) -> tuple[int, int] | None:
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

    def _run_inline(self, run: _Run, activity: Activity) -> None:
        """Compute a job in this thread, now (lock held, see the module doc), and complete it."""
        job = run.job
        execute = run.device.execute
        if job._fail_with is not None:
            execute = functools.partial(_refuse, job._fail_with)
        self._compute_here(run, activity, (execute, job.program_id, job.payload))

    def _compute_here(self, run: _Run, activity: Activity, args: tuple[Any, ...]) -> None:
        """Run ``_execute(*args)`` in this thread and hand the outcome to :meth:`_completed`."""
        interrupt: BaseException | None = None
        try:
            outcome = _execute(*args)
        except BaseException as exc:  # e.g. KeyboardInterrupt: fail the job, then raise
            outcome = (None, None, exc)
            interrupt = exc
        self._completed(run, activity, outcome)
        if interrupt is not None:
            raise interrupt

    def _launch(self, run: _Run, activity: Activity) -> None:
        """Hand a started job to the executor (runs without the lock)."""
        job = run.job
        execute = run.device.execute
        if job._fail_with is not None:
            execute = functools.partial(_refuse, job._fail_with)
        if isinstance(self.executor, concurrent.futures.ThreadPoolExecutor):
            self._launch_claimable(run, activity, execute)
            return
        try:
            future = self.executor.submit(_execute, execute, job.program_id, job.payload)
        except Exception as exc:  # e.g. the executor was shut down
            future = concurrent.futures.Future()
            future.set_result((None, None, exc))
        future.add_done_callback(lambda f: self._computed(run, activity, f))

    def _launch_claimable(
        self, run: _Run, activity: Activity, execute: Callable[[str, Any], Any]
    ) -> None:
        """Submit to an in-process pool, and let a waiting thread run it first (module doc)."""
        job = run.job
        claim = threading.Lock()  # acquired once, by whoever runs the job
        args = (execute, job.program_id, job.payload)

        def work() -> Any:
            if not claim.acquire(blocking=False):
                return _STOLEN
            job._steal = None
            return _execute(*args)

        def steal() -> bool:
            if self.ctx.owned() or not claim.acquire(blocking=False):
                return False
            job._steal = None
            self._compute_here(run, activity, args)
            return True

        def done(f: concurrent.futures.Future[Any]) -> None:
            if not f.cancelled() and f.exception() is None and f.result() is _STOLEN:
                return  # a waiting thread ran the job
            self._computed(run, activity, f)

        job._steal = steal
        try:
            future = self.executor.submit(work)
        except Exception as exc:  # e.g. the executor was shut down
            if not claim.acquire(blocking=False):
                return  # already claimed by a waiting thread, which completes it
            job._steal = None
            future = concurrent.futures.Future()
            future.set_result((None, None, exc))
        future.add_done_callback(done)

    def _computed(
        self, run: _Run, activity: Activity, future: concurrent.futures.Future[Any]
    ) -> None:
        """Executor callback: schedule the job's end at its modelled finish time."""
        try:
            outcome = future.result()
        except BaseException as exc:  # a cancelled future or a broken executor
            outcome = (None, None, exc)
        self._completed(run, activity, outcome)

    def _completed(self, run: _Run, activity: Activity, outcome: tuple[Any, Any, Any]) -> None:
        """A computation is over: ``outcome`` is ``(result, encoded, error)`` (see _execute)."""
        try:
            with self.ctx.locked(), self.batch():
                self._complete(run, *outcome)
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
        with self.ctx.locked(), self.batch():
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
    def batch(self, *, strict: bool = False) -> _Batch:
        """Group the store writes of the block; settle final jobs after the commit.

        Call with the runtime lock held. Nested batches join the outermost one. A failed
        commit is logged (as a failed write is) and the runtime carries on from memory;
        with ``strict`` (an outermost batch holding a job's insert) it raises the
        ``StoreError`` after logging.
        """
        return _Batch(self, strict)

    def set_status(
        self,
        job: Job,
        status: JobStatus,
        *,
        stored_result: str | None = None,
        persist: bool = True,
        **changes: Any,
    ) -> None:
        """Move a job to ``status``, persist it (unless ``persist`` is False), queue its
        done-callbacks.

        A final state is persisted before the job's waiters are released (see the module
        docstring).
        """
        final = status in FINAL_STATES
        for callback in job._transition(status, settle=not final, **changes):
            self.ctx.emitter.post_call(callback)
        if persist:
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
        if final:
            if self._to_settle is not None:
                self._to_settle.append(job)
            else:
                job._settle()

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


class _Batch:
    """The context manager of :meth:`Scheduler.batch` (entered twice per job)."""

    __slots__ = ("_scheduler", "_store_batch", "_outer", "_strict")

    def __init__(self, scheduler: Scheduler, strict: bool) -> None:
        self._scheduler = scheduler
        self._store_batch: Any = None
        self._outer = False
        self._strict = strict

    def __enter__(self) -> None:
        scheduler = self._scheduler
        if scheduler._to_settle is not None:
            return
        self._outer = True
        scheduler._to_settle = []
        store_batch = getattr(scheduler.ctx.store, "batch", None)
        if store_batch is not None:
            cm = store_batch()
            try:
                cm.__enter__()
            except BaseException:
                scheduler._to_settle = None
                raise
            self._store_batch = cm

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._outer:
            return
        scheduler = self._scheduler
        try:
            cm = self._store_batch
            if cm is not None:
                try:
                    cm.__exit__(exc_type, exc, tb)  # commits what was written
                except StoreError:
                    _log.exception("could not persist a batch of job and session changes")
                    if self._strict and exc_type is None:  # an error of the block wins
                        raise
        finally:
            jobs, scheduler._to_settle = scheduler._to_settle, None
            for job in jobs or ():
                job._settle()
