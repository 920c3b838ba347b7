"""Cirq noise in the Cirq face: channels in circuits and a sampler's noise model, checked
against cirq.DensityMatrixSimulator (a test-only oracle)."""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterator

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")

from qsession_provider.cirq import Sampler  # noqa: E402
from qsession_provider.core import VirtualClock  # noqa: E402

SHOTS = 4000
Q = cirq.LineQubit.range(3)


@pytest.fixture(scope="module")
def sampler() -> Iterator[Sampler]:
    s = Sampler("statevector", clock=VirtualClock(), seed=3)
    yield s
    s.runtime.shutdown()


def exact(circuit: cirq.Circuit, noise: object = None) -> dict[int, float]:
    """Outcome probabilities of the terminal measurement 'm' from the final density matrix."""
    body = cirq.Circuit(op for op in circuit.all_operations() if not cirq.is_measurement(op))
    sim = cirq.DensityMatrixSimulator(noise=noise)
    rho = sim.simulate(body, qubit_order=Q).final_density_matrix
    probs = np.real(np.diag(rho))
    return {i: float(p) for i, p in enumerate(probs)}


def assert_close(probs: dict[int, float], counts: Counter[int], shots: int) -> None:
    keys = set(probs) | set(counts)
    bound = (
        0.5 * sum(4 * math.sqrt(p * (1 - p) / shots) for p in probs.values()) + len(keys) / shots
    )
    distance = 0.5 * sum(abs(probs.get(k, 0.0) - counts.get(k, 0) / shots) for k in keys)
    assert distance < bound, (distance, bound)


CHANNELS = {
    "depolarize": cirq.depolarize(0.2).on(Q[0]),
    "depolarize2": cirq.depolarize(0.15, n_qubits=2).on(Q[0], Q[2]),
    "asymmetric": cirq.asymmetric_depolarize(0.05, 0.1, 0.15).on(Q[1]),
    "amplitude_damp": cirq.amplitude_damp(0.3).on(Q[1]),
    "generalized_ad": cirq.generalized_amplitude_damp(0.7, 0.4).on(Q[0]),
    "phase_damp": cirq.phase_damp(0.5).on(Q[0]),
    "bit_flip": cirq.bit_flip(0.2).on(Q[2]),
    "phase_flip": cirq.phase_flip(0.3).on(Q[1]),
    "kraus": cirq.KrausChannel(
        [np.array([[1, 0], [0, math.sqrt(0.6)]]), np.array([[0, math.sqrt(0.4)], [0, 0]])]
    ).on(Q[2]),
    "mixed_unitary": cirq.MixedUnitaryChannel([(0.7, np.eye(2)), (0.3, cirq.unitary(cirq.Y))]).on(
        Q[0]
    ),
}


def _circuit(channel: cirq.Operation) -> cirq.Circuit:
    return cirq.Circuit(
        cirq.H(Q[0]),
        cirq.X(Q[1]) ** 0.7,
        cirq.CNOT(Q[0], Q[2]),
        channel,
        cirq.H(Q[0]),
        cirq.CZ(Q[1], Q[2]),
        cirq.measure(*Q, key="m"),
    )


@pytest.mark.parametrize("name", list(CHANNELS))
def test_channels_in_circuits_agree_with_the_density_matrix_simulator(
    name: str, sampler: Sampler
) -> None:
    circuit = _circuit(CHANNELS[name])
    counts = sampler.run(circuit, repetitions=SHOTS).histogram(key="m")
    assert_close(exact(circuit), counts, SHOTS)


def test_a_samplers_noise_model_applies_as_the_density_matrix_simulator_applies_it() -> None:
    noise = cirq.ConstantQubitNoiseModel(cirq.amplitude_damp(0.1))
    noisy = Sampler("statevector", clock=VirtualClock(), seed=5, noise=noise)
    try:
        circuit = cirq.Circuit(
            cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.X(Q[2]), cirq.measure(*Q, key="m")
        )
        counts = noisy.run(circuit, repetitions=SHOTS).histogram(key="m")
        oracle = cirq.DensityMatrixSimulator(noise=noise, seed=1).run(circuit, repetitions=50_000)
        probs = {k: v / 50_000 for k, v in oracle.histogram(key="m").items()}
        assert_close(probs, counts, SHOTS)
        # depolarizing as a bare channel (NOISE_MODEL_LIKE), and expectation values
        dep = Sampler("statevector", clock=VirtualClock(), seed=5, noise=cirq.depolarize(0.1))
        body = cirq.Circuit(cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]))
        obs = cirq.Z(Q[0]) * cirq.Z(Q[1])
        value = dep.simulate_expectation_values(body, [obs])[0]
        rho = cirq.DensityMatrixSimulator(noise=cirq.depolarize(0.1)).simulate(body)
        want = obs.expectation_from_density_matrix(
            rho.final_density_matrix, {q: i for i, q in enumerate(sorted(body.all_qubits()))}
        )
        assert value == pytest.approx(want.real, abs=1e-6)  # cirq: complex64
        dep.runtime.shutdown()
    finally:
        noisy.runtime.shutdown()


def test_seeded_noisy_runs_repeat_and_mid_circuit_measurements_work() -> None:
    circuit = cirq.Circuit(
        cirq.H(Q[0]),
        cirq.measure(Q[0], key="a"),
        cirq.X(Q[1]).with_classical_controls("a"),
        cirq.amplitude_damp(0.5).on(Q[1]),
        cirq.measure(Q[1], key="b"),
    )
    runs = []
    for _ in range(2):
        s = Sampler("statevector", clock=VirtualClock(), seed=11)
        runs.append(s.run(circuit, repetitions=2000).data)
        s.runtime.shutdown()
    assert runs[0].equals(runs[1])
    a, b = runs[0]["a"].to_numpy(), runs[0]["b"].to_numpy()
    assert not b[a == 0].any()  # no X, no excitation
    frac = b[a == 1].mean()  # X then damping 0.5
    assert abs(frac - 0.5) < 4 * math.sqrt(0.25 / max(1, (a == 1).sum())) + 0.01


def test_bad_noise_is_a_clear_error_and_the_sampler_keeps_working(sampler: Sampler) -> None:
    three = cirq.depolarize(0.1, n_qubits=3).on(*Q)
    with pytest.raises(ValueError, match="acts on 3 qubits; at most 2"):
        sampler.run(cirq.Circuit(three, cirq.measure(*Q, key="m")), repetitions=10)
    with pytest.raises(ValueError, match="not a Cirq noise model"):
        Sampler("statevector", clock=VirtualClock(), noise="loud")
    ok = sampler.run(cirq.Circuit(cirq.X(Q[0]), cirq.measure(Q[0], key="m")), repetitions=10)
    assert ok.histogram(key="m") == Counter({1: 10})
