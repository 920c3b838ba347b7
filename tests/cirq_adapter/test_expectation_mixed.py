"""``simulate_expectation_values`` of circuits that reset, measure mid-circuit or prepare
states (issue 19, item 3): exact mixed-state values, checked against
``cirq.DensityMatrixSimulator`` (``cirq.Simulator`` samples one trajectory there)."""

from __future__ import annotations

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")

from qsession_provider.cirq import Sampler  # noqa: E402

Q = cirq.LineQubit.range(4)
PSI = np.array([0.6, 0.0, 0.48j, 0.64])
OBSERVABLES = [
    cirq.Z(Q[0]) * cirq.X(Q[1]),
    cirq.X(Q[0]) + 0.3 * cirq.Y(Q[2]),
    cirq.Z(Q[1]),
    cirq.Y(Q[2]),
    cirq.X(Q[1]) - 0.2 * cirq.Z(Q[0]) * cirq.Z(Q[2]),
]


def _head() -> list:
    return [
        cirq.H(Q[0]),
        cirq.CNOT(Q[0], Q[1]),
        cirq.StatePreparationChannel(PSI).on(Q[1], Q[2]),  # on a qubit entangled with Q[0]
        cirq.ry(0.4).on(Q[0]),
        cirq.CNOT(Q[2], Q[0]),
        cirq.ResetChannel().on(Q[1]),
        cirq.H(Q[1]),
    ]


def _mixed(circuit: cirq.Circuit, observables: list) -> list[float]:
    rho = cirq.DensityMatrixSimulator(dtype=np.complex128).simulate(circuit, qubit_order=Q)
    index = {q: i for i, q in enumerate(Q)}
    return [
        cirq.PauliSum.wrap(o).expectation_from_density_matrix(rho.final_density_matrix, index).real
        for o in observables
    ]


@pytest.fixture
def sampler() -> Sampler:
    return Sampler(store=":memory:")


def test_resets_and_state_preparation_give_the_mixed_state_value(sampler: Sampler) -> None:
    circuit = cirq.Circuit(*_head(), cirq.rx(0.3).on(Q[2]), cirq.I(Q[3]))
    got = sampler.simulate_expectation_values(circuit, OBSERVABLES)
    np.testing.assert_allclose(got, _mixed(circuit, OBSERVABLES), atol=1e-12)


def test_mid_circuit_measurement_with_classical_control(sampler: Sampler) -> None:
    circuit = cirq.Circuit(
        *_head(),
        cirq.measure(Q[2], key="m"),
        cirq.X(Q[1]).with_classical_controls("m"),
        cirq.rx(0.3).on(Q[2]),
    )
    deferred = cirq.Circuit(  # the same with the bit kept on an ancilla
        *_head(), cirq.CNOT(Q[2], Q[3]), cirq.CNOT(Q[3], Q[1]), cirq.rx(0.3).on(Q[2])
    )
    got = sampler.simulate_expectation_values(circuit, OBSERVABLES)
    np.testing.assert_allclose(got, _mixed(deferred, OBSERVABLES), atol=1e-12)
    # A terminal measurement whose key a later operation reads is not dropped with the
    # terminal ones (permit_terminal_measurements drops only what nothing reads).
    tail = cirq.Circuit(
        *_head(), cirq.measure(Q[2], key="m"), cirq.X(Q[1]).with_classical_controls("m")
    )
    twin = cirq.Circuit(*_head(), cirq.CNOT(Q[2], Q[3]), cirq.CNOT(Q[3], Q[1]))
    got = sampler.simulate_expectation_values(tail, OBSERVABLES, permit_terminal_measurements=True)
    np.testing.assert_allclose(got, _mixed(twin, OBSERVABLES), atol=1e-12)


def test_complex_values_stay_complex_with_resets(sampler: Sampler) -> None:
    circuit = cirq.Circuit(cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.ResetChannel().on(Q[0]))
    got = sampler.simulate_expectation_values(circuit, [1j * cirq.Z(Q[0]) + 0.5 * cirq.Z(Q[1])])
    assert got == [pytest.approx(1j)] and isinstance(got[0], complex)
