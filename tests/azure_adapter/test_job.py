"""``Job``: details, waiting, results, cancelling."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from qsession_provider.azure import JobStatus, Workspace
from qsession_provider.core.ir.circuit import Circuit
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

pytestmark = pytest.mark.timeout(60)


# -- details ------------------------------------------------------------------------------------
def test_job_details(workspace: Workspace, qpu: Any, bell: str) -> None:
    session = qpu.open_session(name="s")
    job = qpu.submit(
        bell, name="my job", shots=40, priority="High", tags=["x"], metadata={"k": "v"}
    )
    assert uuid.UUID(job.id).version == 1
    assert job.details.status is JobStatus.WAITING or job.details.status is JobStatus.EXECUTING
    job.wait_until_completed(print_progress=False)
    d = job.details
    assert (d.name, d.target, d.provider_id, d.session_id) == (
        "my job",
        "emulated_falcon_27",
        "qsession",
        session.id,
    )
    assert d.status is JobStatus.SUCCEEDED and d.error_data is None
    assert d.creation_time <= d.begin_execution_time < d.end_execution_time
    assert d.input_params == {"shots": 40} and d.metadata == {"k": "v"}
    assert d.priority == "High" and d.tags == ["x"] and d.job_type == "QuantumComputing"
    assert d.item_type == "Job" and job.item_type == "Job"
    assert d.output_data_uri == f"qsession://{workspace.store}/jobs/{job.id}/output"
    assert d.output_data_format == "microsoft.quantum-results.v2"
    assert workspace.get_job(job.id).details == d


# -- waiting and results ----------------------------------------------------------------------
def test_wait_does_not_sleep_on_a_virtual_clock(
    qpu: Any, clock: Any, bell: str, capsys: Any
) -> None:
    job = qpu.submit(bell, shots=100)
    start, wall = clock.now(), time.monotonic()
    job.wait_until_completed()
    assert clock.now() - start > 1.0 and time.monotonic() - wall < 5
    assert job.has_succeeded()
    assert set(capsys.readouterr().out) == {"."}  # azure's progress dots, on stdout
    qpu.submit(bell, shots=100).wait_until_completed(print_progress=False)
    assert capsys.readouterr().out == ""


def test_wait_timeout(slow: Any, bell: str) -> None:
    job = slow.submit(bell, shots=1)
    with pytest.raises(TimeoutError, match="^The wait time has exceeded 5 seconds.$"):
        job.wait_until_completed(timeout_secs=5, print_progress=False)
    with pytest.raises(TimeoutError):
        job.get_results(timeout_secs=1)


def test_results_histogram_and_shots(sv: Any, bell: str) -> None:
    job = sv.submit(bell, shots=100, input_params={"seed": 1})
    probabilities = job.get_results()
    histogram = job.get_results_histogram()
    shots = job.get_results_shots()
    assert len(shots) == 100 and all(s in ([0, 0], [1, 1]) for s in shots)
    assert histogram["[0, 0]"] == {"outcome": [0, 0], "count": shots.count([0, 0])}
    assert probabilities["[1, 1]"] == shots.count([1, 1]) / 100


def test_several_registers_give_tuples(sv: Any) -> None:
    text = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg a[1];
creg b[2];
x q[0];
x q[2];
measure q[0] -> a[0];
measure q[1] -> b[0];
measure q[2] -> b[1];
"""
    job = sv.submit(text, shots=10)
    assert job.get_results() == {"([1], [0, 1])": 1.0}
    assert job.get_results_histogram() == {"([1], [0, 1])": {"outcome": ([1], [0, 1]), "count": 10}}
    assert job.get_results_shots()[0] == ([1], [0, 1])


def test_has_completed_accepts_classic_and_v2_names(sv: Any, bell: str) -> None:
    job = sv.submit(bell, shots=1)
    for status, completed, succeeded in [
        (JobStatus.COMPLETED, True, True),
        (JobStatus.SUCCEEDED, True, True),
        (JobStatus.FAILED, True, False),
        (JobStatus.CANCELLED, True, False),
        (JobStatus.QUEUED, False, False),
        (JobStatus.WAITING, False, False),
        (JobStatus.EXECUTING, False, False),
    ]:
        job.details.status = status
        assert (job.has_completed(), job.has_succeeded()) == (completed, succeeded)


def test_cancel_a_queued_job(qpu: Any, bell: str) -> None:
    running = qpu.submit(bell, shots=1)
    queued = qpu.submit(bell, shots=1)
    queued.cancel()
    assert queued.details.status is JobStatus.CANCELLED
    assert queued.details.cancellation_time is not None
    with pytest.raises(RuntimeError, match=r"failed\(status: Cancelled\.error: "):
        queued.get_results()
    running.wait_until_completed(print_progress=False)
    assert running.has_succeeded()


def test_jobs_of_other_programs_return_their_neutral_result(
    workspace: Workspace, runtime: Any, bell_ir: Circuit
) -> None:
    core = runtime.submit("sampler", "statevector", SamplerPayload((SamplerPub(bell_ir, None, 8),)))
    job = workspace.get_job(core.id)
    assert job.details.input_data_format == "sampler" and job.details.provider_id == "qsession"
    assert set(job.get_results()) == {"pubs"}
    with pytest.raises(ValueError, match="has no shot outcomes"):
        job.get_results_histogram()
    with pytest.raises(ValueError, match="has no shot outcomes"):
        job.get_results_shots()
