"""QiskitRuntimeService: construction, clock and store, backends, least_busy, jobs, delete_job."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from pathlib import Path

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers.exceptions import QiskitBackendNotFoundError  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMInputValueError,
    IBMRuntimeError,
    RuntimeJobNotFound,
)

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    QSessionBackend,
    SamplerV2,
    Session,
    VirtualClock,
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def service(tmp_path: Path, clock: VirtualClock) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=clock)
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_no_arguments_uses_the_default_store(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    path = tmp_path / "default.sqlite3"
    monkeypatch.setenv("QSESSION_STORE", str(path))
    service = QiskitRuntimeService()
    try:
        assert Path(service.store_location) == path
        assert service.active_instance() == "default"
        assert service.channel == "local" and service.is_local is False
        assert QiskitRuntimeService() == service  # same runtime, same instance
    finally:
        service.runtime.shutdown()


def test_cloud_arguments_are_accepted_and_ignored(tmp_path: Path) -> None:
    service = QiskitRuntimeService(
        channel="ibm_quantum_platform",
        token="not-a-token",
        url="https://example.invalid",
        instance="crn:v1:bluemix:public:quantum-computing:us-east:a/x::",
        region="us-east",
        plans_preference=["open"],
        tags=["t"],
        store=tmp_path / "s.sqlite3",
    )
    try:
        assert service.active_instance().startswith("crn:")
        assert service.instances()[0]["name"] == service.active_instance()
        assert service.active_account()["channel"] == "local"
        usage = service.usage()
        assert usage["usage_consumed_seconds"] == 0 and usage["usage_limit_reached"] is False
    finally:
        service.runtime.shutdown()


def test_clock_and_store_combine_one_timeline_per_store(
    tmp_path: Path, service: QiskitRuntimeService, clock: VirtualClock
) -> None:
    assert service.clock is clock
    store = service.store_location
    again = QiskitRuntimeService(store=store)  # no clock: joins the existing runtime
    assert again.runtime is service.runtime and again.clock is clock
    assert QiskitRuntimeService(store=store, clock=clock).runtime is service.runtime
    with pytest.raises(IBMInputValueError, match="already runs on"):
        QiskitRuntimeService(store=store, clock=VirtualClock())
    other = QiskitRuntimeService(store=tmp_path / "other.sqlite3", clock=VirtualClock())
    try:
        assert other.runtime is not service.runtime
    finally:
        other.runtime.shutdown()


def test_backend_lookup_and_cache(service: QiskitRuntimeService) -> None:
    backend = service.backend("emulated_falcon_27")
    assert isinstance(backend, QSessionBackend)
    assert service.backend("emulated_falcon_27") is backend
    assert backend.service is service and backend.num_qubits == 27
    assert service.backend("emulated_falcon_27", instance="other") is not backend
    with pytest.raises(QiskitBackendNotFoundError, match="No backend matches the criteria"):
        service.backend("ibm_nowhere")


def test_backends_filters(service: QiskitRuntimeService) -> None:
    def names(**kw: object) -> list[str]:  # the built-in devices (fake backends: their test)
        return [b.name for b in service.backends(**kw) if not b.name.startswith("fake_")]

    assert names() == ["emulated_eagle_127", "emulated_falcon_27", "statevector"]
    assert names(simulator=True) == ["statevector"]
    assert names(simulator=False, operational=True) == ["emulated_eagle_127", "emulated_falcon_27"]
    assert names(operational=False) == []
    assert names(min_num_qubits=100, simulator=False) == ["emulated_eagle_127"]
    assert names(name="statevector") == ["statevector"]
    assert names(num_qubits=27) == ["emulated_falcon_27"]
    assert names(filters=lambda b: b.num_qubits < 100 and not b.simulator) == ["emulated_falcon_27"]
    assert names(no_such_attribute=1) == []


def test_least_busy_prefers_emulated_qpus_with_the_shortest_queue(
    tmp_path: Path,
) -> None:
    clock = VirtualClock(auto_advance=False)
    service = QiskitRuntimeService(store=tmp_path / "s.sqlite3", clock=clock)
    try:
        assert service.least_busy().name == "emulated_eagle_127"  # tie: first name
        assert service.least_busy(simulator=True).name == "statevector"
        eagle = service.backend("emulated_eagle_127")
        pm = generate_preset_pass_manager(backend=eagle, optimization_level=0)
        SamplerV2(mode=eagle).run([pm.run(bell())], shots=10)  # occupies eagle (manual clock)
        assert eagle.status().pending_jobs == 1
        assert service.least_busy(operational=True, simulator=False).name == "emulated_falcon_27"
        emulated = lambda b: b.name.startswith("emulated_")  # noqa: E731 (not the fake backends)
        assert service.least_busy(min_num_qubits=100, filters=emulated).name == "emulated_eagle_127"
        with pytest.raises(QiskitBackendNotFoundError, match="No backend matches the criteria"):
            service.least_busy(min_num_qubits=1000)
    finally:
        service.runtime.shutdown(wait=False, cancel_pending=True)


def test_job_not_found(service: QiskitRuntimeService) -> None:
    with pytest.raises(RuntimeJobNotFound, match="Job not found: nope"):
        service.job("nope")
    with pytest.raises(RuntimeJobNotFound, match="Job not found: nope"):
        service.delete_job("nope")


def test_jobs_filters(service: QiskitRuntimeService, clock: VirtualClock) -> None:
    sv = service.backend("statevector")
    falcon = service.backend("emulated_falcon_27")
    qc = bell()
    sampler = SamplerV2(mode=sv)
    sampler.options.environment.job_tags = ["a", "b"]
    tagged = sampler.run([qc], shots=5)
    tagged.result()
    clock.advance("1h")
    middle = clock.now()
    clock.advance("1h")
    estimator = EstimatorV2(mode=sv)
    est_qc = QuantumCircuit(2)
    est_qc.h(0)
    est = estimator.run([(est_qc, SparsePauliOp("ZI"))])
    est.result()
    with Session(backend=falcon) as session:
        pm = generate_preset_pass_manager(backend=falcon, optimization_level=0)
        in_session = SamplerV2().run([pm.run(qc)], shots=5)
    in_session.result()

    ids = lambda jobs: [j.job_id() for j in jobs]  # noqa: E731
    assert ids(service.jobs()) == ids([in_session, est, tagged])
    assert ids(service.jobs(descending=False)) == ids([tagged, est, in_session])
    assert ids(service.jobs(limit=1, skip=1)) == [est.job_id()]
    assert ids(service.jobs(limit=None)) == ids([in_session, est, tagged])
    assert ids(service.jobs(backend_name="emulated_falcon_27")) == [in_session.job_id()]
    assert ids(service.jobs(program_id="estimator")) == [est.job_id()]
    assert ids(service.jobs(program_id="sampler")) == ids([in_session, tagged])
    assert ids(service.jobs(job_tags=["a"])) == [tagged.job_id()]
    assert ids(service.jobs(job_tags=["a", "b"])) == [tagged.job_id()]
    assert service.jobs(job_tags=["a", "c"]) == []
    assert ids(service.jobs(session_id=session.session_id)) == [in_session.job_id()]
    assert service.jobs(session_id="no-such-session") == []
    assert service.jobs(pending=True) == []
    assert len(service.jobs(pending=False)) == 3
    after = datetime.fromtimestamp(middle)  # naive: local time, as IBM documents
    assert ids(service.jobs(created_after=after)) == ids([in_session, est])
    assert ids(service.jobs(created_before=after)) == [tagged.job_id()]
    assert service.jobs(created_after=after + timedelta(days=1)) == []
    assert service.jobs(instance="someone-else") == []
    for bad in ("a", ["a", 1], ("a",)):
        with pytest.raises(
            IBMInputValueError, match=r"^'job_tags needs to be a list of strings.'$"
        ):
            service.jobs(job_tags=bad)  # type: ignore[arg-type]


def test_delete_job(tmp_path: Path) -> None:
    clock = VirtualClock(auto_advance=False)
    service = QiskitRuntimeService(store=tmp_path / "s.sqlite3", clock=clock)
    try:
        falcon = service.backend("emulated_falcon_27")
        pm = generate_preset_pass_manager(backend=falcon, optimization_level=0)
        job = SamplerV2(mode=falcon).run([pm.run(bell())], shots=10)
        with pytest.raises(IBMRuntimeError, match="Failed to delete job"):
            service.delete_job(job.job_id())
        clock.advance("1m")
        assert job.status() == "DONE"
        service.delete_job(job.job_id())
        with pytest.raises(RuntimeJobNotFound):
            service.job(job.job_id())
        assert service.jobs() == []
        assert service.usage()["usage_consumed_seconds"] == 0
    finally:
        service.runtime.shutdown(wait=False, cancel_pending=True)


def test_usage_counts_device_time(service: QiskitRuntimeService) -> None:
    falcon = service.backend("emulated_falcon_27")
    pm = generate_preset_pass_manager(backend=falcon, optimization_level=0)
    SamplerV2(mode=falcon).run([pm.run(bell())], shots=1000).result()
    # the falcon's timing model: 1 s per job + 50 ms per circuit + 250 us per shot
    assert service.usage()["usage_consumed_seconds"] == pytest.approx(1.3)
