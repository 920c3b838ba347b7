"""QuantumCircuit → Circuit translation, checked against qiskit.quantum_info."""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable

import numpy as np
import pytest
import scipy.linalg
import scipy.sparse

pytest.importorskip("qiskit")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import (  # noqa: E402
    AnnotatedOperation,
    Clbit,
    ControlModifier,
    Gate,
    InverseModifier,
    Parameter,
    ParameterVector,
    PowerModifier,
)
from qiskit.circuit.library import (  # noqa: E402
    CCXGate,
    CHGate,
    CUGate,
    CXGate,
    DiagonalGate,
    GlobalPhaseGate,
    HGate,
    MCMTGate,
    MCPhaseGate,
    MCXGate,
    PauliEvolutionGate,
    QFTGate,
    RXGate,
    RYGate,
    StatePreparation,
    UnitaryGate,
    get_standard_gate_name_mapping,
)
from qiskit.primitives.containers import ObservablesArray  # noqa: E402
from qiskit.quantum_info import (  # noqa: E402
    Pauli,
    SparseObservable,
    SparsePauliOp,
    Statevector,
    random_clifford,
    random_unitary,
)

from qsession_provider.core import PauliSum  # noqa: E402
from qsession_provider.errors import InvalidCircuitError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.qiskit import (  # noqa: E402
    LOOSE_CLBITS_REGISTER,
    circuit_to_ir,
    sparse_pauli_to_sum,
)

ATOL = 1e-10
NON_GATES = {"measure", "reset", "delay", "global_phase"}
STANDARD = get_standard_gate_name_mapping()


@pytest.fixture(scope="module")
def sim() -> StatevectorSimulator:
    return StatevectorSimulator()


def _prepared(num_qubits: int, rng: np.random.Generator) -> QuantumCircuit:
    """A circuit preparing a random product state (so every amplitude is exercised)."""
    qc = QuantumCircuit(num_qubits)
    for q in range(num_qubits):
        qc.u(*rng.uniform(-math.pi, math.pi, 3), q)
    return qc


def _assert_state(
    sim: StatevectorSimulator, qc: QuantumCircuit, values: dict | None = None
) -> None:
    """Our final state of ``qc`` equals qiskit's Statevector, global phase included."""
    program = circuit_to_ir(qc)
    ours = sim.final_state(program, values)
    bound = qc
    if values:
        bound = qc.assign_parameters({p: values[p.name] for p in qc.parameters})
    np.testing.assert_allclose(ours, Statevector(bound).data, atol=ATOL)


# -- every standard gate ------------------------------------------------------------------
@pytest.mark.parametrize("name", sorted(set(STANDARD) - NON_GATES))
def test_standard_gate(sim: StatevectorSimulator, name: str) -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    template = STANDARD[name]
    gate = (
        type(template)(*rng.uniform(-3, 3, len(template.params))) if template.params else template
    )
    n = gate.num_qubits + 1
    qc = _prepared(n, rng)
    qc.append(gate, [int(q) for q in rng.permutation(n)[: gate.num_qubits]])
    _assert_state(sim, qc)
    assert {op.label for op in circuit_to_ir(qc).operations[n:]} == {name}


@pytest.mark.parametrize(
    "name", sorted(n for n, g in STANDARD.items() if g.params and n != "delay")
)
def test_standard_gate_symbolic(sim: StatevectorSimulator, name: str) -> None:
    rng = np.random.default_rng(7)
    template = STANDARD[name]
    params = ParameterVector("p", len(template.params))
    gate = type(template)(*params)
    qc = _prepared(max(gate.num_qubits, 1), rng)
    qc.append(gate, range(gate.num_qubits))
    program = circuit_to_ir(qc)
    assert set(program.parameters) == {p.name for p in params}
    _assert_state(
        sim, qc, {p.name: float(v) for p, v in zip(params, rng.uniform(-3, 3, len(params)))}
    )


def test_global_phase_gate_and_circuit_phase(sim: StatevectorSimulator) -> None:
    a = Parameter("a")
    qc = _prepared(2, np.random.default_rng(1))
    qc.global_phase = 0.4 + a
    qc.append(GlobalPhaseGate(2 * a), [])
    program = circuit_to_ir(qc)
    assert program.parameters == ("a",)
    _assert_state(sim, qc, {"a": 0.3})


