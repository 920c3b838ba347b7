"""Qiskit pubs and circuits → neutral job payloads (``sampler``, ``estimator``, ``run``).

Pure conversion: no scheduling, no execution. The caller has already coerced each pub and
resolved its shots (``SamplerPub.coerce(pub, shots)``) or precision
(``EstimatorPub.coerce(pub, precision)``). Circuits, observables and the pubs of
parameter-free circuits go through the caller's :class:`~._translations.TranslationCache`,
so a VQE loop that submits the same circuit and Hamiltonian job after job translates them
only once.

Errors are the neutral ones (:class:`~qsession_provider.errors.InputError` and its
subclasses), with the pub or circuit index prefixed to the message; the face translates
them into what its users catch.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers import BindingsArray
from qiskit.primitives.containers import EstimatorPub as QiskitEstimatorPub
from qiskit.primitives.containers import SamplerPub as QiskitSamplerPub

from ..core.ir.circuit import Circuit
from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    check_seed,
)
from ..errors import InputError, UnboundParameterError
from ._translations import TranslationCache

__all__ = [
    "estimator_payload",
    "parameter_values",
    "run_payload",
    "sampler_payload",
]


class _where:  # noqa: N801 - used as a function: ``with _where("pub 2"): ...``
    """Re-raise neutral errors with ``prefix`` (e.g. ``"pub 2"``) in front of the message.

    (A small class rather than a generator context manager: it is entered for every pub.)
    """

    __slots__ = ("_prefix",)

    def __init__(self, prefix: str) -> None:
        self._prefix = prefix

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if isinstance(exc, InputError):
            raise type(exc)(f"{self._prefix}: {exc}") from None
        return False


def _circuit_label(circuit: QuantumCircuit) -> str:
    return repr(circuit.name) if circuit.name else "<unnamed>"


def parameter_values(
    bindings: BindingsArray, circuit: QuantumCircuit, translated: Circuit
) -> np.ndarray:
    """The values of ``bindings`` as a float array ``(*bindings.shape, len(parameters))``.

    Columns follow the parameters of ``translated``, the IR circuit of ``circuit`` (names
    such as ``θ[0]``, as ``circuit_to_ir`` writes them). Parameters that the translation
    dropped (e.g. one used only in a ``delay``) may be bound and are ignored.

    Raises:
        InputError: the bindings do not bind exactly the circuit's parameters.
    """
    if not isinstance(bindings, BindingsArray):
        raise InputError(f"parameter values must be a BindingsArray, got {type(bindings).__name__}")
    keys = tuple(bindings.data)
    # One key (a VQE loop binds the same names every job): its columns are cached.
    names, repeated, missing, columns = (_columns if len(keys) == 1 else _find_columns)(
        keys, translated.parameters
    )
    if len(names) != circuit.num_parameters or repeated:
        expected = sorted(p.name for p in circuit.parameters)
        raise InputError(
            f"parameter values bind {sorted(names)} but circuit {_circuit_label(circuit)} "
            f"has parameters {expected}"
        )
    if missing:
        raise InputError(
            f"parameter values give no value for {list(missing)} of circuit "
            f"{_circuit_label(circuit)} (bound: {sorted(names)})"
        )
    if not translated.parameters:
        return np.zeros((*bindings.shape, 0), dtype=float)
    return np.ascontiguousarray(bindings.as_array()[..., columns])


def _find_columns(
    keys: tuple[tuple[str, ...], ...], parameters: tuple[str, ...]
) -> tuple[tuple[str, ...], bool, tuple[str, ...], np.ndarray | None]:
    """``(names, repeated, missing, columns)``: the names ``keys`` bind (in order), whether
    one repeats, those of ``parameters`` they do not bind, and where each parameter sits
    among the names (None if one is missing)."""
    names = tuple(name for key in keys for name in key)
    position = {name: i for i, name in enumerate(names)}
    repeated = len(position) != len(names)
    missing = tuple(name for name in parameters if name not in position)
    if missing:
        return names, repeated, missing, None
    columns = np.array([position[name] for name in parameters], dtype=np.intp)
    columns.flags.writeable = False  # shared by the cache below
    return names, repeated, missing, columns


_columns = functools.lru_cache(maxsize=256)(_find_columns)


def sampler_payload(
    pubs: Sequence[QiskitSamplerPub],
    *,
    seed: int | None,
    cache: TranslationCache,
    method: str | None = None,
) -> SamplerPayload:
    """The neutral ``sampler`` payload for coerced Qiskit sampler pubs.

    Args:
        pubs: ``SamplerPub`` objects whose ``shots`` are set.
        seed: seed for the sampling RNG (None: fresh entropy).
        cache: the translations to reuse.

    Returns:
        A :class:`SamplerPayload` with one neutral pub per Qiskit pub, in order.

    Raises:
        InputError: no pubs, a pub without shots, a circuit without measurements, or
            parameter values that do not match the circuit.
        InvalidCircuitError: a circuit cannot be translated.
    """
    seed = check_seed(seed)
    circuits, fixed = cache.circuits, cache.sampler_pubs
    out = []
    for index, pub in enumerate(pubs):
        with _where(f"pub {index}"):
            if not isinstance(pub, QiskitSamplerPub):
                raise InputError(f"expected a coerced SamplerPub, got {type(pub).__name__}")
            if pub.shots is None:
                raise InputError("shots are not set; coerce it with SamplerPub.coerce(pub, shots)")
            circuit = circuits.get(pub.circuit)
            bindings = pub.parameter_values
            if not circuit.parameters and not bindings.data and not pub.circuit.num_parameters:
                out.append(fixed.get(circuit, pub.shots, bindings.shape))
                continue
            values = parameter_values(bindings, pub.circuit, circuit)
            out.append(SamplerPub(circuit, values, pub.shots))
    return SamplerPayload(tuple(out), seed, method)  # method: the backend's option


def estimator_payload(
    pubs: Sequence[QiskitEstimatorPub],
    *,
    seed: int | None,
    cache: TranslationCache,
    method: str | None = None,
) -> EstimatorPayload:
    """The neutral ``estimator`` payload for coerced Qiskit estimator pubs.

    Args:
        pubs: ``EstimatorPub`` objects whose ``precision`` is set.
        seed: seed for the shot-noise RNG used when ``precision > 0``.
        cache: the translations to reuse.

    Returns:
        An :class:`EstimatorPayload`; each pub's observables are an object array of
        :class:`PauliSum` with the ``ObservablesArray``'s shape.

    Raises:
        InputError: no pubs, a pub without precision, a non-Hermitian observable, parameter
            values that do not match the circuit, or shapes that do not broadcast.
        InvalidCircuitError: a circuit or observable cannot be translated.
    """
    seed = check_seed(seed)
    circuits, observables = cache.circuits, cache.observables
    out = []
    for index, pub in enumerate(pubs):
        with _where(f"pub {index}"):
            if not isinstance(pub, QiskitEstimatorPub):
                raise InputError(f"expected a coerced EstimatorPub, got {type(pub).__name__}")
            if pub.precision is None:
                raise InputError(
                    "precision is not set; coerce it with EstimatorPub.coerce(pub, precision)"
                )
            circuit = circuits.get(pub.circuit)
            values = parameter_values(pub.parameter_values, pub.circuit, circuit)
            sparse = pub.observables.sparse_observables_array()
            flat = sparse.ravel()
            sums = np.empty(flat.shape, dtype=object)
            for k in range(flat.size):
                # Item assignment: PauliSum has __len__, so slice assignment could unpack it.
                sums[k] = observables.get(flat[k])
            out.append(EstimatorPub(circuit, values, sums.reshape(sparse.shape), pub.precision))
    return EstimatorPayload(tuple(out), seed, method)


def run_payload(
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    *,
    shots: int,
    memory: bool,
    seed: int | None,
    cache: TranslationCache,
    options: Mapping[str, Any] | None = None,
) -> RunPayload:
    """The neutral ``run`` payload for ``backend.run(circuits, ...)``.

    Args:
        circuits: one circuit or a sequence of circuits, all parameters bound.
        shots: shots per circuit.
        memory: whether the result keeps per-shot memory.
        seed: ``seed_simulator``.
        cache: the translations to reuse.
        options: other run options, carried as they are.

    Returns:
        A :class:`RunPayload` with one IR circuit per circuit, in order.

    Raises:
        UnboundParameterError: a circuit still has parameters (the message names it).
        InputError: no circuits, an item that is not a circuit, or bad shots/seed.
        InvalidCircuitError: a circuit cannot be translated.
    """
    seed = check_seed(seed)
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    translated = []
    for index, circuit in enumerate(circuits):
        with _where(f"circuit {index}"):
            if not isinstance(circuit, QuantumCircuit):
                raise InputError(f"expected a QuantumCircuit, got {type(circuit).__name__}")
            if circuit.num_parameters:
                names = [p.name for p in circuit.parameters]
                raise UnboundParameterError(
                    f"circuit {_circuit_label(circuit)} has unbound parameters {names}; bind "
                    "them with circuit.assign_parameters(...) before backend.run"
                )
            translated.append(cache.circuits.get(circuit))
    return RunPayload(tuple(translated), shots, bool(memory), seed, dict(options or {}))
