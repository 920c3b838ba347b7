"""IBM's fake backends as devices: listed, found by fake and real name and by object, run."""

from __future__ import annotations

import math
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers.exceptions import QiskitBackendNotFoundError  # noqa: E402
from qiskit.quantum_info import Statevector  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.fake_provider import (  # noqa: E402
    FakeKolkataV2,
    FakeProviderForBackendV2,
    FakeSherbrooke,
)

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub  # noqa: E402
from qsession_provider.core.lazy_device import LazyDevice  # noqa: E402
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    QiskitRuntimeService,
    QSessionBackend,
    SamplerV2,
    Session,
    circuit_to_ir,
)
from qsession_provider.qiskit.fake_backends import (  # noqa: E402
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
    assert sherbrooke.num_qubits == 127 and not sherbrooke.built  # the summary
    assert len(sherbrooke.coupling_map) == 144 and sherbrooke.built
    assert sum(d.built for d in lazy) == 1


def test_listing_backends_builds_no_device() -> None:
    service = QiskitRuntimeService(clock=VirtualClock())
    try:
        backends = {b.name: b for b in service.backends(simulator=False)}
        assert set(NAMES) <= set(backends)
        assert backends["fake_kyiv"].num_qubits == 127
        assert not any(backends[name].device.built for name in NAMES)
    finally:
        service.runtime.shutdown()


def _bell(num_qubits: int) -> QuantumCircuit:
    qc = QuantumCircuit(min(num_qubits, 2))
    qc.h(0)
    if num_qubits > 1:
        qc.cx(0, 1)
    qc.measure_all()
    return qc


def _seeded(mode: object, seed: int = 7) -> SamplerV2:
    """A sampler whose bits are the same at every run (whatever noise the device has)."""
    return SamplerV2(mode=mode, options={"simulator": {"seed_simulator": seed}})


def _mostly_correlated(counts: dict[str, int], width: int) -> bool:
    """Most shots of a Bell pair agree (fake devices may add their calibration's noise)."""
    agree = sum(n for bits, n in counts.items() if len(set(bits)) == 1)
    return len(next(iter(counts))) == width and agree >= 0.6 * sum(counts.values())


def _ideal(
    backend: QSessionBackend, isa: QuantumCircuit, shots: int, seed: int, method: str = ""
) -> np.ndarray:
    """The bits (shots x clbits; column j is clbit j) of ``isa`` on the backend's device with
    the device's noise switched off, submitted to the runtime as the face does; ``method``:
    the one that must have run it."""
    payload = SamplerPayload((SamplerPub(circuit_to_ir(isa), None, shots),), seed, noise=False)
    result = backend.runtime.submit("sampler", backend.name, payload).result()
    assert result["pubs"][0]["method"] == (method or result["pubs"][0]["method"])
    return np.asarray(result["pubs"][0]["registers"]["meas"].unpack(), dtype=float)


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
        result = _seeded(session).run([isa], shots=64).result()
    counts = result[0].data.meas.get_counts()
    assert sum(counts.values()) == 64
    # Bits only: a fake backend's calibration noise may be anything (fake_cusco's qubit 0,
    # where IBM's transpiler also puts this circuit, reads 1 whatever its state).
    assert {len(bits) for bits in counts} == {min(backend.num_qubits, 2)}


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
    sampler = _seeded(FakeSherbrooke())
    isa = generate_preset_pass_manager(backend=FakeSherbrooke(), optimization_level=1).run(_bell(2))
    counts = sampler.run([isa], shots=100).result()[0].data.meas.get_counts()
    assert _mostly_correlated(counts, 2)


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
    for q in (0, 64, 126):
        assert device.timing.durations[("measure", (q,))] == pytest.approx(props.readout_length(q))
    assert device.timing.durations[("ecr", tuple(ecr["qubits"]))] == pytest.approx(
        props.gate_length("ecr", ecr["qubits"])
    )
    target = service.backend("fake_sherbrooke").target
    assert target.instruction_supported("ecr", tuple(fake.configuration().coupling_map[0]))


@pytest.mark.parametrize(("fake", "two_qubit"), [(FakeSherbrooke, "ecr"), (FakeKolkataV2, "cx")])
def test_target_has_the_calibrated_qubit_properties_and_durations(
    service: QiskitRuntimeService, fake: type, two_qubit: str
) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        theirs = fake().target
        backend = service.backend(fake())
    ours = backend.target
    for q in range(theirs.num_qubits):
        mine, want = backend.qubit_properties(q), theirs.qubit_properties[q]
        assert (mine.t1, mine.t2) == pytest.approx((want.t1, want.t2))
    half_dt = ours.dt / 2
    for name in (two_qubit, "sx", "x", "measure"):
        assert set(ours[name]) == set(theirs[name])
        for qargs, props in theirs[name].items():
            assert ours[name][qargs].duration == pytest.approx(props.duration, abs=half_dt)
            assert ours[name][qargs].error == pytest.approx(props.error)  # noise-aware layout
    assert ours["rz"][(0,)].duration == 0.0


def test_fractional_gates_where_the_backend_has_them(service: QiskitRuntimeService) -> None:
    device = service.backend("fake_fractional").device
    assert {"rx", "rzz"} <= set(device.basis_gates)
    torino = service.backend("fake_torino")
    assert torino.device.properties["fractional_gates"] == ["rx", "rzz"]
    assert not {"rx", "rzz"} & set(torino.target.operation_names)  # IBM's default
    fractional = service.backend("ibm_torino", use_fractional_gates=True)
    assert fractional is not torino and fractional.use_fractional_gates
    assert fractional is service.backend("fake_torino", use_fractional_gates=True)
    assert {"rx", "rzz"} <= set(fractional.target.operation_names)
    edge = torino.device.coupling_map[0]
    assert fractional.target.instruction_supported("rzz", edge)
    qc = QuantumCircuit(2)
    qc.rx(math.pi / 2, 0)
    qc.rzz(math.pi / 2, 0, 1)
    qc.rx(-math.pi / 2, 0)
    qc.measure_all()
    isa = generate_preset_pass_manager(backend=fractional, optimization_level=1).run(qc)
    assert {"rx", "rzz"} <= set(isa.count_ops())
    shots = 4000
    bits = _ideal(fractional, isa, shots, seed=3)
    probs = Statevector(qc.remove_final_measurements(inplace=False)).probabilities([0, 1])
    for value, p in enumerate(probs):  # value = bit0 + 2 * bit1
        seen = np.mean(bits[:, 0] + 2 * bits[:, 1] == value)
        assert abs(seen - p) < 5 * math.sqrt(p * (1 - p) / shots) + 1e-9
    counts = _seeded(fractional).run([isa], shots=100).result()[0].data.meas.get_counts()
    assert sum(counts.values()) == 100  # with the device's noise


@pytest.mark.parametrize("width", [2, 12])
def test_job_time_follows_the_timing_model(service: QiskitRuntimeService, width: int) -> None:
    """Each shot takes the repetition delay plus the circuit's duration on the calibrated
    gates, as qiskit's ``estimate_duration`` on the fake backend's own target gives it."""
    backend = service.backend("fake_sherbrooke")
    qc = QuantumCircuit(width)
    qc.h(0)
    for q in range(width - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    isa = generate_preset_pass_manager(
        backend=backend, optimization_level=1, seed_transpiler=3
    ).run(qc)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        circuit_seconds = isa.estimate_duration(FakeSherbrooke().target, unit="s")
    job = backend.run(isa, shots=1000)
    job.result()
    core = job.core_job
    timing = backend.device.timing
    assert timing.per_shot == pytest.approx(250e-6)  # the backend's default repetition delay
    want = timing.per_job + timing.per_circuit + 1000 * (timing.per_shot + circuit_seconds)
    assert core.finished_at - core.started_at == pytest.approx(want)


def _ghz(width: int) -> QuantumCircuit:
    qc = QuantumCircuit(width)
    qc.h(0)
    for q in range(width - 1):
        qc.cx(q, q + 1)
    qc.measure_all()
    return qc


@pytest.mark.parametrize("name", ["fake_sherbrooke", "emulated_eagle_127"])
def test_ghz_127_runs_on_the_stabilizer(service: QiskitRuntimeService, name: str) -> None:
    """The transpiled 127-qubit GHZ: on fake_sherbrooke with its noise switched off (the
    runtime's payload), on the noiseless emulated_eagle_127 through the primitive."""
    backend = service.backend(name)
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    isa = pm.run(_ghz(127))
    shots = 10_000
    if name.startswith("fake_"):
        ones = _ideal(backend, isa, shots, seed=5, method="stabilizer").sum(axis=1)
    else:
        result = _seeded(backend, 5).run([isa], shots=shots).result()[0]
        assert result.metadata["simulator_metadata"] == {"method": "stabilizer"}
        ones = result.data.meas.to_bool_array().sum(axis=1)
    assert set(ones.tolist()) <= {0, 127}
    assert abs((ones == 127).mean() - 0.5) < 5 * 0.5 / math.sqrt(shots)


def test_run_option_method_forces_a_method_and_bad_ones_are_refused(
    service: QiskitRuntimeService,
) -> None:
    from qiskit_ibm_runtime.exceptions import IBMBackendValueError

    from qsession_provider.qiskit._run_checks import SIMULATION_METHODS
    from qsession_provider.sim.method import METHODS

    assert SIMULATION_METHODS == METHODS
    backend = service.backend("emulated_eagle_127")  # noiseless, as the stabilizer runs it
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
    bits = _ideal(backend, measured, shots, seed=6, method="stabilizer")  # noise off
    for q in range(100):
        label = "".join("Z" if i == q else "I" for i in reversed(range(127)))
        want = state.expectation_value(Pauli(label))
        assert abs((1 - 2 * bits[:, q].mean()) - want) < 5 / math.sqrt(shots)


def test_the_ibm_compatible_service_passes_use_fractional_gates(tmp_path: Path) -> None:
    from qsession_provider.qiskit.ibm_compat import IBMCompatibleService

    svc = IBMCompatibleService(channel="local", store=tmp_path / "s.sqlite3", clock=VirtualClock())
    try:
        fractional = svc.backend("ibm_torino", use_fractional_gates=True)
        assert fractional is svc.backend("fake_torino", use_fractional_gates=True)
        assert {"rx", "rzz"} <= set(fractional.target.operation_names)
        assert "rzz" not in svc.backend("ibm_torino").target.operation_names
        listed = svc.backends(name="fake_torino", use_fractional_gates=True)
        assert listed == [fractional]
    finally:
        svc.runtime.shutdown(wait=False, cancel_pending=True)
