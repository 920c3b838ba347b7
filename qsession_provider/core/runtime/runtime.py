"""The runtime: the one facade every face (Qiskit, Azure-style, Cirq) talks to.

A :class:`Runtime` owns a store, a clock, devices, a scheduling policy and an executor.
Jobs are submitted to devices, alone ("job mode") or inside a session or batch, and are
scheduled by :mod:`.scheduler` under the rules of :mod:`.policies` and
:mod:`.session_rules`; :mod:`.execution` computes them.

One runtime per store per process: :meth:`Runtime.for_store` returns the runtime already
open on the same store (same resolved path) or opens it, so a session opened through one
face is seen through the others. How a clock and a store combine: the runtime of a store
is created with the first opener's clock (a
:class:`~qsession_provider.core.clock.RealClock` if none is given); a later
``for_store`` call may omit the clock or pass the same object, and a different clock
raises :class:`~qsession_provider.errors.QSessionError` - one store's sessions cannot live
on two timelines. Use another store path (or ``Runtime(...)`` directly) for an
independent timeline.

Restarts: a runtime built with ``adopt_orphans=True`` (the service's) takes over the work
that processes gone from its store left behind instead of failing it (:mod:`.adoption`),
and ``shutdown(keep_queued=True)`` leaves queued jobs and open sessions in the store for
such a runtime.
"""

from __future__ import annotations

import atexit
import functools
import os
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ...errors import InputError, QSessionError, StoreError
from ..calibrations import CALIBRATION_PROGRAM, CalibrationPayload, CalibrationSchedule
from ..clock import Clock, RealClock, parse_duration
from ..device import Device, DeviceRegistry
from ..job import FINAL_STATES, PENDING_STATES, Job, JobErrorCode, JobStatus
from ..plans import InstancePlan, Reservation
from ..store.memory import MemoryStore
from ..store.postgres_open import open_store
from ..store.processes import (
    HEARTBEAT_INTERVAL,
    Heartbeat,
    check_same_clock,
    current_process,
    is_process_alive,
)
from ..store.protocol import JobQuery, OrphanReport, Store
from ..store.sqlite import resolve_store_path
from .adoption import OrphanAdoption
from .allowances import Allowances
from .calibrations import Calibrations
from .context import RuntimeContext
from .estimates import QueueEstimate
from .events import EventEmitter
from .executors import Executor, ThreadExecutor
from .jobs import JobsAPI
from .policies import FairSharePolicy, SchedulingPolicy
from .scheduler import Scheduler
from .session_rules import SessionRules
from .sessions import SessionsAPI
from .signals import install_sigterm_handler

__all__ = ["Runtime", "registered_runtime"]

_REGISTRY: dict[str, Runtime] = {}
_REGISTRY_LOCK = threading.Lock()


