"""Noise in the Qiskit face: fake backends' calibration noise and users' Aer noise models,
checked against Qiskit Aer on the same model (a test-only oracle)."""

from __future__ import annotations

import math
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")
aer = pytest.importorskip("qiskit_aer")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.quantum_info import SparsePauliOp, SuperOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_aer import AerSimulator  # noqa: E402
from qiskit_aer.noise import (  # noqa: E402
    NoiseModel as AerNoiseModel,
)
from qiskit_aer.noise import (  # noqa: E402
    ReadoutError,
    depolarizing_error,
    thermal_relaxation_error,
)
from qiskit_ibm_runtime.exceptions import IBMBackendValueError, IBMInputValueError  # noqa: E402
from qiskit_ibm_runtime.fake_provider import FakeSherbrooke  # noqa: E402

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
)
from qsession_provider.qiskit._noise import from_aer, noise_model_from_backend  # noqa: E402

SHOTS = 4000
ORACLE_SHOTS = 30_000


@pytest.fixture(scope="module")
def service() -> Iterator[QiskitRuntimeService]:
    service = QiskitRuntimeService(clock=VirtualClock())
    yield service
    service.runtime.shutdown()


@pytest.fixture(scope="module")
def sherbrooke(service: QiskitRuntimeService) -> object:
    return service.backend("fake_sherbrooke")


@pytest.fixture(scope="module")
def aer_sherbrooke() -> AerNoiseModel:
    return AerNoiseModel.from_backend(FakeSherbrooke())


def hand_built() -> AerNoiseModel:
    """Depolarizing + thermal relaxation + readout, as Aer users write it."""
    model = AerNoiseModel()
    relax = thermal_relaxation_error(60e-6, 50e-6, 400e-9)
    model.add_all_qubit_quantum_error(depolarizing_error(0.02, 1).compose(relax), ["h", "u", "x"])
    model.add_all_qubit_quantum_error(
        depolarizing_error(0.05, 2).compose(relax.expand(relax)), ["cx"]
    )
    model.add_all_qubit_readout_error(ReadoutError([[0.96, 0.04], [0.07, 0.93]]))
    return model


