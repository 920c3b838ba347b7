"""Quil -> IR: gates, modifiers, DEFGATE matrices, measurement and reset, and refusals.

Final states are checked against qiskit's ``Statevector`` of the same circuit written in
Qiskit (qiskit is a test-only oracle here).
"""

from __future__ import annotations

import textwrap

import numpy as np
import pytest

pytest.importorskip("quil")
qiskit = pytest.importorskip("qiskit")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402

from qsession_provider.core.ir.circuit import Measure, Reset  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.quil import QuilError, quil_to_ir  # noqa: E402

SIM = StatevectorSimulator()


def _state(text: str) -> np.ndarray:
    return np.asarray(SIM.final_state(quil_to_ir(textwrap.dedent(text))))


def test_standard_gates_modifiers_and_defgate_give_the_reference_state() -> None:
    text = """
    DEFGATE MYCNOT:
        1, 0, 0, 0
        0, 1, 0, 0
        0, 0, 0, 1
        0, 0, 1, 0
    X 2
    MYCNOT 2 0
    DAGGER RX(0.3) 1
    CONTROLLED RY(0.7) 0 1
    CPHASE(0.4) 0 1
    ISWAP 1 2
    PHASE(pi/8) 2
    CCNOT 0 2 1
    H 0
    S 1
    T 2
    CZ 0 2
    SWAP 0 1
    """
    qc = QuantumCircuit(3)
    qc.x(2)
    qc.cx(2, 0)  # DEFGATE: the first listed qubit is the most significant (the control)
    qc.rx(-0.3, 1)
    qc.cry(0.7, 0, 1)
    qc.cp(0.4, 0, 1)
    qc.iswap(1, 2)
    qc.p(np.pi / 8, 2)
    qc.ccx(0, 2, 1)
    qc.h(0)
    qc.s(1)
    qc.t(2)
    qc.cz(0, 2)
    qc.swap(0, 1)
    assert np.allclose(_state(text), Statevector(qc).data)


def test_declared_bits_measurements_and_resets() -> None:
    circuit = quil_to_ir(
        textwrap.dedent(
            """
        DECLARE ro BIT[2]
        DECLARE flags BIT[1]
        DECLARE theta REAL[1]
        PRAGMA INITIAL_REWIRING "NAIVE"
        H 0
        CNOT 0 1
        MEASURE 0 ro[0]
        MEASURE 1 ro[1]
        RESET 1
        MEASURE 1 flags[0]
        RESET
        """
        )
    )
    assert circuit.registers == {"ro": 2, "flags": 1}  # BIT memory only, in order
    measures = [op for op in circuit.operations if isinstance(op, Measure)]
    assert [(m.qubit, m.register, m.bit) for m in measures] == [
        (0, "ro", 0),
        (1, "ro", 1),
        (1, "flags", 0),
    ]
    resets = [op.qubit for op in circuit.operations if isinstance(op, Reset)]
    assert resets == [1, 0, 1]  # RESET q, then RESET of every qubit used


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("H 0 1 2 (", "not a valid Quil program"),
        ("DECLARE ro BIT[1]\nLABEL @a\nJUMP @a", "'LABEL @a' is not supported"),
        ("DECLARE theta REAL[1]\nRX(theta[0]) 0", "parameters read from memory"),
        ("MEASURE 0", "no memory reference"),
        ("DECLARE ro BIT[1]\nMEASURE 0 other[0]", "not declared as BIT memory"),
        ("DECLARE ro BIT[1]\nMEASURE 0 ro[1]", "outside its 1 bits"),
        ("NOPE 0", "is not a gate quil knows"),
        ("DEFGATE G(%t):\n    1, 0\n    0, 1\nG(0.1) 0", "without parameters"),
        ("DEFGATE G:\n    1, 0\n    0, 1\nG 0 1", "matrix for 2 qubits"),
    ],
)
def test_what_cannot_be_read_is_a_clear_error(text: str, message: str) -> None:
    with pytest.raises(QuilError, match=message):
        quil_to_ir(text)
