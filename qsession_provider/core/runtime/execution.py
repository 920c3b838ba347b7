"""Execution: computing a started job, and ending it at its modelled finish time.

The scheduler (:mod:`.scheduler`) decides which job starts; :class:`Execution` computes
it. A started job is handed to the :class:`~.executors.Executor` once the runtime lock is
released. When its computation ends, the job finishes at ``started_at + modelled
duration`` on the clock (at once if that time has passed), so an emulated QPU takes
realistic time without sleeping on a virtual clock. A job that ran past its
``max_execution_time`` (or whose modelled time is longer) fails with code
``max_execution_time``. The runtime holds a clock
:class:`~qsession_provider.core.clock.Activity` from dispatch until the computation is
over, which is what lets a :class:`~qsession_provider.core.clock.VirtualClock` know the
runtime is idle.

Run at submission: a *tiny* job the scheduler starts the moment it is submitted (see
:mod:`.scheduler`) is computed right there, by :meth:`Execution.run_here`, in the
submitting thread and inside the submission's store batch, instead of being handed to the
executor: a thread-pool round trip costs more than such a job (tens of microseconds of
engine time; the runtime lock is held meanwhile, as for any bookkeeping). Same
computation, same bookkeeping, same events in the same order; the job is already final
when ``submit`` returns (with a pool it would be a few microseconds later), and the store
gets it in one write (the insert carries the final state).

Run-on-wait: with an in-process thread pool (:class:`concurrent.futures.ThreadPoolExecutor`,
the default), a started job is submitted to the pool as usual and also left claimable on
its handle (``Job._steal``). Whoever claims it first runs it - a pool worker, or a thread
that blocks on ``job.wait()``/``job.result()`` without a timeout (and not inside the
runtime's lock), which then computes the job itself instead of sleeping through two thread
hand-offs. The computation, the timing model and the bookkeeping are the same either way;
a tiny sequential job gains ~60-100 us.
"""

from __future__ import annotations

import concurrent.futures
import functools
import threading
from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any

from ...errors import InputError, StoreError
from ..calibrations import CALIBRATION_PROGRAM
from ..clock import Activity, Timer
from ..device import Device
from ..ir.encoding import dumps
from ..job import Job, JobErrorCode
from .calibrations import calibrate
from .context import RuntimeContext
from .executors import Executor
from .live_session import LiveSession

__all__ = ["Execution", "Failure", "Finish", "Run"]

#: Why a computed job failed: its error code and message (None: it succeeded).
Failure = tuple[JobErrorCode, str]
#: Ends a computed job (lock held, inside a store batch): ``(run, result, encoded, failure)``.
Finish = Callable[["Run", Any, Any, "Failure | None"], None]


@dataclass(eq=False)
class Run:
    """A started job occupying a slot.

    Attributes:
        job: the job.
        device: the device it runs on.
        session: its live session, or None in job mode.
        expected: modelled execution seconds.
        timer: the timer that ends the job at its modelled finish time, once set.
        injected: a scripted failure (:mod:`.faults`): the job ends so at its finish time.
    """

    job: Job
    device: Device
    session: LiveSession | None
    expected: float
    timer: Timer | None = None
    injected: Failure | None = None


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


#: What a pool task returns when a waiting thread claimed (and ran) its job first.
_STOLEN: Any = object()


