"""The one door from the Qiskit face's primitives to the runtime: a request → ``Runtime.submit``.

Every primitive job - ours, or qiskit-ibm-runtime's decoded by :mod:`._ibm_inputs` - arrives
here as a :class:`~._requests.JobRequest`; a session adds its id (and its root job's id),
job mode adds nothing. The runtime does every check of its own (device, payload, whether
the session still accepts jobs); its errors are raised as qiskit-ibm-runtime's, with the
core error as ``__cause__`` for callers that need to tell them apart by type.
"""

from __future__ import annotations

from ..core.calibrations import CALIBRATION_KEY
from ..errors import AlreadyExistsError
from ._decoding import METADATA_KEY
from ._errors import ibm_errors
from ._requests import JobRequest
from .backend import QSessionBackend
from .runtime_job import RuntimeJob

__all__ = ["submit"]


def submit(
    backend: QSessionBackend,
    request: JobRequest,
    *,
    session_id: str | None = None,
    job_id: str | None = None,
    instance: str | None = None,
) -> RuntimeJob:
    """Submit ``request`` to ``backend``'s device.

    Args:
        backend: the backend to run on.
        request: the job.
        session_id: the session or batch to run in (None: job mode).
        job_id: an id for the job (a session's first job takes the session's id); if it is
            taken, the job gets a new one.
        instance: the instance to charge when the request names none (default: the
            backend's).

    Returns:
        The submitted job.

    Raises:
        IBMInputValueError: the runtime refused the payload or an argument.
        IBMRuntimeError: ``"The session is closed."`` (caused by a ``SessionClosedError``)
            and the runtime's other refusals.
    """
    runtime = backend.runtime
    device = backend.device.name
    program_id = request.program_id
    kwargs = {
        "session_id": session_id,
        "instance": request.instance or instance or backend.instance or "default",
        "tags": request.tags,
        "max_execution_time": request.max_execution_time,
        "metadata": {METADATA_KEY: request.decoding.describe()},
    }
    if backend.calibration_id is not None:  # the calibration the backend was asked for
        kwargs["metadata"][CALIBRATION_KEY] = backend.calibration_id
    with ibm_errors():
        try:
            job = runtime.submit(program_id, device, request.payload, job_id=job_id, **kwargs)
        except AlreadyExistsError:
            if job_id is None:
                raise
            job = runtime.submit(program_id, device, request.payload, **kwargs)
    return RuntimeJob(
        job,
        service=backend.service,
        decoding=request.decoding,
        backend=backend,
        inputs=request.inputs,
        primitive_id=request.primitive,
    )
