"""Exact expectation values of circuits that reset and measure (issue 19, item 3), against an
independent density-matrix oracle; the Hermitian check; the memory guard and outcome limit."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import (
    Circuit,
    Condition,
    Gate,
    Measure,
    Parameter,
    PauliSum,
    PauliTerm,
    Reset,
)
from qsession_provider.core.ir.gates import gate_matrix
from qsession_provider.core.ir.payload import EstimatorPayload, EstimatorPub, check_hermitian
from qsession_provider.errors import InputError, ResourceTooLargeError
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.branches import measured_at_end, weighted_outcomes
from qsession_provider.sim.execute import execute
from qsession_provider.sim.expectation import PauliTable, dephased, pauli_table

PAULI = {
    "I": np.eye(2),
    "X": np.array([[0, 1], [1, 0]]),
    "Y": np.array([[0, -1j], [1j, 0]]),
    "Z": np.diag([1.0, -1.0]),
}


# -- the oracle: density matrices per classical record ---------------------------------------
def _full(matrix: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    """The 2**n operator applying ``matrix`` to ``qubits`` (bit j of its index = qubits[j])."""
    dim, k = 2**n, len(qubits)
    out = np.zeros((dim, dim), dtype=complex)
    for col in range(dim):
        sub = sum(((col >> q) & 1) << j for j, q in enumerate(qubits))
        rest = col & ~sum(1 << q for q in qubits)
        for r in range(2**k):
            row = rest | sum(((r >> j) & 1) << q for j, q in enumerate(qubits))
            out[row, col] += matrix[r, sub]
    return out


def _gate_operator(op: Gate, n: int) -> np.ndarray:
    m = op.matrix if op.name == "unitary" else gate_matrix(op.name, op.params)
    if not op.controls:
        return _full(np.asarray(m), op.qubits, n)
    k, c = len(op.qubits), len(op.controls)
    state = op.ctrl_state if op.ctrl_state is not None else 2**c - 1
    big = np.eye(2 ** (k + c), dtype=complex)
    big[state << k : (state << k) + 2**k, state << k : (state << k) + 2**k] = m
    return _full(big, op.qubits + op.controls, n)


def _holds(cond: Condition, record: tuple[tuple[str, int, int], ...], sizes: dict) -> bool:
    bits = {(reg, bit): v for reg, bit, v in record}
    if cond.bit is not None:
        return bits.get((cond.register, cond.bit), 0) == cond.value
    value = sum(bits.get((cond.register, i), 0) << i for i in range(sizes[cond.register]))
    return value == cond.value


def density_oracle(circuit: Circuit) -> np.ndarray:
    """The final density matrix: one unnormalised matrix per classical record, summed."""
    n = circuit.num_qubits
    rho = np.zeros((2**n, 2**n), dtype=complex)
    rho[0, 0] = 1.0
    branches: dict[tuple[tuple[str, int, int], ...], np.ndarray] = {(): rho}
    for op in circuit.operations:
        nxt: dict[tuple[tuple[str, int, int], ...], np.ndarray] = {}
        for record, r in branches.items():
            if op.condition is not None and not _holds(op.condition, record, circuit.registers):
                nxt[record] = nxt.get(record, 0) + r
            elif isinstance(op, Gate):
                u = _gate_operator(op, n)
                nxt[record] = nxt.get(record, 0) + u @ r @ u.conj().T
            elif isinstance(op, (Measure, Reset)):
                for outcome in (0, 1):
                    proj = _full(np.diag([1.0 - outcome, float(outcome)]), (op.qubit,), n)
                    part = proj @ r @ proj
                    if isinstance(op, Reset):
                        flip = _full(PAULI["X"], (op.qubit,), n) if outcome else np.eye(2**n)
                        nxt[record] = nxt.get(record, 0) + flip @ part @ flip
                    else:
                        kept = tuple(x for x in record if x[:2] != (op.register, op.bit))
                        key = (*kept, (op.register, op.bit, outcome))
                        nxt[key] = nxt.get(key, 0) + part
            else:
                nxt[record] = nxt.get(record, 0) + r
        branches = nxt
    return sum(branches.values())


def _pauli_operator(obs: PauliSum, n: int) -> np.ndarray:
    total = np.zeros((2**n, 2**n), dtype=complex)
    for term in obs.terms:
        op = np.eye(2**n, dtype=complex)
        for p, q in zip(term.paulis, term.qubits):
            op = _full(PAULI[p], (q,), n) @ op
        total += term.coeff * op
    return total


def oracle_values(circuit: Circuit, observables: list[PauliSum]) -> np.ndarray:
    rho = density_oracle(circuit)
    n = circuit.num_qubits
    return np.array([np.trace(_pauli_operator(o, n) @ rho) for o in observables])


def estimate(
    sim: StatevectorSimulator, circuit: Circuit, observables: list[PauliSum], **pub: object
) -> np.ndarray:
    obs = np.empty(len(observables), dtype=object)
    obs[:] = observables
    payload = EstimatorPayload((EstimatorPub(circuit, pub.pop("values", None), obs, **pub),))
    return execute("estimator", payload, sim)["pubs"][0]["evs"]


def observables_on(n: int, seed: int, count: int = 6) -> list[PauliSum]:
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        labels = {"".join(rng.choice(list("IXYZ"), n)): float(rng.normal()) for _ in range(3)}
        out.append(PauliSum.from_labels(labels))
    return out


# -- circuits ----------------------------------------------------------------------------------
def entangled_reset() -> Circuit:
    """Reset a qubit entangled with two others, then use it again."""
    return Circuit(
        3,
        [
            Gate("h", (0,)),
            Gate("x", (1,), controls=(0,)),
            Gate("ry", (2,), (0.7,)),
            Gate("x", (0,), controls=(2,)),
            Reset(1),
            Gate("h", (1,)),
            Gate("x", (2,), controls=(1,)),
            Reset(0),
            Gate("rx", (0,), (0.3,)),
            Gate("x", (1,), controls=(0,)),
        ],
    )


def feed_forward() -> Circuit:
    """Mid-circuit measurements whose bits condition later gates (bit and register)."""
    return Circuit(
        3,
        [
            Gate("ry", (0,), (1.1,)),
            Gate("x", (1,), controls=(0,)),
            Gate("h", (2,)),
            Measure(0, "c", 0),
            Gate("rx", (1,), (0.4,), condition=Condition("c", 1, 0)),
            Measure(2, "c", 1),
            Gate("h", (2,)),
            Gate("ry", (0,), (0.9,), condition=Condition("c", 3)),
            Gate("x", (2,), controls=(1,)),
            Gate("rz", (1,), (0.2,)),
            Gate("h", (1,)),
        ],
        {"c": 2},
    )


def terminal_measures() -> Circuit:
    """Measurements at the end, one bit written twice (both qubits are still measured)."""
    return Circuit(
        3,
        [
            Gate("h", (0,)),
            Gate("x", (1,), controls=(0,)),
            Gate("ry", (2,), (0.5,)),
            Measure(0, "c", 0),
            Measure(1, "c", 0),
        ],
        {"c": 1},
    )


CASES = {"entangled reset": entangled_reset, "feed forward": feed_forward}


@pytest.mark.parametrize("case", sorted(CASES))
def test_resets_and_measurements_match_the_density_matrix(
    sim: StatevectorSimulator, case: str
) -> None:
    circuit = CASES[case]()
    observables = observables_on(3, 7)
    expected = oracle_values(circuit, observables)
    np.testing.assert_allclose(expected.imag, 0, atol=1e-12)
    got = estimate(sim, circuit, observables)
    np.testing.assert_allclose(got, expected.real, atol=1e-12)


def test_terminal_measurements_dephase_their_qubits(sim: StatevectorSimulator) -> None:
    circuit = terminal_measures()
    observables = [
        PauliSum([PauliTerm("ZZ", (0, 1))]),
        PauliSum([PauliTerm("XX", (0, 1))]),  # 1 before the measurements, 0 after
        PauliSum([PauliTerm("X", (2,))]),  # an unmeasured qubit keeps its coherence
        *observables_on(3, 3),
    ]
    expected = oracle_values(circuit, observables).real
    assert expected[0] == pytest.approx(1.0) and expected[1] == pytest.approx(0.0)
    assert expected[2] == pytest.approx(np.sin(0.5))
    np.testing.assert_allclose(estimate(sim, circuit, observables), expected, atol=1e-12)
    compiled = sim.compile(circuit)
    assert measured_at_end(circuit, compiled) == 0b011


def test_parameter_sweep_broadcasts_exact_values() -> None:
    sim = StatevectorSimulator()
    a = Parameter("a")
    circuit = Circuit(
        2,
        [
            Gate("ry", (0,), (a,)),
            Gate("x", (1,), controls=(0,)),
            Reset(0),
            Gate("h", (0,)),
            Measure(1, "c", 0),
            Gate("z", (0,), condition=Condition("c", 1, 0)),
        ],
        {"c": 1},
    )
    observables = [PauliSum.from_labels({"IX": 1.0}), PauliSum.from_labels({"ZI": 1.0})]
    angles = np.linspace(0.0, np.pi, 4)
    obs = np.empty((1, 2), dtype=object)
    obs[0, :] = observables
    pub = EstimatorPub(circuit, angles.reshape(4, 1, 1), obs)
    evs = execute("estimator", EstimatorPayload((pub,)), sim)["pubs"][0]["evs"]
    assert evs.shape == (4, 2)
    for row, angle in zip(evs, angles):
        bound = circuit.bind({"a": float(angle)})
        np.testing.assert_allclose(row, oracle_values(bound, observables).real, atol=1e-12)
    # <X_0> = cos(a): the conditional Z undoes H|0>'s sign only when qubit 1 read 1.
    np.testing.assert_allclose(evs[:, 0], np.cos(angles), atol=1e-12)


def test_precision_adds_the_usual_noise_to_the_exact_value() -> None:
    sim = StatevectorSimulator()
    circuit, observables = entangled_reset(), observables_on(3, 11)
    exact = estimate(sim, circuit, observables)
    noisy = estimate(sim, circuit, observables, precision=0.01)
    obs = np.empty(len(observables), dtype=object)
    obs[:] = observables
    payload = EstimatorPayload((EstimatorPub(circuit, None, obs, 0.01),), seed=5)
    seeded = execute("estimator", payload, sim)["pubs"][0]
    np.testing.assert_allclose(
        seeded["evs"], np.random.default_rng(5).normal(exact, 0.01), atol=1e-12
    )
    assert np.all(seeded["stds"] == 0.01)
    assert np.all(np.abs(noisy - exact) < 0.1) and not np.array_equal(noisy, exact)


def test_outcomes_carry_probabilities_that_add_up_to_one(sim: StatevectorSimulator) -> None:
    compiled = sim.compile(feed_forward())
    outcomes = [(w, s.copy()) for w, s in weighted_outcomes(compiled, {}, sim.kernel, sim.memory)]
    assert len(outcomes) == 4  # two measurements with two outcomes each
    assert sum(w for w, _ in outcomes) == pytest.approx(1.0, abs=1e-14)
    for _, state in outcomes:
        assert np.linalg.norm(state) == pytest.approx(1.0, abs=1e-12)


def test_a_reset_of_a_qubit_in_zero_does_not_branch(sim: StatevectorSimulator) -> None:
    circuit = Circuit(2, [Gate("x", (0,)), Reset(0), Reset(1), Gate("h", (1,)), Reset(0)])
    compiled = sim.compile(circuit)
    outcomes = list(weighted_outcomes(compiled, {}, sim.kernel, sim.memory))
    assert [w for w, _ in outcomes] == [1.0]
    observable = [PauliSum.from_labels({"XZ": 1.0})]
    np.testing.assert_allclose(estimate(sim, circuit, observable), [1.0], atol=1e-12)


def _many_splits(count: int) -> Circuit:
    ops: list = []
    for _ in range(count):
        ops += [Gate("h", (0,)), Measure(0, "c", 0)]
    return Circuit(2, [*ops, Gate("h", (0,)), Gate("x", (1,), controls=(0,))], {"c": 1})


def test_too_many_outcomes_is_a_clear_error() -> None:
    sim = StatevectorSimulator()
    compiled = sim.compile(_many_splits(4))
    with pytest.raises(ResourceTooLargeError, match="more than 8; use the sampler"):
        list(weighted_outcomes(compiled, {}, sim.kernel, sim.memory, limit=8))
    assert len(list(weighted_outcomes(compiled, {}, sim.kernel, sim.memory, limit=16))) == 16


def test_branching_respects_the_memory_guard_and_the_simulator_survives() -> None:
    sim = StatevectorSimulator()
    circuit = _many_splits(6)
    observables = [PauliSum.from_labels({"ZZ": 1.0})]
    width = sim.compile(circuit).width
    sim.max_memory = 2 * (2**width) * sim.dtype.itemsize  # room for two states, not three
    with pytest.raises(ResourceTooLargeError, match="outcome branches held at once"):
        estimate(sim, circuit, observables)
    sim.max_memory = None
    np.testing.assert_allclose(estimate(sim, circuit, observables), [1.0], atol=1e-12)
    np.testing.assert_allclose(estimate(sim, entangled_reset(), observables), [0.0], atol=1e-12)


# -- Hermitian observables -------------------------------------------------------------------
def test_a_non_hermitian_observable_is_refused_naming_it() -> None:
    circuit = entangled_reset()
    bad = PauliSum([PauliTerm("Z", (0,), 1.0), PauliTerm("XY", (1, 2), 0.5 + 0.25j)])
    obs = np.empty(2, dtype=object)
    obs[:] = [PauliSum.from_labels({"ZZI": 1.0}), bad]
    with pytest.raises(InputError, match=r"observable 1 is not Hermitian: the term X1 Y2"):
        EstimatorPub(circuit, None, obs)
    sim = StatevectorSimulator()
    with pytest.raises(InputError, match="observable 0 is not Hermitian"):
        pauli_table(sim.compile(circuit), [bad])


def test_complex_parts_that_cancel_are_hermitian() -> None:
    summed = PauliSum([PauliTerm("Z", (0,), 1 + 1j), PauliTerm("Z", (0,), 1 - 1j)])
    check_hermitian(summed)  # 2 Z
    sim = StatevectorSimulator()
    circuit = Circuit(1, [Gate("x", (0,))])
    np.testing.assert_allclose(estimate(sim, circuit, [summed]), [-2.0], atol=1e-12)


def test_dephased_drops_strings_with_x_or_y_on_measured_positions() -> None:
    table = PauliTable(
        np.array([0b00, 0b01, 0b10, 0b11], dtype=np.uint64),
        np.array([0b01, 0b01, 0b00, 0b10], dtype=np.uint64),
        np.ones((1, 4)),
    )
    np.testing.assert_array_equal(dephased(table, 0b01).coeffs, [[1.0, 0.0, 1.0, 0.0]])
    assert dephased(table, 0) is table
