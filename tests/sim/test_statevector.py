"""The simulator against an independent dense oracle, plus sampling, branching and limits."""

from __future__ import annotations

import math
from collections.abc import Callable

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
from qsession_provider.errors import (
    InputError,
    InvalidProgramError,
    ResourceTooLargeError,
    UnboundParameterError,
)
from qsession_provider.sim import StatevectorSimulator

KERNELS = ["c", "reference"]


@pytest.fixture(params=KERNELS)
def sim(request: pytest.FixtureRequest) -> StatevectorSimulator:
    return StatevectorSimulator(kernel=request.param)


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.parametrize("seed", range(3))
def test_random_circuits_match_dense_oracle(
    sim: StatevectorSimulator,
    dense_oracle: Callable,
    make_random_program: Callable,
    n: int,
    seed: int,
) -> None:
    program = make_random_program(n, 12 * n, seed)
    np.testing.assert_allclose(sim.final_state(program), dense_oracle(program), atol=1e-10)


def test_single_precision_matches_to_float_accuracy(
    dense_oracle: Callable, make_random_program: Callable
) -> None:
    program = make_random_program(6, 60, 11)
    state = StatevectorSimulator(precision="single").final_state(program)
    assert state.dtype == np.complex64
    np.testing.assert_allclose(state, dense_oracle(program), atol=1e-5)


def test_c_kernel_agrees_with_reference_on_12_qubits(make_random_program: Callable) -> None:
    program = make_random_program(12, 150, 3)
    c = StatevectorSimulator(kernel="c").final_state(program)
    ref = StatevectorSimulator(kernel="reference").final_state(program)
    np.testing.assert_allclose(c, ref, atol=1e-10)


def test_parameters_are_bound_at_run_time(
    sim: StatevectorSimulator, dense_oracle: Callable
) -> None:
    a, b = Parameter("a"), Parameter("b")
    program = Circuit(
        2,
        [
            Gate("ry", (0,), (a,)),
            Gate("rzz", (0, 1), (2 * a - b,)),
            Gate("u", (1,), (b, a, b.apply("cos"))),
        ],
        global_phase=b,
    )
    for values in ({"a": 0.1, "b": 0.7}, {"a": -2.0, "b": 3.0}):
        np.testing.assert_allclose(
            sim.final_state(program, values), dense_oracle(program, values), atol=1e-12
        )
    with pytest.raises(UnboundParameterError, match="b"):
        sim.final_state(program, {"a": 1.0})
    with pytest.raises(InvalidProgramError, match="NaN or infinite"):
        sim.final_state(program, {"a": 1.0, "b": math.inf})


def _bell(n: int = 2, q0: int = 0, q1: int = 1) -> Circuit:
    return Circuit(
        n,
        [
            Gate("h", (q0,)),
            Gate("x", (q1,), controls=(q0,)),
            Measure(q0, "c", 0),
            Measure(q1, "c", 1),
        ],
        {"c": 2},
    )


def test_sampling_matches_probabilities_and_seeds_repeat(
    sim: StatevectorSimulator, make_random_program: Callable
) -> None:
    base = make_random_program(4, 30, 5)
    program = Circuit(4, [*base.operations, *(Measure(q, "m", q) for q in range(4))], {"m": 4})
    shots = 20000
    bits = sim.sample(program, shots, seed=123)["m"]
    ints = (bits.astype(np.int64) << np.arange(4)).sum(axis=1)
    freq = np.bincount(ints, minlength=16) / shots
    exact = np.abs(sim.final_state(base)) ** 2
    bound = 5 * np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / shots) + 1 / shots
    assert np.all(np.abs(freq - exact) <= bound)
    again = sim.sample(program, shots, seed=123)["m"]
    np.testing.assert_array_equal(bits, again)
    assert not np.array_equal(bits, sim.sample(program, shots, seed=124)["m"])


def test_zero_probability_outcomes_never_appear(sim: StatevectorSimulator) -> None:
    bits = sim.sample(_bell(), 5000, seed=1)["c"]
    assert set(map(tuple, bits.tolist())) <= {(0, 0), (1, 1)}
    assert 2000 < bits[:, 0].sum() < 3000


def test_idle_qubits_cost_nothing_and_bits_map_back(sim: StatevectorSimulator) -> None:
    # A 127-qubit "ISA" circuit that touches 5 qubits, measured into two registers.
    ops = [
        Gate("x", (100,)),
        Gate("h", (3,)),
        Gate("x", (64,), controls=(3,)),
        Gate("x", (126,)),
        Gate("id", (7,)),
        Measure(100, "alpha", 0),
        Measure(3, "alpha", 1),
        Measure(64, "beta", 0),
        Measure(126, "beta", 1),
        Measure(50, "beta", 2),
    ]
    program = Circuit(127, ops, {"alpha": 2, "beta": 3})
    assert sim.compile(program).width == 5
    out = sim.sample(program, 1000, seed=3)
    alpha, beta = out["alpha"], out["beta"]
    assert alpha.shape == (1000, 2) and beta.shape == (1000, 3)
    assert np.all(alpha[:, 0] == 1) and np.all(beta[:, 1] == 1) and np.all(beta[:, 2] == 0)
    np.testing.assert_array_equal(alpha[:, 1], beta[:, 0])
    assert 400 < alpha[:, 1].sum() < 600
    z_idle = PauliSum([PauliTerm("Z", (90,))])
    x_idle = PauliSum([PauliTerm("X", (90,))])
    z_used = PauliSum([PauliTerm("ZZ", (100, 126), 2.0)])
    unitary = Circuit(127, [op for op in ops if isinstance(op, Gate)])
    np.testing.assert_allclose(sim.expectation_values(unitary, [z_idle, x_idle, z_used]), [1, 0, 2])
    with pytest.raises(ResourceTooLargeError, match="127-qubit"):
        sim.final_state(unitary)


