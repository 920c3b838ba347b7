"""Cirq circuits, sweeps and observables → neutral ``sampler`` and ``estimator`` payloads.

:func:`cirq_sampler_payload` turns one ``run_sweep`` call into a neutral ``sampler``
payload: normally one pub whose parameter values have shape ``(len(resolvers), P)``, so the
circuit is translated once and stays symbolic; when a gate cannot stay symbolic (the gate
library has no symbolic form for it, or a ``CircuitOperation`` has symbolic repetitions) the
circuit is resolved per resolver instead, one pub per resolver. Either way every pub has
a leading axis of resolvers. :func:`cirq_estimator_payload` is the exact-expectation job
of ``simulate_expectation_values_sweep``: one pub, one row of values per resolver. An
observable with complex coefficients ``O = A + iB`` is sent as its two Hermitian parts ``A``
and ``B`` (each has a real expectation value) and put back together as ``<A> + i<B>``.
"""

from __future__ import annotations

from collections.abc import Sequence

import cirq
import numpy as np

from ..core.ir.circuit import Circuit
from ..core.ir.observables import PauliSum, PauliTerm
from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    SamplerPayload,
    SamplerPub,
    check_seed,
)
from ..errors import InputError, InvalidCircuitError, UnboundParameterError
from ..translate.cirq import circuit_to_ir, pauli_sum_to_sum, qubit_index_map, resolver_values

__all__ = [
    "ObservableParts",
    "cirq_estimator_payload",
    "cirq_sampler_payload",
    "combine_parts",
    "expectation_inputs",
]

#: Per observable: the index of its Hermitian part's column and of its anti-Hermitian part's
#: (None when every coefficient is real).
ObservableParts = list[tuple[int, int | None]]


def _symbolic_pub(
    ir_circuit: Circuit,
    resolvers: Sequence[cirq.ParamResolverOrSimilarType],
    repetitions: int,
) -> SamplerPub:
    """One pub with a row of parameter values per resolver."""
    names = ir_circuit.parameters
    values = np.zeros((len(resolvers), len(names)), dtype=float)
    for i, resolver in enumerate(resolvers):
        try:
            found = resolver_values(resolver, ir_circuit)
        except InvalidCircuitError as exc:
            raise type(exc)(f"resolver {i}: {exc}") from None
        values[i] = [found[name] for name in names]
    return SamplerPub(ir_circuit, values, repetitions)


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
        ir_circuit, _ = circuit_to_ir(resolved, qubit_order=qubits)
        pubs.append(SamplerPub(ir_circuit, np.zeros((1, 0)), repetitions))
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
        InvalidCircuitError: the circuit cannot be translated.
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
        ir_circuit, qubits = circuit_to_ir(circuit)
    except InvalidCircuitError:
        if not cirq.is_parameterized(circuit):
            raise
        qubits = list(cirq.QubitOrder.DEFAULT.order_for(circuit.all_qubits()))
        pubs = _resolved_pubs(circuit, resolvers, int(repetitions), qubits)
    else:
        pubs = [_symbolic_pub(ir_circuit, resolvers, int(repetitions))]
    return SamplerPayload(tuple(pubs), seed), qubits


def expectation_inputs(
    program: cirq.AbstractCircuit,
    observables: cirq.PauliSumLike | list[cirq.PauliSumLike],
    permit_terminal_measurements: bool,
) -> tuple[cirq.AbstractCircuit, list[cirq.PauliSum]]:
    """The circuit without its terminal measurements, and the observables as Pauli sums.

    Raises:
        InputError: no observables, or terminal measurements not permitted.
    """
    sums = [
        cirq.PauliSum.wrap(o)
        for o in (observables if isinstance(observables, list) else [observables])
    ]
    if not sums:
        raise InputError("At least one observable must be provided.")
    if program.has_measurements():
        if not permit_terminal_measurements and program.are_any_measurements_terminal():
            raise InputError(
                "Provided circuit has terminal measurements, which may skew expectation "
                "values. If this is intentional, set permit_terminal_measurements=True."
            )
        program = _without_terminal_measurements(program)
    return program, sums


