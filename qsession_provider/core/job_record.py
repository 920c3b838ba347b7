"""Job states, the allowed transitions, error codes and the stored job record.

A job moves ``QUEUED -> RUNNING -> DONE | ERROR | CANCELLED`` (a queued job may also go
straight to ERROR or CANCELLED). Final states never change. Faces map the names at their
boundary: IBM uses these strings, Azure ``Waiting/Executing/Succeeded/Failed/Cancelled``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .record import Record, field_names
from .text_enum import TextEnum

__all__ = [
    "JobRecordView",
    "JobStatus",
    "FINAL_STATES",
    "PENDING_STATES",
    "TRANSITIONS",
    "JobErrorCode",
    "JobRecord",
]


class JobStatus(TextEnum):
    """Core job status; the value is the IBM-style name."""

    QUEUED = "QUEUED"
    RUNNING = "RUNNING"
    DONE = "DONE"
    ERROR = "ERROR"
    CANCELLED = "CANCELLED"


#: States a job never leaves.
FINAL_STATES = frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED})
#: States of a job that has not finished.
PENDING_STATES = frozenset({JobStatus.QUEUED, JobStatus.RUNNING})
#: Allowed transitions.
TRANSITIONS: Mapping[JobStatus, frozenset[JobStatus]] = {
    JobStatus.QUEUED: frozenset({JobStatus.RUNNING, JobStatus.ERROR, JobStatus.CANCELLED}),
    JobStatus.RUNNING: frozenset({JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED}),
    JobStatus.DONE: frozenset(),
    JobStatus.ERROR: frozenset(),
    JobStatus.CANCELLED: frozenset(),
}


class JobErrorCode(TextEnum):
    """Why a job ended in ERROR or CANCELLED (stable strings faces map to their errors)."""

    #: The device raised while executing the payload.
    EXECUTION_FAILED = "execution_failed"
    #: The job needed longer than its ``max_execution_time`` (IBM code 1305).
    MAX_EXECUTION_TIME = "max_execution_time"
    #: Still queued when its session reached its maximum time (or active time).
    SESSION_EXPIRED = "session_expired"
    #: Still queued when its session was cancelled.
    SESSION_CANCELLED = "session_cancelled"
    #: Still queued when its session timed out from idleness.
    SESSION_TIMED_OUT = "session_timed_out"
    #: Cancelled because another job of its ``abort``-policy session failed.
    SESSION_FAILED = "session_failed"
    #: Still queued when the session's root (first) job was cancelled.
    ROOT_JOB_CANCELLED = "root_job_cancelled"
    #: Left unfinished by a process that exited; marked on the store's next open.
    ORPHANED = "orphaned"
    #: Cancelled by the user.
    CANCELLED_BY_USER = "cancelled"
    #: Still pending when the runtime shut down.
    SHUTDOWN = "shutdown"
    #: Its instance met its usage limit (at submission, while queued, or at its start).
    USAGE_LIMIT = "usage_limit"
    #: A session job still queued when its instance's reservation of the device ended.
    RESERVATION_ENDED = "reservation_ended"


@dataclass(frozen=True)
class JobRecord(Record):
    """Everything stored about a job except its payload and result.

    Timestamps are POSIX seconds on the runtime's clock. ``metadata`` is free data for the
    faces (JSON-like, encodable by :mod:`~qsession_provider.core.ir.encoding`); treat it as
    read-only. ``owner`` is the id of the runtime process that accepted the job; ``user``
    the authenticated user who submitted it through a service ("" for embedded use).
    """

    id: str
    program_id: str
    device: str
    status: JobStatus
    created_at: float
    session_id: str | None = None
    instance: str = "default"
    tags: tuple[str, ...] = ()
    name: str = ""
    started_at: float | None = None
    finished_at: float | None = None
    error_message: str | None = None
    error_code: str | None = None
    system: bool = False
    priority: int = 0
    max_execution_time: float | None = None
    owner: str = ""
    user: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def in_final_state(self) -> bool:
        """True once the job is DONE, ERROR or CANCELLED."""
        return self.status in FINAL_STATES

    @property
    def execution_time(self) -> float | None:
        """Seconds between start and finish (device time), or None if not both happened."""
        if self.started_at is None or self.finished_at is None:
            return None
        return self.finished_at - self.started_at

    def _encode_fields(self, data: dict[str, Any]) -> None:
        data["status"] = self.status.value

    @classmethod
    def _decode_fields(cls, values: dict[str, Any]) -> None:
        values["status"] = JobStatus(values["status"])


JobRecord._FIELDS = field_names(JobRecord)


class JobRecordView:
    """Read-only views of a job's record, shared by the job handles (local and remote).

    A subclass keeps its current :class:`JobRecord` in ``self._record``; every view reads
    it, so a handle's answers are those of its latest record.
    """

    _record: JobRecord

    @property
    def record(self) -> JobRecord:
        """The current record (an immutable snapshot)."""
        return self._record

    @property
    def id(self) -> str:
        """The job id."""
        return self._record.id

    def job_id(self) -> str:
        """The job id (Qiskit spelling)."""
        return self._record.id

    @property
    def status(self) -> JobStatus:
        """Current status (as last read, for a remote or foreign job)."""
        return self._record.status

    @property
    def program_id(self) -> str:
        """``sampler``, ``estimator`` or ``run``."""
        return self._record.program_id

    @property
    def device(self) -> str:
        """Name of the device the job runs on."""
        return self._record.device

    @property
    def session_id(self) -> str | None:
        """Id of the job's session, or None in job mode."""
        return self._record.session_id

    @property
    def instance(self) -> str:
        """The instance (user or group) the job is charged to."""
        return self._record.instance

    @property
    def tags(self) -> tuple[str, ...]:
        """Job tags."""
        return self._record.tags

    @property
    def name(self) -> str:
        """Job name."""
        return self._record.name

    @property
    def metadata(self) -> dict[str, Any]:
        """Face-specific data stored with the job (read-only by convention)."""
        return self._record.metadata

    @property
    def created_at(self) -> float:
        """Submission time."""
        return self._record.created_at

    @property
    def started_at(self) -> float | None:
        """Time execution began, or None."""
        return self._record.started_at

    @property
    def finished_at(self) -> float | None:
        """Time the job reached a final state, or None."""
        return self._record.finished_at

    @property
    def error_message(self) -> str | None:
        """Why the job failed or was cancelled, or None."""
        return self._record.error_message

    @property
    def error_code(self) -> str | None:
        """A :class:`JobErrorCode` value for ERROR/CANCELLED jobs, or None."""
        return self._record.error_code

    def in_final_state(self) -> bool:
        """True once DONE, ERROR or CANCELLED."""
        return self._record.status in FINAL_STATES

    def running(self) -> bool:
        """True while RUNNING."""
        return self._record.status is JobStatus.RUNNING

    def cancelled(self) -> bool:
        """True if CANCELLED."""
        return self._record.status is JobStatus.CANCELLED

    def errored(self) -> bool:
        """True if ERROR."""
        return self._record.status is JobStatus.ERROR

    def succeeded(self) -> bool:
        """True if DONE."""
        return self._record.status is JobStatus.DONE
