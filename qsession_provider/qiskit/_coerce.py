"""A faster ``EstimatorPub.coerce`` for the common VQE pub ``(circuit, observable, values)``.

qiskit's ``EstimatorPub.coerce`` spends most of an iterative job's face time on two things
that do not change from job to job:

1. coercing the observable (``SparsePauliOp`` -> simplified ``SparseObservable`` with real
   coefficients, ~150 us for 50 terms on 12 qubits), and
2. ``EstimatorPub.validate``, whose qubit-count cross-check turns every observable into a
   ``{pauli_string: coeff}`` dict just to read the length of its first key (~300 us).

:func:`coerce_estimator_pub` returns the same ``EstimatorPub`` (same circuit, an
``ObservablesArray`` with an equal ``SparseObservable`` of its own, the same
``BindingsArray`` and precision) and raises the same errors, but

1. keeps the coerced observable in a content-keyed cache (the caller's
   :class:`~._translations.CoercedObservableCache`) and hands each pub a copy
   (``ObservablesArray.coerce_observable`` is a pure function of the observable's content:
   its Pauli arrays, phases and coefficients),
2. runs ``EstimatorPub.validate``'s checks directly: the observable's ``num_qubits`` is
   exactly the length of the first key of the dict ``validate`` builds, and the index
   ``validate`` names for a 0-d array is ``()``; and
3. keys the ``BindingsArray`` by parameter names, which is what ``BindingsArray`` turns the
   ``Parameter`` objects into anyway (``_format_key``), only slower.

Only a tuple or list ``(QuantumCircuit, SparsePauliOp | SparseObservable[, values[,
precision]])`` takes the fast path; every other pub-like (``EstimatorPub`` objects, other
observable forms, arrays of observables, malformed input) goes to qiskit's own
``EstimatorPub.coerce`` unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping
from numbers import Real
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives.containers import BindingsArray, EstimatorPub, ObservablesArray
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from ..errors import QSessionError
from ._circuit_cache import CircuitCache
from ._translations import CoercedObservableCache

__all__ = ["coerce_estimator_pub"]


def coerce_estimator_pub(
    pub: Any,
    precision: float | None = None,
    *,
    cache: CoercedObservableCache | None = None,
    circuits: CircuitCache | None = None,
) -> EstimatorPub:
    """``EstimatorPub.coerce(pub, precision)``, faster for ``(circuit, observable, ...)``.

    Args:
        pub: an estimator pub-like.
        precision: the precision of a pub that sets none.
        cache: coerced observables to reuse (None: coerce every observable).
        circuits: translated circuits, whose entries keep the parameter names (None: read
            them from the circuit every time).

    Raises:
        ValueError, TypeError: exactly as ``EstimatorPub.coerce``.
    """
    if (
        not isinstance(pub, (tuple, list))
        or not 2 <= len(pub) <= 4
        or not isinstance(pub[0], QuantumCircuit)
        or not isinstance(pub[1], (SparsePauliOp, SparseObservable))
        or (precision is not None and (not isinstance(precision, Real) or precision < 0))
    ):
        return EstimatorPub.coerce(pub, precision)
    circuit = pub[0]
    if cache is not None:
        observable = cache.coerce(pub[1])
    else:
        observable = ObservablesArray.coerce_observable(pub[1])
    array = np.empty((), dtype=object)
    array[()] = observable
    observables = ObservablesArray(
        array, copy=False, num_qubits=observable.num_qubits, validate=False
    )
    if len(pub) > 2 and pub[2] is not None:
        values = pub[2]
        if not isinstance(values, (BindingsArray, Mapping)):
            # The names BindingsArray would take from the Parameters (its ``_param_name``),
            # without its per-parameter isinstance check against an ABC.
            values = {_parameter_names(circuit, circuits): values}
        parameter_values = BindingsArray.coerce(values)
    else:
        parameter_values = None
    if len(pub) > 3 and pub[3] is not None:
        precision = pub[3]
    coerced = EstimatorPub(
        circuit=circuit,
        observables=observables,
        parameter_values=parameter_values,
        precision=precision,
        validate=False,
    )
    _validate(coerced)
    return coerced


def _parameter_names(circuit: QuantumCircuit, circuits: CircuitCache | None) -> tuple[str, ...]:
    """The circuit's parameter names; from ``circuits`` when it can translate the circuit
    (one that cannot fails later, where it is translated, with the pub's index)."""
    if circuits is not None:
        try:
            return circuits.parameter_names(circuit)
        except QSessionError:
            pass
    return tuple(param.name for param in circuit.parameters)


def _validate(pub: EstimatorPub) -> None:
    """``EstimatorPub.validate`` for a pub with one (0-d) observable, same errors."""
    circuit = pub.circuit
    pub.observables.validate()
    pub.parameter_values.validate()
    precision = pub.precision
    if precision is not None:
        if not isinstance(precision, Real):
            raise TypeError(f"precision must be a real number, not {type(precision)}.")
        if precision < 0:
            raise ValueError("precision must be non-negative.")
    # validate() reads len(first key) of each observable's dict: its num_qubits (a coerced
    # observable is never empty), at index () of the 0-d array.
    num_qubits = pub.observables.num_qubits
    if circuit.num_qubits != num_qubits:
        raise ValueError(
            f"The number of qubits of the circuit ({circuit.num_qubits}) does "
            f"not match the number of qubits of the {()}-th observable ({num_qubits})."
        )
    num_parameters = pub.parameter_values.num_parameters
    if num_parameters != circuit.num_parameters:
        raise ValueError(
            f"The number of values ({num_parameters}) does not match "
            f"the number of parameters ({circuit.num_parameters}) for the circuit."
        )
