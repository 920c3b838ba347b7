"""RuntimeJob: status strings, waits, errors, cancel, tags, metrics, jobs of other processes."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.primitives import BasePrimitiveJob, PrimitiveResult  # noqa: E402
from qiskit.providers import JobStatus  # noqa: E402
from qiskit.providers.jobstatus import JOB_FINAL_STATES  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMInputValueError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobTimeoutError,
)

from qsession_provider.core.device import Device  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    QiskitRuntimeService,
    RuntimeJob,
    RuntimeJobStatus,
    RuntimeJobV2,
    SamplerV2,
    VirtualClock,
)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(auto_advance=False, stall_timeout=10)


@pytest.fixture
def service(tmp_path: Path, clock: VirtualClock) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=clock)
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def falcon(service: QiskitRuntimeService) -> Any:
    return service.backend("emulated_falcon_27")


@pytest.fixture
def isa(falcon: Any) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return generate_preset_pass_manager(backend=falcon, optimization_level=0).run(qc)


def test_status_is_a_string_that_equals_qiskit_job_status() -> None:
    done = RuntimeJobStatus("DONE")
    assert done == "DONE" and done == JobStatus.DONE and JobStatus.DONE == done
    assert done != JobStatus.ERROR and done != "ERROR"
    assert done in JOB_FINAL_STATES and done in RuntimeJob.JOB_FINAL_STATES
    assert RuntimeJobStatus("QUEUED") not in JOB_FINAL_STATES
    assert done.name == "DONE" and isinstance(done, str) and {done: 1}["DONE"] == 1
    assert RuntimeJobV2 is RuntimeJob and issubclass(RuntimeJob, BasePrimitiveJob)


def test_lifecycle_on_the_clock(falcon: Any, isa: QuantumCircuit, clock: VirtualClock) -> None:
    first = SamplerV2(mode=falcon).run([isa], shots=1000)
    second = SamplerV2(mode=falcon).run([isa], shots=1000)
    clock.advance(0)
    assert first.status() == "RUNNING" and first.running() and not first.done()
    assert second.status() == "QUEUED" and second.status() == JobStatus.QUEUED
    assert not second.in_final_state()
    with pytest.raises(RuntimeJobTimeoutError, match="Timed out waiting for job to complete"):
        second.result(timeout=0)
    clock.advance("1.3s")
    assert first.status() == "DONE" and first.done() and first.in_final_state()
    assert not (first.errored() or first.cancelled())
    assert first.usage() == pytest.approx(1.3)  # modelled device time
    assert second.usage() == 0 and second.usage(partial=True) == 0
    clock.advance("0.5s")
    assert second.usage(partial=True) == pytest.approx(0.5)
    clock.advance("1s")
    second.wait_for_final_state(timeout=0)
    metrics = first.metrics()
    assert metrics["usage"] == {
        "quantum_seconds": pytest.approx(1.3),
        "seconds": pytest.approx(1.3),
        "qpu_charge_time_seconds": pytest.approx(1.3),
        "status": "complete",
    }
    assert metrics["timestamps"]["created"].endswith("Z")
    assert isinstance(first.creation_date, datetime) and first.creation_date.tzinfo is not None
    assert first.session_id is None and first.primitive_id == "sampler"
    assert first.backend() is falcon and first.instance == "default"
    assert first.error_message() is None and "DONE" in first.logs()
    assert first.usage_estimation == {"quantum_seconds": pytest.approx(1.3)}
    assert isinstance(first.inputs["pubs"][0].circuit, QuantumCircuit)
    assert first.result() is first.result()  # decoded once


def test_wait_timeout_on_an_auto_advancing_clock(tmp_path: Path) -> None:
    service = QiskitRuntimeService(store=tmp_path / "s.sqlite3", clock=VirtualClock())
    try:
        falcon = service.backend("emulated_falcon_27")
        qc = QuantumCircuit(1)
        qc.measure_all()
        job = SamplerV2(mode=falcon).run([qc], shots=1000)  # 1.3 virtual seconds
        with pytest.raises(RuntimeJobTimeoutError):
            job.wait_for_final_state(timeout=1.0)
        assert job.status() == "RUNNING"
        assert job.result(timeout=1.0).metadata["version"] == 2
    finally:
        service.runtime.shutdown(wait=False)


def test_cancel(falcon: Any, isa: QuantumCircuit, clock: VirtualClock) -> None:
    sampler = SamplerV2(mode=falcon)
    running = sampler.run([isa], shots=10)
    queued = sampler.run([isa], shots=10)
    clock.advance(0)
    queued.cancel()
    assert queued.status() == "CANCELLED" and queued.cancelled()
    with pytest.raises(
        RuntimeInvalidStateError,
        match=f"Unable to retrieve result for job {queued.job_id()}. Job was cancelled.",
    ):
        queued.result()
    with pytest.raises(RuntimeInvalidStateError, match="Job cannot be cancelled"):
        queued.cancel()
    clock.advance("10s")
    assert running.status() == "DONE"


def test_failure_and_error_message(service: QiskitRuntimeService) -> None:
    def broken(program_id: str, payload: Any) -> Any:
        raise RuntimeError("the fridge is warm")

    service.runtime.add_device(Device("broken", 4, broken, simulator=True, slots=1))
    qc = QuantumCircuit(1)
    qc.measure_all()
    job = SamplerV2(mode=service.backend("broken")).run([qc])
    with pytest.raises(RuntimeJobFailureError, match="Unable to retrieve job result.*fridge"):
        job.result()
    assert job.status() == "ERROR" and job.status() == JobStatus.ERROR and job.errored()
    assert job.error_message().startswith(f"Job {job.job_id()} has failed:")
    assert "the fridge is warm" in job.logs()


def test_tags(service: QiskitRuntimeService, falcon: Any, isa: QuantumCircuit) -> None:
    sampler = SamplerV2(mode=falcon)
    sampler.options.environment.job_tags = ["a"]
    job = sampler.run([isa], shots=10)
    assert job.tags == ["a"]
    assert job.update_tags(["b", "c", "b"]) == ["b", "c"]
    assert service.job(job.job_id()).tags == ["b", "c"]
    assert [j.job_id() for j in service.jobs(job_tags=["c"])] == [job.job_id()]
    with pytest.raises(IBMInputValueError, match="job_tags needs to be a list of strings"):
        job.update_tags("d")  # type: ignore[arg-type]


def test_a_job_fetched_by_id_decodes_into_the_same_containers(
    service: QiskitRuntimeService, falcon: Any, clock: VirtualClock
) -> None:
    qc = QuantumCircuit(QuantumRegister(2), ClassicalRegister(1, "a"), ClassicalRegister(1, "b"))
    qc.metadata = {"experiment": 7}
    qc.h(0)
    qc.cx(0, 1)
    qc.measure(0, 0)
    qc.measure(1, 1)
    isa = generate_preset_pass_manager(backend=falcon, optimization_level=0).run(qc)
    job = SamplerV2(mode=falcon).run([(isa, None, 30), isa], shots=20)
    clock.advance("1m")
    fetched = service.job(job.job_id())
    assert fetched is not job and fetched.primitive_id == "sampler"
    original, again = job.result(), fetched.result()
    assert isinstance(again, PrimitiveResult) and again.metadata == original.metadata
    for a, b in zip(original, again):
        assert list(a.data) == list(b.data) == ["a", "b"]
        assert (
            a.metadata
            == b.metadata
            == {"shots": a.data.a.num_shots, "circuit_metadata": {"experiment": 7}}
        )
        assert a.data.a.get_counts() == b.data.a.get_counts()
        assert a.join_data().get_counts() == b.join_data().get_counts()


SCRIPT = """
import json, sys
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler
from qsession_provider.qiskit import EstimatorV2, QiskitRuntimeService, SamplerV2, Session

