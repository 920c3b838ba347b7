"""One runtime behind every face: Qiskit, Azure-style and Cirq jobs in one session."""

from __future__ import annotations

from pathlib import Path

import pytest

pytest.importorskip("qiskit")
pytest.importorskip("cirq")

import cirq  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402

from qsession_provider.azure import Workspace  # noqa: E402
from qsession_provider.cirq import Sampler as CirqSampler  # noqa: E402
from qsession_provider.cirq import Service as CirqService  # noqa: E402
from qsession_provider.core import VirtualClock  # noqa: E402
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session  # noqa: E402

DEVICE = "emulated_falcon_27"


@pytest.fixture
def store(tmp_path: Path) -> str:
    return str(tmp_path / "shared.sqlite3")


def test_faces_on_one_store_share_one_runtime(store: str) -> None:
    clock = VirtualClock()
    service = QiskitRuntimeService(store=store, clock=clock)
    workspace = Workspace(store=store)
    cirq_service = CirqService(store=store)
    assert service.runtime is workspace.runtime is cirq_service.runtime
    names = {b.name for b in service.backends()}
    assert names == {t.name for t in cirq_service.targets()}
    assert DEVICE in names


def test_one_session_holds_qiskit_and_cirq_jobs(store: str) -> None:
    clock = VirtualClock()
    service = QiskitRuntimeService(store=store, clock=clock)
    backend = service.backend(DEVICE)
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)
    a, b = cirq.LineQubit.range(2)
    bell = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))

    with Session(backend=backend) as session:
        sampler = SamplerV2(mode=session)
        cirq_sampler = CirqSampler(session=session, seed=3)
        qjob1 = sampler.run([isa], shots=200)
        cresult = cirq_sampler.run(bell, repetitions=200)
        qjob2 = sampler.run([isa], shots=200)
        counts = [j.result()[0].data.meas.get_counts() for j in (qjob1, qjob2)]
        sid = session.session_id

    assert all(set(c) <= {"00", "11"} for c in counts)
    assert set(cresult.histogram(key="m")) <= {0, 3}

    # Every face reports the same session with all three jobs, in submission order.
    qiskit_ids = {j.job_id() for j in service.jobs(session_id=sid, limit=None)}
    assert qiskit_ids == {qjob1.job_id(), qjob2.job_id(), cresult.job_id}
    azure_jobs = Workspace(store=store).list_session_jobs(sid)
    assert {j.id for j in azure_jobs} == qiskit_ids
    core = service.runtime.jobs(session_id=sid, descending=False)
    assert [j.id for j in core] == [qjob1.job_id(), cresult.job_id, qjob2.job_id()]
    # One slot, one session: the jobs ran one after another, in order, on the device.
    for earlier, later in zip(core, core[1:]):
        assert earlier.finished_at <= later.started_at
    assert Session.from_id(sid, service).status() == "Closed"
