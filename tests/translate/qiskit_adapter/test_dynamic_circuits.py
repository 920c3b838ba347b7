"""Translation of Qiskit dynamic circuits (control flow, expressions, stores, IBM's named
mid-circuit instructions) into the IR, run on the engine where each shot's outcome is known.
Agreement with Aer on random outcomes: tests/qiskit_adapter/test_dynamic_circuits.py."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Instruction  # noqa: E402
from qiskit.circuit.classical import expr, types  # noqa: E402

from qsession_provider.core.ir.circuit import Gate  # noqa: E402
from qsession_provider.core.ir.classical import ClassicalStore, LoopEnd, LoopStart  # noqa: E402
from qsession_provider.errors import InvalidCircuitError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.qiskit import control_flow  # noqa: E402
from qsession_provider.translate.qiskit.circuits import circuit_to_ir  # noqa: E402
from qsession_provider.translate.qiskit.classical import HIDDEN_REGISTER  # noqa: E402


@pytest.fixture
def sim() -> StatevectorSimulator:
    return StatevectorSimulator()


def _circuit(nq: int, nc: int) -> tuple[QuantumCircuit, ClassicalRegister]:
    cr = ClassicalRegister(nc, "c")
    return QuantumCircuit(QuantumRegister(nq, "q"), cr), cr


def _pair(qc: QuantumCircuit, cr: ClassicalRegister) -> ClassicalRegister:
    """The first two bits of ``cr`` as a register ``p`` of ``qc`` (added once)."""
    for reg in qc.cregs:
        if reg.name == "p":
            return reg
    pair = ClassicalRegister(name="p", bits=cr[:2])
    qc.add_register(pair)
    return pair


def _prepare(qc: QuantumCircuit, cr: ClassicalRegister, value: int) -> None:
    """Put ``value`` into ``cr`` by measurement (qubit i reads bit i)."""
    for i in range(len(cr)):
        if value >> i & 1:
            qc.x(i)
        qc.measure(i, cr[i])


def _bits(sim: StatevectorSimulator, qc: QuantumCircuit, shots: int = 20) -> np.ndarray:
    """Every shot's ``c`` register; asserts all shots agree, returns the one row."""
    rows = sim.sample(circuit_to_ir(qc), shots, seed=7)["c"]
    assert (rows == rows[0]).all()
    return rows[0]


def test_a_plain_if_keeps_its_condition_on_the_program_bits() -> None:
    qc, cr = _circuit(2, 2)
    qc.measure(0, cr[0])
    with qc.if_test((cr[0], 1)):
        qc.x(1)
    program = circuit_to_ir(qc)
    assert HIDDEN_REGISTER not in program.registers
    (gate,) = [op for op in program.operations if isinstance(op, Gate)]
    assert (gate.condition.register, gate.condition.bit) == ("c", 0)


@pytest.mark.parametrize("value", range(4))
def test_if_else_runs_exactly_one_branch_chosen_where_the_if_is(
    sim: StatevectorSimulator, value: int
) -> None:
    qc, cr = _circuit(4, 4)
    _prepare(qc, _pair(qc, cr), value)
    with qc.if_test((_pair(qc, cr), 3)) as orelse:
        qc.reset(0)
        qc.measure(0, cr[0])  # changes the register the condition read
        qc.x(2)
    with orelse:
        qc.x(3)
    qc.measure([2, 3], [cr[2], cr[3]])
    row = _bits(sim, qc)
    assert (row[2], row[3]) == ((1, 0) if value == 3 else (0, 1))


@pytest.mark.parametrize("value", range(4))
def test_nested_if_else(sim: StatevectorSimulator, value: int) -> None:
    qc, cr = _circuit(4, 4)
    _prepare(qc, _pair(qc, cr), value)
    with qc.if_test((cr[0], 1)) as orelse:
        with qc.if_test((cr[1], 1)) as inner:
            qc.x(2)
        with inner:
            qc.x(3)
    with orelse:
        with qc.if_test(expr.logic_not(cr[1])):
            qc.x(2)
            qc.x(3)
    qc.measure([2, 3], [cr[2], cr[3]])
    expected = {0: (1, 1), 1: (0, 1), 2: (0, 0), 3: (1, 0)}[value]
    assert tuple(_bits(sim, qc)[2:]) == expected


