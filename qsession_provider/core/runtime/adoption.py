"""Adoption: a runtime taking over the work that processes gone from its store left behind.

Embedded runtimes fail such work when they open a store (``orphaned`` jobs, sessions closed
``owner_exited``). A runtime built with ``adopt_orphans=True`` - the service's, so that a
restart loses nothing - adopts it instead:

* the dead processes' open sessions become live sessions here, with their state, and
  their timers re-armed from the record times on this runtime's clock (a time already
  past fires at once); a dedicated session that was active keeps its device;
* their QUEUED jobs are re-owned and queued again, payload read back from the store, in
  their original order;
* their RUNNING jobs run again, once, if the payload is deterministic
  (:func:`is_deterministic`), marked ``metadata["rerun"] = 1`` so that a second crash
  ends them; otherwise, or if already re-run, they end ERROR with code ``orphaned`` and a
  message naming the process.

Work is "left behind" when its owner has no process record: a process found dead (its
record is removed by the adoption), or a runtime shut down with ``keep_queued=True``. The
store hands the records over atomically (:meth:`~..store.protocol.Store.adopt_orphans`).
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from ..clock import Clock
from ..device import Device, DeviceRegistry
from ..ir.payload import EstimatorPayload, RunPayload, SamplerPayload
from ..job import Job, JobRecord, JobStatus
from ..session import SessionMode, SessionState
from ..store.processes import ProcessRecord
from ..store.protocol import OrphanReport, Store, describe_process, orphan_job, orphan_session
from . import checks as args
from .context import RuntimeContext
from .live_session import LiveSession
from .scheduler import Scheduler
from .session_rules import SessionRules

__all__ = ["OrphanAdoption", "RERUN_KEY", "is_deterministic"]

#: The metadata key marking a job that runs a second time after its process died.
RERUN_KEY = "rerun"


def is_deterministic(program_id: str, payload: Any) -> bool:
    """Whether running ``payload`` again gives the same result: a sampler or run payload
    with a seed, or an estimator payload with a seed or whose every pub is exact
    (precision 0)."""
    if program_id in ("sampler", "run"):
        return isinstance(payload, (SamplerPayload, RunPayload)) and payload.seed is not None
    if program_id == "estimator" and isinstance(payload, EstimatorPayload):
        return payload.seed is not None or all(p.precision == 0 for p in payload.pubs)
    return False


class OrphanAdoption:
    """The adopting sweep of :class:`~.runtime.Runtime` (a mixin; the state is set up there)."""

    clock: Clock
    store: Store
    _ctx: RuntimeContext
    _devices: DeviceRegistry
    _scheduler: Scheduler
    _rules: SessionRules
    _process: ProcessRecord
    _live: dict[str, Job]
    _handles: weakref.WeakValueDictionary[str, Job]

    if TYPE_CHECKING:  # provided by JobsAPI

        def _new_handle(self, record: JobRecord, payload: Any = None) -> Job: ...

        def _job_final(self, job: Job) -> None: ...

    def _adopt_orphans(self, dead: Mapping[str, ProcessRecord]) -> OrphanReport:
        """Take over the work the processes ``dead`` (and runtimes that kept their queued
        jobs) left in the store; see the module docstring."""
        me = self._process.id
        with self._ctx.locked():
            taken = self.store.adopt_orphans(list(dead), me)
            if not taken.jobs and not taken.sessions:
                return OrphanReport()
            now = self.clock.now()
            failed: list[str] = []
            closed: list[str] = []
            sessions: dict[str, LiveSession] = {}
            for old in taken.sessions:
                record = old.replace(owner=me)
                device = (
                    self._devices.get(record.device) if record.device in self._devices else None
                )
                if device is None:
                    self.store.update_session(orphan_session(record, now))
                    closed.append(record.id)
                    continue
                session = sessions[record.id] = self._rules.adopt(record)
                if record.mode is SessionMode.DEDICATED and record.state is SessionState.ACTIVE:
                    self._scheduler.hold(session, device)
            queued: list[str] = []
            rerun: list[str] = []
            for old in taken.jobs:
                record = old.replace(owner=me)
                who = describe_process(dead.get(old.owner), old.owner)
                session = sessions.get(record.session_id or "")
                outcome = self._adopt_job(record, who, session)
                if isinstance(outcome, str):
                    self.store.update_job(orphan_job(record, now, None, message=outcome))
                    failed.append(record.id)
                else:
                    (rerun if old.status is JobStatus.RUNNING else queued).append(record.id)
            for session in sessions.values():
                self._rules.rearm(session)
        return OrphanReport(
            jobs=tuple(failed),
            sessions=tuple(closed),
            adopted_jobs=tuple(queued),
            rerun=tuple(rerun),
            adopted_sessions=tuple(sessions),
        )

    def _adopt_job(self, record: JobRecord, who: str, session: LiveSession | None) -> Job | str:
        """Queue an adopted job again; or why it cannot run again (it then fails)."""
        if record.device not in self._devices:
            return (
                f"{who} exited before the job finished, and device {record.device!r} is not "
                "available in the runtime that took over its work"
            )
        device: Device = self._devices.get(record.device)
        if record.session_id is not None and session is None and record.status is JobStatus.QUEUED:
            return (
                f"{who} exited before the job started, and its session {record.session_id} "
                "is closed"
            )
        try:
            payload = args.decode_payload(record.program_id, self.store.get_payload(record.id))
        except Exception as exc:  # a payload this version cannot read back
            return (
                f"{who} exited before the job finished, and its payload cannot be read back: {exc}"
            )
        if record.status is JobStatus.RUNNING:
            if record.metadata.get(RERUN_KEY):
                return (
                    f"{who} exited while the job was running, and the job had already been "
                    "re-run once after an earlier exit; a job is re-run only once"
                )
            if not is_deterministic(record.program_id, payload):
                return (
                    f"{who} exited while the job was running; it was not re-run because its "
                    "payload is not deterministic (no seed)"
                )
            record = record.replace(
                status=JobStatus.QUEUED,
                started_at=None,
                metadata={**record.metadata, RERUN_KEY: 1},
            )
            self.store.update_job(record)
        job = self._new_handle(record, payload)
        self._live[job.id] = job
        job.add_done_callback(self._job_final)
        if session is not None:
            session.queued += 1
        self._scheduler.enqueue(job, device, session)
        return job
