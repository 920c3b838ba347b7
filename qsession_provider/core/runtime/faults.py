"""Scripted faults on a runtime's clock: :class:`FaultInjector`.

Installed on a :class:`~.runtime.Runtime`, an injector makes the faults of
:mod:`.fault_kinds` happen, deterministically, on the runtime's clock: job faults when a
matching job is submitted (counted in submission order) and starts; windows (a device
offline, the store refusing writes) and events (another tenant's load, a calibration) at
their times. The scheduler calls it through three hooks (``job_submitted``,
``job_starting``, ``device_offline``) and ``submit`` through ``check_submit``, all under the
runtime lock; it changes nothing else, so every rule that follows (a session's failure
policy, its ``max_time``, fair share) is the runtime's own.

Every injected event is recorded: in :attr:`FaultInjector.log`, and in the history of the
jobs and sessions it touches, ``metadata["faults"]`` (a list of ``{"at", "fault",
"detail"}``), so a failing test can say what was injected.
"""

from __future__ import annotations

import sqlite3
import threading
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from ...errors import InputError, QSessionError, StoreError
from ..clock import Timer
from ..ir.circuit import Circuit, Gate, Measure
from ..ir.payload import SamplerPayload, SamplerPub
from ..job import Job, JobErrorCode
from ..session import SessionState
from .execution import Run
from .fault_kinds import (
    Calibration,
    CancelJob,
    DeviceOffline,
    FailJob,
    Fault,
    SlowJob,
    StoreRefusal,
    TenantLoad,
)

if TYPE_CHECKING:
    from .runtime import Runtime

__all__ = ["FAULTS_KEY", "FaultInjector", "InjectedEvent", "DeviceUnavailableError"]

#: The metadata key of a job's or session's injected events.
FAULTS_KEY = "faults"
#: The tag of the jobs an injector submits itself (another tenant's load, calibrations).
FAULT_TAG = "qsession-fault"

_JOB_FAULTS = (FailJob, SlowJob, CancelJob)


class DeviceUnavailableError(QSessionError):
    """A submission to a device an injected outage took offline (with ``refuse``)."""


@dataclass(frozen=True)
class InjectedEvent:
    """One injected event: when (runtime clock), which fault, what it did, to what."""

    at: float
    fault: str
    detail: str
    job_id: str | None = None
    session_id: str | None = None

    def __str__(self) -> str:
        target = (
            f" job {self.job_id}"
            if self.job_id
            else (f" session {self.session_id}" if self.session_id else "")
        )
        return f"t={self.at:g} {self.fault}{target}: {self.detail}"