def _without_terminal_measurements(program: cirq.AbstractCircuit) -> cirq.AbstractCircuit:
    """``program`` without its terminal measurements: those no later operation acts on or
    reads. Mid-circuit ones stay (the estimator weighs their outcomes exactly)."""
    controlled = any(cirq.control_keys(op) for op in program.all_operations())
    if not controlled and program.are_all_measurements_terminal():
        return cirq.drop_terminal_measurements(program)
    circuit = program.unfreeze(copy=True)
    later_keys: set[cirq.MeasurementKey] = set()
    later_qubits: set[cirq.Qid] = set()
    terminal = []
    for index in range(len(circuit) - 1, -1, -1):
        for op in circuit[index].operations:
            keys = set(cirq.measurement_key_objs(op))
            if cirq.is_measurement(op) and not (later_qubits & set(op.qubits) or later_keys & keys):
                terminal.append((index, op))
        for op in circuit[index].operations:
            later_qubits.update(op.qubits)
            later_keys.update(cirq.control_keys(op))
    circuit.batch_remove(terminal)
    return circuit


def _hermitian_parts(observable: PauliSum) -> tuple[PauliSum, PauliSum | None]:
    """``(A, B)`` with ``observable = A + iB`` and both Hermitian; ``B`` None when zero."""
    if all(t.coeff.imag == 0 for t in observable.terms):
        return observable, None
    real = PauliSum(PauliTerm(t.paulis, t.qubits, complex(t.coeff.real)) for t in observable.terms)
    imag = PauliSum(PauliTerm(t.paulis, t.qubits, complex(t.coeff.imag)) for t in observable.terms)
    return real, imag


def cirq_estimator_payload(
    program: cirq.AbstractCircuit,
    sums: Sequence[cirq.PauliSum],
    resolvers: Sequence[cirq.ParamResolver],
    qubit_order: cirq.QubitOrderOrList,
) -> tuple[EstimatorPayload, ObservableParts]:
    """The exact (precision 0) ``estimator`` payload of every observable under every resolver.

    Args:
        program: a circuit without measurements (see :func:`expectation_inputs`).
        sums: the observables; they may act on qubits the circuit does not touch, and may
            have complex coefficients (sent as two Hermitian parts).
        resolvers: one per row of results, at least one.
        qubit_order: the qubit order, as for ``cirq.Simulator``.

    Returns:
        The payload and, per observable, the columns of its parts (see
        :func:`combine_parts`).

    Raises:
        InvalidCircuitError: mid-circuit measurements or a circuit that cannot be translated.
        UnboundParameterError: a resolver gives no value for a parameter.
    """
    extra = {q for o in sums for q in o.qubits}
    order = cirq.QubitOrder.as_qubit_order(qubit_order).order_for(program.all_qubits() | extra)
    ir, qubits = circuit_to_ir(program, qubit_order=list(order))
    index = qubit_index_map(qubits)
    values = [[resolver_values(r, ir)[n] for n in ir.parameters] for r in resolvers]
    columns: list[PauliSum] = []
    parts: ObservableParts = []
    for observable in sums:
        real, imag = _hermitian_parts(pauli_sum_to_sum(observable, index))
        columns.append(real)
        if imag is None:
            parts.append((len(columns) - 1, None))
        else:
            columns.append(imag)
            parts.append((len(columns) - 2, len(columns) - 1))
    neutral = np.empty(len(columns), dtype=object)
    for i, column in enumerate(columns):
        neutral[i] = column
    shape = (len(resolvers), 1, len(ir.parameters))  # resolvers x observables
    pub = EstimatorPub(ir, np.asarray(values, dtype=float).reshape(shape), neutral)
    return EstimatorPayload((pub,)), parts


def combine_parts(evs: np.ndarray, parts: ObservableParts) -> list[list[float | complex]]:
    """Rows of expectation values, one per resolver, from the columns of the job's ``evs``.

    A real observable gives a float; one with complex coefficients gives ``<A> + i<B>`` as
    a complex (never cast to float: its imaginary part is part of the answer).
    """
    rows = np.asarray(evs, dtype=float).reshape(len(evs), -1)
    return [
        [float(row[re]) if im is None else complex(row[re], row[im]) for re, im in parts]
        for row in rows
    ]
