"""Runtime jobs: the handle a primitive's ``run()`` and ``service.job(id)`` return.

:class:`RuntimeJob` mirrors qiskit-ibm-runtime's ``RuntimeJobV2`` over a core job: its
status strings (``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"``, ``"CANCELLED"``), its
errors (``RuntimeJobFailureError``, ``RuntimeJobMaxTimeoutError``,
``RuntimeInvalidStateError``, ``RuntimeJobTimeoutError``), tags, metrics and usage. The
status is a :class:`RuntimeJobStatus`, a ``str`` that also compares equal to
``qiskit.providers.JobStatus`` members, so code written for either convention works.

Waits (``result(timeout=)``, ``wait_for_final_state(timeout=)``) are measured on the runtime's
clock: on a :class:`~qsession_provider.core.VirtualClock` a timeout is virtual seconds (jobs
of another process are polled in real seconds).
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from datetime import datetime
from functools import reduce
from typing import TYPE_CHECKING, Any

import qiskit
from qiskit.primitives import BasePrimitiveJob, PrimitiveResult
from qiskit.providers import JobStatus
from qiskit_ibm_runtime.exceptions import (
    RuntimeInvalidStateError,
    RuntimeJobTimeoutError,
)

from ..client.api import RuntimeAPI
from ..client.handles import Handle, NotPicklableError
from ..core.calibrations import CALIBRATION_KEY
from ..core.device import TimingModel
from ..core.job import FINAL_STATES, Job, JobErrorCode
from ..core.job import JobStatus as CoreStatus
from ..errors import DeviceNotFoundError
from ._convert import check_job_tags, iso_utc, local_datetime
from ._decoding import Decoding, PrimitiveDecoding, decoding_from_metadata
from ._errors import ibm_errors, job_failure
from ._spans import add_execution_spans

if TYPE_CHECKING:
    from .backend import QSessionBackend
    from .service import QiskitRuntimeService

__all__ = ["RuntimeJob", "RuntimeJobStatus", "RuntimeJobV2"]

_log = logging.getLogger(__name__)
_UNSET: Any = object()


class RuntimeJobStatus(str):
    """A job status string (``"DONE"``...) that also equals the matching ``JobStatus`` member.

    ``status == "DONE"``, ``status == JobStatus.DONE`` and ``status in JOB_FINAL_STATES`` all
    hold for a finished job; ``status.name`` is ``"DONE"`` and ``status.value`` the string
    itself. Its hash is the string's, so use it (not ``JobStatus``) as a dict key.

    Example:
        >>> from qiskit.providers import JobStatus
        >>> s = RuntimeJobStatus("DONE")
        >>> s == "DONE", s == JobStatus.DONE, s.name
        (True, True, 'DONE')
    """

    __slots__ = ()

    @property
    def name(self) -> str:
        """The status name, as ``JobStatus.<name>``."""
        return str(self)

    @property
    def value(self) -> str:
        """The status string itself."""
        return str(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, JobStatus):
            return other.name == str(self)
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __repr__(self) -> str:
        return f"'{self}'"


class RuntimeJob(Handle, BasePrimitiveJob[PrimitiveResult, RuntimeJobStatus]):
    """A job of the local runtime, with qiskit-ibm-runtime's ``RuntimeJobV2`` interface.

    Not created directly: primitives' ``run()``, ``Session._run`` and ``service.job(id)`` /
    ``service.jobs()`` return it.

    Args:
        job: the core job handle.
        service: the service the job belongs to (for ``backend()``).
        decoding: turns the neutral result into the Qiskit result (None: return it raw).
        backend: the backend object, if the caller has it.
        inputs: what the primitive passed to ``_run`` (None for jobs loaded from the store).
        primitive_id: ``"sampler"``, ``"estimator"`` or ``"executor"`` (default: the core
            program id).

    Example:
        >>> from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2
        >>> from qiskit import QuantumCircuit
        >>> service = QiskitRuntimeService(store=":memory:")
        >>> qc = QuantumCircuit(1)
        >>> _ = qc.x(0)
        >>> qc.measure_all()
        >>> job = SamplerV2(mode=service.backend("statevector")).run([qc], shots=10)
        >>> job.result()[0].data.meas.get_counts(), job.status()
        ({'1': 10}, 'DONE')
    """

    JOB_FINAL_STATES: tuple[str, ...] = ("DONE", "CANCELLED", "ERROR")

    def __init__(
        self,
        job: Job,
        *,
        service: QiskitRuntimeService | None,
        decoding: Decoding | None = None,
        backend: QSessionBackend | None = None,
        inputs: dict[str, Any] | None = None,
        primitive_id: str | None = None,
    ) -> None:
        super().__init__(job.id)
        self._job = job
        self._service = service
        self._decoding = decoding
        self._backend = backend
        self._inputs = inputs
        self._primitive_id = primitive_id or job.program_id
        self._result: Any = _UNSET
        self._result_lock = threading.Lock()

    # -- pickling: a read-only re-fetch by id ----------------------------------------------------
    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        owner = self._service if self._service is not None else self._backend
        if owner is None:
            raise NotPicklableError(f"job {self.job_id()} has neither a service nor a backend")
        state = (self.job_id(), self._service, self._backend, self._primitive_id)
        return owner.runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(
        cls,
        runtime: RuntimeAPI,
        job_id: str,
        service: QiskitRuntimeService | None,
        backend: QSessionBackend | None,
        primitive_id: str,
    ) -> RuntimeJob:
        with ibm_errors():
            core = runtime.job(job_id)
        decoding = decoding_from_metadata(core.metadata)
        return cls(
            core, service=service, decoding=decoding, backend=backend, primitive_id=primitive_id
        )

    # -- status -------------------------------------------------------------------------------
    def _record(self) -> Any:
        return self._job.refresh()

    def status(self) -> RuntimeJobStatus:
        """The job status: ``"QUEUED"``, ``"RUNNING"``, ``"DONE"``, ``"ERROR"`` or ``"CANCELLED"``.

        A job that ran past its ``max_execution_time`` reports ``"ERROR"``, as on IBM.
        """
        return RuntimeJobStatus(self._record().status.value)

    def done(self) -> bool:
        """True if the job finished successfully."""
        return self._record().status is CoreStatus.DONE

    def running(self) -> bool:
        """True while the job runs."""
        return self._record().status is CoreStatus.RUNNING

    def cancelled(self) -> bool:
        """True if the job was cancelled."""
        return self._record().status is CoreStatus.CANCELLED

    def errored(self) -> bool:
        """True if the job failed."""
        return self._record().status is CoreStatus.ERROR

    def in_final_state(self) -> bool:
        """True once the job is DONE, ERROR or CANCELLED."""
        return self._record().status in FINAL_STATES

    def error_message(self) -> str | None:
        """Why the job failed (IBM's wording), or None if it did not fail."""
        r = self._record()
        if r.status is not CoreStatus.ERROR:
            return None
        if r.error_code == JobErrorCode.MAX_EXECUTION_TIME.value:
            return (
                f"Job {r.id} ran longer than maximum execution time. Job was cancelled:\n"
                f"{r.error_message}"
            )
        return f"Job {r.id} has failed:\n{r.error_message}"

    # -- waiting and results ---------------------------------------------------------------------
    def wait_for_final_state(
        self,
        timeout: float | None = None,
        poll_interval: float | None = None,
        *,
        progress: Any = False,
    ) -> None:
        """Block until the job is final.

        Args:
            timeout: seconds on the runtime's clock (None: no limit).
            poll_interval: accepted for compatibility; waiting is event-driven here.
            progress: show a tqdm bar (queue position, then running): True (on a terminal
                only), a dict of tqdm options or a tqdm bar (see
                :mod:`qsession_provider.visual.progress`). Off by default, as on IBM.

        Raises:
            RuntimeJobTimeoutError: the job is not final after ``timeout`` seconds.
        """
        del poll_interval
        if progress:
            from ..visual.progress import wait_job  # tqdm loads only when asked

            finished = wait_job(self._job, timeout, progress, runtime=self._runtime())
        else:
            finished = self._job.wait(timeout)
        if not finished:
            raise RuntimeJobTimeoutError(
                f"Timed out waiting for job to complete after {timeout} secs."
            )

    def result(
        self,
        timeout: float | None = None,
        decoder: Any = None,
        poll_interval: float | None = None,
        *,
        progress: Any = False,
    ) -> Any:
        """The job's result (a ``PrimitiveResult`` for primitive jobs), waiting if needed.

        Args:
            timeout: seconds to wait on the runtime's clock (None: no limit).
            decoder: a ``ResultDecoder`` class or a sequence of them to apply instead of the
                defaults (executor jobs: qiskit-ibm-runtime's executor decoders); each is
                applied if its ``is_applicable`` accepts the result so far.
            poll_interval: accepted for compatibility.
            progress: a tqdm bar while waiting (see :meth:`wait_for_final_state`).

        Raises:
            RuntimeJobTimeoutError: not final after ``timeout`` seconds.
            RuntimeJobFailureError: the job failed (message from the job).
            RuntimeJobMaxTimeoutError: the job ran past its ``max_execution_time``.
            RuntimeInvalidStateError: the job was cancelled.
        """
        self.wait_for_final_state(timeout, poll_interval, progress=progress)
        r = self._record()
        if r.status is CoreStatus.ERROR:
            raise job_failure(r.id, r.error_message, r.error_code)
        if r.status is CoreStatus.CANCELLED:
            raise RuntimeInvalidStateError(
                f"Unable to retrieve result for job {r.id}. Job was cancelled."
            )
        with self._result_lock:
            if self._result is _UNSET:
                with ibm_errors():
                    raw = self._job.result()
                self._result = raw if self._decoding is None else self._decoding.decode(raw)
                if isinstance(self._decoding, PrimitiveDecoding):
                    add_execution_spans(self._result, r, self._device_timing(r.device))
                    if CALIBRATION_KEY in r.metadata:  # the calibration it ran with
                        self._result.metadata[CALIBRATION_KEY] = r.metadata[CALIBRATION_KEY]
            result = self._result
        decoders: Sequence[Any]
        if decoder is not None:
            decoders = decoder if isinstance(decoder, Sequence) else [decoder]
        else:
            decoders = [] if self._decoding is None else self._decoding.default_decoders()
        return reduce(
            lambda res, dec: dec.decode(res) if dec.is_applicable(res) else res, decoders, result
        )

    def cancel(self) -> None:
        """Cancel the job (a running job only if its device can stop it).

        Raises:
            RuntimeInvalidStateError: the job is already final or cannot be stopped.
            IBMRuntimeError: the job is run by another process.
        """
        with ibm_errors():
            cancelled = self._job.cancel()
        if not cancelled:
            raise RuntimeInvalidStateError(
                f"Job cannot be cancelled: job {self.job_id()} is {self._record().status.value}"
            )

    # -- properties -------------------------------------------------------------------------------
    @property
    def core_job(self) -> Any:
        """The core (or remote) job handle: timestamps, device, tags, error code."""
        return self._job

    @property
    def session_id(self) -> str | None:
        """Id of the job's session or batch, or None in job mode."""
        return self._job.session_id

    @property
    def tags(self) -> list[str]:
        """The job's tags."""
        return list(self._record().tags)

    def update_tags(self, new_tags: list[str]) -> list[str]:
        """Replace the job's tags.

        Raises:
            IBMInputValueError: ``"job_tags needs to be a list of strings."``
        """
        tags = check_job_tags(new_tags)
        runtime = self._runtime()
        if self._backend is not None:  # the instance the handle's jobs are charged to
            instance = self._backend.instance
        else:
            assert self._service is not None  # a job has a service or a backend
            instance = self._service.active_instance()
        with ibm_errors():  # only the job's own instance may change it
            runtime.update_job(self.job_id(), tags=sorted(set(tags)), instance=instance)
        return self.tags

    @property
    def primitive_id(self) -> str:
        """``"sampler"``, ``"estimator"`` or ``"executor"``."""
        return self._primitive_id

    @property
    def inputs(self) -> dict[str, Any]:
        """The inputs given at submission; for a job loaded from the store, its neutral payload."""
        if self._inputs is not None:
            return self._inputs
        return {"payload": self._job.payload}

    @property
    def creation_date(self) -> datetime | None:
        """When the job was created, in local time (clock time)."""
        return local_datetime(self._job.created_at)

    @property
    def instance(self) -> str:
        """The instance the job is charged to."""
        return self._job.instance

    @property
    def private(self) -> bool:
        """Always False (no private jobs locally)."""
        return False

    @property
    def image(self) -> str:
        """Always ``""`` (no runtime images locally)."""
        return ""

    @property
    def usage_estimation(self) -> dict[str, Any]:
        """``{"quantum_seconds": ...}``: the device's modelled execution time for the job."""
        runtime = self._runtime()
        device = runtime.device(self._job.device)
        return {"quantum_seconds": device.execution_time(self._job.payload)}

    def backend(self, timeout: float | None = None) -> Any:
        """The backend the job ran on."""
        del timeout
        if self._backend is None and self._service is not None:
            self._backend = self._service.backend(self._job.device)
        return self._backend

    def properties(self, refresh: bool = False) -> None:
        """Backend properties at run time: not modelled, always None."""
        del refresh
        return None

    def usage(self, partial: bool = False) -> float:
        """Seconds the job occupied the device (0 until it finishes, unless ``partial``)."""
        r = self._record()
        if r.execution_time is not None:
            return float(r.execution_time)
        if partial and r.started_at is not None:
            return max(0.0, self._runtime().clock.now() - r.started_at)
        return 0.0

    def metrics(self) -> dict[str, Any]:
        """Timestamps and usage, in the layout of the runtime API's job metrics."""
        r = self._record()
        seconds = r.execution_time
        final = r.status in FINAL_STATES
        estimate = None
        if r.status is CoreStatus.QUEUED:
            with ibm_errors():
                estimate = self._runtime().queue_estimate(r.id)
        return {
            "timestamps": {
                "created": iso_utc(r.created_at),
                "running": iso_utc(r.started_at),
                "finished": iso_utc(r.finished_at),
            },
            "bss": {"seconds": seconds or 0},
            "usage": {
                "quantum_seconds": seconds or 0,
                "seconds": seconds or 0,
                "qpu_charge_time_seconds": seconds or 0,
                "status": "complete" if final else "pending",
            },
            "qiskit_version": qiskit.__version__,
            # While queued: from the device's queue and timing model (recomputed each call).
            "estimated_start_time": None if estimate is None else iso_utc(estimate.start),
            "estimated_completion_time": (
                None if estimate is None else iso_utc(estimate.completion)
            ),
            "position_in_queue": None if estimate is None else estimate.position,
            "position_in_provider": None if estimate is None else estimate.position,
        }

    def logs(self) -> str:
        """A short log of the job's life (created, started, finished, error)."""
        r = self._record()
        if r.status not in FINAL_STATES:
            _log.warning("Job logs are only available after the job finishes.")
        lines = [f"{iso_utc(r.created_at)} job {r.id} queued on {r.device}"]
        if r.started_at is not None:
            lines.append(f"{iso_utc(r.started_at)} running")
        if r.finished_at is not None:
            lines.append(f"{iso_utc(r.finished_at)} {r.status.value}")
        if r.error_message:
            lines.append(f"error ({r.error_code}): {r.error_message}")
        return "\n".join(lines) + "\n"

    @property
    def calibration_id(self) -> str | None:
        """The calibration the job ran with (the device's latest when it started, or the
        one its backend named), or None."""
        value = self._record().metadata.get(CALIBRATION_KEY)
        return None if value is None else str(value)

    def _device_timing(self, device: str) -> TimingModel:
        """The timing model of the job's device (none if it is no longer registered)."""
        try:
            return self._runtime().device(device).timing
        except DeviceNotFoundError:
            return TimingModel()

    def _runtime(self) -> RuntimeAPI:
        if self._service is not None:
            return self._service.runtime
        assert self._backend is not None  # a job has a service or a backend
        return self._backend.runtime

    def __repr__(self) -> str:
        return f"<RuntimeJob('{self.job_id()}', '{self._primitive_id}')>"


#: qiskit-ibm-runtime's name for the job class.
RuntimeJobV2 = RuntimeJob