@pytest.mark.parametrize("value", range(4))
def test_switch_case_with_default(sim: StatevectorSimulator, value: int) -> None:
    qc, cr = _circuit(4, 4)
    pair = _pair(qc, cr)
    _prepare(qc, pair, value)
    with qc.switch(pair) as case:
        with case(0, 3):
            qc.x(2)
            qc.x(0)
            qc.measure(0, cr[0])  # rewrites the target: no other case may run
        with case(1):
            qc.x(3)
        with case(case.DEFAULT):
            qc.x(2)
            qc.x(3)
    qc.measure([2, 3], [cr[2], cr[3]])
    expected = {0: (1, 0), 1: (0, 1), 2: (1, 1), 3: (1, 0)}[value]
    assert tuple(_bits(sim, qc)[2:]) == expected


def test_for_loop_binds_its_parameter_per_iteration() -> None:
    qc = QuantumCircuit(1)
    with qc.for_loop(range(3)) as i:
        qc.rx(0.5 * i, 0)
    with qc.for_loop([]):
        qc.x(0)
    program = circuit_to_ir(qc)
    assert [op.params for op in program.operations] == [(0.0,), (0.5,), (1.0,)]


@pytest.mark.parametrize("flips", [0, 1, 2, 3])
def test_while_loop_counts_down(sim: StatevectorSimulator, flips: int) -> None:
    """A 2-bit counter decremented until zero: the loop runs ``flips`` times exactly."""
    qc, cr = _circuit(3, 3)
    _prepare(qc, _pair(qc, cr), flips)
    counter = _pair(qc, cr)
    with qc.while_loop(expr.not_equal(counter, 0)):
        qc.store(counter, expr.sub(counter, 1))
        qc.x(2)
    qc.measure(2, cr[2])
    assert _bits(sim, qc)[2] == flips % 2


def test_a_while_loop_is_its_body_once_between_loop_markers() -> None:
    qc, cr = _circuit(1, 1)
    qc.h(0)
    qc.measure(0, cr[0])
    with qc.while_loop((cr[0], 1)):
        qc.h(0)
        qc.measure(0, cr[0])
    with qc.while_loop((cr[0], 1)):
        qc.x(0)
    program = circuit_to_ir(qc)
    assert program.registers[HIDDEN_REGISTER] == 1  # the loops' bit, reused
    loop = ["ClassicalStore", "LoopStart", "Gate", "Measure", "ClassicalStore", "LoopEnd"]
    assert [type(op).__name__ for op in program.operations] == [
        "Gate",
        "Measure",
        *loop,
        *[k for k in loop if k != "Measure"],
    ]
    starts = [op for op in program.operations if isinstance(op, LoopStart)]
    ends = [op for op in program.operations if isinstance(op, LoopEnd)]
    assert [s.loop for s in starts] == [e.loop for e in ends] == [0, 1]
    assert all(e.limit == 1000 and "limit of 1000 iterations" in e.message for e in ends)


