"""The job half of :class:`~qsession_provider.azure.Workspace`: submit, get, list, cancel."""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from ..core.job import Job as CoreJob
from ..errors import InputError, InvalidJobStateError
from ._input import DEFAULT_SHOTS, SHOTS_PARAM, InvalidInputData, placeholder_payload, run_payload
from ._listing import check_orderby, matches, ordered
from ._mapping import (
    INPUT_DATA_FORMAT,
    META_KEY,
    OUTPUT_DATA_FORMAT,
    PROVIDER_ID,
    as_list,
    core_statuses,
    job_details,
)
from ._mapping import priority as coerce_priority
from ._models import JobDetails
from .enums import Priority
from .job import Job

if TYPE_CHECKING:
    from ..core.runtime.runtime import Runtime

__all__ = ["WorkspaceJobs"]


class WorkspaceJobs:
    """Job methods of :class:`~qsession_provider.azure.Workspace` (a mixin)."""

    _runtime: Runtime

    if TYPE_CHECKING:  # provided by Workspace

        @property
        def store(self) -> str: ...

    def _job_details(self, handle: CoreJob) -> JobDetails:
        return job_details(handle.refresh(), self.store)

    def _job(self, handle: CoreJob) -> Job:
        job = Job(self, self._job_details(handle))
        job._handle = handle
        return job

    def submit_job(self, job: Job) -> Job:
        """Submit a job built by ``Job.from_input_data`` (what ``Target.submit`` uses).

        Input that cannot run still creates the job; it fails when it reaches the device,
        with ``error_data`` code ``InvalidInputData``.

        Raises:
            DeviceNotFoundError: unknown target.
            SessionNotFoundError, SessionClosedError: the session is unknown or does not
                accept jobs.
            InputError: a job with this id exists, or invalid name/tags/metadata.
        """
        d = job.details
        if not d.target:
            raise InputError(f"job {d.id} has no target")
        device = self._runtime.device(d.target)
        if "run" not in device.programs:
            raise InputError(f"target {d.target!r} does not run circuits")
        params = dict(d.input_params or {})
        params.setdefault(SHOTS_PARAM, DEFAULT_SHOTS)
        level = coerce_priority(d.priority)
        meta: dict[str, Any] = {
            "provider_id": d.provider_id or PROVIDER_ID,
            "priority": level.value,
            "input_params": params,
            "input_data_format": d.input_data_format or INPUT_DATA_FORMAT,
            "output_data_format": d.output_data_format or OUTPUT_DATA_FORMAT,
            "metadata": d.metadata,
        }
        fail_with = None
        try:
            payload = run_payload(job._input_data, params, device)
        except InvalidInputData as exc:
            payload, fail_with = placeholder_payload(), exc.message
            meta["error"] = {"code": exc.code, "message": exc.message}
        handle = self._runtime.submit(
            "run",
            d.target,
            payload,
            session_id=d.session_id,
            tags=d.tags or (),
            name=d.name or "",
            priority=1 if level is Priority.HIGH else 0,
            job_id=d.id,
            metadata={META_KEY: meta},
            fail_with=fail_with,
        )
        return self._job(handle)

    def get_job(self, job_id: str) -> Job:
        """The job with this id (of any face).

        Raises:
            JobNotFoundError: no such job.
        """
        return self._job(self._runtime.job(job_id))

    def cancel_job(self, job: Job) -> Job:
        """Cancel a job (queued: always; running: if the device allows); returns it refreshed."""
        self._runtime.cancel_job(job.id)
        return self.get_job(job.id)

    def delete_job(self, job: Job) -> None:
        """Delete a job, cancelling it first if it has not finished.

        Raises:
            InvalidJobStateError: it is running and its device cannot cancel it.
        """
        handle = self._runtime.job(job.id)
        if not handle.in_final_state():
            self._runtime.cancel_job(job.id)
            if not handle.in_final_state():
                raise InvalidJobStateError(f"job {job.id} is running and cannot be cancelled")
        self._runtime.delete_job(job.id)

    def update_job(
        self,
        job: Job,
        *,
        name: str | None = None,
        priority: Any = None,
        tags: list[str] | None = None,
    ) -> Job:
        """Change a job's name, tags or (reported) priority; returns it refreshed."""
        metadata = None
        if priority is not None:
            record = self._runtime.job(job.id).refresh()
            metadata = dict(record.metadata)
            azure = dict(metadata.get(META_KEY) or {})
            azure["priority"] = coerce_priority(priority).value
            metadata[META_KEY] = azure
        self._runtime.update_job(job.id, name=name, tags=tags, metadata=metadata)
        return self.get_job(job.id)

    def list_jobs(
        self,
        name_match: str | None = None,
        job_type: Any = None,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[Job]:
        """Jobs matching every filter (all faces' jobs; there is no session filter here).

        ``name_match`` is a name prefix; ``job_type``, ``provider``, ``target`` and
        ``status`` take one value or a list. Without ``orderby_property`` the jobs come
        oldest first.

        Raises:
            ValueError: ``"Invalid orderby property: ..."`` (one of Name, ItemType,
                JobType, ProviderId, Target, State, CreationTime is expected), or an
                unknown status.
        """
        check_orderby(orderby_property)
        jobs = self._jobs(name_match, status, created_after, created_before, target=target)
        jobs = [
            j
            for j in jobs
            if matches(j.details.job_type, job_type) and matches(j.details.provider_id, provider)
        ]
        return ordered(jobs, orderby_property, is_asc)

    def list_jobs_paginated(
        self,
        *,
        name_match: str | None = None,
        job_type: Any = None,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        skip: int = 0,
        top: int = 100,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[JobDetails]:
        """One page (``skip``, ``top``) of :meth:`list_jobs`, as details."""
        jobs = self.list_jobs(
            name_match, job_type, provider, target, status, created_after, created_before,
            orderby_property, is_asc,
        )  # fmt: skip
        return [j.details for j in jobs[skip : skip + top]]

    def _jobs(
        self,
        name_match: str | None,
        status: Any,
        created_after: datetime | None,
        created_before: datetime | None,
        *,
        target: Any = None,
        session_id: str | None = None,
    ) -> list[Job]:
        statuses = core_statuses(status)
        if statuses is not None and not statuses:
            return []
        targets = as_list(target)
        handles = self._runtime.jobs(
            device=targets[0] if targets and len(targets) == 1 else None,
            status=statuses,
            session_id=session_id,
            name_prefix=name_match,
            created_after=created_after,
            created_before=created_before,
            descending=False,
        )
        return [self._job(h) for h in handles if matches(h.device, targets)]
