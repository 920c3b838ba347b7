"""``PermutationGate`` is translated as SWAPs of its qubits (any width, controlled too) and
gives qiskit's Statevector (issue 20, item 8e: it was refused above 6 qubits)."""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import AnnotatedOperation, ControlModifier  # noqa: E402
from qiskit.circuit.library import PermutationGate, UnitaryGate  # noqa: E402
from qiskit.quantum_info import Operator, Statevector  # noqa: E402

from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.qiskit import circuit_to_ir  # noqa: E402
from qsession_provider.translate.qiskit.gatemap import permutation_swaps  # noqa: E402


def prepared(num_qubits: int, rng: np.random.Generator) -> QuantumCircuit:
    """A random product state, so every amplitude tells where each qubit went."""
    qc = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        qc.u(*rng.uniform(-math.pi, math.pi, 3), q)
    return qc


PATTERNS = [
    [0],
    [1, 0],
    [2, 0, 1],
    [1, 2, 0],
    [3, 2, 1, 0],
    [7, 0, 1, 2, 3, 4, 5, 6],  # wider than a dense matrix may be: was refused
    [4, 6, 0, 7, 1, 3, 2, 5],
]


@pytest.mark.parametrize("pattern", PATTERNS, ids=str)
def test_permutation_matches_statevector(pattern: list[int]) -> None:
    rng = np.random.default_rng(len(pattern) * 31 + pattern[0])
    width = len(pattern) + 1
    qc = prepared(width, rng)
    targets = list(rng.permutation(width)[: len(pattern)])  # on scattered qubits
    qc.append(PermutationGate(pattern), targets)
    program = circuit_to_ir(qc)
    assert {op.name for op in program.operations if op.label == "permutation"} <= {"swap"}
    ours = StatevectorSimulator().final_state(program)
    np.testing.assert_allclose(ours, Statevector(qc).data, atol=1e-10)


def test_controlled_permutation_matches_statevector() -> None:
    rng = np.random.default_rng(5)
    qc = prepared(5, rng)
    reference = qc.copy()
    gate = PermutationGate([2, 3, 1, 0])
    qc.append(AnnotatedOperation(gate, ControlModifier(1)), [4, 0, 1, 2, 3])
    reference.append(UnitaryGate(Operator(gate)).control(1), [4, 0, 1, 2, 3])
    ours = StatevectorSimulator().final_state(circuit_to_ir(qc))
    np.testing.assert_allclose(ours, Statevector(reference).data, atol=1e-10)


def test_a_cycle_of_length_m_takes_m_minus_one_swaps() -> None:
    assert permutation_swaps([0, 1, 2]) == []
    assert len(permutation_swaps([1, 2, 3, 0])) == 3
    assert len(permutation_swaps([1, 0, 3, 2])) == 2
