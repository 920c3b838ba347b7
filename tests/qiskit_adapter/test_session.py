"""Session and Batch: construction, status/details, close, cancel, timeouts, root job, from_id.

Time-dependent rules run on a manual VirtualClock, observed only through the Qiskit API.
The emulated Falcon takes 1 s + 50 ms per circuit execution + 250 us per shot per job.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.providers.basic_provider import BasicSimulator  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime import Batch as IBMBatch  # noqa: E402
from qiskit_ibm_runtime import Session as IBMSession  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMInputValueError,
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
)
from qiskit_ibm_runtime.utils.default_session import get_cm_session  # noqa: E402

from qsession_provider.core.device import TimingModel  # noqa: E402
from qsession_provider.plugins.builtin import statevector_device  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

DETAIL_KEYS = {
    "id",
    "backend_name",
    "interactive_timeout",
    "max_time",
    "active_timeout",
    "state",
    "accepting_jobs",
    "last_job_started",
    "last_job_completed",
    "started_at",
    "closed_at",
    "activated_at",
    "mode",
    "usage_time",
    "timestamps",
}
CLOSED = "The session is closed."


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(auto_advance=False, stall_timeout=10)


@pytest.fixture
def service(tmp_path: Path, clock: VirtualClock) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=clock)
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def falcon(service: QiskitRuntimeService) -> object:
    return service.backend("emulated_falcon_27")


@pytest.fixture
def isa(falcon: object) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return generate_preset_pass_manager(backend=falcon, optimization_level=0).run(qc)


def long_pub(falcon: object, executions: int = 2000) -> tuple[QuantumCircuit, np.ndarray, int]:
    """A pub that keeps the Falcon busy for 1 + 0.05 * executions + ... seconds."""
    theta = Parameter("θ")
    qc = QuantumCircuit(1)
    qc.rx(theta, 0)
    qc.measure_all()
    isa = generate_preset_pass_manager(backend=falcon, optimization_level=0).run(qc)
    return isa, np.linspace(0, 1, executions)[:, None], 1


def test_construction_and_max_time_parsing(service: QiskitRuntimeService, falcon: object) -> None:
    for max_time, seconds in ((600, 600), ("25m", 1500), ("1h 30m", 5400), ("2h 30m 40s", 9040)):
        session = Session(falcon, max_time=max_time)
        assert session.details()["max_time"] == seconds
        session.close()
    assert Session(falcon).details()["max_time"] == 8 * 3600
    with pytest.raises(IBMInputValueError, match=r"Invalid max_time value:  Invalid input: \[\]"):
        Session(falcon, max_time="soon")
    with pytest.raises(ValueError, match="needs a backend of qsession_provider"):
        Session(BasicSimulator())
    with pytest.raises(ValueError, match="Invalid backend type"):
        Session(27)  # type: ignore[arg-type]
    session = Session(falcon, create_new=False)
    assert session.session_id is None and session.details() is None and session.status() is None


def test_status_details_and_classes(falcon: object) -> None:
    session = Session(backend=falcon, max_time="25m")
    assert isinstance(session, IBMSession) and not isinstance(session, IBMBatch)
    assert session.status() == "Pending"
    details = session.details()
    assert set(details) == DETAIL_KEYS
    assert details["id"] == session.session_id
    assert details["backend_name"] == "emulated_falcon_27" == session.backend()
    assert details["state"] == "open" and details["accepting_jobs"] is True
    assert details["mode"] == "dedicated"
    assert details["interactive_timeout"] == 300
    assert details["started_at"] is None and details["usage_time"] == 0
    assert session.usage() == 0
    assert session.service.backend("emulated_falcon_27") is falcon
    batch = Batch(backend=falcon)
    assert isinstance(batch, IBMBatch) and isinstance(batch, Session)
    assert batch.details()["mode"] == "batch"
    assert batch.details()["interactive_timeout"] is None


def test_context_manager_sets_ibm_context_and_closes(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock
) -> None:
    assert get_cm_session() is None
    with Session(backend=falcon) as session:
        assert get_cm_session() is session
        sampler = SamplerV2()
        assert sampler.mode is session
        job1 = sampler.run([isa], shots=100)
        job2 = sampler.run([isa], shots=100)
        assert job1.job_id() == session.session_id  # the root job shares the session id
        assert job1.session_id == job2.session_id == session.session_id
        clock.advance(0)
        assert session.status() == "In progress, accepting new jobs"
    assert get_cm_session() is None
    assert session.status() == "In progress, not accepting new jobs"
    assert session.details()["state"] == "pending_closed"
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([isa])
    assert err.value.message == CLOSED
    clock.advance("1m")  # queued and running jobs run to completion, then Closed
    assert job1.status() == job2.status() == "DONE"
    assert sum(job2.result()[0].data.meas.get_counts().values()) == 100
    assert session.status() == "Closed"
    states = [t["status"] for t in session.details()["timestamps"]]
    assert states == ["open", "active", "pending_closed", "closed"]


def test_max_time_closes_the_session_and_fails_queued_jobs(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock, service: QiskitRuntimeService
) -> None:
    session = Session(backend=falcon, max_time="25m")
    sampler = SamplerV2(mode=session)
    first = sampler.run([isa], shots=10)
    clock.advance("10s")  # the first job starts the 25-minute timer, then finishes
    assert first.status() == "DONE" and session.details()["started_at"] is not None
    clock.advance("24m")  # past the interactive window: deactivated, still open
    assert session.details()["state"] == "inactive" and session.status() == "Pending"
    running = sampler.run([long_pub(falcon)])  # ~106 s: still running at the 25-minute mark
    queued = sampler.run([isa], shots=10)
    clock.advance("2m")
    assert session.status() == "Closed"
    assert session.details()["accepting_jobs"] is False
    assert running.status() == "DONE"  # running jobs finish
    assert queued.status() == "ERROR"  # queued jobs fail
    with pytest.raises(RuntimeJobFailureError, match="Unable to retrieve job result"):
        queued.result()
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([isa])  # closed by the clock, not by close(): the record is checked
    assert err.value.message == CLOSED
    # everything else is intact: stored results, the job list, other sessions
    assert service.job(first.job_id()).result()[0].data.meas.num_shots == 10
    assert len(service.jobs(session_id=session.session_id)) == 3
    other = Session(backend=falcon)
    other_job = SamplerV2(mode=other).run([isa], shots=5)
    clock.advance("10s")
    assert other_job.status() == "DONE"


def test_interactive_timeout_deactivates_and_a_new_job_reactivates(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock
) -> None:
    session = Session(backend=falcon)
    sampler = SamplerV2(mode=session)
    sampler.run([isa], shots=10)
    clock.advance("10s")
    assert session.details()["state"] == "active"
    clock.advance("5m")
    assert session.details()["state"] == "inactive" and session.status() == "Pending"
    job = sampler.run([isa], shots=10)
    clock.advance("10s")
    assert job.status() == "DONE"
    details = session.details()
    assert details["state"] == "active"
    assert [t["status"] for t in details["timestamps"]] == ["open", "active", "inactive", "active"]
    assert details["usage_time"] > 300  # the device was held through the interactive window


def test_idle_open_timeout_closes_an_unused_session(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock
) -> None:
    session = Session(backend=falcon)
    clock.advance("29m")
    assert session.status() == "Pending"
    clock.advance("1m")
    assert session.status() == "Closed"
    with pytest.raises(IBMRuntimeError) as err:
        SamplerV2(mode=session).run([isa])
    assert err.value.message == CLOSED


def test_cancel_fails_queued_jobs_and_lets_the_running_one_finish(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock
) -> None:
    with Session(backend=falcon) as session:
        sampler = SamplerV2()
        running = sampler.run([isa], shots=10)
        queued = [sampler.run([isa], shots=10) for _ in range(2)]
        clock.advance(0)
        session.cancel()
        assert session.status() == "Closed"
        with pytest.raises(IBMRuntimeError) as err:
            sampler.run([isa])
        assert err.value.message == CLOSED
    assert [j.status() for j in queued] == ["ERROR", "ERROR"]
    clock.advance("10s")
    assert running.status() == "DONE" and running.result()[0].data.meas.num_shots == 10


def test_cancelling_the_root_job_closes_the_session(
    falcon: object, isa: QuantumCircuit, clock: VirtualClock
) -> None:
    session = Session(backend=falcon)
    sampler = SamplerV2(mode=session)
    root = sampler.run([isa], shots=10)
    others = [sampler.run([isa], shots=10) for _ in range(2)]
    clock.advance(0)
    assert root.job_id() == session.session_id and root.status() == "RUNNING"
    root.cancel()
    assert root.status() == "CANCELLED"
    assert [j.status() for j in others] == ["ERROR", "ERROR"]
    assert session.status() == "Closed"
    with pytest.raises(RuntimeInvalidStateError, match="Job was cancelled"):
        root.result()
    with pytest.raises(RuntimeJobFailureError, match="root job"):
        others[0].result()


def test_from_id(service: QiskitRuntimeService, falcon: object, isa: QuantumCircuit) -> None:
    session = Session(backend=falcon, max_time=900)
    batch = Batch(backend=falcon)
    again = Session.from_id(session.session_id, service)
    assert type(again) is Session and again.session_id == session.session_id
    assert again.details() == session.details()
    assert again._backend is falcon
    again_batch = Batch.from_id(batch.session_id, service)
    assert again_batch.details()["mode"] == "batch"
    with pytest.raises(
        IBMInputValueError,
        match=f"Input ID {session.session_id} has execution mode dedicated instead of batch",
    ):
        Batch.from_id(session.session_id, service)
    with pytest.raises(
        IBMInputValueError,
        match=f"Input ID {batch.session_id} has execution mode batch instead of dedicated",
    ):
        Session.from_id(batch.session_id, service)
    with pytest.raises(IBMInputValueError, match="Session not found"):
        Session.from_id("no-such-session", service)
    # A job through the handle joins the same session; its first job is not a second root.
    job = SamplerV2(mode=again).run([isa], shots=5)
    assert job.session_id == session.session_id and job.job_id() == session.session_id
    second = SamplerV2(mode=session).run([isa], shots=5)
    assert second.job_id() != session.session_id
    session.close()
    closed = Session.from_id(session.session_id, service)
    with pytest.raises(IBMRuntimeError) as err:
        SamplerV2(mode=closed).run([isa])
    assert err.value.message == CLOSED


def test_batch_runs_jobs_in_parallel(service: QiskitRuntimeService, clock: VirtualClock) -> None:
    slow = dataclasses.replace(
        statevector_device(), name="slow_sim", timing=TimingModel(per_job=10.0)
    )
    service.runtime.add_device(slow)
    backend = service.backend("slow_sim")
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.measure_all()
    with Batch(backend=backend) as batch:
        jobs = [SamplerV2(mode=batch).run([qc], shots=5) for _ in range(4)]
    clock.advance("1m")
    starts = sorted(j.metrics()["timestamps"]["running"] for j in jobs)
    assert starts[0] == starts[1] != starts[2] == starts[3]  # two slots, two at a time
    assert all(j.result()[0].data.meas.get_counts() == {"1": 5} for j in jobs)
    assert batch.status() == "Closed"
    assert batch.usage() == pytest.approx(40.0)  # a batch is charged its jobs' device time