# -- circuits -----------------------------------------------------------------------------------


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def ghz(n: int = 5) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for q in range(n - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def random_depth5(n: int = 4, seed: int = 7) -> QuantumCircuit:
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for layer in range(5):
        for q in range(n):
            qc.u(*rng.uniform(0, 2 * np.pi, 3), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def mid_circuit() -> QuantumCircuit:
    qc = QuantumCircuit(2, 3)
    qc.h(0)
    qc.measure(0, 0)
    with qc.if_test((qc.clbits[0], 1)):
        qc.x(1)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, 1)
    qc.measure(1, 2)
    return qc


CIRCUITS = {"bell": bell, "ghz5": ghz, "random4x5": random_depth5, "mid_circuit": mid_circuit}


def _dist(counts: dict[str, int]) -> dict[str, float]:
    total = sum(counts.values())
    return {k.replace(" ", ""): v / total for k, v in counts.items()}


def assert_close(ours: dict[str, int], oracle: dict[str, int]) -> None:
    """Total variation within 4 sigma per outcome of both samples (plus a few shots)."""
    p, q = _dist(ours), _dist(oracle)
    n, m = sum(ours.values()), sum(oracle.values())
    keys = set(p) | set(q)
    bound = (
        0.5
        * sum(
            4 * math.sqrt(q.get(k, 0) * (1 - q.get(k, 0))) * (1 / math.sqrt(n) + 1 / math.sqrt(m))
            for k in keys
        )
        + len(keys) / n
    )
    distance = 0.5 * sum(abs(p.get(k, 0) - q.get(k, 0)) for k in keys)
    assert distance < bound, (distance, bound)


def aer_counts(isa: QuantumCircuit, model: AerNoiseModel) -> dict[str, int]:
    sim = AerSimulator(noise_model=model, method="density_matrix")
    return sim.run(isa, shots=ORACLE_SHOTS, seed_simulator=11).result().get_counts()


# -- calibration noise --------------------------------------------------------------------------


def test_calibration_noise_equals_aers_from_backend(
    sherbrooke: object, aer_sherbrooke: AerNoiseModel
) -> None:
    ours = noise_model_from_backend(sherbrooke)
    checked = 0
    for gate, per_qubits in aer_sherbrooke._local_quantum_errors.items():
        for qubits, error in list(per_qubits.items())[:6]:
            chans = ours.local[(gate, tuple(qubits))]
            k = len(qubits)
            total = np.eye(4**k, dtype=complex)
            for ch in chans:  # compose on the gate's local qubits
                total = SuperOp(_on_local(ch, k)).data @ total
            assert np.allclose(total, SuperOp(error).data, atol=1e-9), (gate, qubits)
            checked += 1
    assert checked >= 12
    for (q,), error in aer_sherbrooke._local_readout_errors.items():
        assert np.allclose(ours.readout[q], error.probabilities)


def _on_local(ch: object, k: int) -> object:
    from qiskit.quantum_info import Kraus

    kraus = Kraus([np.asarray(m) for m in ch.kraus])  # type: ignore[attr-defined]
    if ch.num_qubits == k:  # type: ignore[attr-defined]
        return kraus
    identity = Kraus([np.eye(2)])
    (q,) = ch.qubits  # type: ignore[attr-defined]
    return kraus.expand(identity) if q == 0 else identity.expand(kraus)


@pytest.mark.parametrize("name", list(CIRCUITS))
def test_fake_sherbrooke_noise_agrees_with_aer(
    name: str, sherbrooke: object, aer_sherbrooke: AerNoiseModel
) -> None:
    pm = generate_preset_pass_manager(backend=sherbrooke, optimization_level=1, seed_transpiler=1)
    isa = pm.run(CIRCUITS[name]())
    job = sherbrooke.run(isa, shots=SHOTS, seed_simulator=3)  # noise applied automatically
    result = job.result()
    assert result.results[0].metadata["noise"] == "fake_sherbrooke"
    assert_close(result.get_counts(), aer_counts(isa, aer_sherbrooke))


@pytest.mark.parametrize("name", list(CIRCUITS))
def test_a_users_aer_noise_model_agrees_with_aer(name: str, service: QiskitRuntimeService) -> None:
    backend = service.backend("statevector")
    model = hand_built()
    qc = CIRCUITS[name]()
    counts = backend.run(qc, shots=SHOTS, seed_simulator=4, noise_model=model).result()
    assert counts.results[0].metadata == {
        "method": "trajectories",
        "noise": "qiskit_aer NoiseModel",
    }
    assert_close(counts.get_counts(), aer_counts(qc, model))


def test_the_sampler_takes_the_model_from_its_simulator_options(
    service: QiskitRuntimeService,
) -> None:
    backend = service.backend("statevector")
    model = hand_built()
    sampler = SamplerV2(mode=backend)
    sampler.options.simulator.noise_model = model
    sampler.options.simulator.seed_simulator = 5
    pub = sampler.run([ghz()], shots=SHOTS).result()[0]
    assert pub.metadata["simulator_metadata"] == {
        "method": "trajectories",
        "noise_model": "qiskit_aer NoiseModel",
    }
    assert_close(pub.data.meas.get_counts(), aer_counts(ghz(), model))
    again = sampler.run([ghz()], shots=SHOTS).result()[0]
    assert again.data.meas.get_counts() == pub.data.meas.get_counts()  # seeded


def test_noise_can_be_turned_off_on_a_noisy_device(sherbrooke: object) -> None:
    pm = generate_preset_pass_manager(backend=sherbrooke, optimization_level=1, seed_transpiler=1)
    isa = pm.run(ghz())
    ideal = sherbrooke.run(isa, shots=500, seed_simulator=1, noise_model=False).result()
    assert set(ideal.get_counts()) == {"00000", "11111"}
    assert ideal.results[0].metadata.get("noise") is None
    sampler = SamplerV2(mode=sherbrooke)
    sampler.options.simulator.noise_model = AerNoiseModel()  # an empty model: ideal
    counts = sampler.run([isa], shots=500).result()[0].data.meas.get_counts()
    assert set(counts) == {"00000", "11111"}
    noisy = sherbrooke.run(isa, shots=2000, seed_simulator=1).result().get_counts()
    assert len(noisy) > 2


def test_noisy_results_are_reproducible_with_a_seed(sherbrooke: object) -> None:
    pm = generate_preset_pass_manager(backend=sherbrooke, optimization_level=1, seed_transpiler=1)
    isa = pm.run(random_depth5())
    a = sherbrooke.run(isa, shots=1000, seed_simulator=9, memory=True).result().get_memory()
    b = sherbrooke.run(isa, shots=1000, seed_simulator=9, memory=True).result().get_memory()
    c = sherbrooke.run(isa, shots=1000, seed_simulator=10, memory=True).result().get_memory()
    assert a == b and a != c


def test_noisy_expectation_values_agree_with_aers_density_matrix(
    service: QiskitRuntimeService,
) -> None:
    backend = service.backend("statevector")
    model = hand_built()
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.u(0.3, 0.2, 0.1, 2)
    qc.cx(1, 2)
    obs = SparsePauliOp(["ZZI", "IXX", "ZIZ"], [1.0, 0.5, -0.7])
    estimator = EstimatorV2(mode=backend)
    estimator.options.simulator.noise_model = model
    result = estimator.run([(qc, obs)], precision=0.0).result()[0]
    exact = qc.copy()
    exact.save_expectation_value(obs, [0, 1, 2])
    want = AerSimulator(noise_model=model, method="density_matrix").run(exact).result()
    value = want.data()["expectation_value"]
    assert result.data.evs == pytest.approx(value, abs=1e-9)
    assert result.metadata["simulator_metadata"]["method"] == "density_matrix"


def test_untranslatable_noise_is_a_clear_error_and_the_session_survives(
    sherbrooke: object,
) -> None:
    three = AerNoiseModel()
    three.add_all_qubit_quantum_error(depolarizing_error(0.1, 3), ["ccx"])
    correlated = AerNoiseModel()
    correlated.add_readout_error(ReadoutError(np.eye(4) * 0.9 + 0.025), [0, 1])
    pm = generate_preset_pass_manager(backend=sherbrooke, optimization_level=1, seed_transpiler=1)
    isa = pm.run(bell())
    with Session(backend=sherbrooke) as session:
        sampler = SamplerV2(mode=session)
        first = sampler.run([isa], shots=100)
        with pytest.raises(
            IBMBackendValueError, match="3-qubit quantum error cannot be translated"
        ):
            sherbrooke.run(isa, noise_model=three)
        with pytest.raises(IBMBackendValueError, match="correlated readout error"):
            sherbrooke.run(isa, noise_model=correlated)
        with pytest.raises(IBMBackendValueError, match="noise models are taken as"):
            sherbrooke.run(isa, noise_model="loud")
        bad = SamplerV2(mode=session)
        bad.options.simulator.noise_model = three
        with pytest.raises(IBMInputValueError, match="3-qubit quantum error"):
            bad.run([isa], shots=100)
        after = sampler.run([isa], shots=100).result()[0].data.meas.num_shots
        assert after == 100
        assert first.result()[0].data.meas.num_shots == 100


def test_from_aer_keeps_per_qubit_errors_and_readout(sherbrooke: object) -> None:
    model = AerNoiseModel()
    model.add_quantum_error(depolarizing_error(0.1, 1), ["sx"], [3])
    model.add_readout_error(ReadoutError([[0.9, 0.1], [0.2, 0.8]]), [2])
    ours = from_aer(model)
    assert set(ours.local) == {("sx", (3,))}
    assert ours.local[("sx", (3,))][0].pauli_probabilities == pytest.approx(
        {"I": 0.925, "X": 0.025, "Y": 0.025, "Z": 0.025}
    )
    assert ours.readout[2][1, 0] == pytest.approx(0.2)
