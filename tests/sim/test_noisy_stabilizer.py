"""Noisy Clifford circuits on the stabilizer method: Pauli channels and readout errors run on
stim exactly; other channels as their Pauli twirl where the statevector cannot run them."""

from __future__ import annotations

import numpy as np
import pytest

pytest.importorskip("stim")

from qsession_provider.core.ir import Circuit, Gate, Measure, NoiseModel  # noqa: E402
from qsession_provider.core.ir.noise import (  # noqa: E402
    amplitude_damping,
    depolarizing,
    thermal_relaxation,
)
from qsession_provider.core.ir.payload import RunPayload  # noqa: E402
from qsession_provider.errors import InputError  # noqa: E402
from qsession_provider.sim import StatevectorSimulator, execute  # noqa: E402
from qsession_provider.sim.stabilizer import pauli_twirl  # noqa: E402

N = 18
SHOTS = 4000


def _ghz(n: int = N, extra: list[Gate] | None = None) -> Circuit:
    ops = [Gate("h", (0,))]
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(n - 1)]
    ops += extra or []
    ops += [Measure(q, "c", q) for q in range(n)]
    return Circuit(n, ops, {"c": n})


def _pauli_model() -> NoiseModel:
    return NoiseModel(
        default={"h": (depolarizing(0, 0.02),), "cx": (depolarizing((0, 1), 0.03),)},
        default_readout=np.array([[0.97, 0.03], [0.05, 0.95]]),
        name="pauli",
    )


def _run(circuit: Circuit, model: NoiseModel, method: str, seed: int = 5) -> dict:
    payload = RunPayload((model.apply(circuit),), SHOTS, False, seed, {"method": method})
    return execute("run", payload, StatevectorSimulator())["results"][0]


def _ones(entry: dict) -> np.ndarray:
    """How many bits read 1 in each shot."""
    return entry["registers"]["c"].unpack().sum(axis=1)


def test_pauli_noise_on_stim_matches_the_trajectory_engine() -> None:
    model = _pauli_model()
    stim_run = _run(_ghz(), model, "automatic")
    exact = _run(_ghz(), model, "statevector")
    assert stim_run["method"] == "stabilizer" and exact["method"] == "trajectories"
    a = np.bincount(_ones(stim_run), minlength=N + 1) / SHOTS
    b = np.bincount(_ones(exact), minlength=N + 1) / SHOTS
    # total variation of two samples of SHOTS each over N + 1 bins: ~0.05 at most by chance
    assert 0.5 * np.abs(a - b).sum() < 0.08
    ma = stim_run["registers"]["c"].unpack().mean(axis=0)
    mb = exact["registers"]["c"].unpack().mean(axis=0)
    assert np.abs(ma - mb).max() < 0.06  # per-bit marginals within ~4 sigma
    assert 0.3 < ma.mean() < 0.7 and a[0] > 0.05 and a[N] > 0.05  # GHZ-like, noisy


def test_readout_errors_flip_recorded_bits_with_their_odds() -> None:
    ideal_zero = Circuit(20, [Measure(q, "c", q) for q in range(20)], {"c": 20})
    # one Clifford gate to make it a stabilizer circuit of 20 qubits; all read 0 ideally
    circuit = Circuit(20, [Gate("z", (0,)), *ideal_zero.operations], {"c": 20})
    model = NoiseModel(default_readout=np.array([[0.9, 0.1], [0.0, 1.0]]), name="readout")
    entry = _run(circuit, model, "automatic")
    assert entry["method"] == "stabilizer"
    flipped = entry["registers"]["c"].unpack().mean()
    assert flipped == pytest.approx(0.1, abs=0.01)


def test_non_pauli_noise_runs_exactly_where_it_fits_and_twirled_when_asked() -> None:
    relax = thermal_relaxation(0, t1=50e-6, t2=40e-6, time=1e-6)
    model = NoiseModel(default={"cx": (relax,)}, name="relaxation")
    assert _run(_ghz(), model, "automatic")["method"] == "trajectories"  # 18 qubits fit
    forced = _run(_ghz(), model, "stabilizer")
    assert forced["method"] == "stabilizer"
    assert forced["noise"] == "circuit (Pauli-twirled)"  # noise in the circuit, no model


def test_pauli_twirl_probabilities() -> None:
    probs, exact = pauli_twirl(depolarizing(0, 0.3))
    assert exact and probs == pytest.approx([0.075, 0.075, 0.075])
    gamma = 0.2
    probs, exact = pauli_twirl(amplitude_damping(0, gamma))
    assert not exact
    z = (1 - np.sqrt(1 - gamma)) ** 2 / 4
    assert probs == pytest.approx([gamma / 4, gamma / 4, z])
    two, exact = pauli_twirl(depolarizing((0, 1), 0.15))
    assert exact and len(two) == 15 and sum(two) == pytest.approx(0.15 * 15 / 16)


def test_stabilizer_on_a_noisy_non_clifford_circuit_is_a_clear_error() -> None:
    circuit = _ghz(extra=[Gate("t", (0,))])
    with pytest.raises(InputError, match="method='stabilizer' cannot run this circuit"):
        _run(circuit, _pauli_model(), "stabilizer")
    assert _run(circuit, _pauli_model(), "automatic")["method"] == "trajectories"
