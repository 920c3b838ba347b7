"""How each dialect names a session's and a job's state: one table, readable without a face.

The Qiskit face's ``Session.details()`` (``qiskit/session.py``) and the Azure face's session
status (``azure/_mapping.py``) come from here, and so do the words the server's dashboard
and the CLI show, which load no face. ``tests/core/test_dialect_words.py`` checks them
against the faces' enums and the IBM table of :mod:`qsession_provider.core.session`.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from .job_record import JobStatus
from .session import CloseReason, SessionMode, SessionRecord, SessionState

__all__ = [
    "IBM_STATUS",
    "IBM_STATE",
    "AZURE_JOB_STATUS",
    "ibm_status",
    "azure_status",
    "ibm_details",
    "iso_utc",
]

#: IBM ``Session.status()`` of each core state.
IBM_STATUS: Mapping[SessionState, str] = {
    SessionState.OPEN: "Pending",
    SessionState.ACTIVE: "In progress, accepting new jobs",
    SessionState.INACTIVE: "Pending",
    SessionState.DRAINING: "In progress, not accepting new jobs",
    SessionState.CLOSED: "Closed",
}
#: IBM ``Session.details()["state"]`` of each core state.
IBM_STATE: Mapping[SessionState, str] = {
    SessionState.OPEN: "open",
    SessionState.ACTIVE: "active",
    SessionState.INACTIVE: "inactive",
    SessionState.DRAINING: "pending_closed",
    SessionState.CLOSED: "closed",
}
#: Azure ``job.details.status`` (classic names) of each core job status.
AZURE_JOB_STATUS: Mapping[JobStatus, str] = {
    JobStatus.QUEUED: "Waiting",
    JobStatus.RUNNING: "Executing",
    JobStatus.DONE: "Succeeded",
    JobStatus.ERROR: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}

_FAILED_REASONS = frozenset(
    {CloseReason.JOB_FAILED, CloseReason.CANCELLED, CloseReason.ROOT_JOB_CANCELLED}
)
_UNATTENDED_REASONS = frozenset({CloseReason.SHUTDOWN, CloseReason.OWNER_EXITED})


def ibm_status(record: SessionRecord) -> str:
    """What IBM's ``Session.status()`` says of ``record``."""
    return IBM_STATUS[record.state]


def azure_status(record: SessionRecord) -> str:
    """What Azure's ``session.details.status`` says of an opened session.

    Open: ``Waiting`` (``Failure(s)`` once a job failed). Closed: ``TimedOut`` for a time
    limit, or a runtime that stopped with the session still open; ``Failed`` after a
    failure, a cancel or a cancelled root job; else ``Succeeded``.
    """
    if record.state is not SessionState.CLOSED:
        return "Failure(s)" if record.failed else "Waiting"
    if record.timed_out:
        return "TimedOut"
    if record.close_reason in _UNATTENDED_REASONS and not any(
        state is SessionState.DRAINING for state, _ in record.timestamps
    ):
        return "TimedOut"
    if record.failed or record.close_reason in _FAILED_REASONS:
        return "Failed"
    return "Succeeded"


def iso_utc(when: float | None) -> str | None:
    """POSIX seconds as IBM's API writes them (``2025-01-01T00:00:00.000Z``), or None."""
    if when is None:
        return None
    stamp = datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def ibm_details(record: SessionRecord, now: float) -> dict[str, Any]:
    """The 15 keys of qiskit-ibm-runtime's ``Session.details()`` for ``record`` at ``now``."""
    dedicated = record.mode is SessionMode.DEDICATED
    return {
        "id": record.id,
        "backend_name": record.device,
        "interactive_timeout": record.interactive_ttl if dedicated else None,
        "max_time": record.max_ttl,
        "active_timeout": record.active_ttl if record.active_ttl is not None else record.max_ttl,
        "state": IBM_STATE[record.state],
        "accepting_jobs": record.accepting_jobs,
        "last_job_started": iso_utc(record.last_job_started),
        "last_job_completed": iso_utc(record.last_job_completed),
        "started_at": iso_utc(record.started_at),
        "closed_at": iso_utc(record.closed_at),
        "activated_at": iso_utc(record.activated_at),
        "mode": record.mode.value,
        "usage_time": record.usage(now),
        "timestamps": [
            {"status": IBM_STATE[state], "timestamp": iso_utc(when)}
            for state, when in record.timestamps
        ],
    }
