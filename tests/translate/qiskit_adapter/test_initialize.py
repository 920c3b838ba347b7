"""``initialize`` / ``StatePreparation`` → IR (issue 19, item 4), checked against
``qiskit.quantum_info.Statevector``; the Householder block; resets of qubits in |0>."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit.library import StatePreparation  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402

from qsession_provider.core.ir.circuit import MAX_MATRIX_QUBITS, Gate, Reset  # noqa: E402
from qsession_provider.errors import InvalidCircuitError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.qiskit import circuit_to_ir  # noqa: E402
from qsession_provider.translate.state_prep import (  # noqa: E402
    MAX_PREPARED_QUBITS,
    householder_unitary,
    preparation_blocks,
)


@pytest.fixture(scope="module")
def sim() -> StatevectorSimulator:
    return StatevectorSimulator()


def _state(num_qubits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2**num_qubits) + 1j * rng.normal(size=2**num_qubits)
    return psi / np.linalg.norm(psi)


def _assert_state(sim: StatevectorSimulator, qc: QuantumCircuit, atol: float = 1e-10) -> None:
    np.testing.assert_allclose(sim.final_state(circuit_to_ir(qc)), Statevector(qc).data, atol=atol)


@pytest.mark.parametrize(
    "psi",
    [
        _state(3, 1),
        np.eye(8)[0],  # e_0 itself
        -1j * np.eye(8)[0],  # e_0 with a phase
        np.eye(8)[5],  # psi_0 = 0
        np.full(4, 0.5),
        _state(MAX_MATRIX_QUBITS, 2),
    ],
    ids=["random", "e0", "phased e0", "basis 5", "uniform", "widest"],
)
def test_householder_block_is_unitary_with_the_state_first(psi: np.ndarray) -> None:
    u = householder_unitary(psi)
    np.testing.assert_allclose(u[:, 0], psi, atol=1e-14)
    np.testing.assert_allclose(u.conj().T @ u, np.eye(psi.size), atol=1e-13)


def test_initialize_on_fresh_qubits_is_one_dense_block(sim: StatevectorSimulator) -> None:
    psi = _state(3, 3)
    qc = QuantumCircuit(4)
    qc.initialize(psi, [3, 0, 2])
    qc.cx(3, 1)
    program = circuit_to_ir(qc)
    assert program.is_unitary()  # no reset: the qubits were in |0>
    first = program.operations[0]
    assert isinstance(first, Gate) and first.name == "unitary" and first.qubits == (3, 0, 2)
    assert first.label == "state_preparation"
    _assert_state(sim, qc)


@pytest.mark.parametrize(
    "params", ["01+", "-rl", "1", 6, 1], ids=["label", "label2", "one", "int", "int1"]
)
def test_labels_and_integers_follow_qiskits_definition(
    sim: StatevectorSimulator, params: object
) -> None:
    qc = QuantumCircuit(3)
    qc.initialize(params, [0, 1, 2] if not isinstance(params, str) else range(len(params)))
    qc.h(2)
    program = circuit_to_ir(qc)
    assert all(isinstance(op, Gate) and op.name != "unitary" for op in program.operations)
    _assert_state(sim, qc)


def test_initialize_of_a_used_qubit_resets_it(sim: StatevectorSimulator) -> None:
    qc = QuantumCircuit(2)
    qc.x(0)
    qc.initialize([0.6, 0.8j], 0)
    qc.initialize([0.0, 1.0], 1)
    program = circuit_to_ir(qc)
    kinds = [(type(op).__name__, op.all_qubits) for op in program.operations]
    assert kinds == [("Gate", (0,)), ("Reset", (0,)), ("Gate", (0,)), ("Gate", (1,))]
    # Qubit 0 held |1>, unentangled: the reset is deterministic, so Statevector is exact.
    probabilities = sim.sample(circuit_to_ir(qc.measure_all(inplace=False)), 4000, seed=1)
    ones = probabilities["meas"][:, 0].mean()
    assert ones == pytest.approx(0.64, abs=0.03) and np.all(probabilities["meas"][:, 1] == 1)


def test_resets_of_qubits_known_in_zero_are_left_out() -> None:
    qr, cr = QuantumRegister(3), ClassicalRegister(1)
    qc = QuantumCircuit(qr, cr)
    qc.reset(0)  # untouched
    qc.x(1)
    qc.reset(1)  # kept
    qc.reset(1)  # just reset
    qc.barrier()
    qc.reset(1)  # a barrier does not touch it
    qc.measure(2, 0)
    qc.reset(2)  # kept: measured
    with qc.if_test((cr[0], 1)):
        qc.reset(0)  # still |0>: left out even under a condition
        qc.x(0)
    qc.reset(0)  # kept: a conditioned gate may have moved it
    resets = [op.qubit for op in circuit_to_ir(qc).operations if isinstance(op, Reset)]
    assert resets == [1, 2, 0]


def test_prepare_state_keeps_the_definition_where_the_whole_unitary_matters(
    sim: StatevectorSimulator,
) -> None:
    psi = _state(2, 4)
    qc = QuantumCircuit(3)
    qc.h([0, 1, 2])
    qc.prepare_state(psi, [0, 2])  # not on |0>: qiskit's isometry, as Statevector does
    qc.append(StatePreparation(psi).inverse(), [1, 2])
    qc.append(StatePreparation(psi).control(1), [1, 0, 2])
    program = circuit_to_ir(qc)
    dense = [
        op
        for op in program.operations
        if (getattr(op, "label", None) or "").startswith("state_prep")
    ]
    assert dense == []  # no Householder block: its other columns are not qiskit's
    _assert_state(sim, qc)


@pytest.mark.parametrize("num_qubits", [MAX_MATRIX_QUBITS + 1, 9, MAX_PREPARED_QUBITS])
def test_states_up_to_twelve_qubits_are_schmidt_blocks(
    sim: StatevectorSimulator, num_qubits: int
) -> None:
    psi = _state(num_qubits, num_qubits)
    qc = QuantumCircuit(num_qubits + 1)
    qc.initialize(psi, range(1, num_qubits + 1))  # qubit 0 idle: the blocks are placed
    program = circuit_to_ir(qc)
    low = num_qubits // 2
    assert len(program.operations) == 3 + low  # weights, CNOTs, the two halves' bases
    assert all(len(op.qubits) <= MAX_MATRIX_QUBITS for op in program.operations)
    state = sim.final_state(program)
    np.testing.assert_allclose(state.reshape(-1, 2)[:, 0], psi, atol=1e-12)


@pytest.mark.parametrize(
    "psi",
    [np.eye(2**8)[37], np.full(2**8, 2**-4), np.kron(np.eye(16)[3], _state(4, 1))],
    ids=["basis state", "uniform", "product"],
)
def test_schmidt_blocks_of_low_rank_states(sim: StatevectorSimulator, psi: np.ndarray) -> None:
    blocks = preparation_blocks(psi)
    assert blocks is not None
    qc = QuantumCircuit(8)
    qc.initialize(psi)
    np.testing.assert_allclose(sim.final_state(circuit_to_ir(qc)), psi, atol=1e-12)


@pytest.mark.slow
def test_wider_states_follow_qiskits_definition(sim: StatevectorSimulator) -> None:
    psi = _state(MAX_PREPARED_QUBITS + 1, 5)
    assert preparation_blocks(psi) is None
    qc = QuantumCircuit(MAX_PREPARED_QUBITS + 1)
    qc.initialize(psi)
    program = circuit_to_ir(qc)
    assert len(program.operations) > 1000  # qiskit's isometry synthesis
    np.testing.assert_allclose(sim.final_state(program), psi, atol=1e-9)


@pytest.mark.parametrize(
    ("amplitudes", "message"),
    [
        ([0.6, 0.6], r"amplitudes have norm 0\.848\d* not 1|norm 0\.848.*, not 1"),
        ([0.6, 0.8, 0.0, 0.0], "4 amplitudes for 1 qubit"),
        ([np.nan, 1.0], "NaN or infinity"),
    ],
)
def test_bad_amplitudes_are_refused_naming_the_problem(amplitudes: list, message: str) -> None:
    qc = QuantumCircuit(2)
    qc.initialize([0.6, 0.8], 0)  # qiskit checks here; the amplitudes change afterwards
    qc.data[0].operation.params = amplitudes
    with pytest.raises(InvalidCircuitError, match=message):
        circuit_to_ir(qc)
