"""One job, ready for the runtime: :class:`JobRequest`, and the rules that fill it in.

Every Qiskit job becomes a :class:`JobRequest` before it reaches the runtime, whichever door
it came in by: our :class:`~.primitives.SamplerV2`/:class:`~.primitives.EstimatorV2`, or
qiskit-ibm-runtime's own primitives in our sessions (their inputs decoded by
:mod:`._ibm_inputs`). :func:`._submit.submit` then hands it to ``Runtime.submit``.

The rules, each written once here and used by both doors:

* **coercion**, once per job: ``SamplerPub.coerce(pub, shots)`` /
  :func:`~._coerce.coerce_estimator_pub`, qiskit's ``ValueError`` raised as
  ``IBMInputValueError`` naming the pub;
* **defaults**, from the primitive options as qiskit-ibm-runtime sends them
  (``{"default_shots": ..., "default_precision": ..., "seed_estimator": ...,
  "simulator": {"seed_simulator": ...}}``, only what is set): each pub's own shots or
  precision, else the ``run()`` argument, else ``default_shots`` (4096, the cloud's
  default) / ``default_precision`` (0.015625; an estimator's ``default_shots`` sets it to
  ``1/sqrt(shots)`` instead, as on IBM);
* **seeds**: ``simulator.seed_simulator`` for the sampler; ``seed_estimator``, else
  ``simulator.seed_simulator``, for the estimator.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from qiskit import QuantumCircuit
from qiskit.primitives.containers import EstimatorPub, SamplerPub
from qiskit_ibm_runtime.exceptions import IBMInputValueError

from ..core.calibrations import CALIBRATION_PROGRAM, CalibrationPayload
from ..core.ir.payload import EstimatorPayload, SamplerPayload
from ._coerce import coerce_estimator_pub
from ._decoding import Decoding, PrimitiveDecoding
from ._errors import ibm_errors
from ._noise import with_noise_option
from ._payloads import estimator_payload, sampler_payload
from ._translations import TranslationCache

__all__ = [
    "DEFAULT_PRECISION",
    "DEFAULT_SHOTS",
    "JobRequest",
    "coerce_estimator_pubs",
    "coerce_sampler_pubs",
    "default_precision",
    "default_shots",
    "primitive_request",
]

#: Shots per pub when neither the pub, ``run(shots=)`` nor the options set them (cloud default).
DEFAULT_SHOTS = 4096
#: Estimator precision when nothing sets it (cloud default, 1/sqrt(4096)).
DEFAULT_PRECISION = 0.015625


@dataclass(frozen=True, slots=True)
class JobRequest:
    """A job of the Qiskit face, checked and translated, not yet submitted.

    Attributes:
        primitive: ``"sampler"``, ``"estimator"`` or ``"executor"``.
        payload: the neutral payload.
        decoding: turns the neutral result into the Qiskit result (stored in the job's
            metadata, see :mod:`._decoding`).
        inputs: what ``RuntimeJob.inputs`` reports (the pubs and primitive options, or the
            executor's params).
        tags: job tags, checked.
        max_execution_time: seconds the job may run, or None.
        instance: the instance to charge, or None for the session's or backend's.
    """

    primitive: str
    payload: SamplerPayload | EstimatorPayload | CalibrationPayload
    decoding: Decoding
    inputs: dict[str, Any]
    tags: list[str] = field(default_factory=list)
    max_execution_time: float | None = None
    instance: str | None = None

    @property
    def program_id(self) -> str:
        """The runtime program: ``estimator`` for estimator jobs, ``calibration`` for a
        ``Calibrator``'s, else ``sampler``."""
        if self.primitive == "calibrate":
            return CALIBRATION_PROGRAM
        return "estimator" if self.primitive == "estimator" else "sampler"


# -- defaults and seeds ----------------------------------------------------------------------
def default_shots(options: Mapping[str, Any], shots: int | None = None) -> int:
    """Shots for sampler pubs that set none: ``shots``, else ``default_shots``, else 4096."""
    if shots is not None:
        return shots
    value = options.get("default_shots")
    return DEFAULT_SHOTS if value is None else value


def default_precision(options: Mapping[str, Any], precision: float | None = None) -> float:
    """Precision for estimator pubs that set none (see the module docstring)."""
    if precision is not None:
        return precision
    shots = options.get("default_shots")
    if shots:  # overrides default_precision, as on IBM
        return 1.0 / math.sqrt(shots)
    value = options.get("default_precision")
    return DEFAULT_PRECISION if value is None else float(value)


def _simulator_seed(options: Mapping[str, Any]) -> Any:
    return (options.get("simulator") or {}).get("seed_simulator")


def _estimator_seed(options: Mapping[str, Any]) -> Any:
    seed = options.get("seed_estimator")
    return _simulator_seed(options) if seed is None else seed


# -- coercion --------------------------------------------------------------------------------
#: What qiskit's ``SamplerPub.coerce`` / ``EstimatorPub.coerce`` say when given a bare circuit
#: where a list of pubs belongs (``run(circuit)``), with the type of what was given.
_WRAP_HINTS = {
    "sampler": (
        "An invalid Sampler pub-like was given ({type}). If you want to run a single "
        "circuit, you need to wrap it with `[]` like `sampler.run([circuit])` instead of "
        "`sampler.run(circuit)`."
    ),
    "estimator": (
        "An invalid Estimator pub-like was given ({type}). If you want to run a single pub, "
        "you need to wrap it with `[]` like `estimator.run([(circuit, observables, "
        "param_values)])` instead of `estimator.run((circuit, observables, param_values))`."
    ),
}


def _coerce_each(coerce: Callable[[Any], Any], pubs: Any, kind: str) -> list[Any]:
    """``[coerce(pub) ...]`` with qiskit's ``ValueError`` as ``IBMInputValueError``."""
    if isinstance(pubs, QuantumCircuit):
        raise IBMInputValueError(_WRAP_HINTS[kind].format(type=type(pubs)))
    if isinstance(pubs, (str, bytes)) or not isinstance(pubs, Iterable):
        raise IBMInputValueError(f"pubs must be an iterable of pubs, got {type(pubs).__name__}")
    out = []
    for index, pub in enumerate(pubs):
        try:
            out.append(coerce(pub))
        except ValueError as exc:
            raise IBMInputValueError(f"pub {index}: {exc}") from exc
    if not out:
        raise IBMInputValueError("No pubs were given: pass at least one pub.")
    return out


def coerce_sampler_pubs(pubs: Any, shots: int) -> list[SamplerPub]:
    """``SamplerPub.coerce(pub, shots)`` for each pub.

    Raises:
        IBMInputValueError: not an iterable of pubs (a bare circuit: qiskit's hint to wrap
            it in ``[]``), no pubs, or an invalid pub (named).
    """
    return _coerce_each(lambda pub: SamplerPub.coerce(pub, shots), pubs, "sampler")


def coerce_estimator_pubs(
    pubs: Any, precision: float, cache: TranslationCache
) -> list[EstimatorPub]:
    """``EstimatorPub.coerce(pub, precision)`` for each pub (observables from ``cache``).

    Raises:
        IBMInputValueError: not an iterable of pubs (a bare circuit: qiskit's hint to wrap
            it in ``[]``), no pubs, or an invalid pub (named).
    """
    observables, circuits = cache.coerced_observables, cache.circuits
    return _coerce_each(
        lambda pub: coerce_estimator_pub(pub, precision, cache=observables, circuits=circuits),
        pubs,
        "estimator",
    )


# -- the request -----------------------------------------------------------------------------
def primitive_request(
    primitive: str,
    pubs: list[Any],
    options: Mapping[str, Any],
    *,
    cache: TranslationCache,
    tags: list[str],
    max_execution_time: float | None = None,
    instance: str | None = None,
    inputs: dict[str, Any] | None = None,
    method: str | None = None,
) -> JobRequest:
    """The request of a sampler or estimator job whose pubs are coerced.

    Args:
        primitive: ``"sampler"`` or ``"estimator"``.
        pubs: the coerced pubs (shots or precision set).
        options: the primitive options (for the seed; see the module docstring).
        cache: the translations to reuse.
        tags: checked job tags.
        max_execution_time: seconds, or None.
        instance: the instance to charge, or None.
        inputs: what ``RuntimeJob.inputs`` reports (default: the pubs and ``options`` as
            qiskit-ibm-runtime's primitives send them).
        method: the simulation method (the backend's ``method`` option; None: automatic).

    Raises:
        IBMInputValueError: a circuit or observable cannot be translated, parameter values
            do not match, or the seed is invalid.
    """
    with ibm_errors():
        if primitive == "sampler":
            seed = _simulator_seed(options)
            payload: Any = sampler_payload(pubs, seed=seed, cache=cache, method=method)
        else:
            seed = _estimator_seed(options)
            payload = estimator_payload(pubs, seed=seed, cache=cache, method=method)
        payload = with_noise_option(payload, options, primitive)  # simulator.noise_model
    if inputs is None:
        inputs = {"pubs": pubs, "options": options, "version": 2, "support_qiskit": True}
    return JobRequest(
        primitive,
        payload,
        PrimitiveDecoding(primitive, pubs),
        inputs,
        tags,
        max_execution_time,
        instance,
    )
