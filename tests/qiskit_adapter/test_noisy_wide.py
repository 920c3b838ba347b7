"""Wide noisy Clifford circuits through the Qiskit face: a 127-qubit GHZ with Pauli noise
agrees with Aer's stabilizer method; on ``fake_sherbrooke`` (calibration noise, not all
Pauli) it runs on stim with the noise twirled, as its metadata says."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")
aer = pytest.importorskip("qiskit_aer")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_aer.noise import NoiseModel, ReadoutError, depolarizing_error  # noqa: E402

from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, VirtualClock  # noqa: E402

SHOTS = 2000


@pytest.fixture(scope="module")
def service() -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def _ghz(backend: object) -> QuantumCircuit:
    qc = QuantumCircuit(127)
    qc.h(0)
    for q in range(126):
        qc.cx(q, q + 1)
    qc.measure_all()
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
    return pm.run(qc)


def _profile(bits: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per-bit P(1), and P(bit i equals bit i+1) along the GHZ chain."""
    return bits.mean(axis=0), (bits[:, 1:] == bits[:, :-1]).mean(axis=0)


def test_a_noisy_127_qubit_ghz_agrees_with_aers_stabilizer_method(
    service: QiskitRuntimeService,
) -> None:
    eagle = service.backend("emulated_eagle_127")
    isa = _ghz(eagle)
    model = NoiseModel()
    model.add_all_qubit_quantum_error(depolarizing_error(0.002, 1), ["sx", "x", "rz"])
    model.add_all_qubit_quantum_error(depolarizing_error(0.01, 2), ["cz"])
    model.add_all_qubit_readout_error(ReadoutError([[0.98, 0.02], [0.03, 0.97]]))
    sampler = SamplerV2(
        mode=eagle, options={"simulator": {"noise_model": model, "seed_simulator": 4}}
    )
    result = sampler.run([isa], shots=SHOTS).result()[0]
    assert result.metadata["simulator_metadata"]["method"] == "stabilizer"
    ours = result.data.meas.to_bool_array(order="little")
    theirs_counts = (
        aer.AerSimulator(method="stabilizer", noise_model=model)
        .run(isa, shots=SHOTS, seed_simulator=4)
        .result()
        .get_counts()
    )
    rows = [[c == "1" for c in key[::-1]] for key, n in theirs_counts.items() for _ in range(n)]
    theirs = np.array(rows, dtype=bool)
    (p_ours, same_ours), (p_theirs, same_theirs) = _profile(ours), _profile(theirs)
    # 2000 shots: a frequency's standard error is at most 0.011
    assert np.abs(p_ours - p_theirs).max() < 0.07
    assert np.abs(same_ours - same_theirs).max() < 0.07
    assert abs(same_ours.mean() - same_theirs.mean()) < 0.01


def test_fake_sherbrookes_calibration_noise_runs_twirled_on_stim(
    service: QiskitRuntimeService,
) -> None:
    sherbrooke = service.backend("fake_sherbrooke")
    result = SamplerV2(mode=sherbrooke).run([_ghz(sherbrooke)], shots=SHOTS).result()[0]
    meta = result.metadata["simulator_metadata"]
    assert meta == {"method": "stabilizer", "noise_model": "fake_sherbrooke (Pauli-twirled)"}
    p, same = _profile(result.data.meas.to_bool_array(order="little"))
    assert 0.35 < p.mean() < 0.65  # a noisy GHZ: each bit about as often 0 as 1
    # Neighbours still agree in most shots (a few of sherbrooke's qubits read at random:
    # their calibration gives them readout errors near 0.5).
    assert np.median(same) > 0.85 and (same < 0.6).sum() <= 20
