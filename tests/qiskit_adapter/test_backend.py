"""QSessionBackend and BackendJob: transpile, run, results, primitives, timing, errors."""

from __future__ import annotations

import copy
import time
from collections import Counter
from collections.abc import Callable, Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Clbit, Parameter  # noqa: E402
from qiskit.circuit.library import QFTGate  # noqa: E402
from qiskit.exceptions import QiskitError  # noqa: E402
from qiskit.primitives import (  # noqa: E402
    BackendEstimatorV2,
    BackendSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.providers import JobError, JobStatus, JobTimeoutError  # noqa: E402
from qiskit.providers.basic_provider import BasicSimulator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp, Statevector  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMBackendError,
    IBMBackendValueError,
    IBMInputValueError,
)

from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.device import Device, DeviceRegistry, TimingModel  # noqa: E402
from qsession_provider.core.runtime.runtime import Runtime  # noqa: E402
from qsession_provider.core.store.memory import MemoryStore  # noqa: E402
from qsession_provider.errors import DeviceNotFoundError  # noqa: E402
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402
from qsession_provider.qiskit.backend import QSessionBackend  # noqa: E402
from qsession_provider.qiskit.backend_job import BackendJob  # noqa: E402

pytestmark = pytest.mark.timeout(60)

DEVICES = ["emulated_falcon_27", "emulated_eagle_127", "statevector"]
QPUS = DEVICES[:2]


def _broken(program_id: str, payload: Any) -> Any:
    raise RuntimeError("the control electronics caught fire")


@pytest.fixture(scope="module")
def builtin_devices() -> list[Device]:
    return list(build_device_registry(get_plugin_manager(load_entry_points=False)))


@pytest.fixture
def make_runtime(builtin_devices: list[Device]) -> Iterator[Callable[..., Runtime]]:
    """Fresh runtimes on the built-in devices plus ``broken`` and ``small`` test devices."""
    made: list[Runtime] = []

    def make(clock: Any = None) -> Runtime:
        registry = DeviceRegistry()
        for device in builtin_devices:
            registry.register(device)
        registry.register(Device("broken", 2, _broken, basis_gates=("cx", "rz", "sx", "x")))
        small = builtin_devices[-1]  # statevector: reuse its engine for a chunking device
        registry.register(
            Device("small", 3, small.execute, simulator=True, slots=1, max_executions=2)
        )
        rt = Runtime(store=MemoryStore(), clock=clock or VirtualClock(start=0), devices=registry)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime]) -> Runtime:
    return make_runtime()