def test_mid_circuit_measurement_branches(sim: StatevectorSimulator) -> None:
    # H, measure, H, measure: the two bits are independent fair coins.
    program = Circuit(
        1, [Gate("h", (0,)), Measure(0, "c", 0), Gate("h", (0,)), Measure(0, "c", 1)], {"c": 2}
    )
    bits = sim.sample(program, 8000, seed=9)["c"]
    counts = np.bincount(bits[:, 0] + 2 * bits[:, 1], minlength=4) / 8000
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_reset_and_classical_condition(sim: StatevectorSimulator) -> None:
    program = Circuit(
        3,
        [
            Gate("h", (0,)),
            Measure(0, "c", 0),
            Gate("x", (1,), condition=Condition("c", 1, 0)),
            Reset(0),
            Gate("h", (2,)),
            Reset(2),
            Measure(0, "c", 1),
            Measure(1, "c", 2),
            Measure(2, "d", 0),
        ],
        {"c": 3, "d": 1},
    )
    out = sim.sample(program, 4000, seed=2)
    c, d = out["c"], out["d"]
    np.testing.assert_array_equal(c[:, 0], c[:, 2])  # x applied exactly when c[0] == 1
    assert np.all(c[:, 1] == 0) and np.all(d == 0)  # reset qubits read 0
    assert 1700 < c[:, 0].sum() < 2300


def test_register_condition_and_overwritten_bit(sim: StatevectorSimulator) -> None:
    program = Circuit(
        2,
        [
            Gate("x", (0,)),
            Measure(0, "c", 0),
            Measure(1, "c", 1),
            Gate("x", (1,), condition=Condition("c", 1)),
            Measure(1, "c", 0),
        ],
        {"c": 2},
    )
    bits = sim.sample(program, 10, seed=0)["c"]
    # c was 0b01 -> condition true -> q1 flipped; last write of c[0] is q1's value 1
    np.testing.assert_array_equal(bits, [[1, 0]] * 10)


def test_expectation_values_match_dense(
    sim: StatevectorSimulator, dense_oracle: Callable, make_random_program: Callable
) -> None:
    rng = np.random.default_rng(4)
    program = make_random_program(5, 40, 8)
    state = dense_oracle(program)
    mats = {
        "I": np.eye(2),
        "X": np.array([[0, 1], [1, 0]]),
        "Y": np.array([[0, -1j], [1j, 0]]),
        "Z": np.diag([1, -1]),
    }
    observables, expected = [], []
    for _ in range(6):
        labels = ["".join(rng.choice(list("IXYZ"), 5)) for _ in range(4)]
        coeffs = rng.normal(size=4)
        observables.append(PauliSum.from_labels(dict(zip(labels, coeffs))))
        total = 0.0
        for label, coeff in zip(labels, coeffs):
            op = np.array([[1.0]])
            for ch in label:  # leftmost letter acts on the highest qubit
                op = np.kron(op, mats[ch])
            total += coeff * np.vdot(state, op @ state).real
        expected.append(total)
    np.testing.assert_allclose(sim.expectation_values(program, observables), expected, atol=1e-10)


def test_memory_is_checked_before_allocating() -> None:
    small = StatevectorSimulator(max_memory=2**20)
    program = Circuit(20, [Gate("h", (q,)) for q in range(20)])
    with pytest.raises(ResourceTooLargeError, match="16.0 MiB|0.0 GiB|20-qubit"):
        small.final_state(program)
    huge = Circuit(45, [Gate("h", (q,)) for q in range(45)])
    with pytest.raises(ResourceTooLargeError, match="45-qubit complex128"):
        StatevectorSimulator().final_state(huge)
    # the simulator still works afterwards
    assert small.final_state(Circuit(2, [Gate("h", (0,))])).shape == (4,)


def test_bad_inputs(sim: StatevectorSimulator) -> None:
    with pytest.raises(InputError, match="shots"):
        sim.sample(_bell(), 0)
    with pytest.raises(InputError, match="shots"):
        sim.sample(_bell(), -5)
    with pytest.raises(InvalidProgramError, match="unitary program"):
        sim.final_state(_bell())
    with pytest.raises(InputError, match="Circuit"):
        sim.compile("not a program")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="precision"):
        StatevectorSimulator(precision="quad")


def test_inputs_are_not_mutated(sim: StatevectorSimulator) -> None:
    a = Parameter("a")
    m = np.eye(2, dtype=complex)
    program = Circuit(
        1, [Gate("rx", (0,), (a,)), Gate("unitary", (0,), matrix=m), Measure(0, "c", 0)], {"c": 1}
    )
    key = program.structure_key()
    values = {"a": 0.3}
    sim.sample(program, 10, values, seed=1)
    assert values == {"a": 0.3} and program.structure_key() == key


def test_compile_cache_reuses_structure(sim: StatevectorSimulator) -> None:
    a = Parameter("a")
    p1 = Circuit(1, [Gate("rx", (0,), (a,))])
    p2 = Circuit(1, [Gate("rx", (0,), (a,))])
    assert sim.compile(p1) is sim.compile(p2)
