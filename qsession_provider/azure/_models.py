"""The details models: what ``session.details`` and ``job.details`` hold.

Field names are azure-quantum's (``azure.quantum._client.models``). Times are aware UTC
``datetime`` objects on the runtime's clock. The models are plain mutable dataclasses;
``as_dict()`` gives the fields as a dict and ``str()`` prints that dict, as azure's
models do.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from .enums import ItemType, JobStatus, Priority, SessionJobFailurePolicy, SessionStatus

__all__ = ["WorkspaceItemError", "ErrorData", "ItemDetails", "SessionDetails", "JobDetails"]


class _Model:
    """``as_dict()`` and a dict-like ``str()`` (azure's msrest models print that way)."""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a dict (nested models included as dicts)."""
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            out[f.name] = value.as_dict() if isinstance(value, _Model) else value
        return out

    def __str__(self) -> str:
        return str(self.as_dict())


@dataclass
class WorkspaceItemError(_Model):
    """Why a job failed: ``job.details.error_data`` (``code`` and ``message``).

    Attributes:
        code: a short PascalCase code (``InvalidInputData`` for input that cannot run,
            ``ExecutionFailed`` for a device error, ``SessionFailed`` for a job cancelled by
            its session's Abort policy, ...).
        message: what went wrong, in words.
        target: the item the error is about, if any.
        details: nested errors, if any.
        innererror: extra data, if any.
    """

    code: str
    message: str
    target: str | None = None
    details: list[Any] | None = None
    innererror: Any = None

    def __str__(self) -> str:
        return str({"code": self.code, "message": self.message})


#: The older azure-quantum name of :class:`WorkspaceItemError`.
ErrorData = WorkspaceItemError


@dataclass(kw_only=True)
class ItemDetails(_Model):
    """Fields every workspace item (job or session) has."""

    id: str
    name: str | None = None
    provider_id: str | None = None
    target: str | None = None
    item_type: ItemType | None = None
    creation_time: datetime | None = None
    created_by: str | None = None
    created_by_type: str | None = None
    last_modified_time: datetime | None = None
    last_modified_by: str | None = None
    last_modified_by_type: str | None = None
    last_updated_time: datetime | None = None
    begin_execution_time: datetime | None = None
    end_execution_time: datetime | None = None
    cost_estimate: Any = None
    error_data: WorkspaceItemError | None = None
    priority: Priority | str | None = None
    tags: list[str] | None = None
    usage: Any = None


@dataclass(kw_only=True)
class SessionDetails(ItemDetails):
    """``session.details``: a session's fields and its :class:`SessionStatus`.

    ``status`` is None until the session is opened in the workspace (the client-side
    object exists before the service knows it).
    """

    item_type: ItemType | None = ItemType.SESSION
    job_failure_policy: SessionJobFailurePolicy | str | None = None
    status: SessionStatus | None = None


@dataclass(kw_only=True)
class JobDetails(ItemDetails):
    """``job.details``: a job's fields and its :class:`JobStatus`.

    Attributes:
        session_id: the session the job belongs to, or None.
        status: Waiting, Executing, Succeeded, Failed or Cancelled.
        input_params: the parameters it was submitted with (``shots`` included).
        input_data_uri, output_data_uri, container_uri: ``qsession://`` URIs naming the
            job's stored payload and result in the local store
            (``qsession://<store location>/jobs/<id>/output``); they are identifiers, not
            downloadable blobs (read results with ``job.get_results()``).
        metadata: free user data given at submission.
    """

    item_type: ItemType | None = ItemType.JOB
    job_type: str | None = None
    session_id: str | None = None
    container_uri: str | None = None
    input_data_uri: str | None = None
    input_data_format: str | None = None
    status: JobStatus | None = None
    metadata: dict[str, Any] | None = None
    cancellation_time: datetime | None = None
    quantum_computing_data: Any = None
    input_params: dict[str, Any] = field(default_factory=dict)
    output_data_uri: str | None = None
    output_data_format: str | None = None