# -- controlled, annotated and composite gates ------------------------------------------------
def _custom_gate() -> Gate:
    """A user-defined two-qubit gate whose definition carries a global phase."""
    sub = QuantumCircuit(2, global_phase=0.7, name="mine")
    sub.h(0)
    sub.cx(0, 1)
    sub.ry(0.3, 1)
    return sub.to_gate()


def _theta_gate(theta: float) -> Gate:
    sub = QuantumCircuit(1, global_phase=-0.2)
    sub.rx(theta, 0)
    return sub.to_gate(label="rx_wrapped")


CONTROLLED: dict[str, Callable[[], tuple[object, int]]] = {
    "cx_open": lambda: (CXGate(ctrl_state=0), 2),
    "ccx_01": lambda: (CCXGate(ctrl_state="01"), 3),
    "mcx_o5": lambda: (MCXGate(4, ctrl_state=5), 5),
    "mcphase": lambda: (MCPhaseGate(0.9, 3), 4),
    "cu_open": lambda: (CUGate(0.3, 1.1, -0.4, 0.8, ctrl_state=0), 2),
    "cu_controlled": lambda: (CUGate(0.3, 1.1, -0.4, 0.8).control(1, annotated=False), 3),
    "ch_controlled": lambda: (CHGate().control(2, ctrl_state=2, annotated=False), 4),
    "unitary_controlled": lambda: (
        UnitaryGate(random_unitary(4, seed=3)).control(2, annotated=False),
        4,
    ),
    "custom_controlled": lambda: (_custom_gate().control(2, ctrl_state=1, annotated=False), 4),
    "custom_open": lambda: (_theta_gate(0.5).control(1, ctrl_state=0, annotated=False), 2),
    "annotated_h": lambda: (HGate().control(2, ctrl_state=1, annotated=True), 3),
    "annotated_mods": lambda: (
        AnnotatedOperation(
            RYGate(0.7),
            [
                ControlModifier(1, ctrl_state=0),
                InverseModifier(),
                ControlModifier(2, ctrl_state=2),
                PowerModifier(0.5),
            ],
        ),
        4,
    ),
    "annotated_custom": lambda: (AnnotatedOperation(_custom_gate(), [ControlModifier(1)]), 3),
    "unitary_3q": lambda: (UnitaryGate(random_unitary(8, seed=5)), 3),
    "qft_4": lambda: (QFTGate(4), 4),
    "qft_8": lambda: (QFTGate(8), 8),
    "custom": lambda: (_custom_gate(), 2),
    "clifford": lambda: (random_clifford(3, seed=1), 3),
    "state_preparation": lambda: (
        StatePreparation(np.arange(1, 9) / np.linalg.norm(np.arange(1, 9))),
        3,
    ),
    "mcmt": lambda: (MCMTGate(HGate(), 2, 2), 4),
    "diagonal": lambda: (DiagonalGate(list(np.exp(1j * np.arange(8)))), 3),
}


@pytest.mark.parametrize("case", sorted(CONTROLLED))
def test_controlled_and_composite(sim: StatevectorSimulator, case: str) -> None:
    gate, width = CONTROLLED[case]()
    rng = np.random.default_rng(11)
    qc = _prepared(width + 1, rng)
    qc.append(gate, [int(q) for q in rng.permutation(width + 1)[:width]])
    _assert_state(sim, qc)


def test_controlled_gates_keep_controls() -> None:
    qc = QuantumCircuit(5)
    qc.append(MCXGate(3, ctrl_state=5), [4, 0, 2, 1])
    qc.append(CHGate(ctrl_state=0), [3, 1])
    qc.append(CUGate(0.1, 0.2, 0.3, 0.4), [0, 3])
    ops = circuit_to_ir(qc).operations
    assert (ops[0].name, ops[0].qubits, ops[0].controls, ops[0].ctrl_state) == (
        "x",
        (1,),
        (4, 0, 2),
        5,
    )
    assert (ops[1].name, ops[1].controls, ops[1].ctrl_state) == ("h", (3,), 0)
    assert [(o.name, o.params) for o in ops[2:]] == [("u", (0.1, 0.2, 0.3)), ("p", (0.4,))]
    assert ops[3].qubits == (0,) and ops[3].controls == ()