class Execution:
    """Computes started jobs and ends them on time (internal; built by the scheduler).

    Args:
        ctx: the shared runtime context.
        executor: where payloads are computed.
        batch: opens the store group of a job's end (``Scheduler.batch``).
        finish: ends a computed job: frees its slot, stores its final state.
    """

    def __init__(
        self,
        ctx: RuntimeContext,
        executor: Executor,
        *,
        batch: Callable[[], AbstractContextManager[None]],
        finish: Finish,
    ) -> None:
        self.ctx = ctx
        self.executor = executor
        self._batch = batch
        self._finish = finish

    @property
    def in_process_pool(self) -> bool:
        """True with an in-process thread pool: run at submission and run-on-wait apply."""
        return isinstance(self.executor, concurrent.futures.ThreadPoolExecutor)

    @property
    def available(self) -> bool:
        """False while the executor cannot take jobs (a Dask cluster gone): nothing starts."""
        return bool(getattr(self.executor, "available", True))

    def slots(self, device: Device) -> int:
        """Jobs of ``device`` that may run at once: the executor's say (``device_slots``,
        e.g. :class:`~.dask_executor.DaskExecutor`), else ``device.slots``."""
        device_slots = getattr(self.executor, "device_slots", None)
        return device.slots if device_slots is None else int(device_slots(device))

    # -- starting a computation -------------------------------------------------------------
    def run_here(self, run: Run, activity: Activity) -> None:
        """Compute a job in this thread, now (lock held, see the module doc), and end it."""
        self._compute_here(run, activity, (_device_call(run), run.job.program_id, run.job.payload))

    def launch(self, run: Run, activity: Activity) -> None:
        """Hand a started job to the executor (runs without the lock)."""
        job = run.job
        execute = _device_call(run)
        if self.in_process_pool:
            self._launch_claimable(run, activity, execute)
            return
        # An executor that computes jobs by device name (Dask) gets the job, not a callable.
        submit_job = getattr(self.executor, "submit_job", None)
        try:
            if (
                submit_job is not None
                and job._fail_with is None
                and job.program_id != CALIBRATION_PROGRAM
            ):
                future = submit_job(run.device, job.program_id, job.payload, job_id=job.id)
            else:
                future = self.executor.submit(_execute, execute, job.program_id, job.payload)
        except Exception as exc:  # e.g. the executor was shut down
            future = concurrent.futures.Future()
            future.set_result((None, None, exc))
        future.add_done_callback(lambda f: self._computed(run, activity, f))

    def _launch_claimable(
        self, run: Run, activity: Activity, execute: Callable[[str, Any], Any]
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

    # -- a computation is over ----------------------------------------------------------------
    def _compute_here(self, run: Run, activity: Activity, args: tuple[Any, ...]) -> None:
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

    def _computed(
        self, run: Run, activity: Activity, future: concurrent.futures.Future[Any]
    ) -> None:
        """Executor callback: the computation is over."""
        try:
            outcome = future.result()
        except BaseException as exc:  # a cancelled future or a broken executor
            outcome = (None, None, exc)
        self._completed(run, activity, outcome)

    def _completed(self, run: Run, activity: Activity, outcome: tuple[Any, Any, Any]) -> None:
        """``outcome`` is ``(result, encoded, error)`` (see ``_execute``)."""
        try:
            with self.ctx.locked(), self._batch():
                self._complete(run, *outcome)
        finally:
            activity.release()

    def _complete(self, run: Run, result: Any, encoded: Any, error: BaseException | None) -> None:
        """End the job at its modelled finish time, or fail it (its error, or its time limit)."""
        job = run.job
        if job.in_final_state():
            return  # cancelled while computing
        now = self.ctx.clock.now()
        started = job.record.started_at or now
        limit = job.record.max_execution_time
        finish_at = started + run.expected
        failure: Failure | None = None
        if error is not None:
            failure = (JobErrorCode.EXECUTION_FAILED, f"{type(error).__name__}: {error}")
            finish_at = now  # a job that cannot run fails at once
        elif limit is not None and (run.expected > limit or now - started > limit):
            failure = (
                JobErrorCode.MAX_EXECUTION_TIME,
                f"the job exceeded its maximum execution time of {limit:g} s",
            )
            finish_at = started + limit if run.expected > limit else now
        elif run.injected is not None:
            failure = run.injected
        if finish_at > now:
            run.timer = self.ctx.clock.call_at(
                finish_at, lambda: self._finish_later(run, result, encoded, failure)
            )
        else:
            self._finish(run, result, encoded, failure)

    def _finish_later(self, run: Run, result: Any, encoded: Any, failure: Failure | None) -> None:
        with self.ctx.locked(), self._batch():
            if not run.job.in_final_state():
                self._finish(run, result, encoded, failure)


def _device_call(run: Run) -> Callable[[str, Any], Any]:
    """What computes the job: its device's ``execute``, or a refusal (``fail_with``)."""
    if run.job._fail_with is not None:
        return functools.partial(_refuse, run.job._fail_with)
    if run.job.program_id == CALIBRATION_PROGRAM:
        return functools.partial(calibrate, run.job.id, run.device.name)
    return run.device.execute
