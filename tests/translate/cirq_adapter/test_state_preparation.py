"""``cirq.StatePreparationChannel`` → a reset of its qubits and one dense block (issue 19,
item 4), checked against ``cirq.final_state_vector`` and ``cirq.DensityMatrixSimulator``."""

from __future__ import annotations

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")

from qsession_provider.core.ir.circuit import MAX_MATRIX_QUBITS, Gate, Reset  # noqa: E402
from qsession_provider.errors import InvalidCircuitError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.cirq import circuit_to_ir  # noqa: E402
from qsession_provider.translate.state_prep import MAX_PREPARED_QUBITS  # noqa: E402

Q = cirq.LineQubit.range(3)


def _state(num_qubits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2**num_qubits) + 1j * rng.normal(size=2**num_qubits)
    return psi / np.linalg.norm(psi)


def test_on_fresh_qubits_it_is_one_block_with_cirqs_state() -> None:
    psi = _state(2, 1)
    circuit = cirq.Circuit(cirq.StatePreparationChannel(psi).on(Q[2], Q[0]), cirq.CNOT(Q[0], Q[1]))
    program, order = circuit_to_ir(circuit)
    assert program.is_unitary()  # no reset: the qubits were in |0>
    assert isinstance(program.operations[0], Gate) and program.operations[0].name == "unitary"
    got = StatevectorSimulator().final_state(program)
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(circuit, qubit_order=order)
    np.testing.assert_allclose(np.outer(got, got.conj()), rho.final_density_matrix, atol=1e-12)


def test_on_used_qubits_it_resets_them_first() -> None:
    circuit = cirq.Circuit(
        cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.StatePreparationChannel(_state(1, 2)).on(Q[1])
    )
    program, _ = circuit_to_ir(circuit)
    kinds = [type(op).__name__ for op in program.operations]
    assert kinds == ["Gate", "Gate", "Reset", "Gate"]
    assert isinstance(program.operations[2], Reset)


def test_up_to_twelve_qubits_in_blocks_wider_refused_clearly() -> None:
    wide = cirq.LineQubit.range(MAX_PREPARED_QUBITS)
    psi = _state(len(wide), 3)
    program, order = circuit_to_ir(cirq.Circuit(cirq.StatePreparationChannel(psi).on(*wide)))
    assert order == wide
    assert all(len(op.qubits) <= MAX_MATRIX_QUBITS for op in program.operations)
    np.testing.assert_allclose(StatevectorSimulator().final_state(program), psi, atol=1e-12)
    wider = cirq.LineQubit.range(MAX_PREPARED_QUBITS + 1)
    gate = cirq.StatePreparationChannel(_state(len(wider), 4))
    with pytest.raises(InvalidCircuitError, match=f"at most {MAX_PREPARED_QUBITS}"):
        circuit_to_ir(cirq.Circuit(gate.on(*wider)))
