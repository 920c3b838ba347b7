"""IBM's fake backends as devices: listed, found by fake and real name and by object, run."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers.exceptions import QiskitBackendNotFoundError  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.fake_provider import FakeProviderForBackendV2, FakeSherbrooke  # noqa: E402

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402
from qsession_provider.qiskit import Batch, QiskitRuntimeService, SamplerV2, Session  # noqa: E402
from qsession_provider.qiskit.fake_backends import (  # noqa: E402
    LazyDevice,
    device_name,
    fake_backend_names,
    real_name,
)

NAMES = fake_backend_names()


def _provider_names() -> set[str]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        return {b.name for b in FakeProviderForBackendV2().backends()}


@pytest.fixture(scope="module")
def service() -> Iterator[QiskitRuntimeService]:
    service = QiskitRuntimeService(clock=VirtualClock())
    yield service
    service.runtime.shutdown()


@pytest.fixture(scope="module")
def listed(service: QiskitRuntimeService) -> set[str]:
    return {b.name for b in service.backends()}


def test_every_fake_backend_of_the_provider_is_a_device() -> None:
    assert set(NAMES) == _provider_names()
    assert len(NAMES) > 50


def test_listing_names_builds_no_device() -> None:
    registry = build_device_registry(get_plugin_manager())
    assert set(NAMES) <= set(registry.names())
    lazy = [d for d in registry if d.name in NAMES]
    assert all(isinstance(d, LazyDevice) and not d.built for d in lazy)
    sherbrooke = registry.get("fake_sherbrooke")
    assert sherbrooke.num_qubits == 127 and sherbrooke.built
    assert sum(d.built for d in lazy) == 1


def _bell(num_qubits: int) -> QuantumCircuit:
    qc = QuantumCircuit(min(num_qubits, 2))
    qc.h(0)
    if num_qubits > 1:
        qc.cx(0, 1)
    qc.measure_all()
    return qc


@pytest.mark.parametrize("name", NAMES)
def test_each_fake_backend_runs_a_job_in_a_session(
    service: QiskitRuntimeService, listed: set[str], name: str
) -> None:
    assert name in listed
    backend = service.backend(name)
    assert backend.name == name and not backend.simulator
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(
        _bell(backend.num_qubits)
    )
    with Session(backend=backend) as session:
        result = SamplerV2(mode=session).run([isa], shots=64).result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 64
    assert set(counts) <= ({"00", "11"} if backend.num_qubits > 1 else {"0", "1"})


def test_names_fake_and_real_and_the_object(service: QiskitRuntimeService) -> None:
    backend = service.backend("fake_sherbrooke")
    assert service.backend("ibm_sherbrooke") is backend
    assert service.backend(FakeSherbrooke()) is backend
    assert real_name("fake_sherbrooke") == "ibm_sherbrooke"
    assert device_name("ibmq_athens") == "fake_athens"
    assert device_name("ibm_nowhere") is None and device_name(object()) is None


def test_session_batch_and_mode_take_the_fake_backend(
    tmp_path: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With no service given, the default one runs them (here a store of the test's own)."""
    monkeypatch.setenv("QSESSION_STORE", str(tmp_path / "store.sqlite3"))  # type: ignore[operator]
    with Session(backend="ibm_sherbrooke") as session:
        assert session.backend() == "fake_sherbrooke"
    with Session(backend=FakeSherbrooke()) as session:
        assert session.backend() == "fake_sherbrooke"
    with Batch(backend=FakeSherbrooke()) as batch:
        assert batch.backend() == "fake_sherbrooke"
    with Session(backend="emulated_eagle_127") as session:
        assert session.backend() == "emulated_eagle_127"
    with pytest.raises(QiskitBackendNotFoundError, match="No backend matches"):
        Session(backend="ibm_nowhere")
    sampler = SamplerV2(mode=FakeSherbrooke())
    isa = generate_preset_pass_manager(backend=FakeSherbrooke(), optimization_level=1).run(_bell(2))
    counts = sampler.run([isa], shots=8).result()[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"}


def test_device_carries_the_calibration_and_the_timing(service: QiskitRuntimeService) -> None:
    device = service.backend("fake_sherbrooke").device
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        fake = FakeSherbrooke()
    assert device.basis_gates == ("ecr", "id", "rz", "sx", "x")
    assert set(device.coupling_map) == {tuple(e) for e in fake.configuration().coupling_map}
    calibration = device.properties["calibration"]
    assert len(calibration["qubits"]) == 127
    props = fake.properties()
    assert calibration["qubits"][5]["T1"] == pytest.approx(props.t1(5))
    assert calibration["qubits"][5]["readout_error"] == pytest.approx(props.readout_error(5))
    ecr = next(g for g in calibration["gates"] if g["gate"] == "ecr")
    assert ecr["duration"] == pytest.approx(props.gate_length("ecr", ecr["qubits"]))
    assert ecr["error"] == pytest.approx(props.gate_error("ecr", ecr["qubits"]))
    readout = np.mean([props.readout_length(q) for q in range(127)])
    assert device.timing.per_shot == pytest.approx(250e-6 + readout)
    target = service.backend("fake_sherbrooke").target
    assert target.instruction_supported("ecr", tuple(fake.configuration().coupling_map[0]))


def test_fractional_gates_where_the_backend_has_them(service: QiskitRuntimeService) -> None:
    device = service.backend("fake_fractional").device
    assert {"rx", "rzz"} <= set(device.basis_gates)
    assert service.backend("fake_torino").device.properties["fractional_gates"] == ["rx", "rzz"]


def test_job_time_follows_the_timing_model(service: QiskitRuntimeService) -> None:
    backend = service.backend("fake_sherbrooke")
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(_bell(2))
    job = backend.run(isa, shots=1000)
    job.result()
    core = job.core_job
    timing = backend.device.timing
    want = timing.per_job + timing.per_circuit + 1000 * timing.per_shot
    assert core.finished_at - core.started_at == pytest.approx(want)


def test_ghz_127_on_fake_sherbrooke_runs_on_the_stabilizer(service: QiskitRuntimeService) -> None:
    backend = service.backend("fake_sherbrooke")
    qc = QuantumCircuit(127)
    qc.h(0)
    for q in range(126):
        qc.cx(q, q + 1)
    qc.measure_all()
    isa = generate_preset_pass_manager(
        backend=backend, optimization_level=1, seed_transpiler=1
    ).run(qc)
    shots = 10_000
    result = SamplerV2(mode=backend).run([isa], shots=shots).result()
    bits = result[0].data.meas
    counts = bits.get_counts()
    assert set(counts) <= {"0" * 127, "1" * 127}
    ones = counts.get("1" * 127, 0) / shots
    assert abs(ones - 0.5) < 5 * 0.5 / math.sqrt(shots)
    assert result[0].metadata["simulator_metadata"] == {"method": "stabilizer"}


def test_run_option_method_forces_a_method_and_bad_ones_are_refused(
    service: QiskitRuntimeService,
) -> None:
    from qiskit_ibm_runtime.exceptions import IBMBackendValueError

    from qsession_provider.qiskit._run_checks import SIMULATION_METHODS
    from qsession_provider.sim.method import METHODS

    assert SIMULATION_METHODS == METHODS
    backend = service.backend("fake_sherbrooke")
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    bell = pm.run(_bell(2))
    t_circuit = QuantumCircuit(1)
    t_circuit.h(0)
    t_circuit.t(0)
    t_circuit.measure_all()
    non_clifford = pm.run(t_circuit)
    with Session(backend=backend) as session:
        forced = backend.run(bell, shots=100, method="stabilizer")
        assert forced.result().results[0].metadata == {"method": "stabilizer"}
        failing = backend.run(non_clifford, shots=100, method="stabilizer")
        with pytest.raises(Exception, match="method='stabilizer' cannot run"):
            failing.result()
        after = SamplerV2(mode=session).run([bell], shots=100).result()
        assert "simulator_metadata" not in after[0].metadata  # the statevector ran
        assert session.status() != "Closed"
    with pytest.raises(IBMBackendValueError, match="method='density_matrix' is not a simulation"):
        backend.run(bell, method="density_matrix")


def test_primitives_take_the_method_from_the_backend_options() -> None:
    """SamplerOptions.simulator has no ``method`` (qiskit-ibm-runtime refuses it); as with
    Aer's primitives, the backend's option says which method runs."""
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_ibm_runtime.exceptions import IBMInputValueError

    from qsession_provider.qiskit import EstimatorV2

    service = QiskitRuntimeService(clock=VirtualClock())
    try:
        backend = service.backend("statevector")
        qc = QuantumCircuit(3)
        qc.h(0)
        qc.cx(0, 1)
        qc.cx(1, 2)
        measured = qc.measure_all(inplace=False)
        sampler = SamplerV2(mode=backend)
        small = sampler.run([measured]).result()[0]  # automatic: the statevector (small)
        assert "simulator_metadata" not in small.metadata
        backend.set_options(method="stabilizer")
        result = sampler.run([measured], shots=200).result()[0]
        assert result.metadata["simulator_metadata"] == {"method": "stabilizer"}
        assert set(result.data.meas.get_counts()) <= {"000", "111"}
        estimated = (
            EstimatorV2(mode=backend)
            .run([(qc, [SparsePauliOp("ZZI"), SparsePauliOp("XXX")])], precision=0)
            .result()
        )
        assert estimated[0].metadata["simulator_metadata"] == {"method": "stabilizer"}
        np.testing.assert_allclose(estimated[0].data.evs, [1.0, 1.0])
        qc.t(0)
        with pytest.raises(Exception, match="method='stabilizer' cannot"):
            EstimatorV2(mode=backend).run([(qc, SparsePauliOp("ZZI"))]).result()
        backend.set_options(method="density_matrix")
        with pytest.raises(IBMInputValueError, match="not a simulation method"):
            sampler.run([measured])
    finally:
        service.runtime.shutdown()


def test_random_clifford_100_qubits_on_fake_sherbrooke(service: QiskitRuntimeService) -> None:
    """An ISA circuit built on the device's own edges (ecr, sx, x, rz at quarter turns),
    checked against qiskit's StabilizerState of the same circuit."""
    from qiskit.quantum_info import Clifford, Pauli, StabilizerState

    backend = service.backend("fake_sherbrooke")
    rng = np.random.default_rng(4)
    edges = [e for e in backend.device.coupling_map if max(e) < 100]
    qc = QuantumCircuit(127)
    for _ in range(6):
        for q in range(100):
            choice = rng.integers(4)
            if choice == 0:
                qc.sx(q)
            elif choice == 1:
                qc.rz(float(rng.integers(1, 4)) * math.pi / 2, q)
            elif choice == 2:
                qc.x(q)
        used: set[int] = set()
        for a, b in (edges[i] for i in rng.permutation(len(edges))):
            if a not in used and b not in used and rng.random() < 0.7:
                qc.ecr(a, b)
                used |= {a, b}
    state = StabilizerState(Clifford(qc))
    measured = qc.measure_all(inplace=False)
    shots = 10_000
    result = SamplerV2(mode=backend).run([measured], shots=shots).result()[0]
    assert result.metadata["simulator_metadata"] == {"method": "stabilizer"}
    bits = result.data.meas.to_bool_array(order="little").astype(float)
    for q in range(100):
        label = "".join("Z" if i == q else "I" for i in reversed(range(127)))
        want = state.expectation_value(Pauli(label))
        assert abs((1 - 2 * bits[:, q].mean()) - want) < 5 / math.sqrt(shots)
