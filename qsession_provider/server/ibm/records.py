"""Our records in the shapes qiskit-ibm-runtime reads: jobs, their metrics, session details.

==========  ==============================  ===========================================
core job    ``state.status`` (API)          the client's ``job.status()``
==========  ==============================  ===========================================
QUEUED      ``Queued``                      ``QUEUED``
RUNNING     ``Running``                     ``RUNNING``
DONE        ``Completed``                   ``DONE``
ERROR       ``Failed`` (reason: the error)  ``ERROR`` (``result()``: RuntimeJobFailureError)
ERROR, ran  ``Cancelled``, reason code      ``ERROR`` (``result()``:
too long    1305                            RuntimeJobMaxTimeoutError)
CANCELLED   ``Cancelled``                   ``CANCELLED``
==========  ==============================  ===========================================

Session states are IBM's own words already (``core/session.py``): open, active, inactive,
``pending_closed`` while draining, closed.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from ...core.job import FINAL_STATES, JobErrorCode, JobStatus
from ...core.session import SessionMode, SessionRecord, SessionState

__all__ = [
    "RAN_TOO_LONG",
    "iso_utc",
    "job_json",
    "job_metrics",
    "job_state",
    "program_of",
    "session_json",
]

#: IBM's reason code of a job cancelled for running past its ``max_execution_time``.
RAN_TOO_LONG = 1305

_STATUS = {
    JobStatus.QUEUED: "Queued",
    JobStatus.RUNNING: "Running",
    JobStatus.DONE: "Completed",
    JobStatus.ERROR: "Failed",
    JobStatus.CANCELLED: "Cancelled",
}
_SESSION_STATES = {
    SessionState.OPEN: "open",
    SessionState.ACTIVE: "active",
    SessionState.INACTIVE: "inactive",
    SessionState.DRAINING: "pending_closed",
    SessionState.CLOSED: "closed",
}


def iso_utc(when: float | None) -> str | None:
    """POSIX seconds as the runtime API writes them (``2025-01-01T00:00:00.000Z``), or None."""
    if when is None:
        return None
    stamp = datetime.fromtimestamp(when, tz=timezone.utc).isoformat(timespec="milliseconds")
    return stamp.replace("+00:00", "Z")


def program_of(record: Any) -> str:
    """The IBM program id of a job: the primitive its Qiskit description names (an
    ``executor`` job runs our ``sampler`` program), else the core program id."""
    described = (record.metadata or {}).get("qiskit")
    if isinstance(described, dict) and isinstance(described.get("primitive"), str):
        return str(described["primitive"])
    return str(record.program_id)


def job_state(record: Any) -> dict[str, Any]:
    """The ``state`` object of a job: status, and the reason of a failed or cancelled one."""
    status = record.status
    state: dict[str, Any] = {"status": _STATUS[status]}
    if record.error_code == JobErrorCode.MAX_EXECUTION_TIME.value:
        state.update(
            status="Cancelled",
            reason=f"Ran too long: {record.error_message}",
            reason_code=RAN_TOO_LONG,
        )
    elif status in (JobStatus.ERROR, JobStatus.CANCELLED) and record.error_message:
        state["reason"] = f"{record.error_code}: {record.error_message}"
    return state


def job_json(record: Any, params: Any = None) -> dict[str, Any]:
    """A job as ``GET /jobs/{id}`` and ``GET /jobs`` answer it (``params``: the client's
    input parameters, already decoded JSON, or None to leave them out)."""
    state = job_state(record)
    data: dict[str, Any] = {
        "id": record.id,
        "backend": record.device,
        "state": state,
        "status": state["status"],
        "program": {"id": program_of(record)},
        "created": iso_utc(record.created_at),
        "session_id": record.session_id,
        "tags": list(record.tags),
        "runtime": "",
        "private": False,
        "user_id": record.user,
        "cost": record.max_execution_time,
        "estimated_running_time_seconds": None,
    }
    if params is not None:
        data["params"] = params
    return data


def job_metrics(record: Any, qiskit_version: str | None = None) -> dict[str, Any]:
    """``GET /jobs/{id}/metrics``: timestamps and usage (clock seconds on the device)."""
    seconds = record.execution_time or 0
    final = record.status in FINAL_STATES
    return {
        "timestamps": {
            "created": iso_utc(record.created_at),
            "running": iso_utc(record.started_at),
            "finished": iso_utc(record.finished_at),
        },
        "bss": {"seconds": seconds},
        "usage": {
            "quantum_seconds": seconds,
            "seconds": seconds,
            "qpu_charge_time_seconds": seconds,
            "status": "complete" if final else "pending",
        },
        "qiskit_version": qiskit_version,
        "estimated_start_time": None,
        "estimated_completion_time": None,
        "position_in_queue": None,
        "position_in_provider": None,
    }


def session_json(record: SessionRecord, now: float) -> dict[str, Any]:
    """``GET /sessions/{id}``: the keys ``Session.details()`` reads."""
    dedicated = record.mode is SessionMode.DEDICATED
    return {
        "id": record.id,
        "backend_name": record.device,
        "interactive_ttl": record.interactive_ttl if dedicated else None,
        "max_ttl": record.max_ttl,
        "active_ttl": record.active_ttl if record.active_ttl is not None else record.max_ttl,
        "state": _SESSION_STATES[record.state],
        "accepting_jobs": record.accepting_jobs,
        "last_job_started": iso_utc(record.last_job_started),
        "last_job_completed": iso_utc(record.last_job_completed),
        "started_at": iso_utc(record.started_at),
        "closed_at": iso_utc(record.closed_at),
        "activated_at": iso_utc(record.activated_at),
        "mode": record.mode.value,
        "elapsed_time": record.usage(now),
        "timestamps": [
            {"status": _SESSION_STATES[state], "timestamp": iso_utc(when)}
            for state, when in record.timestamps
        ],
    }