def tvd(a: dict[str, float], b: dict[str, float]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


def qft_circuit() -> tuple[QuantumCircuit, dict[str, float]]:
    """A QFT of a non-trivial 3-qubit state, and its exact outcome probabilities."""
    qc = QuantumCircuit(3, name="qft3")
    qc.ry(0.7, 0)
    qc.rx(1.9, 1)
    qc.h(2)
    qc.cx(0, 2)
    qc.append(QFTGate(3), range(3))
    probs = Statevector(qc).probabilities_dict()
    qc.measure_all()
    return qc, probs


def isa(backend: QSessionBackend, circuit: Any, level: int = 1) -> Any:
    pm = generate_preset_pass_manager(backend=backend, optimization_level=level, seed_transpiler=5)
    return pm.run(circuit)


# -- transpile and run ----------------------------------------------------------------------------
@pytest.mark.parametrize("level", [1, 2, 3])
@pytest.mark.parametrize("device", DEVICES)
def test_transpiled_ghz_and_qft_give_the_right_counts(
    runtime: Runtime, device: str, level: int
) -> None:
    backend = QSessionBackend(runtime, device)
    qft, probs = qft_circuit()
    circuits = isa(backend, [ghz(4), qft], level)
    if device != "statevector":
        assert all(c.num_qubits == backend.num_qubits for c in circuits)
    result = backend.run(circuits, shots=4000, seed_simulator=11).result()
    counts = result.get_counts(0)
    assert set(counts) == {"0000", "1111"}
    assert abs(counts["0000"] - 2000) < 200  # > 6 sigma
    assert tvd(result.get_counts("qft3"), probs) < 0.05


def test_memory_is_per_shot_and_matches_counts(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    circuit = isa(backend, ghz(3))
    result = backend.run(circuit, shots=300, memory=True, seed_simulator=3).result()
    memory = result.get_memory()
    assert len(memory) == 300 and set(memory) <= {"000", "111"}
    assert Counter(memory) == result.get_counts()
    plain = backend.run(circuit, shots=10).result()
    with pytest.raises(QiskitError, match="memory"):
        plain.get_memory()


def test_seed_simulator_reproduces_runs(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    qc, _ = qft_circuit()

    def memory(**options: Any) -> list[str]:
        return backend.run(qc, shots=200, memory=True, **options).result().get_memory()

    assert memory(seed_simulator=5) == memory(seed_simulator=5)
    assert memory(seed_simulator=5) != memory(seed_simulator=6)
    backend.set_options(seed_simulator=5)
    assert memory() == memory(seed_simulator=5)
    assert backend.run(qc, shots=5).result().results[0].seed_simulator == 5


def test_several_circuits_are_one_job_with_modelled_time(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    circuits = isa(backend, [ghz(2), ghz(3), ghz(5)])
    start = time.perf_counter()
    job = backend.run(circuits, shots=1000, job_name="three", job_tags=["a", "b"])
    result = job.result()
    assert time.perf_counter() - start < 5  # 2.15 s of device time passed on the virtual clock
    assert [len(next(iter(result.get_counts(i)))) for i in range(3)] == [2, 3, 5]
    assert [r.header["name"] for r in result.results] == ["ghz2", "ghz3", "ghz5"]
    (core,) = runtime.jobs()
    assert core is job.core_job and core.name == "three" and core.tags == ("a", "b")
    expected = backend.device.timing.per_job + 3 * (0.05 + 1000 * 250e-6)
    assert core.finished_at - core.started_at == pytest.approx(expected, abs=1e-6)


def test_jobs_queue_on_the_device_one_at_a_time(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_eagle_127")
    circuit = isa(backend, ghz(3))
    first, second = (backend.run(circuit, shots=100) for _ in range(2))
    assert second.status() is JobStatus.QUEUED
    assert backend.status().pending_jobs == 2
    second.wait_for_final_state()
    a, b = first.core_job, second.core_job
    assert b.started_at == pytest.approx(a.finished_at)
    assert a.finished_at - a.started_at == pytest.approx(2.0 + 0.08 + 100 * 300e-6, abs=1e-6)
    sv = QSessionBackend(runtime, "statevector")
    job = sv.run(ghz(2), shots=10)
    job.result()
    assert job.core_job.finished_at == job.core_job.started_at  # no modelled time


def test_wide_isa_circuit_runs_on_the_simulator(runtime: Runtime) -> None:
    eagle = QSessionBackend(runtime, "emulated_eagle_127")
    circuit = isa(eagle, ghz(3))
    assert circuit.num_qubits == 127
    counts = QSessionBackend(runtime, "statevector").run(circuit, shots=100).result().get_counts()
    assert set(counts) == {"000", "111"}


def test_dynamic_circuit_runs_on_an_emulated_qpu(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    qr, cr = QuantumRegister(2), ClassicalRegister(2, "c")
    qc = QuantumCircuit(qr, cr)
    qc.x(0)
    qc.measure(0, 0)
    with qc.if_test((cr[0], 1)):
        qc.x(1)
    qc.measure(1, 1)
    assert backend.run(isa(backend, qc), shots=50).result().get_counts() == {"11": 50}


def test_results_read_like_basic_simulators(runtime: Runtime) -> None:
    """Registers, a loose clbit, memory and the header exactly as BasicSimulator writes them."""
    qc = QuantumCircuit(
        QuantumRegister(3, "q"),
        ClassicalRegister(2, "alpha"),
        [Clbit()],
        ClassicalRegister(1, "beta"),
        name="regs",
        metadata={"k": 1},
    )
    qc.x([0, 2])
    qc.measure([0, 1, 2, 0], [0, 1, 2, 3])
    job = QSessionBackend(runtime, "statevector").run(qc, shots=5, memory=True)
    qc.name = "renamed after submission"  # the result describes what was submitted
    ours = job.result()
    ref = BasicSimulator().run(qc.copy(name="regs"), shots=5, memory=True).result()
    assert ours.get_counts() == ref.get_counts() == {"1 10": 5}
    assert ours.get_memory() == ref.get_memory()
    assert ours.results[0].header == ref.results[0].header


# -- the job ---------------------------------------------------------------------------------------
def test_job_surface(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    job = backend.run(ghz(2), shots=10)
    assert isinstance(job, BackendJob)
    assert job.job_id() == job.core_job.id and job.backend() is backend
    assert job.session_id is None and job.creation_date.tzinfo is not None
    result = job.result()
    assert result.job_id == job.job_id() and result.backend_name == "statevector"
    assert result.success and job.result() is result
    assert job.done() and job.in_final_state() and not job.running() and not job.cancelled()
    assert job.error_message() is None
    with pytest.raises(JobError, match="already submitted"):
        job.submit()


def test_wait_for_final_state_waits_on_the_runtime_clock(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    job = backend.run(isa(backend, ghz(2)), shots=100)
    seen: list[JobStatus] = []
    start = time.perf_counter()
    job.wait_for_final_state(wait=5, callback=lambda job_id, status, j: seen.append(status))
    assert time.perf_counter() - start < 2  # never slept 5 real seconds
    assert seen and job.status() is JobStatus.DONE
    late = backend.run(isa(backend, ghz(2)), shots=100)  # 1.075 s of device time
    with pytest.raises(JobTimeoutError):
        late.wait_for_final_state(timeout=0.5)
    with pytest.raises(JobTimeoutError):
        late.result(timeout=0.1)
    late.wait_for_final_state(timeout=10, wait=0.25, callback=lambda *a: None)
    assert late.done()


def test_cancel_a_queued_job(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    circuit = isa(backend, ghz(2))
    running, queued = backend.run(circuit, shots=10), backend.run(circuit, shots=10)
    assert queued.cancel() is True
    assert queued.status() is JobStatus.CANCELLED and queued.cancelled()
    with pytest.raises(JobError, match="cancelled"):
        queued.result()
    assert running.result().get_counts()


def test_failed_job_raises_job_error(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "broken")
    qc = QuantumCircuit(1, 1)
    qc.x(0)
    qc.measure(0, 0)
    job = backend.run(qc)
    with pytest.raises(JobError, match="caught fire"):
        job.result()
    assert job.status() is JobStatus.ERROR and "caught fire" in (job.error_message() or "")


# -- primitives ---------------------------------------------------------------------------------
def test_backend_sampler_v2_agrees_with_statevector_sampler(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    theta = Parameter("θ")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.measure_all()
    values = np.linspace(0, np.pi, 4)
    circuit = isa(backend, qc)
    sampler = BackendSamplerV2(backend=backend, options={"seed_simulator": 2})
    ours = sampler.run([(circuit, values)], shots=4000).result()[0]
    ref = StatevectorSampler(seed=2).run([(qc, values)], shots=4000).result()[0]
    assert ours.data.meas.shape == (4,)
    for i in range(4):
        assert tvd(ours.data.meas.get_counts(i), ref.data.meas.get_counts(i)) < 0.04


def test_backend_estimator_v2_agrees_with_statevector_estimator(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "emulated_eagle_127")
    theta = Parameter("θ")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    obs = SparsePauliOp.from_list([("ZZ", 1.0), ("XX", 0.5), ("IZ", -0.3)])
    values = np.linspace(0, np.pi, 3)
    circuit = isa(backend, qc)
    estimator = BackendEstimatorV2(backend=backend, options={"seed_simulator": 4})
    ours = estimator.run([(circuit, obs.apply_layout(circuit.layout), values)], precision=0.01)
    ref = StatevectorEstimator().run([(qc, obs, values)]).result()[0]
    res = ours.result()[0]
    assert np.all(np.abs(res.data.evs - ref.data.evs) < 5 * res.data.stds + 1e-9)


def test_chunking_by_max_circuits(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "small")
    assert backend.max_circuits == 2
    assert QSessionBackend(runtime, "statevector").max_circuits is None
    qc = ghz(2)
    result = BackendSamplerV2(backend=backend).run([qc] * 5, shots=20).result()
    assert [r.data.meas.num_shots for r in result] == [20] * 5
    assert len(runtime.jobs(device="small")) == 3


def test_qiskit_ibm_runtime_local_mode_runs_through_our_runtime(runtime: Runtime) -> None:
    from qiskit_ibm_runtime import EstimatorV2, SamplerV2, Session

    backend = QSessionBackend(runtime, "emulated_falcon_27")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    circuit = isa(backend, qc)
    measured = isa(backend, ghz(2))
    with pytest.warns(DeprecationWarning, match="SamplerV2"):
        sampler = SamplerV2(mode=backend)
    counts = sampler.run([measured], shots=500).result()[0].data.meas.get_counts()
    assert set(counts) == {"00", "11"} and sum(counts.values()) == 500
    # The backend is not a simulator, so IBM's primitives check circuits against its Target.
    with pytest.raises(IBMInputValueError, match="not supported by the target"):
        sampler.run([ghz(2)])
    with pytest.warns(DeprecationWarning, match="EstimatorV2"):
        estimator = EstimatorV2(mode=backend)
    obs = SparsePauliOp("ZZ").apply_layout(circuit.layout)
    assert estimator.run([(circuit, obs)]).result()[0].data.evs == pytest.approx(1.0)
    assert len(runtime.jobs(program_id="run", device=backend.name)) >= 2
    # Documented limitation of IBM's local mode: its Session is a no-op for a plain BackendV2.
    with Session(backend=backend) as session:
        assert session.session_id is None and session.status() is None
    # On the simulator backend no ISA check applies.
    with pytest.warns(DeprecationWarning):
        sv_sampler = SamplerV2(mode=QSessionBackend(runtime, "statevector"))
    assert set(sv_sampler.run([ghz(2)]).result()[0].data.meas.get_counts()) == {"00", "11"}


# -- errors and extras ----------------------------------------------------------------------------
def _unbound() -> QuantumCircuit:
    qc = QuantumCircuit(1, 1)
    qc.rz(Parameter("a"), 0)  # in the basis: the parameter is the only problem
    qc.measure(0, 0)
    return qc


def _wide() -> QuantumCircuit:
    qc = QuantumCircuit(28, 1)
    qc.measure(0, 0)
    return qc


def _uncoupled() -> QuantumCircuit:
    qc = QuantumCircuit(27, 2)
    qc.ecr(0, 5)
    qc.measure([0, 5], [0, 1])
    return qc


BAD_RUNS: list[tuple[str, Callable[[QSessionBackend, QuantumCircuit], Any], str]] = [
    ("unknown-option", lambda b, c: b.run(c, shot=100), r"unknown run option.*'shot'"),
    ("bad-shots", lambda b, c: b.run(c, shots=0), "shots must be an integer"),
    ("bad-memory", lambda b, c: b.run(c, memory="yes"), "memory must be"),
    ("bad-seed", lambda b, c: b.run(c, seed_simulator=-1), "seed"),
    ("bad-tags", lambda b, c: b.run(c, job_tags="x"), "job_tags"),
    ("noise-model", lambda b, c: b.run(c, noise_model=object()), "noise models"),
    ("meas-level-1", lambda b, c: b.run(c, meas_level=1), "meas_level=2"),
    ("not-a-circuit", lambda b, c: b.run("OPENQASM 2.0;"), "QuantumCircuit"),
    ("bad-item", lambda b, c: b.run([c, 3]), "item 1 is a int"),
    ("empty", lambda b, c: b.run([]), "empty"),
    ("unbound", lambda b, c: b.run(_unbound()), r"unbound parameters \['a'\]"),
    ("too-wide", lambda b, c: b.run(_wide()), "28 qubits, more than the device's 27"),
    ("not-isa", lambda b, c: b.run(ghz(2)), "instruction h on qubits"),
    ("uncoupled", lambda b, c: b.run(_uncoupled()), r"ecr on qubits \(0, 5\)"),
]


@pytest.mark.parametrize(
    ("call", "message"), [b[1:] for b in BAD_RUNS], ids=[b[0] for b in BAD_RUNS]
)
def test_bad_input_raises_and_changes_nothing(
    runtime: Runtime, call: Callable[..., Any], message: str
) -> None:
    backend = QSessionBackend(runtime, "emulated_falcon_27")
    good = isa(backend, ghz(2))
    with pytest.raises(IBMBackendValueError, match=message) as info:
        call(backend, good)
    assert isinstance(info.value, QiskitError) and isinstance(info.value, ValueError)
    assert runtime.jobs() == []
    assert backend.run(good, shots=20).result().get_counts()


def test_compatible_options_are_accepted(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    job = backend.run(ghz(2), shots=10, meas_level=2, meas_return="single", noise_model=None)
    assert sum(job.result().get_counts().values()) == 10
    job = backend.run(ghz(2), shots=np.int64(12), memory=np.bool_(True))
    assert len(job.result().get_memory()) == 12


def test_unknown_device_and_shut_down_runtime(runtime: Runtime) -> None:
    with pytest.raises(DeviceNotFoundError, match="nope"):
        QSessionBackend(runtime, "nope")
    backend = QSessionBackend(runtime, "statevector")
    assert backend.status().operational and backend.status().status_msg == "active"
    runtime.shutdown()
    assert not backend.status().operational and backend.status().pending_jobs == 0
    with pytest.raises(IBMBackendError, match="shut down"):
        backend.run(ghz(2))


def test_backend_attributes_and_deepcopy(runtime: Runtime) -> None:
    service = object()
    backend = QSessionBackend(runtime, "emulated_falcon_27", service=service, instance="lab")
    assert backend.runtime is runtime and backend.device is runtime.device("emulated_falcon_27")
    assert backend.service is service and backend.provider is service
    assert backend.instance == "lab" and backend.simulator is False
    assert QSessionBackend(runtime, "statevector").simulator is True
    assert backend.num_qubits == 27 and repr(backend) == "<QSessionBackend('emulated_falcon_27')>"
    assert dict(backend.options.items()) == {
        "shots": 1024,
        "memory": False,
        "seed_simulator": None,
        "job_name": None,
        "job_tags": None,
        "method": "automatic",
    }
    clone = copy.deepcopy(backend)
    clone.set_options(shots=7)
    assert backend.options.shots == 1024 and clone.runtime is runtime
    assert clone.target is not backend.target and clone.target.num_qubits == 27
    job = clone.run(isa(clone, ghz(2)))
    assert sum(job.result().get_counts().values()) == 7
    assert job.core_job.instance == "lab"


def test_jobs_run_on_real_time_too(make_runtime: Callable[..., Runtime]) -> None:
    from qsession_provider.core.clock import RealClock

    rt = make_runtime(clock=RealClock())
    rt.add_device(
        Device(
            "quick_qpu",
            2,
            rt.device("statevector").execute,
            basis_gates=("cx", "rz", "sx", "x"),
            coupling_map=((0, 1), (1, 0)),
            timing=TimingModel(per_job=0.05),
        )
    )
    backend = QSessionBackend(rt, "quick_qpu")
    job = backend.run(isa(backend, ghz(2)), shots=10)
    job.wait_for_final_state(timeout=10, wait=0.01, callback=lambda *a: None)
    assert job.done() and job.core_job.finished_at - job.core_job.started_at >= 0.05
