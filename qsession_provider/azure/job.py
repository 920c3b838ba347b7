"""Azure-style jobs: :class:`Job` with ``details``, waiting and histogram results.

A job talks to its workspace's runtime itself; the functions below it (submitting,
updating, deleting and finding jobs) serve both :class:`Job` and
:class:`~qsession_provider.azure.Workspace`.

Results follow azure's ``microsoft.quantum-results.v2`` decoding (see
:mod:`qsession_provider.azure._results`):

* :meth:`Job.get_results` -> ``{"[0, 0]": 0.5, "[1, 1]": 0.5}`` (probabilities);
* :meth:`Job.get_results_histogram` -> ``{"[0, 0]": {"outcome": [0, 0], "count": 50}, ...}``;
* :meth:`Job.get_results_shots` -> ``[[0, 0], [1, 1], ...]`` (one outcome per shot).

Jobs of other programs (``sampler``/``estimator`` jobs submitted through the Qiskit face)
return their neutral result dict from :meth:`Job.get_results`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from ..client import RuntimeAPI
from ..core.job import Job as CoreJob
from ..errors import InputError, InvalidJobStateError
from ._input import DEFAULT_SHOTS, SHOTS_PARAM, InvalidInputData, placeholder_payload, run_payload
from ._listing import matches
from ._mapping import (
    INPUT_DATA_FORMAT,
    JOB_TYPE,
    META_KEY,
    OUTPUT_DATA_FORMAT,
    PROVIDER_ID,
    as_list,
    core_statuses,
    job_details,
)
from ._mapping import priority as coerce_priority
from ._models import JobDetails
from ._results import Outcomes, copy_outcome, decode
from .enums import FINAL_JOB_STATUSES, SUCCEEDED_JOB_STATUSES, Priority
from .workspace_item import WorkspaceItem, WorkspaceLike

__all__ = [
    "Job",
    "JobDetails",
    "DEFAULT_TIMEOUT",
    "submit_run",
    "update_job",
    "delete_job",
    "find_jobs",
]

#: Default ``timeout_secs`` of the ``get_results*`` methods.
DEFAULT_TIMEOUT = 300


class Job(WorkspaceItem[JobDetails]):
    """An Azure Quantum job of a workspace.

    Args:
        workspace: the workspace the job belongs to.
        job_details: its details (``id`` names the runtime job).

    Example:
        >>> job = target.submit(qasm, name="bell", shots=100)  # doctest: +SKIP
        >>> job.wait_until_completed()  # doctest: +SKIP
        >>> job.get_results()  # doctest: +SKIP
        {'[0, 0]': 0.52, '[1, 1]': 0.48}
    """

    _default_poll_wait = 0.2

    def __init__(self, workspace: WorkspaceLike, job_details: JobDetails, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"Job() got an unexpected keyword argument {next(iter(kwargs))!r}")
        super().__init__(workspace, job_details)
        self._handle: CoreJob | None = None
        self._input_data: Any = None
        self._raw: Any = None

    @classmethod
    def from_runtime_job(cls, workspace: WorkspaceLike, handle: CoreJob) -> Job:
        """The Azure view of a runtime job (of any face), with its current details."""
        job = cls(workspace, job_details(handle.refresh(), workspace.store))
        job._handle = handle
        return job

    # -- creating ------------------------------------------------------------------------
    @classmethod
    def from_input_data(
        cls,
        workspace: WorkspaceLike,
        name: str,
        target: str,
        input_data: Any,
        *,
        job_id: str | None = None,
        provider_id: str | None = None,
        input_data_format: str | None = None,
        output_data_format: str | None = None,
        input_params: Mapping[str, Any] | None = None,
        session_id: str | None = None,
        priority: Any = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> Job:
        """Create a job from ``input_data`` and submit it (what ``Target.submit`` does).

        ``input_params["shots"]`` gives the shot count (default 500).
        """
        details = JobDetails(
            id=job_id if job_id is not None else str(uuid.uuid1()),
            name=name,
            provider_id=provider_id,
            target=target,
            job_type=JOB_TYPE,
            input_data_format=input_data_format,
            output_data_format=output_data_format or OUTPUT_DATA_FORMAT,
            input_params=dict(input_params or {}),
            session_id=session_id,
            priority=None if priority is None else coerce_priority(priority),
            tags=None if tags is None else list(tags),
            metadata=None if metadata is None else dict(metadata),
        )
        job = cls(workspace, details)
        job._input_data = input_data
        job.submit()
        return job

    def submit(self) -> None:
        """Submit this job (built by :meth:`from_input_data`) to the workspace's runtime."""
        self._handle = submit_run(self.workspace.runtime, self.details, self._input_data)
        self.refresh()

    # -- state ---------------------------------------------------------------------------
    def __getstate__(self) -> dict[str, Any]:
        """Pickled without the runtime's job handle: it is read back by id when needed (the
        workspace reconnects, see :mod:`qsession_provider.client.handles`)."""
        return {**self.__dict__, "_handle": None}

    def _core(self) -> CoreJob:
        if self._handle is None:
            self._handle = self.workspace.runtime.job(self.id)
        return self._handle

    def refresh(self) -> None:
        """Read the job's latest details."""
        self.details = job_details(self._core().refresh(), self.workspace.store)

    def has_completed(self) -> bool:
        """True if Succeeded/Completed, Failed or Cancelled (as of the last refresh)."""
        return self.details.status in FINAL_JOB_STATUSES

    def has_succeeded(self) -> bool:
        """True if Succeeded/Completed (as of the last refresh)."""
        return self.details.status in SUCCEEDED_JOB_STATUSES

    def wait_until_completed(
        self,
        max_poll_wait_secs: float = 30,
        timeout_secs: float | None = None,
        print_progress: bool = True,
    ) -> None:
        """Refresh until the job is finished, printing a ``.`` per poll like azure-quantum.

        Waits are on the runtime's clock: on a :class:`~qsession_provider.core.clock.VirtualClock`
        nothing sleeps, and a wait returns as soon as the job finishes.

        Raises:
            TimeoutError: still not finished after ``timeout_secs`` clock seconds.
        """
        self.refresh()
        clock = self.workspace.runtime.clock
        start = clock.now()
        poll_wait = self._default_poll_wait
        while not self.has_completed():
            elapsed = clock.now() - start
            if timeout_secs is not None and elapsed >= timeout_secs:
                raise TimeoutError(f"The wait time has exceeded {timeout_secs} seconds.")
            if print_progress:
                print(".", end="", flush=True)
            wait = poll_wait if timeout_secs is None else min(poll_wait, timeout_secs - elapsed)
            self._core().wait(wait)
            self.refresh()
            poll_wait = max_poll_wait_secs if poll_wait >= max_poll_wait_secs else poll_wait * 1.5

    def cancel(self) -> None:
        """Cancel the job (queued: always; running: if the device allows)."""
        self.workspace.runtime.cancel_job(self.id)
        self.refresh()

    def delete(self) -> None:
        """Delete the job from the store (cancelling it first if needed)."""
        delete_job(self.workspace.runtime, self.id)

    def update(
        self, *, name: str | None = None, priority: Any = None, tags: list[str] | None = None
    ) -> None:
        """Change the job's name, priority or tags."""
        update_job(self.workspace.runtime, self.id, name=name, priority=priority, tags=tags)
        self.refresh()

    # -- results -------------------------------------------------------------------------
    def _result(self, timeout_secs: float) -> Any:
        if self._raw is not None:
            return self._raw
        if not self.has_completed():
            self.wait_until_completed(timeout_secs=timeout_secs)
        if not self.has_succeeded():
            raise RuntimeError(
                "Cannot retrieve results as job execution failed"
                f"(status: {self.details.status}."
                f"error: {self.details.error_data})"
            )
        self._raw = self._core().result()
        return self._raw

    def _outcomes(self, timeout_secs: float) -> Outcomes:
        """The decoded outcomes (ValueError for a job of another program)."""
        decoded = decode(self._result(timeout_secs))
        if decoded is None:
            d = self.details
            raise ValueError(
                f"job {d.id} has no shot outcomes: its results are in the "
                f"{d.input_data_format!r} program's format; use get_results()"
            )
        return decoded

    def get_results(self, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:
        """Outcome probabilities, ``{"[0, 1]": 0.25, ...}`` (waits for the job first).

        Raises:
            RuntimeError: the job failed or was cancelled (its error data in the message).
            TimeoutError: it did not finish within ``timeout_secs``.
        """
        decoded = decode(self._result(timeout_secs))
        if decoded is None:
            return self._raw
        total = sum(decoded.counts)
        return {str(o): c / total for o, c in zip(decoded.outcomes, decoded.counts)}

    def get_results_histogram(self, timeout_secs: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Outcome counts, ``{"[0, 1]": {"outcome": [0, 1], "count": 25}, ...}``.

        Raises:
            RuntimeError, TimeoutError: as :meth:`get_results`.
            ValueError: the job's results are not shot outcomes (e.g. an estimator job).
        """
        decoded = self._outcomes(timeout_secs)
        return {
            str(o): {"outcome": o, "count": c} for o, c in zip(decoded.outcomes, decoded.counts)
        }

    def get_results_shots(self, timeout_secs: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Each shot's outcome, in shot order: ``[[0, 1], [1, 1], ...]``.

        Raises:
            RuntimeError, TimeoutError, ValueError: as :meth:`get_results_histogram`.
        """
        decoded = self._outcomes(timeout_secs)
        return [copy_outcome(decoded.outcomes[i]) for i in decoded.shot_indices]

    def __repr__(self) -> str:
        d = self.details
        status = None if d.status is None else d.status.value
        return f"<Job {d.id} {d.name!r} on {d.target} status={status}>"


# -- job operations on the runtime (shared by Job and Workspace) -----------------------------
def submit_run(runtime: RuntimeAPI, details: JobDetails, input_data: Any) -> CoreJob:
    """Submit ``input_data`` as the ``run`` job ``details`` describe; returns the runtime job.

    Input that cannot run still creates the job; it fails when it reaches the device, with
    ``error_data`` code ``InvalidInputData``.

    Raises:
        DeviceNotFoundError: unknown target.
        SessionNotFoundError, SessionClosedError: the session is unknown or does not
            accept jobs.
        InputError: a job with this id exists, or invalid name/tags/metadata.
    """
    d = details
    if not d.target:
        raise InputError(f"job {d.id} has no target")
    device = runtime.device(d.target)
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
        payload = run_payload(input_data, params, device)
    except InvalidInputData as exc:
        payload, fail_with = placeholder_payload(), exc.message
        meta["error"] = {"code": exc.code, "message": exc.message}
    return runtime.submit(
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


def delete_job(runtime: RuntimeAPI, job_id: str) -> None:
    """Delete a job, cancelling it first if it has not finished.

    Raises:
        InvalidJobStateError: it is running and its device cannot cancel it.
    """
    handle = runtime.job(job_id)
    if not handle.in_final_state():
        runtime.cancel_job(job_id)
        if not handle.in_final_state():
            raise InvalidJobStateError(f"job {job_id} is running and cannot be cancelled")
    runtime.delete_job(job_id)


def update_job(
    runtime: RuntimeAPI,
    job_id: str,
    *,
    name: str | None = None,
    priority: Any = None,
    tags: list[str] | None = None,
) -> None:
    """Change a job's name, tags or (reported) priority."""
    metadata = None
    if priority is not None:
        record = runtime.job(job_id).refresh()
        metadata = dict(record.metadata)
        azure = dict(metadata.get(META_KEY) or {})
        azure["priority"] = coerce_priority(priority).value
        metadata[META_KEY] = azure
    runtime.update_job(job_id, name=name, tags=tags, metadata=metadata)


def find_jobs(
    workspace: WorkspaceLike,
    name_match: str | None = None,
    status: Any = None,
    created_after: datetime | None = None,
    created_before: datetime | None = None,
    *,
    target: Any = None,
    session_id: str | None = None,
) -> list[Job]:
    """Jobs (of any face) matching every filter given, oldest first.

    ``name_match`` is a name prefix; ``status`` and ``target`` take one value or a list.

    Raises:
        ValueError: an unknown status.
    """
    statuses = core_statuses(status)
    if statuses is not None and not statuses:
        return []
    targets = as_list(target)
    handles = workspace.runtime.jobs(
        device=targets[0] if targets and len(targets) == 1 else None,
        status=statuses,
        session_id=session_id,
        name_prefix=name_match,
        created_after=created_after,
        created_before=created_before,
        descending=False,
    )
    return [Job.from_runtime_job(workspace, h) for h in handles if matches(h.device, targets)]
