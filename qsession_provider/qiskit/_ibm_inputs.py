"""qiskit-ibm-runtime's job inputs → a :class:`~._requests.JobRequest`.

qiskit-ibm-runtime's own primitives, run in our sessions (:meth:`.Session._run`) or through
:class:`~.ibm_compat.IBMCompatibleService`, hand over a job as the cloud receives it:

* ``program_id``: ``"sampler"``, ``"estimator"`` or ``"executor"``;
* ``inputs``: ``{"pubs": [SamplerPub | EstimatorPub, ...], "options": {...}, "version": 2,
  ...}`` for ``sampler``/``estimator``; the executor's JSON params (or a
  ``QuantumProgram``) for ``executor``;
* ``options`` (runtime options): ``job_tags``, ``max_execution_time``, ``instance``,
  ``log_level``, ``private``, ``backend``.

:func:`request_from_ibm` decodes them into the request our own primitives build, with the
same rules (:mod:`._requests`), so both join one path to the runtime. What is honoured:
each pub's own shots/precision, else ``default_shots`` / ``default_precision``,
``simulator.seed_simulator`` and ``seed_estimator`` (reproducible results), ``job_tags``,
``max_execution_time`` (the job fails past it, as on IBM) and ``instance`` (fair share).
Error mitigation, twirling, dynamical decoupling and ``execution`` options change nothing
on the exact simulator and are ignored (logged).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping
from typing import Any

from qiskit_ibm_runtime.exceptions import IBMInputValueError

from ..core.calibrations import CalibrationPayload
from ._convert import check_job_tags
from ._decoding import CalibrationDecoding
from ._executor import executor_payload
from ._requests import (
    JobRequest,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    default_precision,
    default_shots,
    primitive_request,
)
from ._translations import TranslationCache

__all__ = ["request_from_ibm"]

_log = logging.getLogger(__name__)

_IGNORED = ("dynamical_decoupling", "twirling", "resilience", "execution", "experimental")


def _primitive_options(inputs: Mapping[str, Any]) -> dict[str, Any]:
    """The primitive options of ``inputs`` (options without effect here are logged)."""
    options = dict(inputs.get("options") or {})
    ignored = sorted(k for k in _IGNORED if options.get(k)) + (
        ["resilience_level"] if "resilience_level" in inputs else []
    )
    if ignored:
        _log.info("options %s have no effect on the exact simulator", ignored)
    return options


#: Modelled seconds a ``Calibrator`` job takes the device.
CALIBRATOR_SECONDS = 60.0


def request_from_ibm(
    program_id: str,
    inputs: Any,
    options: Mapping[str, Any] | None,
    *,
    cache: TranslationCache,
    dry_run: bool = False,
) -> JobRequest:
    """The request for a job as qiskit-ibm-runtime submits it (see the module docstring).

    Args:
        program_id: ``"sampler"``, ``"estimator"``, ``"executor"`` or ``"calibrate"`` (a
            ``Calibrator``: a calibration job of :data:`CALIBRATOR_SECONDS` on the device).
        inputs: the primitive inputs, or the executor's params or program.
        options: the runtime options.
        cache: the translations to reuse.
        dry_run: accepted; the job runs normally (a ``UserWarning`` says so).

    Raises:
        IBMInputValueError: unknown program, invalid pubs, options or tags.
    """
    if dry_run:
        # stacklevel 3: the caller of Session._run (or of the service's _run).
        warnings.warn("`dry_run` has no effect on qsession_provider: the job runs.", stacklevel=3)
    runtime_options = options or {}
    tags = check_job_tags(runtime_options.get("job_tags"))
    max_execution_time = runtime_options.get("max_execution_time") or None
    instance = runtime_options.get("instance") or None
    stored_inputs = inputs if isinstance(inputs, dict) else {"program": inputs}
    if program_id == "calibrate":  # qiskit-ibm-runtime's Calibrator
        payload = CalibrationPayload(CALIBRATOR_SECONDS)
        return JobRequest(
            "calibrate", payload, CalibrationDecoding(), stored_inputs, tags,
            max_execution_time, instance,
        )  # fmt: skip
    if program_id == "executor":
        payload, decoding = executor_payload(inputs, cache=cache)
        return JobRequest(
            "executor", payload, decoding, stored_inputs, tags, max_execution_time, instance
        )
    if program_id == "sampler":
        primitive_options = _primitive_options(inputs)
        pubs = coerce_sampler_pubs(inputs.get("pubs"), default_shots(primitive_options))
    elif program_id == "estimator":
        primitive_options = _primitive_options(inputs)
        precision = default_precision(primitive_options)
        pubs = coerce_estimator_pubs(inputs.get("pubs"), precision, cache)
    else:
        raise IBMInputValueError(
            f"Program {program_id!r} is not supported; the local runtime runs 'sampler', "
            "'estimator', 'executor' and 'calibrate'."
        )
    return primitive_request(
        program_id,
        pubs,
        primitive_options,
        cache=cache,
        tags=tags,
        max_execution_time=max_execution_time,
        instance=instance,
        inputs=stored_inputs,
    )
