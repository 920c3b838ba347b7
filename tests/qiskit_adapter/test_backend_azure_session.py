"""The Qiskit backend as an Azure-style session host: backend.open_session + backend.run."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("qiskit")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.providers import JobStatus  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMBackendError  # noqa: E402

from qsession_provider.azure import SessionJobFailurePolicy, SessionStatus, Workspace  # noqa: E402
from qsession_provider.core import MemoryStore, Runtime, VirtualClock  # noqa: E402
from qsession_provider.plugins.builtin import statevector_device  # noqa: E402
from qsession_provider.qiskit.backend import QSessionBackend  # noqa: E402


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = Runtime(store=MemoryStore(), clock=VirtualClock(), devices=[statevector_device()])
    yield rt
    rt.shutdown()


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2, 2, name="bell")
    qc.h(0)
    qc.cx(0, 1)
    qc.measure([0, 1], [0, 1])
    return qc


def test_runs_join_the_latest_session_and_results_have_counts(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    with backend.open_session(name="bells") as session:
        jobs = [backend.run(bell(), shots=100, job_name=f"Job {i}") for i in range(3)]
        for job in jobs:
            job.wait_for_final_state()
            assert job.status() is JobStatus.DONE
            assert set(job.result().get_counts()) <= {"00", "11"}
            assert job.session_id == session.id
    session.refresh()
    assert session.details.status == SessionStatus.SUCCEEDED
    listed = Workspace(runtime=runtime).list_session_jobs(session.id)
    assert sorted(j.details.name for j in listed) == ["Job 0", "Job 1", "Job 2"]


def test_after_the_block_runs_are_rejected_until_a_new_session(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    with backend.open_session(name="first"):
        backend.run(bell(), shots=10).result()
    with pytest.raises(IBMBackendError, match="closed"):
        backend.run(bell(), shots=10)
    backend.latest_session = None  # back to job mode
    job = backend.run(bell(), shots=10)
    assert job.result().get_counts() and job.session_id is None


def test_failure_policy_abort_ends_the_session(runtime: Runtime) -> None:
    backend = QSessionBackend(runtime, "statevector")
    workspace = Workspace(runtime=runtime)
    with backend.open_session(name="abort", job_failure_policy=SessionJobFailurePolicy.ABORT) as s:
        target = workspace.get_targets("statevector")
        target.latest_session = s
        bad = target.submit("this is not OpenQASM", name="garbage", shots=10)
        bad.wait_until_completed(print_progress=False)
        assert bad.details.status == "Failed"
        s.refresh()
        assert s.details.status == SessionStatus.FAILED
        with pytest.raises(IBMBackendError, match="closed|failed"):
            backend.run(bell(), shots=10)