service = QiskitRuntimeService(store=sys.argv[1])
backend = service.backend("statevector")
qc = QuantumCircuit(QuantumRegister(2), ClassicalRegister(2, "alpha"), ClassicalRegister(1, "beta"))
qc.metadata = {"origin": "child"}
qc.h(0)
qc.cx(0, 1)
qc.measure([0, 1], [0, 1])
qc.measure(1, 2)
bell = QuantumCircuit(2)
bell.h(0)
bell.cx(0, 1)
with Session(backend=backend) as session:
    sampler = SamplerV2(options={"simulator": {"seed_simulator": 11}})
    sampler.options.environment.job_tags = ["child"]
    s = sampler.run([qc], shots=50)
    e = EstimatorV2().run([(bell, [["ZZ", "XX", "ZI"]])], precision=0)
    x = ExecutorSampler().run([qc], shots=40)
    out = {
        "session": session.session_id,
        "sampler": s.job_id(),
        "counts": s.result()[0].data.alpha.get_counts(),
        "estimator": e.job_id(),
        "evs": e.result()[0].data.evs.tolist(),
        "executor": x.job_id(),
        "executor_counts": x.result()[0].data.alpha.get_counts(),
    }
print(json.dumps(out))
"""


def test_a_job_of_another_process_is_fetched_by_id(tmp_path: Path) -> None:
    store = tmp_path / "shared.sqlite3"
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(SCRIPT), str(store)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    service = QiskitRuntimeService(store=store)  # this process: a new runtime on the same file
    try:
        job = service.job(child["sampler"])
        assert job.status() == "DONE" and job.session_id == child["session"]
        assert job.session_id == job.job_id()  # the root job
        assert job.tags == ["child"] and job.primitive_id == "sampler"
        pub = job.result()[0]
        assert list(pub.data) == ["alpha", "beta"] and pub.data.alpha.num_shots == 50
        assert pub.data.alpha.get_counts() == child["counts"]
        assert pub.metadata["circuit_metadata"] == {"origin": "child"}
        est = service.job(child["estimator"]).result()[0]
        assert est.data.evs.shape == (1, 3) and est.data.evs.tolist() == child["evs"]
        executor = service.job(child["executor"])
        assert executor.primitive_id == "executor"
        assert executor.result()[0].data.alpha.get_counts() == child["executor_counts"]
        jobs = service.jobs(session_id=child["session"])
        assert {j.job_id() for j in jobs} == {
            child["sampler"],
            child["estimator"],
            child["executor"],
        }
        assert [j.job_id() for j in service.jobs(program_id="executor")] == [child["executor"]]
    finally:
        service.runtime.shutdown()
