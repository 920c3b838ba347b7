"""qiskit-ibm-runtime's job inputs → a neutral payload → a core job (shared by every path).

Every Qiskit job reaches the runtime through :func:`submit`, with the arguments
qiskit-ibm-runtime's primitives hand to ``Session._run``:

* ``inputs``: ``{"pubs": [SamplerPub | EstimatorPub, ...], "options": {...}, "version": 2,
  ...}`` for ``sampler``/``estimator``; the executor's JSON params for ``executor``.
* ``options`` (runtime options): ``job_tags``, ``max_execution_time``, ``instance``,
  ``log_level``, ``private``, ``backend``.

What is honoured: each pub's own shots/precision, else ``default_shots`` (4096, the cloud's
default) / ``default_precision`` (0.015625; ``default_shots`` of an estimator sets it to
``1/sqrt(shots)``), ``simulator.seed_simulator`` and ``seed_estimator`` (reproducible
results), ``job_tags``, ``max_execution_time`` (the job fails past it, as on IBM) and
``instance`` (fair share). Error mitigation, twirling, dynamical decoupling and
``execution`` options change nothing on the exact simulator and are ignored (logged).
"""

from __future__ import annotations

import logging
import math
import warnings
from collections.abc import Iterable, Mapping
from typing import Any

from qiskit.primitives.containers import SamplerPub
from qiskit_ibm_runtime.exceptions import IBMInputValueError

from ..errors import AlreadyExistsError
from ._coerce import coerce_estimator_pub
from ._convert import check_job_tags
from ._errors import ibm_errors
from ._jobdata import METADATA_KEY, PrimitiveDecoding
from ._programs import ProgramCache
from ._pubs import estimator_payload, sampler_payload
from .runtime_job import RuntimeJob

__all__ = ["DEFAULT_PRECISION", "DEFAULT_SHOTS", "PROGRAMS", "coerce_pubs", "submit"]

_log = logging.getLogger(__name__)

#: Shots per pub when neither the pub, ``run(shots=)`` nor the options set them (cloud default).
DEFAULT_SHOTS = 4096
#: Estimator precision when nothing sets it (cloud default, 1/sqrt(4096)).
DEFAULT_PRECISION = 0.015625
#: Circuit translations shared by every job of the process.
PROGRAMS = ProgramCache()

_IGNORED = ("dynamical_decoupling", "twirling", "resilience", "execution", "experimental")


def _primitive_options(inputs: Mapping[str, Any]) -> dict[str, Any]:
    options = dict(inputs.get("options") or {})
    ignored = sorted(k for k in _IGNORED if options.get(k)) + (
        ["resilience_level"] if "resilience_level" in inputs else []
    )
    if ignored:
        _log.info("options %s have no effect on the exact simulator", ignored)
    return options


def coerce_pubs(coerce: Any, pubs: Any, default: Any) -> list[Any]:
    """``[coerce(pub, default) ...]`` with qiskit's ``ValueError`` as ``IBMInputValueError``.

    Raises:
        IBMInputValueError: not an iterable of pubs, no pubs, or an invalid pub (named).
    """
    if isinstance(pubs, (str, bytes)) or not isinstance(pubs, Iterable):
        raise IBMInputValueError(f"pubs must be an iterable of pubs, got {type(pubs).__name__}")
    out = []
    for index, pub in enumerate(pubs):
        try:
            out.append(coerce(pub, default))
        except ValueError as exc:
            raise IBMInputValueError(f"pub {index}: {exc}") from exc
    if not out:
        raise IBMInputValueError("No pubs were given: pass at least one pub.")
    return out


def _sampler(inputs: Mapping[str, Any]) -> tuple[Any, PrimitiveDecoding]:
    options = _primitive_options(inputs)
    shots = options.get("default_shots") or DEFAULT_SHOTS
    pubs = coerce_pubs(SamplerPub.coerce, inputs.get("pubs"), shots)
    seed = (options.get("simulator") or {}).get("seed_simulator")
    with ibm_errors():
        payload = sampler_payload(pubs, seed=seed, cache=PROGRAMS)
    return payload, PrimitiveDecoding("sampler", pubs)


def _estimator(inputs: Mapping[str, Any]) -> tuple[Any, PrimitiveDecoding]:
    options = _primitive_options(inputs)
    shots = options.get("default_shots")  # overrides default_precision, as on IBM
    precision = 1.0 / math.sqrt(shots) if shots else options.get("default_precision")
    if precision is None:
        precision = DEFAULT_PRECISION
    pubs = coerce_pubs(coerce_estimator_pub, inputs.get("pubs"), precision)
    seed = options.get("seed_estimator")
    if seed is None:
        seed = (options.get("simulator") or {}).get("seed_simulator")
    with ibm_errors():
        payload = estimator_payload(pubs, seed=seed, cache=PROGRAMS)
    return payload, PrimitiveDecoding("estimator", pubs)


def submit(
    backend: Any,
    program_id: str,
    inputs: Any,
    options: Mapping[str, Any] | None = None,
    *,
    session_id: str | None = None,
    job_id: str | None = None,
    dry_run: bool = False,
) -> RuntimeJob:
    """Convert qiskit-ibm-runtime job inputs and submit them to ``backend``'s runtime.

    Args:
        backend: the :class:`~.backend.QSessionBackend` to run on.
        program_id: ``"sampler"``, ``"estimator"`` or ``"executor"``.
        inputs: the primitive inputs (see the module docstring), or a ``QuantumProgram``
            for ``"executor"``.
        options: runtime options (``job_tags``, ``max_execution_time``, ``instance``, ...).
        session_id: the session or batch to run in (None: job mode).
        job_id: an id for the job; if it is taken the job gets a new one.
        dry_run: accepted; the job runs normally (a ``UserWarning`` says so).

    Returns:
        The submitted job.

    Raises:
        IBMInputValueError: unknown program, invalid pubs, options or tags.
        IBMRuntimeError: ``"The session is closed."`` and other refusals of the runtime.
    """
    if dry_run:
        warnings.warn("`dry_run` has no effect on qsession_provider: the job runs.", stacklevel=3)
    runtime_options = dict(options or {})
    tags = check_job_tags(runtime_options.get("job_tags"))
    if program_id == "sampler":
        payload, decoding = _sampler(inputs)
    elif program_id == "estimator":
        payload, decoding = _estimator(inputs)
    elif program_id == "executor":
        from ._executor import executor_submission

        payload, decoding = executor_submission(inputs, cache=PROGRAMS)
    else:
        raise IBMInputValueError(
            f"Circuit {program_id!r} is not supported; the local runtime runs 'sampler', "
            "'estimator' and 'executor'."
        )
    instance = runtime_options.get("instance") or getattr(backend, "instance", None) or "default"
    core_program = "estimator" if program_id == "estimator" else "sampler"
    kwargs: dict[str, Any] = {
        "session_id": session_id,
        "instance": instance,
        "tags": tags,
        "max_execution_time": runtime_options.get("max_execution_time") or None,
        "metadata": {METADATA_KEY: decoding.describe()},
    }
    runtime = backend.runtime
    with ibm_errors():
        try:
            job = runtime.submit(
                core_program, backend.device.name, payload, job_id=job_id, **kwargs
            )
        except AlreadyExistsError:
            if job_id is None:
                raise
            job = runtime.submit(core_program, backend.device.name, payload, **kwargs)
    return RuntimeJob(
        job,
        service=getattr(backend, "service", None),
        decoding=decoding,
        backend=backend,
        inputs=inputs if isinstance(inputs, dict) else {"program": inputs},
        primitive_id=program_id,
    )
