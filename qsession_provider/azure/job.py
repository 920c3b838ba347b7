"""Azure-style jobs: :class:`Job` with ``details``, waiting and histogram results.

Results follow azure's ``microsoft.quantum-results.v2`` decoding. Each shot's outcome is
the list of its classical bits, bit 0 first (``[0, 1]``); a circuit with several classical
registers gives a tuple of such lists, one per register in circuit order
(``([0, 1], [1])``); its display string is the ``str()`` of the outcome:

* :meth:`Job.get_results` -> ``{"[0, 0]": 0.5, "[1, 1]": 0.5}`` (probabilities);
* :meth:`Job.get_results_histogram` -> ``{"[0, 0]": {"outcome": [0, 0], "count": 50}, ...}``;
* :meth:`Job.get_results_shots` -> ``[[0, 0], [1, 1], ...]`` (one outcome per shot).

Jobs of other programs (``sampler``/``estimator`` jobs submitted through the Qiskit face)
return their neutral result dict from :meth:`Job.get_results`.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from ..core.job import Job as CoreJob
from ._mapping import JOB_TYPE, OUTPUT_DATA_FORMAT
from ._mapping import priority as coerce_priority
from ._models import JobDetails
from .enums import FINAL_JOB_STATUSES, SUCCEEDED_JOB_STATUSES
from .session import WorkspaceItem

if TYPE_CHECKING:
    from .workspace import Workspace

__all__ = ["Job", "JobDetails", "DEFAULT_TIMEOUT"]

#: Default ``timeout_secs`` of the ``get_results*`` methods.
DEFAULT_TIMEOUT = 300


class Job(WorkspaceItem):
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

    def __init__(self, workspace: Workspace, job_details: JobDetails, **kwargs: Any) -> None:
        if kwargs:
            raise TypeError(f"Job() got an unexpected keyword argument {next(iter(kwargs))!r}")
        super().__init__(workspace, job_details)
        self._handle: CoreJob | None = None
        self._input_data: Any = None
        self._raw: Any = None

    @property
    def details(self) -> JobDetails:
        """The job's details as of the last :meth:`refresh`."""
        return self._details  # type: ignore[no-any-return]

    @details.setter
    def details(self, value: JobDetails) -> None:
        self._details = value

    # -- creating ------------------------------------------------------------------------
    @classmethod
    def from_input_data(
        cls,
        workspace: Workspace,
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
        """Submit this job (built by :meth:`from_input_data`) to the workspace."""
        job = self.workspace.submit_job(self)
        self.details, self._handle = job.details, job._handle

    # -- state ---------------------------------------------------------------------------
    def _core(self) -> CoreJob:
        if self._handle is None:
            self._handle = self.workspace.runtime.job(self.id)
        return self._handle

    def refresh(self) -> None:
        """Read the job's latest details."""
        self.details = self.workspace._job_details(self._core())

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
        self.details = self.workspace.cancel_job(self).details

    def delete(self) -> None:
        """Delete the job from the store (cancelling it first if needed)."""
        self.workspace.delete_job(self)

    def update(
        self, *, name: str | None = None, priority: Any = None, tags: list[str] | None = None
    ) -> None:
        """Change the job's name, priority or tags."""
        self.details = self.workspace.update_job(
            self, name=name, priority=priority, tags=tags
        ).details

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

    def _outcomes(self, timeout_secs: float) -> tuple[list[Any], list[int], list[int]] | None:
        """Unique outcomes, their counts and each shot's index into them (run jobs only)."""
        raw = self._result(timeout_secs)
        if not (isinstance(raw, Mapping) and isinstance(raw.get("results"), list)):
            return None
        (experiment,) = raw["results"][:1]
        shots = int(experiment["shots"])
        arrays = [
            np.asarray(bits, dtype=np.uint8).reshape(shots, -1)
            for bits in experiment["registers"].values()
        ]
        sizes = [a.shape[1] for a in arrays]
        if not arrays or sum(sizes) == 0:
            empty: Any = [] if len(arrays) <= 1 else tuple([] for _ in arrays)
            return [empty], [shots], [0] * shots
        joined = np.concatenate(arrays, axis=1)
        uniq, inverse, counts = np.unique(joined, axis=0, return_inverse=True, return_counts=True)
        outcomes: list[Any] = []
        for row in uniq.tolist():
            parts, at = [], 0
            for size in sizes:
                parts.append(row[at : at + size])
                at += size
            outcomes.append(parts[0] if len(parts) == 1 else tuple(parts))
        return outcomes, counts.tolist(), np.ravel(inverse).tolist()

    def get_results(self, timeout_secs: float = DEFAULT_TIMEOUT) -> Any:
        """Outcome probabilities, ``{"[0, 1]": 0.25, ...}`` (waits for the job first).

        Raises:
            RuntimeError: the job failed or was cancelled (its error data in the message).
            TimeoutError: it did not finish within ``timeout_secs``.
        """
        decoded = self._outcomes(timeout_secs)
        if decoded is None:
            return self._raw
        outcomes, counts, _ = decoded
        total = sum(counts)
        return {str(o): c / total for o, c in zip(outcomes, counts)}

    def get_results_histogram(self, timeout_secs: float = DEFAULT_TIMEOUT) -> dict[str, Any]:
        """Outcome counts, ``{"[0, 1]": {"outcome": [0, 1], "count": 25}, ...}``.

        Raises:
            RuntimeError, TimeoutError: as :meth:`get_results`.
            ValueError: the job's results are not shot outcomes (e.g. an estimator job).
        """
        decoded = self._outcomes(timeout_secs)
        if decoded is None:
            raise ValueError(_not_histogram(self.details))
        outcomes, counts, _ = decoded
        return {str(o): {"outcome": o, "count": c} for o, c in zip(outcomes, counts)}

    def get_results_shots(self, timeout_secs: float = DEFAULT_TIMEOUT) -> list[Any]:
        """Each shot's outcome, in shot order: ``[[0, 1], [1, 1], ...]``.

        Raises:
            RuntimeError, TimeoutError, ValueError: as :meth:`get_results_histogram`.
        """
        decoded = self._outcomes(timeout_secs)
        if decoded is None:
            raise ValueError(_not_histogram(self.details))
        outcomes, _, inverse = decoded
        return [_copy(outcomes[i]) for i in inverse]

    def __repr__(self) -> str:
        d = self.details
        status = None if d.status is None else d.status.value
        return f"<Job {d.id} {d.name!r} on {d.target} status={status}>"


def _copy(outcome: Any) -> Any:
    return tuple(list(p) for p in outcome) if isinstance(outcome, tuple) else list(outcome)


def _not_histogram(details: JobDetails) -> str:
    return (
        f"job {details.id} has no shot outcomes: its results are in the "
        f"{details.input_data_format!r} program's format; use get_results()"
    )
