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

from typing import Any

from ...core.dialect_words import ibm_details, iso_utc
from ...core.job import FINAL_STATES, JobErrorCode, JobStatus
from ...core.session import SessionRecord

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


def job_metrics(
    record: Any, qiskit_version: str | None = None, estimate: Any = None
) -> dict[str, Any]:
    """``GET /jobs/{id}/metrics``: timestamps and usage (clock seconds on the device), and
    while queued the ``estimate`` (:class:`~qsession_provider.core.runtime.estimates.
    QueueEstimate`: position, estimated start and completion)."""
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
        "estimated_start_time": None if estimate is None else iso_utc(estimate.start),
        "estimated_completion_time": None if estimate is None else iso_utc(estimate.completion),
        "position_in_queue": None if estimate is None else estimate.position,
        "position_in_provider": None if estimate is None else estimate.position,
    }


#: The REST API's names of ``Session.details()`` keys (the client renames them).
_API_KEYS = {
    "interactive_timeout": "interactive_ttl",
    "max_time": "max_ttl",
    "active_timeout": "active_ttl",
    "usage_time": "elapsed_time",
}


def session_json(record: SessionRecord, now: float) -> dict[str, Any]:
    """``GET /sessions/{id}``: the keys ``Session.details()`` reads (the one table of
    :func:`~qsession_provider.core.dialect_words.ibm_details`, under the API's names)."""
    return {_API_KEYS.get(key, key): value for key, value in ibm_details(record, now).items()}