def test_a_while_loop_over_its_limit_fails_its_run(
    sim: StatevectorSimulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(control_flow, "MAX_WHILE_ITERATIONS", 4)
    qc, cr = _circuit(2, 2)
    counter = _pair(qc, cr)
    _prepare(qc, counter, 3)
    with qc.while_loop(expr.greater(counter, 0)):
        qc.store(counter, expr.sub(counter, 1))
    assert _bits(sim, qc)[0] == 0  # three iterations: within the limit
    forever, fcr = _circuit(1, 1)
    with forever.while_loop(expr.logic_not(fcr[0])):
        forever.x(0)
    with pytest.raises(InvalidCircuitError, match="limit of 4 iterations"):
        sim.sample(circuit_to_ir(forever), 3, seed=0)


def test_break_and_continue(sim: StatevectorSimulator) -> None:
    """Count iterations in a 3-bit var: continue skips odd ones, break leaves at 4."""
    qc, cr = _circuit(1, 3)
    count = qc.add_var("count", expr.lift(0, types.Uint(3)))
    with qc.for_loop(range(8)) as i:
        with qc.if_test(expr.equal(count, 4)):
            qc.break_loop()
        qc.store(count, expr.add(count, 1))
        with qc.if_test(expr.equal(expr.bit_and(count, 1), 1)):
            qc.continue_loop()
        qc.rx(i * 0.0, 0)  # reached on even counts only; parameter bound per iteration
        qc.x(0)
    qc.store(cr, count)
    row = _bits(sim, qc)
    assert int(row[0] + 2 * row[1] + 4 * row[2]) == 4


def test_vars_and_stores_into_clbits_and_registers(sim: StatevectorSimulator) -> None:
    qc, cr = _circuit(1, 3)
    flag = qc.add_var("flag", True)
    qc.store(cr[0], flag)
    qc.store(expr.index(cr, 1), expr.logic_not(flag))
    with qc.if_test(expr.logic_and(flag, expr.equal(cr, 1))):
        qc.store(cr, expr.bit_or(cr, 4))
    assert list(_bits(sim, qc)) == [1, 0, 1]


def test_hidden_register_name_steps_aside_for_a_user_register() -> None:
    qc = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1, HIDDEN_REGISTER))
    with qc.if_test(expr.lift(qc.clbits[0])) as orelse:
        qc.x(0)
    with orelse:
        qc.h(0)
    program = circuit_to_ir(qc)
    assert program.registers[HIDDEN_REGISTER] == 1
    assert program.registers[HIDDEN_REGISTER + "_"] == 2
    assert all(
        op.targets[0][0] == HIDDEN_REGISTER + "_"
        for op in program.operations
        if isinstance(op, ClassicalStore)
    )


def test_ibm_named_instructions_map_to_measure_and_reset(sim: StatevectorSimulator) -> None:
    qc, cr = _circuit(2, 2)
    qc.x(0)
    qc.append(Instruction("measure_2", 1, 1, []), [0], [cr[0]])
    qc.append(Instruction("measure_reset", 1, 1, []), [0], [cr[1]])
    qc.append(Instruction("reset_2", 1, 0, []), [0])
    qc.x(1)
    qc.append(Instruction("reset_3", 1, 0, []), [1])
    qc.append(Instruction("measure_2", 1, 1, []), [1], [cr[0]])
    assert list(_bits(sim, qc)) == [0, 1]


def test_a_user_instruction_with_a_definition_is_expanded_not_renamed() -> None:
    body = QuantumCircuit(1, 1)
    body.x(0)
    body.measure(0, 0)
    mine = body.to_instruction(label=None)
    mine.name = "measure_mine"
    qc = QuantumCircuit(1, 1)
    qc.append(mine, [0], [0])
    assert [type(op).__name__ for op in circuit_to_ir(qc).operations] == ["Gate", "Measure"]


def test_unsupported_classical_input_is_named() -> None:
    qc, _ = _circuit(1, 1)
    with qc.if_test(expr.less(expr.lift(1.5), expr.lift(2.5))):
        qc.x(0)
    with pytest.raises(InvalidCircuitError, match="Float"):
        circuit_to_ir(qc)
    inputs = QuantumCircuit(1, 1, inputs=[expr.Var.new("a", types.Bool())])
    with pytest.raises(InvalidCircuitError, match="input variable 'a'"):
        circuit_to_ir(inputs)


def test_unrolling_is_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(control_flow, "MAX_OPERATIONS", 50)
    qc = QuantumCircuit(1)
    with qc.for_loop(range(100)):
        qc.x(0)
    with pytest.raises(InvalidCircuitError, match="more than 50 operations"):
        circuit_to_ir(qc)


def test_a_value_the_register_cannot_hold_runs_the_else_branch(sim: StatevectorSimulator) -> None:
    qc, cr = _circuit(2, 2)
    one = ClassicalRegister(name="one", bits=cr[:1])
    qc.add_register(one)
    with qc.if_test((one, 3)) as orelse:
        qc.x(0)
    with orelse:
        qc.x(1)
    qc.measure([0, 1], cr)
    assert list(_bits(sim, qc)) == [0, 1]
