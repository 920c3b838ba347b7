"""Cirq circuits + sweeps → neutral sampler payloads, and neutral results → ``cirq.Result``.

:func:`cirq_sampler_payload` turns one ``run_sweep`` call into a neutral ``sampler``
payload: normally one pub whose parameter values have shape ``(len(resolvers), P)``, so the
circuit is translated once and stays symbolic; when a gate cannot stay symbolic (the gate
library has no symbolic form for it, or a ``CircuitOperation`` has symbolic repetitions) the
circuit is resolved per resolver instead, one pub per resolver. Either way every pub has
a leading axis of resolvers, so :func:`sweep_results` reads both layouts the same way.

Results are :class:`JobResult` objects: ``cirq.ResultDict`` carrying the ``job_id``, like
``cirq_google.EngineResult``. ``measurements[key]`` is int8 ``(repetitions, n)`` with
column ``j`` the ``j``-th qubit of the measurement gate (the IR register's bit ``j``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cirq
import numpy as np

from ..core.ir.circuit import Circuit
from ..core.ir.payload import SamplerPayload, SamplerPub, check_seed
from ..errors import InputError, InvalidProgramError, UnboundParameterError
from ..translate.cirq.circuits import circuit_to_ir, resolver_values

__all__ = ["JobResult", "cirq_results", "cirq_sampler_payload", "sweep_results"]


class JobResult(cirq.ResultDict):
    """A ``cirq.ResultDict`` that knows the id of the job that produced it.

    Mirrors ``cirq_google.EngineResult``: keyword-only constructor, a ``job_id``
    property and :meth:`from_result`.

    Args:
        job_id: the id of the job (None if unknown).
        params: the resolver the circuit ran with.
        measurements: ``{key: (repetitions, n) array}``.
        records: ``{key: (repetitions, instances, n) array}``; give this or ``measurements``.
    """

    def __init__(
        self,
        *,
        job_id: str | None = None,
        params: cirq.ParamResolver | None = None,
        measurements: Mapping[str, np.ndarray] | None = None,
        records: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        super().__init__(params=params, measurements=measurements, records=records)
        self._job_id = job_id

    @property
    def job_id(self) -> str | None:
        """The id of the job that produced this result."""
        return self._job_id

    @classmethod
    def from_result(cls, result: cirq.Result, *, job_id: str | None) -> JobResult:
        """A :class:`JobResult` with the data of any ``cirq.Result``."""
        return cls(job_id=job_id, params=result.params, records=result.records)

    def __repr__(self) -> str:
        return (
            f"JobResult(job_id={self._job_id!r}, params={self.params!r}, "
            f"records={self._record_dict_repr()})"
        )


def cirq_results(
    result_registers: Mapping[str, np.ndarray],
    params: cirq.ParamResolverOrSimilarType,
    *,
    job_id: str | None,
) -> JobResult:
    """The Cirq result of one resolver.

    Args:
        result_registers: ``{key: (repetitions, n) bits}`` of one parameter set, as in the
            neutral result (column ``j`` = ``j``-th qubit of the measurement).
        params: the resolver the circuit ran with.
        job_id: the job's id.

    Returns:
        A :class:`JobResult` with int8 ``measurements``.

    Raises:
        InputError: a register array is not two-dimensional.
    """
    measurements = {}
    for key, bits in result_registers.items():
        arr = np.asarray(bits)
        if arr.ndim != 2:
            raise InputError(
                f"measurement {key!r}: expected a (repetitions, qubits) array, got {arr.shape}"
            )
        measurements[str(key)] = arr.astype(np.int8)
    return JobResult(job_id=job_id, params=cirq.ParamResolver(params), measurements=measurements)


def sweep_results(
    result: Mapping[str, Any],
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    *,
    job_id: str | None,
) -> list[JobResult]:
    """Split the neutral result of a :func:`cirq_sampler_payload` job into one result per resolver.

    Raises:
        InputError: the result does not have one parameter set per resolver.
    """
    try:
        pubs = list(result["pubs"])
    except (KeyError, TypeError):
        raise InputError("sampler result has no 'pubs' list") from None
    if not pubs:
        raise InputError("sampler result has no pubs")
    keys = list(pubs[0]["registers"])
    registers = {}
    for key in keys:
        parts = [np.asarray(pub["registers"][key]) for pub in pubs]
        if any(part.ndim != 3 for part in parts):
            raise InputError(f"register {key!r}: expected (sets, repetitions, qubits) arrays")
        registers[key] = parts[0] if len(parts) == 1 else np.concatenate(parts, axis=0)
    found = len(registers[keys[0]]) if keys else 0
    if found != len(resolvers):
        raise InputError(
            f"sampler result has {found} parameter sets for {len(resolvers)} resolvers"
        )
    return [
        cirq_results({key: arr[i] for key, arr in registers.items()}, resolver, job_id=job_id)
        for i, resolver in enumerate(resolvers)
    ]


def _symbolic_pub(
    program: Circuit,
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    repetitions: int,
) -> SamplerPub:
    """One pub with a row of parameter values per resolver."""
    names = program.parameters
    values = np.zeros((len(resolvers), len(names)), dtype=float)
    for i, resolver in enumerate(resolvers):
        try:
            found = resolver_values(resolver, program)
        except InvalidProgramError as exc:
            raise type(exc)(f"resolver {i}: {exc}") from None
        values[i] = [found[name] for name in names]
    return SamplerPub(program, values, repetitions)


def _resolved_pubs(
    circuit: cirq.AbstractCircuit,
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    repetitions: int,
    qubits: list[cirq.Qid],
) -> list[SamplerPub]:
    """One pub per resolver, each a translation of the circuit with that resolver applied."""
    pubs = []
    for i, resolver in enumerate(resolvers):
        resolved = cirq.resolve_parameters(circuit, cirq.ParamResolver(resolver))
        if cirq.is_parameterized(resolved):
            names = sorted(cirq.parameter_names(resolved))
            raise UnboundParameterError(f"resolver {i} gives no value for parameter(s) {names}")
        program, _ = circuit_to_ir(resolved, qubit_order=qubits)
        pubs.append(SamplerPub(program, np.zeros((1, 0)), repetitions))
    return pubs


def cirq_sampler_payload(
    circuit: cirq.AbstractCircuit,
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    repetitions: int,
    *,
    seed: int | None,
) -> tuple[SamplerPayload, list[cirq.Qid]]:
    """The neutral ``sampler`` payload of ``run_sweep(circuit, resolvers, repetitions)``.

    Args:
        circuit: the circuit; it must measure something.
        resolvers: one resolver (or dict) per parameter set, in sweep order; at least one
            (a sampler answers an empty sweep with ``[]`` without submitting a job).
        repetitions: shots per resolver.
        seed: sampling seed (None: fresh entropy).

    Returns:
        The payload (one symbolic pub of shape ``(len(resolvers),)``, or, when a gate cannot
        stay symbolic, one pub of shape ``(1,)`` per resolver) and the qubit order of the
        translation (see ``circuit_to_ir``).

    Raises:
        InputError: no measurements, no resolvers, or bad repetitions/seed.
        UnboundParameterError: a resolver gives no value for a parameter.
        InvalidProgramError: the circuit cannot be translated.
    """
    if not isinstance(circuit, cirq.AbstractCircuit):
        raise InputError(f"expected a cirq circuit, got {type(circuit).__name__}")
    if not circuit.has_measurements():
        raise InputError(
            "the circuit has no measurements to sample; add cirq.measure(...) on the qubits "
            "to read out"
        )
    if isinstance(repetitions, bool) or not isinstance(repetitions, (int, np.integer)):
        raise InputError(f"repetitions must be a positive integer, got {repetitions!r}")
    if repetitions <= 0:
        raise InputError(f"repetitions must be a positive integer, got {repetitions}")
    seed = check_seed(seed)
    resolvers = list(resolvers)
    if not resolvers:
        raise InputError("no parameter resolvers given (an empty sweep has no results)")
    try:
        program, qubits = circuit_to_ir(circuit)
    except InvalidProgramError:
        if not cirq.is_parameterized(circuit):
            raise
        qubits = list(cirq.QubitOrder.DEFAULT.order_for(circuit.all_qubits()))
        pubs = _resolved_pubs(circuit, resolvers, int(repetitions), qubits)
    else:
        pubs = [_symbolic_pub(program, resolvers, int(repetitions))]
    return SamplerPayload(tuple(pubs), seed), qubits
