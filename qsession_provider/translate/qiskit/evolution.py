"""``PauliEvolutionGate`` → its exact exponential where a dense block can hold it.

qiskit's reference primitives (``Statevector``, ``StatevectorEstimator``,
``StatevectorSampler``) apply a bound ``PauliEvolutionGate`` as its exact matrix
``exp(-i t H)`` (``to_matrix``), not its Trotter definition. We do the same on up to
:data:`~qsession_provider.core.ir.circuit.MAX_MATRIX_QUBITS` qubits:

- a numeric time: the matrix ``exp(-i t H)``, one ``"unitary"`` gate;
- a symbolic time (the circuit stays parametric): ``H = V D V^†`` is diagonalised once and
  the gate becomes ``V^†``, then ``exp(-i t D)``, then ``V``. ``D`` is a sum of commuting
  ``Z`` strings, so its own definition is exact for every value of ``t``.

Wider gates, and operators with symbolic coefficients, keep the gate's definition (its
``synthesis``, Lie-Trotter by default: exact only when the terms commute).
"""

from __future__ import annotations

import numpy as np
from qiskit.circuit import ParameterExpression, QuantumCircuit
from qiskit.circuit.library import PauliEvolutionGate, UnitaryGate
from qiskit.quantum_info import Operator, SparseObservable, SparsePauliOp

from ...core.ir.circuit import MAX_MATRIX_QUBITS

__all__ = ["exact_evolution"]


def _hamiltonian(gate: PauliEvolutionGate) -> SparsePauliOp | None:
    """The gate's operator as one numeric ``SparsePauliOp``, or None if its coefficients are
    symbolic."""
    operator = gate.operator
    if isinstance(operator, list):
        operator = sum(operator[1:], start=operator[0])
    if isinstance(operator, SparseObservable):
        operator = SparsePauliOp.from_sparse_observable(operator)
    if not isinstance(operator, SparsePauliOp):
        return None
    if operator.coeffs.dtype == object:  # ParameterExpression coefficients
        try:
            operator = SparsePauliOp(operator.paulis, operator.coeffs.astype(complex))
        except (TypeError, ValueError):
            return None
    return operator


def exact_evolution(gate: PauliEvolutionGate) -> np.ndarray | QuantumCircuit | None:
    """The exact form of ``gate`` (see the module docstring).

    Returns:
        The ``2**n x 2**n`` matrix for a numeric time, a circuit ``V^† · exp(-i t D) · V``
        for a symbolic one, or None (wider than a dense block, or symbolic coefficients):
        the caller expands the gate's definition.
    """
    if gate.num_qubits > MAX_MATRIX_QUBITS:
        return None
    hamiltonian = _hamiltonian(gate)
    if hamiltonian is None:
        return None
    matrix = hamiltonian.to_matrix()
    eigenvalues, vectors = np.linalg.eigh((matrix + matrix.conj().T) / 2)
    time = gate.params[0]
    if not (isinstance(time, ParameterExpression) and time.parameters):
        phases = np.exp(-1j * float(time) * eigenvalues)
        return np.ascontiguousarray((vectors * phases) @ vectors.conj().T)
    diagonal = SparsePauliOp.from_operator(Operator(np.diag(eigenvalues))).simplify()
    n = gate.num_qubits
    circuit = QuantumCircuit(n)
    circuit.append(UnitaryGate(vectors.conj().T, check_input=False), range(n))
    strings = SparsePauliOp(diagonal.paulis, diagonal.coeffs.real)  # commuting Z strings
    # Its definition (not the gate itself, which would come back here): exact, as the
    # strings commute.
    circuit.compose(PauliEvolutionGate(strings, time).definition, range(n), inplace=True)
    circuit.append(UnitaryGate(vectors, check_input=False), range(n))
    return circuit
