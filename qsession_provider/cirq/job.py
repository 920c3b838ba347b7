"""Cirq-face jobs: one runtime ``sampler`` job per circuit and sweep, cirq_ionq-style.

Status strings are lower case, as in ``cirq_ionq.Job``:

==============  ==================
core status     ``Job.status()``
==============  ==================
QUEUED          ``"ready"``
RUNNING         ``"running"``
DONE            ``"completed"``
ERROR           ``"failed"``
CANCELLED       ``"canceled"``
(deleted)       ``"deleted"``
==============  ==================

What a Cirq job needs to rebuild its ``cirq.Result`` objects later (the resolvers, the
repetitions, which qubits each key measured) is stored in the job's metadata under
``"cirq"``, so :meth:`Service.get_job <qsession_provider.cirq.Service.get_job>` works in
another process too.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

import cirq
import numpy as np
import sympy

from ..client import RuntimeAPI
from ..client.handles import Handle
from ..core.ir.circuit import Circuit, Measure
from ..core.job import Job as CoreJob
from ..core.job import JobStatus
from ..errors import InputError, JobCancelledError, JobError, JobFailedError, JobNotFoundError
from ._payloads import cirq_sampler_payload
from ._results import JobResult, sweep_results

__all__ = [
    "Job",
    "UnsuccessfulJobError",
    "STATUS_NAMES",
    "TERMINAL_STATES",
    "NON_TERMINAL_STATES",
    "submit_sweep",
]

#: Core status -> Cirq-face status string.
STATUS_NAMES: dict[JobStatus, str] = {
    JobStatus.QUEUED: "ready",
    JobStatus.RUNNING: "running",
    JobStatus.DONE: "completed",
    JobStatus.ERROR: "failed",
    JobStatus.CANCELLED: "canceled",
}
#: Statuses that never change (as ``cirq_ionq.Job.TERMINAL_STATES``).
TERMINAL_STATES = ("completed", "canceled", "failed", "deleted")
#: Statuses of a job that has not finished.
NON_TERMINAL_STATES = ("ready", "running")


class UnsuccessfulJobError(JobError, RuntimeError):
    """Results were asked of a job that failed, was cancelled or was deleted.

    Attributes:
        job_id: the job's id.
        status: its status string (``"failed"``, ``"canceled"`` or ``"deleted"``).
        error_message: why, as the runtime recorded it (None if unknown).
    """

    def __init__(self, job_id: str, status: str, error_message: str | None) -> None:
        verb = {"failed": "failed", "canceled": "was canceled", "deleted": "was deleted"}
        super().__init__(
            f"job {job_id} {verb.get(status, status)}: {error_message or 'no reason given'}"
        )
        self.job_id = job_id
        self.status = status
        self.error_message = error_message


class Job(Handle):
    """A job of the Cirq face (a handle over a runtime job).

    Pickles as its runtime's address and job id; unpickled, it reads the job back by id.

    Usually obtained from ``Target.submit``, ``Service.create_job`` or
    ``Service.get_job``; jobs a :class:`~qsession_provider.cirq.Sampler` submits are
    listed in ``sampler.last_jobs``.

    Args:
        runtime: the runtime that holds the job.
        job: the core job handle.
        resolvers: the resolvers the job ran with, when the caller still has them
            (otherwise they are read back from the job's metadata).
    """

    def __init__(
        self,
        runtime: RuntimeAPI,
        job: CoreJob,
        *,
        resolvers: Sequence[cirq.ParamResolverOrSimilarType] | None = None,
    ) -> None:
        self._runtime = runtime
        self._job = job
        self._resolvers = None if resolvers is None else list(resolvers)
        self._results: list[JobResult] | None = None
        self._deleted = False

    # -- pickling: a read-only re-fetch by id ---------------------------------------------
    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        return self._runtime, type(self)._from_pickle, (self.job_id(), self._resolvers)

    @classmethod
    def _from_pickle(cls, runtime: RuntimeAPI, job_id: str, resolvers: list[Any] | None) -> Job:
        return cls(runtime, runtime.job(job_id), resolvers=resolvers)

    # -- identity -------------------------------------------------------------------------
    def job_id(self) -> str:
        """The job id."""
        return self._job.id

    @property
    def core(self) -> CoreJob:
        """The core job handle (timestamps, tags, metadata, ...)."""
        return self._job

    @property
    def session_id(self) -> str | None:
        """Id of the session the job belongs to, or None."""
        return self._job.session_id

    def target(self) -> str:
        """Name of the device (target) the job runs on."""
        return self._job.device

    def name(self) -> str:
        """The job name."""
        return self._job.name

    def status(self) -> str:
        """One of ``ready``, ``running``, ``completed``, ``failed``, ``canceled``, ``deleted``."""
        if self._deleted:
            return "deleted"
        if self._job.is_foreign:
            self._job.refresh()
        return STATUS_NAMES[self._job.status]

    def error_message(self) -> str | None:
        """Why the job failed or was cancelled, or None."""
        return self._job.error_message

    # -- what the job computes ------------------------------------------------------------
    def num_qubits(self) -> int:
        """Number of qubits of the circuit (its qubit order)."""
        meta = self._meta()
        if meta is not None:
            return int(meta["num_qubits"])
        return max((p.num_qubits for p in self._job.payload.circuits), default=0)

    def repetitions(self) -> int:
        """Repetitions (shots) per parameter set."""
        meta = self._meta()
        if meta is not None:
            return int(meta["repetitions"])
        pubs = getattr(self._job.payload, "pubs", ())
        return int(pubs[0].shots) if pubs else 0

    def measurement_dict(self) -> dict[str, list[int]]:
        """``{key: [qubit indices]}``: which qubits (positions in the circuit's qubit
        order) each measurement key reads, in the order of its bits."""
        meta = self._meta()
        if meta is not None:
            return {k: list(v) for k, v in meta["measurement_dict"].items()}
        return {}

    # -- results --------------------------------------------------------------------------
    def results(
        self, timeout_seconds: float | None = 7200, *, progress: Any = False
    ) -> JobResult | list[JobResult]:
        """Wait for the job and return its results.

        Args:
            timeout_seconds: clock seconds to wait (None: no limit).
            progress: show a tqdm bar while waiting (queue position, then running): True
                (on a terminal only), a dict of tqdm options or a tqdm bar (see
                :mod:`qsession_provider.visual.progress`). Off by default.

        Returns:
            One :class:`~qsession_provider.cirq.JobResult` (a ``cirq.Result`` with
            ``job_id``) if the job ran one parameter set, as Azure's Cirq jobs do; a list
            with one result per resolver, in sweep order, otherwise.

        Raises:
            TimeoutError: the job did not finish in time (``JobTimeoutError``).
            UnsuccessfulJobError: the job failed, was cancelled or was deleted.
            InputError: the job was not submitted through the Cirq face.
        """
        results = self.sweep_results(timeout_seconds, progress=progress)
        return results[0] if len(results) == 1 else results

    def sweep_results(
        self, timeout_seconds: float | None = 7200, *, progress: Any = False
    ) -> list[JobResult]:
        """Like :meth:`results`, but always a list (one result per resolver)."""
        if self._results is not None:
            return list(self._results)
        if self._deleted:
            raise UnsuccessfulJobError(self.job_id(), "deleted", "the job was deleted")
        try:
            if progress:
                from ..visual.progress import observing  # tqdm loads only when asked

                with observing(progress, runtime=self._runtime) as observer:
                    data = self._job.result(timeout_seconds, progress=observer)
            else:
                data = self._job.result(timeout_seconds)
        except (JobFailedError, JobCancelledError):
            status = STATUS_NAMES[self._job.status]
            raise UnsuccessfulJobError(self.job_id(), status, self._job.error_message) from None
        resolvers = self._resolvers
        if resolvers is None:
            meta = self._meta()
            if meta is None:
                raise InputError(
                    f"job {self.job_id()} ({self._job.program_id} program) was not submitted "
                    "through the Cirq face; its results are not Cirq results"
                )
            resolvers = [cirq.ParamResolver(p) for p in meta["params"]]
        self._results = sweep_results(data, resolvers, job_id=self.job_id())
        return list(self._results)

    # -- changing -------------------------------------------------------------------------
    def cancel(self) -> bool:
        """Cancel the job (a queued job always; a running one if its device allows).

        Returns:
            True if the job is now canceled because of this call.
        """
        return self._job.cancel()

    def delete(self) -> None:
        """Delete the job and its result from the store, cancelling it first if needed.

        Raises:
            InvalidJobStateError: the job is still running and cannot be cancelled.
        """
        if not self._job.in_final_state():
            self._job.cancel()
        try:
            self._runtime.delete_job(self.job_id())
        except JobNotFoundError:
            pass
        self._deleted = True

    def _meta(self) -> dict[str, Any] | None:
        meta = self._job.metadata.get("cirq")
        return meta if isinstance(meta, dict) else None

    def __repr__(self) -> str:
        return f"<cirq Job {self.job_id()} on {self.target()} {self.status()}>"


def submit_sweep(
    runtime: RuntimeAPI,
    device: str,
    circuit: cirq.AbstractCircuit,
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    repetitions: int,
    *,
    session_id: str | None = None,
    name: str = "cirq-job",
    tags: Iterable[str] = (),
    seed: int | None = None,
) -> Job:
    """Submit one ``sampler`` job for ``circuit`` over ``resolvers``.

    Raises:
        InputError: no measurements, bad repetitions/seed, unresolved symbols, a circuit
            that cannot be translated, or arguments the runtime refuses (nothing is queued).
        DeviceNotFoundError: unknown device.
        SessionClosedError: the session no longer accepts jobs.
    """
    payload, qubits = cirq_sampler_payload(circuit, resolvers, repetitions, seed=seed)
    metadata = {
        "face": "cirq",
        "cirq": {
            "params": [_params_json(r) for r in resolvers],
            "repetitions": int(repetitions),
            "num_qubits": len(qubits),
            "qubits": [str(q) for q in qubits],
            "measurement_dict": _measurement_dict(payload.pubs[0].circuit),
        },
    }
    job = runtime.submit(
        "sampler",
        device,
        payload,
        session_id=session_id,
        name=name,
        tags=tags,
        metadata=metadata,
    )
    return Job(runtime, job, resolvers=resolvers)


def _measurement_dict(circuit: Circuit) -> dict[str, list[int]]:
    """Which qubit-order positions each register (measurement key) reads, bit by bit."""
    out: dict[str, list[int]] = {name: [-1] * size for name, size in circuit.registers.items()}
    last = circuit.num_qubits - 1
    for op in circuit.operations:
        if isinstance(op, Measure):
            out[op.register][op.bit] = last - op.qubit  # IR qubit n-1-i is the i-th qubit
    return out


def _params_json(resolver: cirq.ParamResolverOrSimilarType) -> dict[str, Any]:
    """A resolver's assignments as storable data: symbol names -> numbers (or text)."""
    out: dict[str, Any] = {}
    for key, value in cirq.ParamResolver(resolver).param_dict.items():
        name = key.name if isinstance(key, sympy.Symbol) else str(key)
        out[name] = _number(value)
    return out


def _number(value: Any) -> Any:
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    try:
        number = complex(value)
    except (TypeError, ValueError):
        return str(value)
    if number.imag == 0 and math.isfinite(number.real):
        return number.real
    return number
