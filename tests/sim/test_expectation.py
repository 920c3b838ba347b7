"""Expectation values of Pauli sums: against dense operators, fused against unfused, and the
cache of Pauli tables."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qsession_provider.core import PauliSum, PauliTerm
from qsession_provider.sim import StatevectorSimulator
from tests.sim.conftest import parameterised


def test_expectation_values_match_dense(
    sim: StatevectorSimulator, dense_oracle: Callable, make_random_program: Callable
) -> None:
    rng = np.random.default_rng(4)
    circuit = make_random_program(5, 40, 8)
    state = dense_oracle(circuit)
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
    np.testing.assert_allclose(sim.expectation_values(circuit, observables), expected, atol=1e-10)


def test_expectations_fused_match_unfused_and_cache_masks(make_random_program: Callable) -> None:
    circuit, values = parameterised(make_random_program(6, 80, 2), 2)
    rng = np.random.default_rng(1)
    observables = [
        PauliSum.from_labels({"".join(rng.choice(list("IXYZ"), 6)): complex(rng.normal())})
        for _ in range(5)
    ]
    observables.append(PauliSum([PauliTerm("", ())]))  # identity
    fused = StatevectorSimulator()
    plain = StatevectorSimulator(fusion=False)
    first = fused.expectation_values(circuit, observables, values)
    np.testing.assert_allclose(
        first, plain.expectation_values(circuit, observables, values), atol=1e-10
    )
    np.testing.assert_allclose(fused.expectation_values(circuit, observables, values), first)
    assert len(fused._obs_cache) == 1  # one table for this (circuit, observables) pair
    compiled = fused.compile(circuit)
    row = np.array([values[p] for p in circuit.parameters])
    by_array = fused.expectations_of_state(compiled, fused.evolve(compiled, row), observables)
    np.testing.assert_allclose(by_array, first, atol=1e-12)