def _evolution(hamiltonian: SparsePauliOp, duration: float) -> UnitaryGate:
    """The exact exp(-i t H), as the reference for PauliEvolutionGate."""
    return UnitaryGate(scipy.linalg.expm(-1j * duration * hamiltonian.to_matrix()))


def test_parameterized_composites(sim: StatevectorSimulator) -> None:
    t = Parameter("t")
    hamiltonian = SparsePauliOp(["XZ", "YY"], [0.5, 0.2])  # commuting terms: Trotter is exact
    rng = np.random.default_rng(2)
    qc, reference = _prepared(3, rng), _prepared(3, np.random.default_rng(2))
    qc.append(PauliEvolutionGate(hamiltonian, t), [0, 2])
    reference.append(_evolution(hamiltonian, 0.37), [0, 2])
    for circuit, theta in ((qc, t), (reference, 0.37)):
        circuit.append(RXGate(2 * theta).control(1, ctrl_state=0, annotated=True), [1, 0])
        circuit.append(AnnotatedOperation(RYGate(theta), [InverseModifier()]), [2])
    program = circuit_to_ir(qc)
    assert program.parameters == ("t",)
    expected = Statevector(reference).data
    np.testing.assert_allclose(sim.final_state(program, {"t": 0.37}), expected, atol=ATOL)
    bound = circuit_to_ir(qc.assign_parameters({t: 0.37}))
    np.testing.assert_allclose(sim.final_state(bound), expected, atol=ATOL)


def test_pauli_evolution_is_the_exact_exponential_as_in_the_reference(
    sim: StatevectorSimulator,
) -> None:
    t = Parameter("t")
    hamiltonian = SparsePauliOp(["XX", "ZI", "IY", "II"], [0.7, -0.4, 0.3, 0.2])  # not commuting
    qc = _prepared(3, np.random.default_rng(5))
    qc.append(PauliEvolutionGate(hamiltonian, 2 * t), [0, 2])
    qc.append(PauliEvolutionGate(hamiltonian, t).control(1), [1, 0, 2])
    bound = qc.assign_parameters({t: 0.9})
    with warnings.catch_warnings():  # qiskit's to_matrix() warns about scipy's formats
        warnings.simplefilter("ignore", scipy.sparse.SparseEfficiencyWarning)
        expected = Statevector(bound).data  # qiskit applies the gate's exact to_matrix()
    trotter = Statevector(bound.decompose(["PauliEvolution"])).data
    assert not np.allclose(trotter, expected, atol=1e-3)  # the definition would be wrong here
    symbolic = circuit_to_ir(qc)
    assert symbolic.parameters == ("t",)
    np.testing.assert_allclose(sim.final_state(symbolic, {"t": 0.9}), expected, atol=ATOL)
    np.testing.assert_allclose(sim.final_state(circuit_to_ir(bound)), expected, atol=ATOL)
    one = QuantumCircuit(2)
    one.append(PauliEvolutionGate(hamiltonian, 0.9), [0, 1])
    assert [op.name for op in circuit_to_ir(one).operations] == ["unitary"]  # one dense block


def test_pauli_evolution_wider_than_a_dense_block_uses_its_definition(
    sim: StatevectorSimulator,
) -> None:
    hamiltonian = SparsePauliOp(["XXIIIII", "ZIIIIIZ", "IIIYYII"], [0.7, -0.4, 0.3])
    qc = _prepared(7, np.random.default_rng(6))
    qc.append(PauliEvolutionGate(hamiltonian, 0.8), range(7))
    got = sim.final_state(circuit_to_ir(qc))
    np.testing.assert_allclose(got, Statevector(qc.decompose(["PauliEvolution"])).data, atol=ATOL)
    with warnings.catch_warnings():  # qiskit's to_matrix() warns about scipy's formats
        warnings.simplefilter("ignore", scipy.sparse.SparseEfficiencyWarning)
        exact = Statevector(qc).data
    assert not np.allclose(got, exact, atol=1e-3)  # Lie-Trotter, not exact


