"""The job ``QSessionBackend.run`` returns: a Qiskit ``JobV1`` over a core runtime job.

Statuses map one to one onto ``qiskit.providers.JobStatus``. Waiting happens on the
runtime's clock, so on a :class:`~qsession_provider.core.clock.VirtualClock` a job whose
device takes ten modelled minutes finishes in milliseconds of real time, and
``wait_for_final_state(wait=5)`` never sleeps five real seconds.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import JobError, JobStatus, JobTimeoutError, JobV1
from qiskit.providers.jobstatus import JOB_FINAL_STATES
from qiskit.result import Result

from .. import errors
from ..client.api import RuntimeAPI
from ..client.handles import Handle
from ..core.job import Job
from ..core.job import JobStatus as CoreStatus
from ._results import run_result

if TYPE_CHECKING:
    from .backend import QSessionBackend

__all__ = ["BackendJob"]

#: Core status → Qiskit status.
STATUS_MAP: dict[CoreStatus, JobStatus] = {
    CoreStatus.QUEUED: JobStatus.QUEUED,
    CoreStatus.RUNNING: JobStatus.RUNNING,
    CoreStatus.DONE: JobStatus.DONE,
    CoreStatus.ERROR: JobStatus.ERROR,
    CoreStatus.CANCELLED: JobStatus.CANCELLED,
}


class BackendJob(Handle, JobV1):
    """A ``backend.run`` job: status, waiting, result and cancellation through the runtime.

    Jobs are created by :meth:`QSessionBackend.run`; do not construct them yourself.

    Args:
        backend: the backend that submitted the job.
        job: the core runtime job.
        circuits: the submitted circuits (their registers and names shape the ``Result``).
        shots: shots per circuit.
        memory: whether the result carries per-shot memory.
        seed: ``seed_simulator`` of the run, reported in the result.

    Pickles as its backend and job id; unpickled, it reads the job back by id.
    """

    def __init__(
        self,
        backend: QSessionBackend,
        job: Job,
        circuits: Sequence[QuantumCircuit],
        *,
        shots: int,
        memory: bool,
        seed: int | None,
    ) -> None:
        super().__init__(backend, job.id)
        self._job = job
        # Only the bits, registers, name and metadata are needed to build the Result; an
        # empty copy keeps them as they were at submission even if the caller edits the
        # circuit afterwards.
        self._circuits = [c.copy_empty_like() for c in circuits]
        self._shots = shots
        self._memory = memory
        self._seed = seed
        self._result: Result | None = None
        self._lock = threading.Lock()

    # -- pickling: a read-only re-fetch by id ------------------------------------------------
    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        backend = self._backend
        state = (backend, self.job_id(), self._circuits, self._shots, self._memory, self._seed)
        return backend.runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(
        cls,
        runtime: RuntimeAPI,
        backend: QSessionBackend,
        job_id: str,
        circuits: list[QuantumCircuit],
        shots: int,
        memory: bool,
        seed: int | None,
    ) -> BackendJob:
        try:
            core = runtime.job(job_id)
        except errors.JobNotFoundError as exc:
            raise JobError(f"job {job_id} is not in the runtime at {runtime.location}") from exc
        return cls(backend, core, circuits, shots=shots, memory=memory, seed=seed)

    # -- state -----------------------------------------------------------------------------
    @property
    def core_job(self) -> Job:
        """The core runtime job (timestamps, device, tags, error code)."""
        return self._job

    @property
    def session_id(self) -> str | None:
        """Id of the session the job ran in, or None (job mode)."""
        return self._job.session_id

    @property
    def creation_date(self) -> datetime:
        """When the job was submitted (UTC, on the runtime's clock)."""
        return datetime.fromtimestamp(self._job.created_at, tz=timezone.utc)

    def status(self) -> JobStatus:
        """The job's status as ``qiskit.providers.JobStatus``."""
        self._job.refresh()  # a no-op unless another process runs the job
        return STATUS_MAP[self._job.status]

    def error_message(self) -> str | None:
        """Why the job failed or was cancelled; None otherwise."""
        return self._job.error_message

    def submit(self) -> None:
        """Not supported: jobs are submitted by ``backend.run``.

        Raises:
            JobError: always.
        """
        raise JobError(
            f"job {self.job_id()} was already submitted by backend.run(); a job cannot be "
            "submitted again (call backend.run() for a new job)"
        )

    def cancel(self) -> bool:
        """Cancel the job: always while queued; while running if the device allows it.

        Returns:
            True if the job is now cancelled because of this call.
        """
        return self._job.cancel()

    # -- waiting and results -----------------------------------------------------------------
    def wait_for_final_state(
        self,
        timeout: float | None = None,
        wait: float = 5,
        callback: Callable[[str, JobStatus, BackendJob], object] | None = None,
        *,
        progress: Any = False,
    ) -> None:
        """Wait until the job is DONE, ERROR or CANCELLED.

        Times are seconds on the runtime's clock (virtual seconds on a ``VirtualClock``).

        Args:
            timeout: the longest to wait; None waits as long as it takes.
            wait: seconds between ``callback`` calls (ignored without a callback: the job
                wakes the waiter itself, there is no polling).
            callback: called as ``callback(job_id, status, job)`` before each wait.
            progress: show a tqdm bar (queue position, then running) when there is no
                callback: True (on a terminal only), a dict of tqdm options or a tqdm bar
                (see :mod:`qsession_provider.visual.progress`). Off by default.

        Raises:
            JobTimeoutError: the job is not final after ``timeout`` seconds.
        """
        if callback is None:
            if progress:
                from ..visual.progress import wait_job  # tqdm loads only when asked

                finished = wait_job(self._job, timeout, progress, runtime=self._backend.runtime)
            else:
                finished = self._job.wait(timeout)
            if not finished:
                raise JobTimeoutError(f"Timeout while waiting for job {self.job_id()}.")
            return
        waited = 0.0
        while True:
            status = self.status()
            if status in JOB_FINAL_STATES:
                return
            if timeout is not None and waited >= timeout:
                raise JobTimeoutError(f"Timeout while waiting for job {self.job_id()}.")
            callback(self.job_id(), status, self)
            step = max(float(wait), 1e-3)
            if timeout is not None:
                step = min(step, timeout - waited)
            self._job.wait(step)
            waited += step

    def result(self, timeout: float | None = None, *, progress: Any = False) -> Result:
        """The job's ``qiskit.result.Result``, waiting for the job if needed.

        Args:
            timeout: seconds (runtime clock) to wait; None waits as long as it takes.
            progress: a tqdm bar while waiting (see :meth:`wait_for_final_state`).

        Returns:
            One experiment per circuit, with hex ``counts`` (``get_counts()``) and, if the
            run asked for ``memory=True``, per-shot hex ``memory`` (``get_memory()``).

        Raises:
            JobTimeoutError: the job did not finish within ``timeout``.
            JobError: the job failed or was cancelled (the message says which, and why).
        """
        with self._lock:
            if self._result is not None:
                return self._result
        try:
            if progress:
                from ..visual.progress import observing  # tqdm loads only when asked

                with observing(progress, runtime=self._backend.runtime) as observer:
                    raw = self._job.result(timeout, progress=observer)
            else:
                raw = self._job.result(timeout)
        except errors.JobTimeoutError as exc:
            raise JobTimeoutError(
                f"Timeout while waiting for job {self.job_id()} (waited {timeout} s)."
            ) from exc
        except errors.JobCancelledError as exc:
            reason = self._job.error_message or "cancelled"
            message = f"Job {self.job_id()} was cancelled ({reason}); it has no result."
            raise JobError(message) from exc
        except errors.JobFailedError as exc:
            raise JobError(f"Job {self.job_id()} failed: {self._job.error_message}") from exc
        result = self._to_result(raw)
        with self._lock:
            self._result = result
        return result

    def _to_result(self, raw: Any) -> Result:
        """The neutral ``run`` result as a Qiskit ``Result``."""
        finished = self._job.finished_at
        date = (
            None
            if finished is None
            else datetime.fromtimestamp(finished, tz=timezone.utc).isoformat()
        )
        backend = self.backend()
        try:
            return run_result(
                raw,
                self._circuits,
                backend_name=backend.name,
                backend_version=str(backend.backend_version),
                job_id=self.job_id(),
                memory=self._memory,
                shots=self._shots,
                seed=self._seed,
                status="COMPLETED",
                date=date,
            )
        except errors.InputError as exc:  # the engine returned something malformed
            raise JobError(f"Job {self.job_id()} returned an unreadable result: {exc}") from exc

    def __repr__(self) -> str:
        return f"<BackendJob {self.job_id()} on {self._job.device} {self._job.status.value}>"
