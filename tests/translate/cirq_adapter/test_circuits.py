"""cirq.Circuit → Circuit translation, checked against cirq's own simulator."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

pytest.importorskip("cirq")

import cirq  # noqa: E402
import sympy  # noqa: E402

from qsession_provider.errors import (  # noqa: E402
    InputError,
    InvalidCircuitError,
    UnboundParameterError,
)
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.translate.cirq import (  # noqa: E402
    circuit_to_ir,
    pauli_sum_to_sum,
    qubit_index_map,
    resolver_values,
)

ATOL = 1e-10
Q = cirq.LineQubit.range(5)


@pytest.fixture(scope="module")
def sim() -> StatevectorSimulator:
    return StatevectorSimulator()


def _prepared(qubits: list[cirq.Qid], rng: np.random.Generator) -> cirq.Circuit:
    """A circuit preparing a random product state (so every amplitude is exercised)."""
    return cirq.Circuit(
        cirq.PhasedXZGate(
            x_exponent=rng.uniform(-1, 1),
            z_exponent=rng.uniform(-1, 1),
            axis_phase_exponent=rng.uniform(-1, 1),
        ).on(q)
        for q in qubits
    )


def _assert_state(
    sim: StatevectorSimulator,
    circuit: cirq.AbstractCircuit,
    resolver: cirq.ParamResolverOrSimilarType = None,
    qubit_order: cirq.QubitOrderOrList = cirq.QubitOrder.DEFAULT,
) -> None:
    """Our final state equals cirq.final_state_vector (complex128), global phase included."""
    program, qubits = circuit_to_ir(circuit, qubit_order)
    ours = sim.final_state(program, resolver_values(resolver, program))
    expected = cirq.final_state_vector(
        cirq.resolve_parameters(circuit, resolver),
        qubit_order=qubits,
        dtype=np.complex128,
    )
    np.testing.assert_allclose(ours, expected, atol=ATOL)


# -- gates one by one ----------------------------------------------------------------------
def _gates(rng: np.random.Generator) -> dict[str, cirq.Gate]:
    def r() -> float:
        return float(rng.uniform(-2, 2))

    return {
        "X": cirq.X,
        "Y": cirq.Y,
        "Z": cirq.Z,
        "H": cirq.H,
        "S": cirq.S,
        "T": cirq.T,
        "xpow": cirq.XPowGate(exponent=r(), global_shift=r()),
        "ypow": cirq.YPowGate(exponent=r(), global_shift=r()),
        "zpow": cirq.ZPowGate(exponent=r(), global_shift=r()),
        "hpow": cirq.HPowGate(exponent=r(), global_shift=r()),
        "rx": cirq.rx(r()),
        "ry": cirq.ry(r()),
        "rz": cirq.rz(r()),
        "CZ": cirq.CZ,
        "CNOT": cirq.CNOT,
        "czpow": cirq.CZPowGate(exponent=r(), global_shift=r()),
        "cxpow": cirq.CXPowGate(exponent=r(), global_shift=r()),
        "swappow": cirq.SwapPowGate(exponent=r(), global_shift=r()),
        "iswappow": cirq.ISwapPowGate(exponent=r(), global_shift=r()),
        "xxpow": cirq.XXPowGate(exponent=r(), global_shift=r()),
        "yypow": cirq.YYPowGate(exponent=r(), global_shift=r()),
        "zzpow": cirq.ZZPowGate(exponent=r(), global_shift=r()),
        "fsim": cirq.FSimGate(r(), r()),
        "phased_xpow": cirq.PhasedXPowGate(phase_exponent=r(), exponent=r(), global_shift=r()),
        "phased_xz": cirq.PhasedXZGate(x_exponent=r(), z_exponent=r(), axis_phase_exponent=r()),
        "CCZ": cirq.CCZ,
        "CCX": cirq.CCX,
        "CSWAP": cirq.CSWAP,
        "ccz_pow": cirq.CCZPowGate(exponent=r(), global_shift=r()),
        "ccx_pow": cirq.CCXPowGate(exponent=r(), global_shift=r()),
        "controlled_czpow": cirq.ControlledGate(
            cirq.CZPowGate(exponent=r(), global_shift=r()), num_controls=1, control_values=[0]
        ),
        "controlled_hpow": cirq.ControlledGate(
            cirq.HPowGate(exponent=r(), global_shift=r()), num_controls=2, control_values=[0, 1]
        ),
        "controlled_matrix": cirq.ControlledGate(
            cirq.MatrixGate(cirq.testing.random_unitary(4, random_state=2)), num_controls=1
        ),
        "matrix_3q": cirq.MatrixGate(cirq.testing.random_unitary(8, random_state=1)),
        "phased_iswap": cirq.PhasedISwapPowGate(phase_exponent=r(), exponent=r()),
        "qft": cirq.QuantumFourierTransformGate(3),
        "global_phase": cirq.GlobalPhaseGate(np.exp(1j * r())),
        "identity": cirq.IdentityGate(2),
    }


GATE_NAMES = sorted(_gates(np.random.default_rng(0)))


@pytest.mark.parametrize("name", GATE_NAMES)
def test_gate(sim: StatevectorSimulator, name: str) -> None:
    rng = np.random.default_rng(sum(map(ord, name)))
    gate = _gates(rng)[name]
    circuit = _prepared(Q, rng)
    targets = [Q[int(i)] for i in rng.permutation(len(Q))[: cirq.num_qubits(gate)]]
    circuit.append(gate.on(*targets))
    _assert_state(sim, circuit)


def test_reversed_target_order() -> None:
    program, qubits = circuit_to_ir(
        cirq.Circuit(cirq.CNOT(Q[0], Q[2]), cirq.FSimGate(1, 2)(Q[1], Q[2]))
    )
    assert qubits == [Q[0], Q[1], Q[2]]
    cx, fsim = program.operations
    assert (cx.name, cx.qubits, cx.controls) == ("xpow", (0,), (2,))
    assert (fsim.name, fsim.qubits) == ("fsim", (0, 1))


def test_controlled_operations(sim: StatevectorSimulator) -> None:
    rng = np.random.default_rng(3)
    circuit = _prepared(Q, rng)
    circuit.append(
        [
            cirq.ControlledOperation([Q[4], Q[0]], cirq.Y(Q[2]) ** 0.3, control_values=[0, 1]),
            cirq.X(Q[1]).controlled_by(Q[3], control_values=[0]),
            cirq.CZPowGate(exponent=0.4, global_shift=0.25)(Q[0], Q[1]).controlled_by(Q[2]),
            cirq.CircuitOperation(
                cirq.FrozenCircuit(cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]))
            ).controlled_by(Q[4]),
        ]
    )
    _assert_state(sim, circuit)


def test_unsupported_control_values() -> None:
    op = cirq.ControlledOperation(
        [Q[0], Q[1]], cirq.X(Q[2]), control_values=cirq.SumOfProducts([[0, 1], [1, 0]])
    )
    with pytest.raises(InvalidCircuitError, match="control values"):
        circuit_to_ir(cirq.Circuit(op))


def test_wrappers_are_flattened(sim: StatevectorSimulator) -> None:
    inner = cirq.FrozenCircuit(cirq.H(Q[0]), cirq.CZ(Q[0], Q[1]) ** 0.5, cirq.rx(0.3)(Q[1]))
    circuit = _prepared(Q[:3], np.random.default_rng(5))
    circuit.append(
        [
            cirq.CircuitOperation(inner, repetitions=3).with_qubit_mapping(
                {Q[0]: Q[2], Q[1]: Q[0]}
            ),
            cirq.X(Q[1]).with_tags("tagged"),
            cirq.I(Q[0]),
        ]
    )
    _assert_state(sim, circuit)


# -- qubit order ------------------------------------------------------------------------------
def test_qubit_orders(sim: StatevectorSimulator) -> None:
    grid = cirq.GridQubit.rect(2, 2)
    circuit = _prepared(grid, np.random.default_rng(6))
    circuit.append([cirq.CNOT(grid[0], grid[3]), cirq.ISWAP(grid[2], grid[1]) ** 0.3])
    _assert_state(sim, circuit)
    _assert_state(sim, circuit, qubit_order=[grid[2], grid[0], grid[3], grid[1]])
    extra = cirq.GridQubit(5, 5)
    program, qubits = circuit_to_ir(circuit, [extra, *grid])
    assert program.num_qubits == 5 and qubits[0] == extra
    assert qubit_index_map(qubits) == {extra: 4, grid[0]: 3, grid[1]: 2, grid[2]: 1, grid[3]: 0}
    _assert_state(sim, circuit, qubit_order=[extra, *grid])


# -- random circuits --------------------------------------------------------------------------
GATE_DOMAIN = {
    cirq.X: 1,
    cirq.H: 1,
    cirq.S: 1,
    cirq.T: 1,
    cirq.Y**0.3: 1,
    cirq.rx(0.7): 1,
    cirq.PhasedXPowGate(phase_exponent=0.2, exponent=0.6): 1,
    cirq.CNOT: 2,
    cirq.CZ**0.4: 2,
    cirq.ISWAP**0.5: 2,
    cirq.FSimGate(0.3, 0.8): 2,
    cirq.ZZ**0.2: 2,
    cirq.SWAP: 2,
    cirq.MatrixGate(cirq.testing.random_unitary(4, random_state=9)): 2,
    cirq.CCZ: 3,
    cirq.CCX: 3,
    cirq.CSWAP: 3,
}


def _symbolic_layer(qubits: list[cirq.Qid], rng: np.random.Generator) -> list[cirq.Operation]:
    """Gates with sympy parameters (plain symbols and expressions)."""
    a, b, c = sympy.symbols("a b c")
    choices: list[Callable[[cirq.Qid, cirq.Qid], cirq.Operation]] = [
        lambda p, q: cirq.rz(2 * a + 0.1)(p),
        lambda p, q: cirq.XPowGate(exponent=b, global_shift=-0.5)(q),
        lambda p, q: cirq.CZPowGate(exponent=a * b, global_shift=0.2)(p, q),
        lambda p, q: cirq.FSimGate(theta=sympy.sin(c), phi=b**2)(p, q),
        lambda p, q: cirq.PhasedXPowGate(phase_exponent=c / 3, exponent=a)(p),
        lambda p, q: cirq.ZZPowGate(exponent=sympy.cos(a) - c)(p, q),
    ]
    ops = []
    for _ in range(len(qubits)):
        i, j = rng.choice(len(qubits), 2, replace=False) if len(qubits) > 1 else (0, 0)
        k = int(rng.integers(len(choices)))
        if i == j and k in (2, 3, 5):
            k = 0
        ops.append(choices[k](qubits[int(i)], qubits[int(j)]))
    return ops


@pytest.mark.parametrize("num_qubits", range(1, 13))
def test_random_circuits(sim: StatevectorSimulator, num_qubits: int) -> None:
    qubits = cirq.LineQubit.range(num_qubits)
    domain = {g: n for g, n in GATE_DOMAIN.items() if n <= num_qubits}
    for seed in range(3):
        rng = np.random.default_rng(1000 * num_qubits + seed)
        circuit = _prepared(qubits, rng)
        circuit += cirq.testing.random_circuit(
            qubits,
            n_moments=4 * num_qubits,
            op_density=0.8,
            gate_domain=domain,
            random_state=int(rng.integers(1 << 30)),
        )
        circuit.append(_symbolic_layer(qubits, rng))
        circuit += cirq.testing.random_circuit(
            qubits,
            n_moments=num_qubits,
            op_density=0.8,
            gate_domain=domain,
            random_state=int(rng.integers(1 << 30)),
        )
        resolver = cirq.ParamResolver({"a": rng.uniform(-2, 2), "b": rng.uniform(-2, 2), "c": 0.4})
        _assert_state(sim, circuit, resolver)


# -- symbols ------------------------------------------------------------------------------
def test_symbols_stay_symbolic_and_resolve(sim: StatevectorSimulator) -> None:
    theta, phi = sympy.Symbol("θ"), sympy.Symbol("phi")
    circuit = _prepared(Q[:2], np.random.default_rng(8))
    circuit.append(
        [
            cirq.rx(theta)(Q[0]),
            cirq.CXPowGate(exponent=sympy.exp(phi) / 4 + sympy.pi / 8)(Q[0], Q[1]),
            cirq.PhasedXZGate(
                x_exponent=theta, z_exponent=sympy.Abs(phi), axis_phase_exponent=0.25
            )(Q[1]),
        ]
    )
    program, _ = circuit_to_ir(circuit)
    assert program.parameters == ("phi", "θ")
    rx = program.operations[2]
    assert rx.name == "rx" and str(rx.params[0]) == "θ"
    _assert_state(sim, circuit, cirq.ParamResolver({"θ": 0.4, phi: -0.9}))
    _assert_state(sim, circuit, {"θ": 1.4, "phi": 0.2})


def test_missing_symbol_is_unbound() -> None:
    program, _ = circuit_to_ir(cirq.Circuit(cirq.rz(sympy.Symbol("a") + sympy.Symbol("b"))(Q[0])))
    assert resolver_values({"a": 1, "b": 2}, program) == {"a": 1.0, "b": 2.0}
    with pytest.raises(UnboundParameterError, match="'b'"):
        resolver_values({"a": 1.0}, program)


class _SymbolicOnly(cirq.Gate):
    """A test gate with a symbolic parameter, a unitary only when resolved, no decomposition."""

    def __init__(self, angle: cirq.TParamVal) -> None:
        self.angle = angle

    def _num_qubits_(self) -> int:
        return 1

    def _is_parameterized_(self) -> bool:
        return cirq.is_parameterized(self.angle)

    def _resolve_parameters_(self, resolver: cirq.ParamResolver, recursive: bool) -> _SymbolicOnly:
        return _SymbolicOnly(resolver.value_of(self.angle, recursive))

    def _has_unitary_(self) -> bool:
        return not self._is_parameterized_()

    def _unitary_(self) -> np.ndarray:
        return np.diag([1, np.exp(1j * float(self.angle))])

    def __str__(self) -> str:
        return f"SymbolicOnly({self.angle})"


def test_symbolic_gate_outside_library(sim: StatevectorSimulator) -> None:
    circuit = cirq.Circuit(cirq.H(Q[0]), _SymbolicOnly(sympy.Symbol("x"))(Q[0]))
    with pytest.raises(InvalidCircuitError, match=r"SymbolicOnly.*resolve"):
        circuit_to_ir(circuit)
    _assert_state(sim, cirq.resolve_parameters(circuit, {"x": 0.3}))


# -- measurements and classical control -----------------------------------------------------
def test_measurement_keys_sample_the_right_bits(sim: StatevectorSimulator) -> None:
    q = cirq.LineQubit.range(127)
    used = [q[3], q[17], q[64], q[99], q[126]]
    circuit = cirq.Circuit(
        cirq.X(q[17]),
        cirq.X(q[99]),
        cirq.X(q[126]),
        cirq.I.on_each(*q),
        cirq.measure(q[126], q[3], q[17], key="alpha"),
        cirq.measure(q[99], q[64], key="beta"),
    )
    program, qubits = circuit_to_ir(circuit)
    assert program.registers == {"alpha": 3, "beta": 2}
    index = qubit_index_map(qubits)
    assert {q for op in program.operations for q in op.all_qubits} == {index[u] for u in used}
    bits = sim.sample(program, 50, seed=1)
    np.testing.assert_array_equal(bits["alpha"], np.tile([1, 0, 1], (50, 1)))
    np.testing.assert_array_equal(bits["beta"], np.tile([1, 0], (50, 1)))
    expected = cirq.Simulator().run(circuit).measurements
    np.testing.assert_array_equal(bits["alpha"][:1], expected["alpha"])


def test_classical_control_and_reset(sim: StatevectorSimulator) -> None:
    circuit = cirq.Circuit(
        cirq.X(Q[0]),
        cirq.measure(Q[0], key="m"),
        cirq.measure(Q[0], Q[1], key="pair"),  # pair = (1, 0): big-endian value 2
        cirq.X(Q[1]).with_classical_controls("m"),
        cirq.X(Q[2]).with_classical_controls(
            cirq.BitMaskKeyCondition("pair", target_value=2, equal_target=True)
        ),
        cirq.X(Q[3]).with_classical_controls(
            cirq.BitMaskKeyCondition("pair", target_value=1, bitmask=1, equal_target=True)
        ),  # last qubit of "pair" is 0: not applied
        cirq.ResetChannel().on(Q[0]),
        cirq.measure(*Q[:4], key="out"),
    )
    program, _ = circuit_to_ir(circuit)
    conditions = [op.condition for op in program.operations if op.condition is not None]
    assert [(c.register, c.value, c.bit) for c in conditions] == [
        ("m", 1, None),
        ("pair", 1, None),
        ("pair", 1, 1),
    ]
    bits = sim.sample(program, 10, seed=4)
    np.testing.assert_array_equal(bits["out"], np.tile([0, 1, 1, 0], (10, 1)))
    expected = cirq.Simulator().run(circuit, repetitions=1).measurements["out"]
    np.testing.assert_array_equal(bits["out"][:1], expected)


# -- errors ------------------------------------------------------------------------------------
ERRORS = {
    "invert_mask": (
        cirq.Circuit(cirq.measure(Q[0], Q[1], key="inv", invert_mask=(True,))),
        "'inv'",
    ),
    "confusion_map": (
        cirq.Circuit(
            cirq.measure(
                Q[0], key="noisy", confusion_map={(0,): np.array([[0.9, 0.1], [0.2, 0.8]])}
            )
        ),
        "'noisy'",
    ),
    "repeated_key": (
        cirq.Circuit(cirq.measure(Q[0], key="twice"), cirq.measure(Q[1], key="twice")),
        "'twice'",
    ),
    "repeated_key_in_loop": (
        cirq.Circuit(
            cirq.CircuitOperation(
                cirq.FrozenCircuit(cirq.measure(Q[0], key="k")),
                repetitions=2,
                use_repetition_ids=False,
            )
        ),
        "'k'",
    ),
    "repeat_until": (
        cirq.Circuit(
            cirq.CircuitOperation(
                cirq.FrozenCircuit(cirq.X(Q[0]), cirq.measure(Q[0], key="r")),
                use_repetition_ids=False,
                repeat_until=cirq.KeyCondition(cirq.MeasurementKey("r")),
            )
        ),
        "CircuitOperation",
    ),
    # noise channels translate (translate/cirq/noise.py); wider than 2 qubits they do not
    "noise_on_3_qubits": (
        cirq.Circuit(cirq.depolarize(0.1, n_qubits=3).on(*Q[:3])),
        "acts on 3 qubits; at most 2",
    ),
    "multi_bit_key_condition": (
        cirq.Circuit(
            cirq.measure(Q[0], Q[1], key="mm"), cirq.X(Q[2]).with_classical_controls("mm")
        ),
        "mm",
    ),
    "sympy_condition": (
        cirq.Circuit(
            cirq.measure(Q[0], key="s"),
            cirq.X(Q[1]).with_classical_controls(sympy.Eq(sympy.Symbol("s"), 1)),
        ),
        "condition",
    ),
    "qudit": (cirq.Circuit(cirq.IdentityGate(qid_shape=(3,)).on(cirq.LineQid(0, 3))), "qudit"),
}


@pytest.mark.parametrize("case", sorted(ERRORS))
def test_errors(case: str) -> None:
    circuit, fragment = ERRORS[case]
    with pytest.raises(InvalidCircuitError, match=fragment):
        circuit_to_ir(circuit)


# -- observables ------------------------------------------------------------------------------
@pytest.mark.parametrize("num_qubits", [1, 3, 6])
def test_expectations_match_cirq(sim: StatevectorSimulator, num_qubits: int) -> None:
    rng = np.random.default_rng(num_qubits)
    qubits = cirq.LineQubit.range(num_qubits)
    domain = {g: n for g, n in GATE_DOMAIN.items() if n <= num_qubits}
    circuit = _prepared(qubits, rng) + cirq.testing.random_circuit(
        qubits, n_moments=10, op_density=0.9, gate_domain=domain, random_state=num_qubits
    )
    program, order = circuit_to_ir(circuit)
    index = qubit_index_map(order)
    paulis = [cirq.I, cirq.X, cirq.Y, cirq.Z]
    observables = []
    for _ in range(3):
        terms = [
            float(rng.normal())
            * cirq.PauliString({q: paulis[int(rng.integers(4))] for q in qubits})
            for _ in range(5)
        ]
        observables.append(sum(terms[1:], cirq.PauliSum.from_pauli_strings(terms[0])))
    state = cirq.final_state_vector(circuit, qubit_order=order, dtype=np.complex128)
    cirq_map = {q: i for i, q in enumerate(order)}
    expected = [o.expectation_from_state_vector(state, cirq_map).real for o in observables]
    ours = sim.expectation_values(program, [pauli_sum_to_sum(o, index) for o in observables])
    np.testing.assert_allclose(ours, expected, atol=1e-10)
    # A complex coefficient is refused, never cast to its real part (issue 19).
    string = cirq.X(qubits[0]) * cirq.Z(qubits[-1]) if num_qubits > 1 else cirq.Y(qubits[0])
    with pytest.raises(InputError, match="observable 0 is not Hermitian"):
        sim.expectation_values(program, [pauli_sum_to_sum((0.5 + 2j) * string, index)])


def test_observable_on_unknown_qubit() -> None:
    with pytest.raises(InvalidCircuitError, match="not in the circuit"):
        pauli_sum_to_sum(cirq.Z(Q[4]), {Q[0]: 0})


def test_global_phase_is_kept() -> None:
    program, _ = circuit_to_ir(cirq.Circuit(cirq.global_phase_operation(1j), cirq.X(Q[0])))
    assert program.global_phase == pytest.approx(math.pi / 2)


def test_large_parameterised_circuit_translates() -> None:
    qubits = cirq.LineQubit.range(20)
    circuit = cirq.Circuit()
    for layer in range(100):
        circuit.append(cirq.ry(sympy.Symbol(f"t{layer}_{i}"))(q) for i, q in enumerate(qubits))
        circuit.append(cirq.CZ(qubits[i], qubits[i + 1]) for i in range(0, 19, 2))
    program, _ = circuit_to_ir(circuit)
    assert len(program.operations) == 3000 and len(program.parameters) == 2000
