"""The job state machine: transition table, final states, handle behaviour, record encoding."""

from __future__ import annotations

import itertools

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.job import (
    FINAL_STATES,
    PENDING_STATES,
    TRANSITIONS,
    Job,
    JobRecord,
    JobStatus,
)
from qsession_provider.errors import (
    InvalidJobStateError,
    JobCancelledError,
    JobFailedError,
    JobTimeoutError,
)

ALLOWED = {
    (JobStatus.QUEUED, JobStatus.RUNNING),
    (JobStatus.QUEUED, JobStatus.ERROR),
    (JobStatus.QUEUED, JobStatus.CANCELLED),
    (JobStatus.RUNNING, JobStatus.DONE),
    (JobStatus.RUNNING, JobStatus.ERROR),
    (JobStatus.RUNNING, JobStatus.CANCELLED),
}


def make_job(status: JobStatus = JobStatus.QUEUED) -> Job:
    record = JobRecord("j", "sampler", "dev", status, created_at=0.0)
    return Job(record, clock=VirtualClock(start=0))


def test_status_values_are_the_ibm_names_and_serialise_as_strings() -> None:
    assert [s.value for s in JobStatus] == ["QUEUED", "RUNNING", "DONE", "ERROR", "CANCELLED"]
    assert str(JobStatus.DONE) == "DONE" and JobStatus("ERROR") is JobStatus.ERROR
    assert JobStatus.DONE == "DONE"
    assert FINAL_STATES == {JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED}
    assert PENDING_STATES | FINAL_STATES == set(JobStatus)


@pytest.mark.parametrize(
    ("old", "new"),
    list(itertools.product(JobStatus, JobStatus)),
    ids=lambda s: s.value,
)
def test_transition_table(old: JobStatus, new: JobStatus) -> None:
    job = make_job(old)
    assert (new in TRANSITIONS[old]) == ((old, new) in ALLOWED)
    if (old, new) in ALLOWED:
        job._transition(new)
        assert job.status is new
    else:
        with pytest.raises(InvalidJobStateError, match=f"from {old.value} to {new.value}"):
            job._transition(new)
        assert job.status is old


def test_final_states_never_change() -> None:
    for final in FINAL_STATES:
        for target in JobStatus:
            assert target not in TRANSITIONS[final]


def test_result_of_a_done_job_and_the_errors_of_the_others() -> None:
    done = make_job(JobStatus.RUNNING)
    done._transition(JobStatus.DONE, result={"x": 1}, has_result=True)
    assert done.result() == {"x": 1} and done.succeeded() and done.in_final_state()
    failed = make_job(JobStatus.RUNNING)
    failed._transition(JobStatus.ERROR, error_message="bad qubit", error_code="execution_failed")
    with pytest.raises(JobFailedError, match="bad qubit") as info:
        failed.result()
    assert info.value.job_id == "j"  # type: ignore[attr-defined]
    assert failed.errored()
    cancelled = make_job()
    cancelled._transition(JobStatus.CANCELLED, error_message="cancelled by the user")
    with pytest.raises(JobCancelledError, match="cancelled by the user"):
        cancelled.result()
    assert cancelled.cancelled()


def test_wait_times_out_on_the_clock() -> None:
    job = make_job()
    assert not job.wait(timeout=5)
    with pytest.raises(JobTimeoutError):
        job.result(timeout=1)


def test_done_callbacks_are_returned_not_run_under_the_lock() -> None:
    job = make_job(JobStatus.RUNNING)
    seen: list[str] = []
    job.add_done_callback(lambda j: seen.append(j.id))
    callbacks = job._transition(JobStatus.DONE, result=None, has_result=True)
    assert seen == [] and len(callbacks) == 1
    callbacks[0]()
    assert seen == ["j"]


def test_record_json_round_trip() -> None:
    record = JobRecord(
        "id-1",
        "estimator",
        "dev",
        JobStatus.ERROR,
        1.5,
        session_id="s",
        instance="i",
        tags=("a", "b"),
        name="n",
        started_at=2.0,
        finished_at=3.0,
        error_message="m",
        error_code="execution_failed",
        system=False,
        priority=2,
        max_execution_time=10.0,
        owner="o",
        metadata={"k": [1, 2], "c": 1 + 1j},
    )
    assert JobRecord.from_json(record.to_json()) == record
    assert record.execution_time == 1.0
    assert record.replace(status=JobStatus.DONE).status is JobStatus.DONE


def test_cancel_without_a_runtime_does_nothing() -> None:
    job = make_job()
    assert not job.cancel()
    assert job.status is JobStatus.QUEUED
    assert "QUEUED" in repr(job)