class FaultInjector:
    """Makes ``faults`` happen on ``runtime`` (see the module docstring).

    One injector per runtime at a time; :meth:`remove` (or leaving a ``with`` block) stops
    it: windows still open close, events not yet due are dropped.

    Raises:
        InputError: a fault the runtime cannot have (an unknown device, a store refusal
            on a store without a write path that can fail).
        QSessionError: the runtime already has an injector, or is shut down.
    """

    def __init__(self, runtime: Runtime, faults: Iterable[Fault]) -> None:
        self.runtime = runtime
        self.faults: tuple[Fault, ...] = tuple(faults)
        self._ctx = runtime._ctx
        self._scheduler = runtime._scheduler
        self.log: list[InjectedEvent] = []
        self._lock = threading.Lock()
        self._counts: dict[int, int] = {}
        self._planned: dict[str, list[Fault]] = {}
        self._fixed: dict[str, float] = {}  # job id -> seconds it occupies the device
        self._offline: dict[str, DeviceOffline] = {}
        self._timers: list[Timer] = []
        self._refusing: StoreRefusal | None = None
        self._commit: Callable[[list[Any]], None] | None = None
        self._check(runtime)
        with self._ctx.locked():
            runtime._check_open()
            if self._scheduler.faults is not None:
                raise QSessionError("this runtime already has a fault injector; remove it first")
            self.origin = runtime.clock.now()
            self._scheduler.faults = self
            for fault in self.faults:
                self._arm(fault)

    # -- installing and removing -----------------------------------------------------------
    def _check(self, runtime: Runtime) -> None:
        for fault in self.faults:
            if not isinstance(
                fault, (*_JOB_FAULTS, DeviceOffline, TenantLoad, Calibration, StoreRefusal)
            ):
                raise InputError(f"not a fault: {fault!r}")
            device = getattr(fault, "device", None)
            if device is not None:
                runtime.device(device)  # DeviceNotFoundError names the known ones
            if isinstance(fault, StoreRefusal) and _writer(runtime.store) is None:
                raise InputError(
                    f"a store refusal needs a store file (SQLite): the store "
                    f"{runtime.store.location} has no write path that can fail"
                )

    def _arm(self, fault: Fault) -> None:
        """Set the timers of a timed fault (lock held)."""
        at = self.origin + getattr(fault, "at", 0.0)
        call = self._ctx.clock.call_at
        if isinstance(fault, DeviceOffline):
            self._timers.append(call(at, lambda: self._offline_starts(fault)))
            self._timers.append(call(at + fault.duration, lambda: self._offline_ends(fault)))
        elif isinstance(fault, StoreRefusal):
            self._timers.append(call(at, lambda: self._refusal_starts(fault)))
            self._timers.append(call(at + fault.duration, lambda: self._refusal_ends(fault)))
        elif isinstance(fault, (TenantLoad, Calibration)):
            self._timers.append(call(at, lambda: self._submit_system(fault)))

    def remove(self) -> None:
        """Stop injecting: cancel pending events, end open windows. Idempotent."""
        with self._ctx.locked():
            if self._scheduler.faults is not self:
                return
            for timer in self._timers:
                timer.cancel()
            self._scheduler.faults = None
            devices = list(self._offline)
            self._offline.clear()
            for device in devices:
                self._scheduler.dispatch(device)
        self._refusing = None
        self._restore_store()

    def __enter__(self) -> FaultInjector:
        return self

    def __exit__(self, *exc: object) -> None:
        self.remove()

    def describe(self) -> str:
        """Every injected event so far, one per line."""
        return "\n".join(str(e) for e in self.log) or "(no fault injected yet)"

    # -- hooks (the scheduler and submit call them, runtime lock held) ---------------------
    def job_submitted(self, job: Job) -> None:
        """A new job was queued: pick the job faults it gets (counted in order)."""
        record = job.record
        for index, fault in enumerate(self.faults):
            if not isinstance(fault, _JOB_FAULTS) or FAULT_TAG in record.tags:
                continue
            if not fault.match.matches(record):
                continue
            count = self._counts[index] = self._counts.get(index, 0) + 1
            if fault.match.nth is None or fault.match.nth == count:
                self._planned.setdefault(job.id, []).append(fault)
        offline = self._offline.get(record.device)
        if offline is not None:
            self._record(job, "offline", f"device {record.device} is offline: the job waits")

    def job_starting(self, run: Run, now: float) -> None:
        """A job takes a slot: apply its planned faults to how it runs."""
        job = run.job
        fixed = self._fixed.pop(job.id, None)
        if fixed is not None:
            run.expected = fixed
        for fault in self._planned.pop(job.id, ()):
            if isinstance(fault, SlowJob):
                run.expected += float(fault.extra)
                detail = f"runs {fault.extra:g} s longer than modelled ({run.expected:g} s)"
                self._record(job, "slow", detail, persist=False)
            elif isinstance(fault, FailJob):
                run.injected = (JobErrorCode.EXECUTION_FAILED, fault.error_message)
                extra = fault.metadata()
                if extra:
                    job._update(metadata=_merged(job.record.metadata, extra))
                detail = f"fails at its end: {fault.error_message}"
                self._record(job, "fail", detail, persist=False)
            elif isinstance(fault, CancelJob):
                self._timers.append(
                    self._ctx.clock.call_at(now + float(fault.after), lambda: self._cancel(job))
                )

    def device_offline(self, device: str) -> bool:
        """True while an injected outage keeps ``device`` from starting jobs."""
        return device in self._offline

    def check_submit(self, device: str) -> None:
        """Refuse a submission to a device offline with ``refuse``.

        Raises:
            DeviceUnavailableError: with IBM's answer (code 1004).
        """
        outage = self._offline.get(device)
        if outage is not None and outage.refuse:
            self._log(
                InjectedEvent(self._ctx.clock.now(), "offline", f"submission to {device} refused")
            )
            raise DeviceUnavailableError(
                f"Error code 1004: The Backend is not available. (device {device!r} is offline "
                f"until t={self.origin + outage.at + outage.duration:g}, an injected outage)"
            )

    # -- timed events (clock callbacks: they take the lock) --------------------------------
    def _offline_starts(self, fault: DeviceOffline) -> None:
        with self._ctx.locked():
            if self._scheduler.faults is not self:
                return
            self._offline[fault.device] = fault
            end = self._ctx.clock.now() + float(fault.duration)
            detail = f"device {fault.device} offline until t={end:g}"
            self._touch_device(fault.device, "offline", detail)

    def _offline_ends(self, fault: DeviceOffline) -> None:
        with self._ctx.locked():
            if self._offline.get(fault.device) is not fault:
                return
            del self._offline[fault.device]
            self._touch_device(fault.device, "offline", f"device {fault.device} back online")
            self._scheduler.dispatch(fault.device)

    def _submit_system(self, fault: TenantLoad | Calibration) -> None:
        if self._scheduler.faults is not self or self.runtime.closed:
            return
        calibration = isinstance(fault, Calibration)
        count = 1 if calibration else fault.jobs  # type: ignore[union-attr]
        shots = 1 if calibration else fault.shots  # type: ignore[union-attr]
        seconds = fault.duration if calibration else fault.seconds  # type: ignore[union-attr]
        ids = []
        for _ in range(count):
            job_id = uuid.uuid4().hex
            if seconds is not None:
                with self._ctx.locked():
                    self._fixed[job_id] = float(seconds)
            try:
                self.runtime.submit(
                    "sampler",
                    fault.device,
                    _one_qubit_payload(shots),
                    instance="system" if calibration else fault.instance,  # type: ignore[union-attr]
                    system=calibration,
                    name="calibration" if calibration else "tenant load",
                    tags=(FAULT_TAG,),
                    job_id=job_id,
                )
            except QSessionError as exc:
                with self._ctx.locked():
                    self._fixed.pop(job_id, None)
                    self._log(InjectedEvent(self._ctx.clock.now(), fault.kind, f"refused: {exc}"))
                return
            ids.append(job_id)
        if calibration:
            detail = f"calibration of {fault.device} for {seconds:g} s (system job {ids[0]})"
        else:
            each = "its modelled time" if seconds is None else f"{seconds:g} s"
            detail = (
                f"{count} jobs of instance {fault.instance!r} on {fault.device} "  # type: ignore[union-attr]
                f"({each} each)"
            )
        with self._ctx.locked():
            self._touch_device(fault.device, fault.kind, detail)

    def _cancel(self, job: Job) -> None:
        if self._scheduler.faults is not self or job.in_final_state():
            return
        try:
            cancelled = self.runtime.cancel_job(job.id)
        except QSessionError as exc:
            cancelled, why = False, str(exc)
        else:
            why = "its device cannot cancel a running job"
        with self._ctx.locked():
            detail = "cancelled from outside" if cancelled else f"cancel refused: {why}"
            self._record(job, "cancel", detail)

    # -- the store refusing writes ------------------------------------------------------------
    def _refusal_starts(self, fault: StoreRefusal) -> None:
        writer = _writer(self.runtime.store)
        if writer is None or self._scheduler.faults is not self:
            return
        try:
            self.runtime.store.flush()  # what was written before the window is stored
        except StoreError:
            pass
        if self._commit is None:
            self._commit = writer._commit
            location = self.runtime.store.location

            def commit(group: list[Any]) -> None:
                refusing = self._refusing
                if refusing is not None:  # as SQLite fails on a full disk: the store holds writes
                    raise StoreError(
                        f"cannot write to store {location}: {refusing.message} (injected)"
                    ) from sqlite3.OperationalError(refusing.message)
                assert self._commit is not None
                self._commit(group)

            writer._commit = commit
        self._refusing = fault
        with self._ctx.locked():
            self._touch_all(
                "store", f"the store refuses writes for {fault.duration:g} s: {fault.message}"
            )

    def _refusal_ends(self, fault: StoreRefusal) -> None:
        if self._refusing is not fault:
            return
        self._refusing = None
        with self._ctx.locked():
            self._touch_all("store", "the store accepts writes again")
        try:
            self.runtime.store.flush()  # store what was held while it refused
        except StoreError as exc:
            self._log(InjectedEvent(self._ctx.clock.now(), "store", f"flush failed: {exc}"))

    def _restore_store(self) -> None:
        writer = _writer(self.runtime.store)
        if writer is not None and self._commit is not None:
            writer._commit = self._commit
            self._commit = None

    # -- recording ----------------------------------------------------------------------------
    def _log(self, event: InjectedEvent) -> None:
        with self._lock:
            self.log.append(event)

    def _record(self, job: Job, fault: str, detail: str, *, persist: bool = True) -> None:
        """Log an event of ``job`` and add it to the job's history (lock held); ``persist``
        False leaves the write to the job's next transition (at its start)."""
        now = self._ctx.clock.now()
        self._log(InjectedEvent(now, fault, detail, job_id=job.id))
        entry = {"at": now, "fault": fault, "detail": detail}
        history = [*job.record.metadata.get(FAULTS_KEY, ()), entry]
        job._update(metadata={**job.record.metadata, FAULTS_KEY: history})
        if persist:
            self._persist_job(job)

    def _persist_job(self, job: Job) -> None:
        try:
            self._ctx.store.update_job(job.record)
        except StoreError:
            pass  # the next transition writes the record again

    def _record_session(self, session: Any, fault: str, detail: str) -> None:
        now = self._ctx.clock.now()
        self._log(InjectedEvent(now, fault, detail, session_id=session.id))
        entry = {"at": now, "fault": fault, "detail": detail}
        meta = session.record.metadata
        session.update(metadata={**meta, FAULTS_KEY: [*meta.get(FAULTS_KEY, ()), entry]})
        try:
            self._ctx.store.update_session(session.record)
        except StoreError:
            pass  # the session's next change writes it again

    def _touch_device(self, device: str, fault: str, detail: str) -> None:
        """Record a device event on its open sessions and its queued jobs (lock held)."""
        touched = False
        for session in list(self.runtime._rules.sessions.values()):
            if session.record.device == device and session.state is not SessionState.CLOSED:
                self._record_session(session, fault, detail)
                touched = True
        for job in list(self.runtime._live.values()):
            if job.record.device == device and FAULT_TAG not in job.record.tags:
                if not job.in_final_state():
                    self._record(job, fault, detail)
                    touched = True
        if not touched:
            self._log(InjectedEvent(self._ctx.clock.now(), fault, detail))

    def _touch_all(self, fault: str, detail: str) -> None:
        """Record a runtime-wide event on every open session (lock held)."""
        sessions = [
            s for s in self.runtime._rules.sessions.values() if s.state is not SessionState.CLOSED
        ]
        for session in sessions:
            self._record_session(session, fault, detail)
        if not sessions:
            self._log(InjectedEvent(self._ctx.clock.now(), fault, detail))


def _merged(metadata: dict[str, Any], extra: dict[str, Any]) -> dict[str, Any]:
    """``metadata`` with ``extra``'s mappings merged one level deep."""
    out = dict(metadata)
    for key, value in extra.items():
        old = out.get(key)
        out[key] = {**old, **value} if isinstance(old, dict) and isinstance(value, dict) else value
    return out


def _writer(store: Any) -> Any:
    """The group-commit writer of a store file (None for a store without one)."""
    writer = getattr(store, "_writes", None)
    return writer if writer is not None and hasattr(writer, "_commit") else None


def _one_qubit_payload(shots: int) -> SamplerPayload:
    """The payload of an injected job: H and a measurement on one qubit."""
    circuit = Circuit(1, [Gate("h", (0,)), Measure(0, "c", 0)], {"c": 1}, name="fault")
    return SamplerPayload((SamplerPub(circuit, np.zeros((0,)), shots),), seed=0)