class Runtime(JobsAPI, SessionsAPI, OrphanAdoption):
    """A local quantum runtime: devices, jobs, sessions, a scheduler, a store and a clock.

    Args:
        store: where records persist (default: a new
            :class:`~qsession_provider.core.store.memory.MemoryStore`).
        clock: where time comes from (default: a new
            :class:`~qsession_provider.core.clock.RealClock`).
        devices: a :class:`~qsession_provider.core.device.DeviceRegistry` or devices to
            register.
        listeners: lifecycle observers (see :class:`~.events.RuntimeListener`).
        policy: the scheduling policy (default :class:`~.policies.FairSharePolicy`).
        executor: where payloads are computed (default: a thread pool). With a thread
            pool, a tiny job that starts at submission is computed in the submitting
            thread, and a thread waiting for a job no worker has started runs it itself
            (see :mod:`~qsession_provider.core.runtime.execution`).
        sweep_orphans: on start, deal with the unfinished work of exited processes: fail
            their jobs and close their sessions, or adopt them (``adopt_orphans``).
        adopt_orphans: adopt that work instead (what a service does so that a restart
            loses nothing; see :mod:`~qsession_provider.core.runtime.adoption`): open
            sessions live again here, queued jobs are queued again, running jobs are
            re-run once if deterministic, else fail ``orphaned``. It also adopts what a
            runtime shut down with ``keep_queued=True`` left. Default False: embedded
            runtimes fail the work of exited processes and leave kept work alone.
        wall_clock: the real-time clock of heartbeats and of the sweep of dead owners
            (default: a private :class:`~qsession_provider.core.clock.RealClock`; tests
            pass a :class:`~qsession_provider.core.clock.VirtualClock` and advance it).
        heartbeat_interval: seconds of ``wall_clock`` between two heartbeats.

    Dead owners: with a file store, every ``heartbeat_interval`` the runtime writes its
    heartbeat and sweeps the store like at start-up: the work of processes found gone
    (:func:`~qsession_provider.core.store.processes.is_process_alive`: on this host as
    soon as their pid is gone, on another host once their heartbeat is older than
    :data:`~qsession_provider.core.store.processes.STALE_AFTER`) is failed ``orphaned``,
    or adopted with ``adopt_orphans``. So a job of a killed process is final within one
    heartbeat for the live processes sharing the store, and ``result()`` returns.

    Signals: creating a runtime on a file store in the main thread installs a SIGTERM
    handler if SIGTERM has its default action (:mod:`~.signals`): SIGTERM then exits
    through ``SystemExit``, so runtimes shut down and stores commit what waits.

    Example:
        >>> from qsession_provider.core.clock import VirtualClock
        >>> from qsession_provider.core.device import Device
        >>> echo = Device("echo", 2, lambda program, payload: {"echo": payload},
        ...               programs={"echo"}, simulator=True)
        >>> with Runtime(devices=[echo], clock=VirtualClock()) as rt:
        ...     rt.submit("echo", "echo", {"x": 1}).result()
        {'echo': {'x': 1}}
    """

    def __init__(
        self,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        devices: DeviceRegistry | Iterable[Device] | None = None,
        listeners: Iterable[object] = (),
        policy: SchedulingPolicy | None = None,
        executor: Executor | None = None,
        sweep_orphans: bool = True,
        adopt_orphans: bool = False,
        wall_clock: Clock | None = None,
        heartbeat_interval: float = HEARTBEAT_INTERVAL,
        plans: Mapping[str, InstancePlan] | None = None,
        reservations: Iterable[Reservation] = (),
        calibrations: Mapping[str, CalibrationSchedule] | None = None,
    ) -> None:
        if isinstance(heartbeat_interval, bool) or not (
            isinstance(heartbeat_interval, (int, float)) and heartbeat_interval > 0
        ):
            raise InputError(
                f"heartbeat_interval must be a number of seconds > 0, got {heartbeat_interval!r}"
            )
        self._own_clock = clock is None
        self.clock: Clock = clock if clock is not None else RealClock()
        self._own_store = store is None
        self.store: Store = store if store is not None else MemoryStore()
        if isinstance(devices, DeviceRegistry):
            self._devices = devices
        else:
            self._devices = DeviceRegistry()
            for device in devices or ():
                self._devices.register(device)
        self.policy: SchedulingPolicy = policy if policy is not None else FairSharePolicy()
        self._own_executor = executor is None
        self._executor: Executor = executor if executor is not None else ThreadExecutor()
        self._emitter = EventEmitter(listeners)
        self._process = current_process(self.clock)
        self._ctx = RuntimeContext(self.clock, self.store, self._emitter, self._process.id)
        # The session rules build the scheduler with themselves as its session hooks.
        self._rules = SessionRules(
            self._ctx, functools.partial(Scheduler, self._ctx, self.policy, self._executor)
        )
        self._scheduler = self._rules.scheduler
        on_available = getattr(self._executor, "on_available", None)
        if on_available is not None:  # a Dask cluster back: start the jobs that waited
            on_available(_weak_call(self._dispatch_all))
        self._live: dict[str, Job] = {}
        self._handles: weakref.WeakValueDictionary[str, Job] = weakref.WeakValueDictionary()
        self._closed = False
        self._registry_key: str | None = None
        self._wall: Clock = wall_clock if wall_clock is not None else RealClock()
        self._own_wall = wall_clock is None
        self._adopt = adopt_orphans
        self._sweep = sweep_orphans
        if not self.store.location.startswith(":memory:"):  # a shared store: one timeline
            check_same_clock(self._process, self.store.processes(), self.store.location)
        self.store.register_process(self._process)
        #: What the start-up sweep changed (jobs failed, sessions closed, work adopted).
        self.orphans = self._sweep_orphans(adopt_orphans) if sweep_orphans else OrphanReport()
        self._scheduler.calibrations = Calibrations(
            self._ctx, _weak_call(self._submit_calibration), _weak_call(self._latest_calibration)
        )
        for device, schedule in (calibrations or {}).items():
            self.schedule_calibrations(device, schedule)
        for instance, plan in (plans or {}).items():
            self.set_plan(instance, plan)
        for reservation in reservations:
            self.reserve(reservation)
        self._heartbeat: Heartbeat | None = None
        if not self.store.location.startswith(":memory:"):
            self._heartbeat = Heartbeat(self._beat, heartbeat_interval, self._wall)
            self._heartbeat.start()
            install_sigterm_handler()

    # -- the per-store registry -------------------------------------------------------------------
    @classmethod
    def for_store(
        cls,
        path: str | None = None,
        *,
        clock: Clock | None = None,
        policy: SchedulingPolicy | None = None,
        devices: DeviceRegistry | Iterable[Device] | None = None,
        listeners: Iterable[object] = (),
        executor: Executor | None = None,
        setup: Callable[[], Mapping[str, Any]] | None = None,
        adopt_orphans: bool = False,
    ) -> Runtime:
        """The runtime of this process for the store at ``path``, opening it if needed.

        ``path`` follows :func:`~qsession_provider.core.store.sqlite.resolve_store_path`
        (None: ``$QSESSION_STORE`` or the user data directory; ``":memory:"``: one
        in-memory SQLite store per process - :func:`qsession_provider.client.open_runtime`
        gives a private runtime for ``":memory:"`` instead of calling this).
        ``devices``, ``listeners``, ``executor`` and ``adopt_orphans`` apply only when the
        runtime is created; so does ``setup``, a callable returning more of those keyword
        arguments (how :func:`qsession_provider.client.open_runtime` loads plugins only once).

        Raises:
            QSessionError: the store's runtime already runs on another clock or policy.
        """
        location = resolve_store_path(path)
        with _REGISTRY_LOCK:
            runtime = _REGISTRY.get(location)
            if runtime is not None and not runtime.closed:
                if clock is not None and clock is not runtime.clock:
                    raise QSessionError(
                        f"the runtime for store {runtime.location} already runs on "
                        f"{runtime.clock!r}; "
                        "pass the same clock (or none), or use another store path for an "
                        "independent timeline"
                    )
                if policy is not None and policy is not runtime.policy:
                    raise QSessionError(
                        f"the runtime for store {runtime.location} already uses scheduling policy "
                        f"{runtime.policy!r}"
                    )
                return runtime
            options: dict[str, Any] = {
                "devices": devices,
                "listeners": listeners,
                "policy": policy,
                "executor": executor,
            }
            for key, value in (setup() if setup is not None else {}).items():
                if key not in options:
                    raise QSessionError(f"Runtime.for_store setup returned unknown option {key!r}")
                if value is not None and not options[key]:
                    options[key] = value
            runtime = cls(
                store=open_store(location), clock=clock, adopt_orphans=adopt_orphans, **options
            )
            runtime._own_store = True
            runtime._registry_key = location
            _REGISTRY[location] = runtime
            return runtime

    # -- devices ----------------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        """Every registered device, by name."""
        return list(self._devices)

    def device(self, name: str) -> Device:
        """The device called ``name``.

        Raises:
            DeviceNotFoundError: no such device (the message lists the known ones).
        """
        return self._devices.get(name)

    def add_device(self, device: Device, *, replace: bool = False) -> None:
        """Register another device.

        Raises:
            PluginError: the name is taken (unless ``replace``).
        """
        self._devices.register(device, replace=replace)

    def pending_jobs(self, device: str) -> int:
        """Queued and running jobs of ``device`` in this runtime (its scheduling queue).

        Raises:
            DeviceNotFoundError: no such device.
        """
        self._devices.get(device)
        with self._ctx.locked():
            queued, running = self._scheduler.pending(device)
        return queued + running

    def holder(self, device: str) -> str | None:
        """Id of the dedicated session ``device`` is dedicated to right now, or None."""
        with self._ctx.locked():
            session = self._scheduler.holder(device)
            return None if session is None else session.id

    # -- plans, usage limits and reservations (core/plans.py, allowances.py) ---------------
    def _allowances(self) -> Allowances:
        """The scheduler's allowances, made on first use (lock held)."""
        if self._scheduler.allowances is None:
            self._scheduler.allowances = Allowances(
                self._ctx, {}, (), self._scheduler.reservation_window
            )
        return self._scheduler.allowances

    def set_plan(self, instance: str, plan: InstancePlan) -> None:
        """Give ``instance`` a plan and usage limit (its finished jobs in the store within
        the plan's period count from now on).

        Raises:
            InputError: ``plan`` is not an :class:`~qsession_provider.core.plans.InstancePlan`
                or ``instance`` is not a non-empty string.
        """
        if not isinstance(instance, str) or not instance:
            raise InputError(f"instance must be a non-empty string, got {instance!r}")
        if not isinstance(plan, InstancePlan):
            raise InputError(f"the plan of instance {instance!r} must be an InstancePlan")
        now = self.clock.now()
        used: list[tuple[float, float]] = []
        if plan.usage_limit is not None:
            done = self.store.query_jobs(
                JobQuery(instance=instance, statuses=FINAL_STATES, created_after=now - plan.period)
            )
            used = [
                (r.finished_at, r.finished_at - r.started_at)
                for r in done
                if r.started_at is not None and r.finished_at is not None
            ]
        with self._ctx.locked():
            allowances = self._allowances()
            allowances.plans[instance] = plan
            allowances.load(instance, used)

    def plan(self, instance: str) -> InstancePlan:
        """The plan of ``instance`` (``premium`` without a limit unless one was set)."""
        with self._ctx.locked():
            allowances = self._scheduler.allowances
            return InstancePlan() if allowances is None else allowances.plan(instance)

    def usage(self, instance: str) -> dict[str, Any]:
        """``instance``'s plan, limit and quantum seconds used in the plan's period."""
        with self._ctx.locked():
            allowances = self._scheduler.allowances
            plan = InstancePlan() if allowances is None else allowances.plan(instance)
            now = self.clock.now()
            used = 0.0 if allowances is None else allowances.used(instance, now)
            return {
                "instance": instance,
                "plan": plan.plan,
                "usage_consumed_seconds": used,
                "usage_limit_seconds": plan.usage_limit,
                "usage_period_seconds": plan.period,
                "usage_limit_reached": plan.usage_limit is not None and used >= plan.usage_limit,
            }

    def reserve(self, reservation: Reservation) -> None:
        """Reserve a device for an instance during a window on this runtime's clock.

        Raises:
            DeviceNotFoundError: no such device.
            InputError: it overlaps another reservation of the device.
        """
        self._devices.get(reservation.device)
        with self._ctx.locked():
            self._allowances().reserve(reservation)
            self._scheduler.dispatch(reservation.device)

    def reservations(self) -> list[Reservation]:
        """Every reservation of this runtime, past, present and future."""
        with self._ctx.locked():
            allowances = self._scheduler.allowances
            return [] if allowances is None else list(allowances.reservations)

    # -- calibrations (core/calibrations.py, core/runtime/calibrations.py) -------------------
    def schedule_calibrations(self, device: str, schedule: CalibrationSchedule) -> None:
        """Calibrate ``device`` periodically from now on: a system job of
        ``schedule.duration`` seconds every ``schedule.every`` seconds (first after
        ``schedule.first``). On a virtual clock that auto-advances, a wait that cannot
        progress moves through the calibrations; give such waits a timeout.

        Raises:
            DeviceNotFoundError: no such device.
            InputError: ``device`` is a simulator, or ``schedule`` is not a
                :class:`~qsession_provider.core.calibrations.CalibrationSchedule`.
        """
        dev = self._devices.get(device)
        if dev.simulator:
            raise InputError(f"device {device!r} is a simulator: it has no calibration")
        if not isinstance(schedule, CalibrationSchedule):
            raise InputError(f"not a CalibrationSchedule: {schedule!r}")
        self._check_open()
        assert self._scheduler.calibrations is not None
        self._scheduler.calibrations.schedule(device, schedule)

    def calibrate(self, device: str, duration: float | str, **options: Any) -> Job:
        """Submit one calibration of ``device`` taking ``duration`` seconds: a system job
        (before anything queued) unless ``options`` say otherwise (``session_id``,
        ``instance``, ``tags``: a user's calibration job, as IBM's ``Calibrator`` runs).

        Raises:
            DeviceNotFoundError, InputError: see :meth:`submit`.
        """
        options.setdefault("name", "calibration")
        if options.get("session_id") is None:
            options.setdefault("system", True)
            options.setdefault("instance", "system")
        payload = CalibrationPayload(parse_duration(duration))
        return self.submit(CALIBRATION_PROGRAM, device, payload, **options)

    def calibration_in_force(self, device: str) -> str | None:
        """The id of ``device``'s latest finished calibration job, or None."""
        self._devices.get(device)
        assert self._scheduler.calibrations is not None
        with self._ctx.locked():
            return self._scheduler.calibrations.in_force(device)

    def _submit_calibration(self, device: str, seconds: float) -> None:
        if not self._closed:
            self.calibrate(device, seconds)

    def _latest_calibration(self, device: str) -> str | None:
        done = self.store.query_jobs(
            JobQuery(
                device=device,
                program_id=CALIBRATION_PROGRAM,
                statuses=frozenset({JobStatus.DONE}),
                limit=1,
            )
        )
        return done[0].id if done else None

    def queue_estimate(self, job_id: str) -> QueueEstimate | None:
        """Where a queued job of this runtime stands: its position on its device and its
        estimated start and completion (clock seconds); None once it is not queued here.

        Raises:
            JobNotFoundError: no such job.
        """
        device = self.job(job_id).record.device
        with self._ctx.locked():
            return self._scheduler.estimate(device, job_id)

    # -- listeners and lifecycle -------------------------------------------------------------------
    def add_listener(self, listener: object) -> None:
        """Add a lifecycle listener (see :class:`~.events.RuntimeListener`)."""
        self._emitter.add_listener(listener)

    def remove_listener(self, listener: object) -> None:
        """Remove a listener."""
        self._emitter.remove_listener(listener)

    @property
    def closed(self) -> bool:
        """True after :meth:`shutdown`."""
        return self._closed

    @property
    def location(self) -> str:
        """Where this runtime keeps its records: its store's location."""
        return self.store.location

    @property
    def process_id(self) -> str:
        """This runtime's owner id (written on its jobs and sessions)."""
        return self._process.id

    def shutdown(
        self,
        *,
        wait: bool = True,
        cancel_pending: bool = False,
        timeout: float | None = None,
        keep_queued: bool = False,
    ) -> None:
        """Stop the runtime. Idempotent.

        Args:
            wait: wait for outstanding jobs to finish (clock time, at most ``timeout``).
            cancel_pending: cancel queued jobs first (code ``shutdown``).
            timeout: seconds to wait for each job when ``wait``.
            keep_queued: leave queued jobs QUEUED and open sessions open in the store, for
                a later runtime with ``adopt_orphans=True`` (a service stopping); only
                running jobs are waited for. Session timers stop here.

        Jobs still running when the runtime stops fail with code ``shutdown``; sessions
        still open close with reason ``shutdown`` (unless ``keep_queued``). Before the
        runtime unregisters its process, every job of its own still pending in the store
        ends ``shutdown`` too - also one an interrupt (Ctrl-C) caught half-way through the
        runtime's bookkeeping - so nothing it accepted stays QUEUED or RUNNING for ever
        (unless ``keep_queued``: then its queued jobs are left for adoption).
        """
        with self._ctx.locked():
            if self._closed:
                return
            self._closed = True
            if self._scheduler.allowances is not None:
                self._scheduler.allowances.close()  # no reservation window fires any more
            if self._scheduler.calibrations is not None:
                self._scheduler.calibrations.close()
            self._end_lost_jobs()
            if keep_queued:
                self._scheduler.paused = True  # queued jobs stay queued
            elif cancel_pending:
                self._scheduler.drop_everything(
                    JobErrorCode.SHUTDOWN, "the runtime shut down before the job ran", running=False
                )
        # A manual virtual clock cannot move while we wait: jobs needing time fail below.
        if wait and not (self.clock.virtual and not getattr(self.clock, "auto_advance", True)):
            for job in list(self._live.values()):
                if not keep_queued or job.running():
                    job.wait(timeout)
        with self._ctx.locked():
            if keep_queued:
                self._scheduler.forget_queued()
            self._scheduler.drop_everything(
                JobErrorCode.SHUTDOWN, "the runtime shut down before the job finished", running=True
            )
            for session in list(self._rules.sessions.values()):
                if keep_queued:
                    self._rules.abandon(session)
                else:
                    self._rules.shutdown(session)
        if self._heartbeat is not None:
            self._heartbeat.stop()
        if self._own_wall:
            self._wall.close()
        if self._own_executor:
            self._executor.shutdown(wait=False)
        try:
            if keep_queued:
                self.store.unregister_process(self._process.id)
            else:
                self._end_leftovers()
        except StoreError:
            pass  # the process record stays: the next sweep fails what is left
        if self._own_store:
            self.store.close()
        if self._own_clock:
            self.clock.close()
        with _REGISTRY_LOCK:
            if self._registry_key is not None and _REGISTRY.get(self._registry_key) is self:
                del _REGISTRY[self._registry_key]

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        # Ctrl-C or SystemExit (SIGTERM) leaving the block: do not wait for the jobs (an
        # interrupt may have cut their bookkeeping short); they end ``shutdown``.
        interrupted = isinstance(exc, BaseException) and not isinstance(exc, Exception)
        self.shutdown(wait=not interrupted, cancel_pending=interrupted)

    def __repr__(self) -> str:
        state = "closed" if self._closed else "open"
        return f"<Runtime {self.store.location} {state} devices={self._devices.names()}>"

    # -- internals ---------------------------------------------------------------------------------
    def _dispatch_all(self) -> None:
        """Start what waits on every device (the executor can take jobs again)."""
        with self._ctx.locked(), self._scheduler.transitions.batch():
            if not self._closed:
                for name in self._devices.names():
                    self._scheduler.dispatch(name)

    def _check_open(self) -> None:
        if self._closed:
            raise QSessionError("the runtime has been shut down")

    def _shutdown_fields(self) -> dict[str, Any]:
        return {
            "finished_at": self.clock.now(),
            "error_code": JobErrorCode.SHUTDOWN.value,
            "error_message": "the runtime shut down before the job finished",
        }

    def _end_lost_jobs(self) -> None:
        """End the live jobs the scheduler does not track (a submission an interrupt cut
        short after the job was stored): nothing would ever finish them (lock held)."""
        ended = self._shutdown_fields()
        for job in list(self._live.values()):
            if not job.in_final_state() and not self._scheduler.tracks(job.id):
                for callback in job._transition(JobStatus.ERROR, **ended):
                    self._ctx.after_unlock(callback)
                try:
                    self.store.update_job(job.record)
                except StoreError:
                    pass  # the store's own pass at the end of shutdown tries again

    def _end_leftovers(self) -> None:
        """At shutdown: end every job of this runtime still pending in the store (the
        in-memory ones have ended), then close its leftover sessions and unregister,
        atomically (the store's sweep)."""
        me = self._process.id
        with self._ctx.locked():
            self._end_lost_jobs()
            ended = self._shutdown_fields()
            for record in self.store.query_jobs(JobQuery(owner=me, statuses=PENDING_STATES)):
                live = self._live.get(record.id)
                if live is not None and live._is_settled():  # final, its waiters released
                    self.store.update_job(live.record)
                else:
                    self.store.update_job(record.replace(status=JobStatus.ERROR, **ended))
        self.store.mark_orphans([me], self._wall.now())

    def _beat(self) -> None:
        """One heartbeat: write ours, then sweep the processes found gone since the last."""
        if self._closed:
            return
        self.store.heartbeat(self._process.id, self._wall.now())
        if self._sweep and not self._closed:
            self._sweep_orphans(self._adopt, live=True)

    def _sweep_orphans(self, adopt: bool, *, live: bool = False) -> OrphanReport:
        """Fail (or ``adopt``) the jobs and sessions of registered processes that are gone.

        Every runtime registers its process before it accepts anything and finishes its
        jobs before it unregisters - but for ``shutdown(keep_queued=True)``, whose work
        only an adopting runtime takes (as work without a process record). The sweep of a
        ``live`` runtime (at a heartbeat) adopts only when it finds a process gone.
        """
        wall = self._wall.now()
        dead = {
            p.id: p
            for p in self.store.processes()
            if p.id != self._process.id and not is_process_alive(p, now=wall)
        }
        if adopt:
            return self._adopt_orphans(dead) if dead or not live else OrphanReport()
        return self.store.mark_orphans(dead, wall) if dead else OrphanReport()