# -- random circuits, bound afterwards ----------------------------------------------------------
def _random_circuit(
    num_qubits: int, depth: int, seed: int
) -> tuple[QuantumCircuit, dict[str, float]]:
    rng = np.random.default_rng(seed)
    params = ParameterVector("θ", 4)
    one = [
        "h",
        "x",
        "y",
        "z",
        "s",
        "sdg",
        "t",
        "tdg",
        "sx",
        "sxdg",
        "rx",
        "ry",
        "rz",
        "p",
        "u",
        "r",
    ]
    two = [
        "cx",
        "cz",
        "cy",
        "ch",
        "swap",
        "iswap",
        "ecr",
        "rxx",
        "ryy",
        "rzz",
        "rzx",
        "crx",
        "cp",
        "cu",
        "xx_minus_yy",
        "xx_plus_yy",
        "dcx",
        "csx",
    ]
    three = ["ccx", "cswap", "ccz", "rccx"]
    qc = _prepared(num_qubits, rng)
    for _ in range(depth):
        kind = rng.integers(0, 10)
        width = 1 if kind < 4 or num_qubits == 1 else 2 if kind < 8 or num_qubits == 2 else 3
        if kind == 9 and num_qubits >= 2:
            k = int(rng.integers(1, min(3, num_qubits) + 1))
            gate = UnitaryGate(random_unitary(2**k, seed=int(rng.integers(1 << 30))))
        else:
            name = rng.choice([one, two, three][width - 1])
            template = STANDARD[str(name)]
            args = []
            for _ in template.params:
                if rng.random() < 0.5:
                    args.append(float(rng.uniform(-3, 3)))
                else:
                    p = params[int(rng.integers(len(params)))]
                    args.append(float(rng.uniform(-2, 2)) * p + float(rng.uniform(-1, 1)))
            gate = type(template)(*args) if args else template
        qc.append(gate, [int(q) for q in rng.permutation(num_qubits)[: gate.num_qubits]])
    values = {p.name: float(v) for p, v in zip(params, rng.uniform(-3, 3, len(params)))}
    return qc, values


@pytest.mark.parametrize("num_qubits", range(1, 13))
def test_random_circuits(sim: StatevectorSimulator, num_qubits: int) -> None:
    for seed in range(3):
        qc, values = _random_circuit(num_qubits, 12 * num_qubits, 100 * num_qubits + seed)
        values = {k: v for k, v in values.items() if k in {p.name for p in qc.parameters}}
        _assert_state(sim, qc, values)


# -- parameter expressions ------------------------------------------------------------------
def _expressions() -> dict[str, Callable[[Parameter, Parameter], object]]:
    return {
        "add": lambda a, b: a + b + 1,
        "sub": lambda a, b: a - 2 * b,
        "mul": lambda a, b: a * b,
        "div": lambda a, b: a / b,
        "rdiv": lambda a, b: 3 / a,
        "pow": lambda a, b: a**2 + b**3,
        "sin": lambda a, b: (a + b).sin(),
        "cos": lambda a, b: a.cos() * b,
        "tan": lambda a, b: a.tan(),
        "asin": lambda a, b: (a / 4).arcsin(),
        "acos": lambda a, b: (b / 4).arccos(),
        "atan": lambda a, b: (a * b).arctan(),
        "exp": lambda a, b: (a - b).exp(),
        "log": lambda a, b: (a * a + 1).log(),
        "abs": lambda a, b: (a - b).abs(),
        "sign": lambda a, b: b.sign() * a,
        "nested": lambda a, b: ((a**2).sin() - b.exp() / 3).cos() ** 2,
    }


@pytest.mark.parametrize("kind", sorted(_expressions()))
def test_parameter_expressions(sim: StatevectorSimulator, kind: str) -> None:
    a, b = Parameter("a"), Parameter("b")
    expression = _expressions()[kind](a, b)
    qc = _prepared(2, np.random.default_rng(3))
    qc.rx(expression, 0)
    qc.cp(expression, 0, 1)
    values = {"a": 0.7, "b": -1.3}
    (param,) = circuit_to_ir(qc).operations[2].params
    numbers = {a: 0.7, b: -1.3}
    expected = float(expression.bind({p: numbers[p] for p in expression.parameters}))
    assert param.evaluate(values) == pytest.approx(expected, abs=1e-12)
    _assert_state(sim, qc, values)


def test_parameter_vector_names_and_unbound_values(sim: StatevectorSimulator) -> None:
    theta = ParameterVector("θ", 3)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.crz(theta[1] * theta[2], 0, 1)
    program = circuit_to_ir(qc)
    assert program.parameters == ("θ[0]", "θ[1]", "θ[2]")
    _assert_state(sim, qc, {"θ[0]": 0.3, "θ[1]": 0.8, "θ[2]": -1.1})


