"""Job states, the allowed transitions, error codes and the stored job record.

A job moves ``QUEUED -> RUNNING -> DONE | ERROR | CANCELLED`` (a queued job may also go
straight to ERROR or CANCELLED). Final states never change. Faces map the names at their
boundary: IBM uses these strings, Azure ``Waiting/Executing/Succeeded/Failed/Cancelled``.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .ir.encoding import compact, from_jsonable, to_jsonable
from .text_enum import TextEnum

__all__ = [
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


@dataclass(frozen=True)
class JobRecord:
    """Everything stored about a job except its payload and result.

    Timestamps are POSIX seconds on the runtime's clock. ``metadata`` is free data for the
    faces (JSON-like, encodable by :mod:`~qsession_provider.core.ir.encoding`); treat it as
    read-only. ``owner`` is the id of the runtime process that accepted the job.
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

    def replace(self, **changes: Any) -> JobRecord:
        """A copy with ``changes`` applied (as ``dataclasses.replace``, without its overhead)."""
        return _replace(self, _JOB_FIELDS_SET, changes)

    def to_json(self) -> dict[str, Any]:
        """JSON-compatible data (metadata through :func:`encoding.to_jsonable`)."""
        data = self._fields()
        data["metadata"] = to_jsonable(self.metadata)
        return data

    def to_json_text(self) -> str:
        """``json.dumps(self.to_json(), separators=(",", ":"))``: what stores keep."""
        return compact(self.to_json())

    def _fields(self) -> dict[str, Any]:
        # The instance dictionary holds exactly the fields, in order (``__init__`` and
        # ``_replace`` only assign them): a copy of it is the fields' dict, made in C.
        data = dict(self.__dict__)
        data["status"] = self.status.value
        data["tags"] = list(self.tags)
        return data

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> JobRecord:
        """Inverse of :meth:`to_json` (unknown keys are ignored)."""
        names = _JOB_FIELDS
        values = {k: v for k, v in data.items() if k in names}
        values["status"] = JobStatus(values["status"])
        values["tags"] = tuple(values.get("tags") or ())
        values["metadata"] = from_jsonable(values.get("metadata") or {})
        return cls(**values)


_JOB_FIELDS = tuple(f.name for f in dataclasses.fields(JobRecord))
_JOB_FIELDS_SET = frozenset(_JOB_FIELDS)


def _replace(record: Any, fields: frozenset[str], changes: dict[str, Any]) -> Any:
    """``dataclasses.replace`` for a frozen dataclass whose ``__init__`` only assigns.

    The copy gets the instance dictionary of ``record`` updated with ``changes`` - what
    ``__init__`` would store - without the per-field introspection of
    ``dataclasses.replace`` (a record is replaced at every job and session transition).
    Unknown names go to ``dataclasses.replace``, which raises its usual ``TypeError``.
    """
    if not fields.issuperset(changes):
        return dataclasses.replace(record, **changes)
    new = object.__new__(type(record))
    state = new.__dict__
    state.update(record.__dict__)
    state.update(changes)
    return new