def _weak_call(method: Callable[..., Any]) -> Callable[..., Any]:
    """``method`` through a weak reference: an executor or a timer does not keep a runtime
    alive (None once the runtime is gone)."""
    ref = weakref.WeakMethod(method)

    def call(*args: Any) -> Any:
        bound = ref()
        return None if bound is None else bound(*args)

    return call


def registered_runtime(location: str) -> Runtime | None:
    """The open runtime of this process for the store at ``location`` (resolved), if any."""
    with _REGISTRY_LOCK:
        runtime = _REGISTRY.get(location)
    return None if runtime is None or runtime.closed else runtime


def _forget_parent_runtimes() -> None:
    """In a forked child, forget the parent's runtimes (their threads did not survive the
    fork), so that opening a store there opens the child's own runtime on it."""
    global _REGISTRY_LOCK
    _REGISTRY_LOCK = threading.Lock()
    _REGISTRY.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_parent_runtimes)


@atexit.register
def _shutdown_registered_runtimes() -> None:
    """At exit, stop the shared runtimes: queued jobs are cancelled, not orphaned."""
    with _REGISTRY_LOCK:
        runtimes = list(_REGISTRY.values())
    for runtime in runtimes:
        try:
            runtime.shutdown(wait=False, cancel_pending=True)
        except Exception:  # exiting anyway; the next open sweeps what is left
            pass