def test_complex_expression_is_refused() -> None:
    a = Parameter("a")
    qc = QuantumCircuit(1)
    qc.rz(a * 1j, 0)
    with pytest.raises(InvalidCircuitError, match="complex"):
        circuit_to_ir(qc)


# -- classical bits -----------------------------------------------------------------------
def test_isa_circuit_registers_sample_the_right_bits(sim: StatevectorSimulator) -> None:
    alpha, beta = ClassicalRegister(3, "alpha"), ClassicalRegister(2, "beta")
    qc = QuantumCircuit(QuantumRegister(127, "q"), alpha, beta)
    used = [3, 17, 64, 99, 126]
    for q in (17, 99, 126):
        qc.x(q)
    qc.measure([126, 3, 17], [alpha[0], alpha[1], alpha[2]])
    qc.measure([99, 64], [beta[1], beta[0]])
    program = circuit_to_ir(qc)
    assert program.num_qubits == 127 and program.registers == {"alpha": 3, "beta": 2}
    assert {q for op in program.operations for q in op.all_qubits} == set(used)
    bits = sim.sample(program, 50, seed=1)
    np.testing.assert_array_equal(bits["alpha"], np.tile([1, 0, 1], (50, 1)))
    np.testing.assert_array_equal(bits["beta"], np.tile([0, 1], (50, 1)))


def test_loose_and_overlapping_clbits(sim: StatevectorSimulator) -> None:
    loose = [Clbit(), Clbit()]
    creg = ClassicalRegister(2, "c")
    qc = QuantumCircuit(QuantumRegister(3), creg, loose)
    qc.add_register(ClassicalRegister(bits=[creg[1], loose[0]], name="overlap"))
    qc.x(1)
    qc.measure([0, 1, 2], [creg[0], creg[1], loose[1]])
    qc.measure(1, loose[0])
    program = circuit_to_ir(qc)
    assert program.registers == {"c": 2, "overlap": 2, LOOSE_CLBITS_REGISTER: 1}
    bits = sim.sample(program, 8, seed=2)
    np.testing.assert_array_equal(bits["c"], np.tile([0, 1], (8, 1)))
    np.testing.assert_array_equal(bits["overlap"], np.tile([1, 1], (8, 1)))
    np.testing.assert_array_equal(bits[LOOSE_CLBITS_REGISTER], np.zeros((8, 1)))


def test_loose_register_name_cannot_clash() -> None:
    qc = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1, LOOSE_CLBITS_REGISTER), [Clbit()])
    qc.measure(0, 1)
    program = circuit_to_ir(qc)
    assert list(program.registers) == [LOOSE_CLBITS_REGISTER, LOOSE_CLBITS_REGISTER + "_"]
    assert program.operations[0].register == LOOSE_CLBITS_REGISTER + "_"


def test_bell_pairs_are_correlated(sim: StatevectorSimulator) -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    bits = sim.sample(circuit_to_ir(qc), 200, seed=5)["meas"]
    assert np.all(bits[:, 0] == bits[:, 1]) and 0 < bits[:, 0].sum() < 200


def test_if_else_on_clbit_and_register(sim: StatevectorSimulator) -> None:
    qr, cr, out = QuantumRegister(3), ClassicalRegister(2, "c"), ClassicalRegister(3, "out")
    qc = QuantumCircuit(qr, cr, out)
    qc.x(0)
    qc.measure(0, cr[0])  # c = 0b01
    with qc.if_test((cr[0], 1)):
        qc.x(1)
    with qc.if_test((cr, 1)):
        qc.x(2)
        qc.reset(0)
    with qc.if_test((cr, 2)):
        qc.x(0)
    qc.reset(0)
    qc.barrier()
    qc.delay(100, 0)
    qc.measure(qr, out)
    program = circuit_to_ir(qc)
    conditions = [op.condition for op in program.operations if op.condition is not None]
    assert [(c.register, c.value, c.bit) for c in conditions] == [
        ("c", 1, 0),
        ("c", 1, None),
        ("c", 1, None),
        ("c", 2, None),
    ]
    bits = sim.sample(program, 20, seed=3)
    np.testing.assert_array_equal(bits["out"], np.tile([0, 1, 1], (20, 1)))


