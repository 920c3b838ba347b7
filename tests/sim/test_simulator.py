"""The simulator against an independent dense oracle: final states, parameters, sampling,
idle qubits, bad input and its caches."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import (
    Circuit,
    Gate,
    Measure,
    Parameter,
    PauliSum,
    PauliTerm,
)
from qsession_provider.errors import (
    InputError,
    InvalidCircuitError,
    ResourceTooLargeError,
    UnboundParameterError,
)
from qsession_provider.sim import StatevectorSimulator
from tests.sim.conftest import bell


@pytest.mark.parametrize("n", range(1, 8))
@pytest.mark.parametrize("seed", range(3))
def test_random_circuits_match_dense_oracle(
    sim: StatevectorSimulator,
    dense_oracle: Callable,
    make_random_program: Callable,
    n: int,
    seed: int,
) -> None:
    circuit = make_random_program(n, 12 * n, seed)
    np.testing.assert_allclose(sim.final_state(circuit), dense_oracle(circuit), atol=1e-10)


def test_single_precision_matches_to_float_accuracy(
    dense_oracle: Callable, make_random_program: Callable
) -> None:
    circuit = make_random_program(6, 60, 11)
    state = StatevectorSimulator(precision="single").final_state(circuit)
    assert state.dtype == np.complex64
    np.testing.assert_allclose(state, dense_oracle(circuit), atol=1e-5)


def test_c_kernel_agrees_with_reference_on_12_qubits(make_random_program: Callable) -> None:
    circuit = make_random_program(12, 150, 3)
    c = StatevectorSimulator(kernel="c").final_state(circuit)
    ref = StatevectorSimulator(kernel="reference").final_state(circuit)
    np.testing.assert_allclose(c, ref, atol=1e-10)


def test_parameters_are_bound_at_run_time(
    sim: StatevectorSimulator, dense_oracle: Callable
) -> None:
    a, b = Parameter("a"), Parameter("b")
    circuit = Circuit(
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
            sim.final_state(circuit, values), dense_oracle(circuit, values), atol=1e-12
        )
    with pytest.raises(UnboundParameterError, match="b"):
        sim.final_state(circuit, {"a": 1.0})
    with pytest.raises(InvalidCircuitError, match="NaN or infinite"):
        sim.final_state(circuit, {"a": 1.0, "b": math.inf})


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
    circuit = Circuit(4, [*base.operations, *(Measure(q, "m", q) for q in range(4))], {"m": 4})
    shots = 20000
    bits = sim.sample(circuit, shots, seed=123)["m"]
    ints = (bits.astype(np.int64) << np.arange(4)).sum(axis=1)
    freq = np.bincount(ints, minlength=16) / shots
    exact = np.abs(sim.final_state(base)) ** 2
    bound = 5 * np.sqrt(np.maximum(exact * (1 - exact), 1e-12) / shots) + 1 / shots
    assert np.all(np.abs(freq - exact) <= bound)
    again = sim.sample(circuit, shots, seed=123)["m"]
    np.testing.assert_array_equal(bits, again)
    assert not np.array_equal(bits, sim.sample(circuit, shots, seed=124)["m"])


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
    circuit = Circuit(127, ops, {"alpha": 2, "beta": 3})
    assert sim.compile(circuit).width == 5
    out = sim.sample(circuit, 1000, seed=3)
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


def test_bad_inputs(sim: StatevectorSimulator) -> None:
    with pytest.raises(InputError, match="shots"):
        sim.sample(_bell(), 0)
    with pytest.raises(InputError, match="shots"):
        sim.sample(_bell(), -5)
    with pytest.raises(InvalidCircuitError, match="unitary circuit"):
        sim.final_state(_bell())
    with pytest.raises(InputError, match="Circuit"):
        sim.compile("not a circuit")  # type: ignore[arg-type]
    with pytest.raises(InputError, match="precision"):
        StatevectorSimulator(precision="quad")


def test_inputs_are_not_mutated(sim: StatevectorSimulator) -> None:
    a = Parameter("a")
    m = np.eye(2, dtype=complex)
    circuit = Circuit(
        1, [Gate("rx", (0,), (a,)), Gate("unitary", (0,), matrix=m), Measure(0, "c", 0)], {"c": 1}
    )
    key = circuit.structure_key()
    values = {"a": 0.3}
    sim.sample(circuit, 10, values, seed=1)
    assert values == {"a": 0.3} and circuit.structure_key() == key


def test_compile_cache_reuses_structure(sim: StatevectorSimulator) -> None:
    a = Parameter("a")
    p1 = Circuit(1, [Gate("rx", (0,), (a,))])
    p2 = Circuit(1, [Gate("rx", (0,), (a,))])
    assert sim.compile(p1) is sim.compile(p2)


@pytest.mark.parametrize("active", [(1, 4), (0, 1, 5), (2,), (0, 3, 4, 6)])
def test_final_state_with_idle_qubits_matches_oracle(
    active: tuple[int, ...], dense_oracle: Callable
) -> None:
    rng = np.random.default_rng(len(active))
    ops = [Gate("u", (q,), tuple(rng.uniform(0, 3, 3))) for q in active]
    ops += [Gate("x", (b,), controls=(a,)) for a, b in zip(active, active[1:])]
    circuit = Circuit(7, ops, global_phase=0.3)
    np.testing.assert_allclose(
        StatevectorSimulator().final_state(circuit), dense_oracle(circuit), atol=1e-12
    )


def test_compiled_for_remembers_programs_by_identity() -> None:
    sim = StatevectorSimulator()
    circuit = bell()
    compiled = sim.compiled_for(circuit)
    assert sim.compiled_for(circuit) is compiled
    assert sim.compile(circuit) is compiled
    assert sim.compiled_for(bell()) is compiled  # same structure: the compile cache
    for k in range(100):  # the identity cache stays bounded
        sim.compiled_for(Circuit(1, [Gate("rx", (0,), (0.01 * k,))]))
    assert len(sim._by_circuit) <= 64


def test_compile_cache_is_an_lru_keyed_by_structure() -> None:
    sim = StatevectorSimulator(cache_size=3)
    a = Parameter("a")

    def circuit(k: int) -> Circuit:  # a new object each time, with expressions to compare
        return Circuit(2, [Gate("rx", (0,), (a * (k + 1),)), Gate("x", (1,), controls=(0,))])

    first = [sim.compile(circuit(k)) for k in range(3)]
    assert all(sim.compile(circuit(k)) is first[k] for k in range(3))  # equal structures hit
    assert sim.compile(circuit(0)) is first[0]  # 0 is now the most recent: 1 goes next
    sim.compile(circuit(3))
    assert len(sim._cache) == 3
    assert sim.compile(circuit(0)) is first[0] and sim.compile(circuit(2)) is first[2]
    assert sim.compile(circuit(1)) is not first[1]  # evicted, compiled again
    key = next(iter(sim._cache))
    assert key == key and key != object() and hash(key) == key.hash
