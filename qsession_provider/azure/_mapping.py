"""Core records -> Azure details: the status mapping, lived in one place.

Job status (core -> Azure, classic names)::

    QUEUED -> Waiting   RUNNING -> Executing   DONE -> Succeeded
    ERROR -> Failed     CANCELLED -> Cancelled

Session status, from the core :class:`~qsession_provider.core.session.SessionRecord`:

* not opened in the workspace yet: no status (``None``; the client-side object only);
* open, active, inactive or draining: ``Waiting``, or ``Failure(s)`` once a job of a
  ``Continue`` session has failed;
* closed because a time limit passed (no job submitted for 10 minutes, or the session's
  maximum time): ``TimedOut`` - it wins over failures;
* closed because the runtime stopped or its process exited while the session was still
  open (nobody closed it: the service would have timed it out): ``TimedOut``;
* closed by a failed job under ``Abort``, cancelled, or closed after failures under
  ``Continue``: ``Failed``;
* closed normally (``close()``, every job finished): ``Succeeded``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime, timezone
from enum import Enum
from typing import Any, TypeVar

from ..core.dialect_words import azure_status
from ..core.job import JobErrorCode, JobRecord
from ..core.job import JobStatus as CoreJobStatus
from ..core.session import FailurePolicy, SessionRecord
from ._models import JobDetails, SessionDetails, WorkspaceItemError
from .enums import JobStatus, Priority, SessionJobFailurePolicy, SessionStatus

__all__ = [
    "PROVIDER_ID",
    "JOB_TYPE",
    "INPUT_DATA_FORMAT",
    "OUTPUT_DATA_FORMAT",
    "META_KEY",
    "job_status",
    "as_list",
    "core_statuses",
    "session_status",
    "failure_policy",
    "priority",
    "to_datetime",
    "session_details",
    "job_details",
]

#: Provider id of every target of the local runtime.
PROVIDER_ID = "qsession"
#: ``job_type`` of every job.
JOB_TYPE = "QuantumComputing"
#: What ``Target.submit`` accepts: OpenQASM 2/3 text, Qiskit or Cirq circuits, IR circuits.
INPUT_DATA_FORMAT = "qsession.circuit.v1"
#: The results format ``Job.get_results`` decodes (azure's v2 histogram-and-shots format).
OUTPUT_DATA_FORMAT = "microsoft.quantum-results.v2"
#: Key of the Azure face's data inside core job and session metadata.
META_KEY = "azure"

_JOB_STATUS = {
    CoreJobStatus.QUEUED: JobStatus.WAITING,
    CoreJobStatus.RUNNING: JobStatus.EXECUTING,
    CoreJobStatus.DONE: JobStatus.SUCCEEDED,
    CoreJobStatus.ERROR: JobStatus.FAILED,
    CoreJobStatus.CANCELLED: JobStatus.CANCELLED,
}
# Azure statuses the core never reports (CancellationRequested, Cancelling) match nothing.
_CORE_STATUS = {
    JobStatus.QUEUED: CoreJobStatus.QUEUED,
    JobStatus.WAITING: CoreJobStatus.QUEUED,
    JobStatus.EXECUTING: CoreJobStatus.RUNNING,
    JobStatus.FINISHING: CoreJobStatus.RUNNING,
    JobStatus.COMPLETED: CoreJobStatus.DONE,
    JobStatus.SUCCEEDED: CoreJobStatus.DONE,
    JobStatus.FAILED: CoreJobStatus.ERROR,
    JobStatus.CANCELLED: CoreJobStatus.CANCELLED,
}
E = TypeVar("E", bound=Enum)


def job_status(status: CoreJobStatus) -> JobStatus:
    """The Azure status of a core job status."""
    return _JOB_STATUS[status]


def as_list(value: Any) -> list[Any] | None:
    """None, or the value as a list (Azure filters take one value or a list)."""
    if value is None:
        return None
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        return [value]
    return list(value)


def core_statuses(status: Any) -> frozenset[CoreJobStatus] | None:
    """Core statuses matching an Azure status filter (one status or a list), or None.

    Raises:
        ValueError: an unknown status name.
    """
    wanted = as_list(status)
    if wanted is None:
        return None
    out = set()
    for item in wanted:
        azure = JobStatus(item)  # ValueError names the bad value
        if azure in _CORE_STATUS:
            out.add(_CORE_STATUS[azure])
    return frozenset(out)


def session_status(record: SessionRecord) -> SessionStatus:
    """The Azure status of an opened session (see the module docstring; the rule lives in
    :func:`qsession_provider.core.dialect_words.azure_status`, shared with the dashboard)."""
    return SessionStatus(azure_status(record))


def failure_policy(value: Any) -> SessionJobFailurePolicy:
    """``job_failure_policy`` as the enum (None: the service default, Abort).

    Raises:
        ValueError: not Abort or Continue.
    """
    return _member(
        SessionJobFailurePolicy, value, SessionJobFailurePolicy.ABORT, "job_failure_policy"
    )


def priority(value: Any) -> Priority:
    """``priority`` as the enum (None: Standard).

    Raises:
        ValueError: not Standard or High.
    """
    return _member(Priority, value, Priority.STANDARD, "priority")


def _member(enum: type[E], value: Any, default: E, field: str) -> E:
    """``value`` as a member of ``enum`` (None: ``default``); ValueError names the choices."""
    if value is None:
        return default
    try:
        return enum(value)
    except ValueError:
        choices = " or ".join(repr(member.value) for member in enum)
        raise ValueError(f"invalid {field} {value!r}; expected {choices}") from None


def to_datetime(when: float | None) -> datetime | None:
    """A clock timestamp as an aware UTC datetime."""
    return None if when is None else datetime.fromtimestamp(when, tz=timezone.utc)


def _meta(metadata: Mapping[str, Any]) -> dict[str, Any]:
    data = metadata.get(META_KEY) if isinstance(metadata, Mapping) else None
    return dict(data) if isinstance(data, Mapping) else {}


def _item_fields(
    record: SessionRecord | JobRecord,
    meta: Mapping[str, Any],
    last: float,
    begin: float | None,
    end: float | None,
) -> dict[str, Any]:
    """The details fields jobs and sessions share (``ItemDetails``), priority aside."""
    return {
        "id": record.id,
        "name": record.name,
        "provider_id": meta.get("provider_id", PROVIDER_ID),
        "target": record.device,
        "creation_time": to_datetime(record.created_at),
        "created_by": record.instance,
        "last_updated_time": to_datetime(last),
        "begin_execution_time": to_datetime(begin),
        "end_execution_time": to_datetime(end),
        "tags": list(record.tags),
    }


def session_details(record: SessionRecord) -> SessionDetails:
    """The details of an opened session."""
    meta = _meta(record.metadata)
    last = record.timestamps[-1][1] if record.timestamps else record.created_at
    return SessionDetails(
        **_item_fields(record, meta, last, record.started_at, record.closed_at),
        priority=Priority(meta.get("priority", Priority.STANDARD.value)),
        job_failure_policy=(
            SessionJobFailurePolicy.ABORT
            if record.failure_policy is FailurePolicy.ABORT
            else SessionJobFailurePolicy.CONTINUE
        ),
        status=session_status(record),
    )


def _error(record: JobRecord, meta: Mapping[str, Any]) -> WorkspaceItemError | None:
    if record.status not in (CoreJobStatus.ERROR, CoreJobStatus.CANCELLED):
        return None
    stored = meta.get("error")
    if isinstance(stored, Mapping) and record.error_code == JobErrorCode.EXECUTION_FAILED.value:
        return WorkspaceItemError(code=str(stored["code"]), message=str(stored["message"]))
    code = record.error_code or "failed"
    return WorkspaceItemError(
        code="".join(part.capitalize() for part in code.split("_")),
        message=record.error_message or "",
    )


def job_details(record: JobRecord, store_location: str) -> JobDetails:
    """The details of a job (of any face) in the store at ``store_location``."""
    meta = _meta(record.metadata)
    base = f"qsession://{store_location}/jobs/{record.id}"
    last = record.finished_at or record.started_at or record.created_at
    default_format = INPUT_DATA_FORMAT if record.program_id == "run" else record.program_id
    return JobDetails(
        **_item_fields(record, meta, last, record.started_at, record.finished_at),
        error_data=_error(record, meta),
        priority=Priority(
            meta.get("priority", "High" if record.priority > 0 else Priority.STANDARD.value)
        ),
        job_type=JOB_TYPE,
        session_id=record.session_id,
        container_uri=base,
        input_data_uri=f"{base}/input",
        input_data_format=meta.get("input_data_format", default_format),
        status=job_status(record.status),
        metadata=meta.get("metadata"),
        cancellation_time=(
            to_datetime(record.finished_at) if record.status is CoreJobStatus.CANCELLED else None
        ),
        input_params=dict(meta.get("input_params") or {}),
        output_data_uri=f"{base}/output",
        output_data_format=meta.get("output_data_format", OUTPUT_DATA_FORMAT),
    )