def test_box_is_flattened(sim: StatevectorSimulator) -> None:
    qc, flat = _prepared(2, np.random.default_rng(4)), _prepared(2, np.random.default_rng(4))
    with qc.box():
        qc.cx(0, 1)
        qc.ry(0.2, 1)
    flat.cx(0, 1)
    flat.ry(0.2, 1)
    program = circuit_to_ir(qc)
    assert [op.name for op in program.operations[2:]] == ["x", "ry"]
    np.testing.assert_allclose(sim.final_state(program), Statevector(flat).data, atol=ATOL)


def test_name_metadata_and_labels() -> None:
    qc = QuantumCircuit(2, name="bell", metadata={"owner": "me", "n": 2})
    qc.h(0)
    qc.cx(0, 1)
    qc.append(_custom_gate(), [0, 1])
    program = circuit_to_ir(qc)
    assert program.name == "bell" and program.metadata == {"owner": "me", "n": 2}
    assert [op.label for op in program.operations][:3] == ["h", "cx", "h"]


# -- unsupported input --------------------------------------------------------------------
def _opaque(qc: QuantumCircuit) -> None:
    qc.append(Gate("opaque_thing", 1, []), [0])


# Control flow, expressions and stores translate now: tests/translate/qiskit_adapter/
# test_dynamic_circuits.py (and their refusals: floats, input variables, loop limits).
UNSUPPORTED = {
    "opaque_thing": _opaque,
}


@pytest.mark.parametrize("name", sorted(UNSUPPORTED))
def test_unsupported_instructions(name: str) -> None:
    qc = QuantumCircuit(1, 1)
    UNSUPPORTED[name](qc)
    with pytest.raises(InvalidCircuitError, match=name):
        circuit_to_ir(qc)


# -- observables ------------------------------------------------------------------------------
def _random_observable(num_qubits: int, rng: np.random.Generator) -> SparsePauliOp:
    labels = ["".join(rng.choice(list("IXYZ"), num_qubits)) for _ in range(6)]
    return SparsePauliOp(labels, rng.normal(size=6)).simplify()


@pytest.mark.parametrize("num_qubits", [1, 3, 6])
def test_expectations_match_statevector(sim: StatevectorSimulator, num_qubits: int) -> None:
    rng = np.random.default_rng(num_qubits)
    qc, values = _random_circuit(num_qubits, 20, num_qubits)
    qc = qc.assign_parameters({p: values[p.name] for p in qc.parameters})
    observables = [_random_observable(num_qubits, rng) for _ in range(3)]
    state = Statevector(qc)
    expected = [state.expectation_value(o).real for o in observables]
    sums = [sparse_pauli_to_sum(o) for o in observables]
    sums.append(sparse_pauli_to_sum(ObservablesArray.coerce(observables[0]).tolist()))
    expected.append(expected[0])
    ours = sim.expectation_values(circuit_to_ir(qc), sums)
    np.testing.assert_allclose(ours, expected, atol=1e-10)


def test_observable_forms() -> None:
    assert sparse_pauli_to_sum({"XZI": 0.5}) == PauliSum.from_labels({"XZI": 0.5})
    (term,) = sparse_pauli_to_sum(Pauli("-iXZ")).terms
    assert (term.paulis, term.qubits, term.coeff) == ("ZX", (0, 1), -1j)
    (term,) = sparse_pauli_to_sum(SparseObservable.from_label("IYX")).terms
    assert (term.paulis, term.qubits) == ("XY", (0, 1))
    with pytest.raises(InvalidCircuitError, match="symbolic"):
        sparse_pauli_to_sum(SparsePauliOp(["X"], [Parameter("c")]))


def test_large_parameterised_circuit_translates() -> None:
    theta = ParameterVector("t", 2000)
    qc = QuantumCircuit(20)
    for layer in range(100):
        for q in range(20):
            qc.ry(theta[20 * layer + q] * 2 + 1 if q % 5 == 0 else theta[20 * layer + q], q)
        for q in range(0, 19, 2):
            qc.cx(q, q + 1)
    program = circuit_to_ir(qc)
    assert len(program.operations) == 3000 and len(program.parameters) == 2000
