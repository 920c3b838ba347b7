"""Azure's session rules, each on the virtual clock: timeouts, Abort, Continue, statuses."""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.azure import (
    JobStatus,
    Session,
    SessionJobFailurePolicy,
    SessionStatus,
    Workspace,
)
from qsession_provider.core.session import CloseReason, FailurePolicy, IdleScope
from qsession_provider.errors import SessionClosedError

pytestmark = pytest.mark.timeout(60)

WAITING, FAILED = SessionStatus.WAITING, SessionStatus.FAILED


def done(*jobs: Any) -> None:
    for job in jobs:
        job.wait_until_completed(print_progress=False)


def test_a_session_not_yet_opened_reports_no_status(workspace: Workspace) -> None:
    session = Session(workspace, target="statevector")
    assert session.details.status is None
    assert not session.is_in_terminal_state()
    assert workspace.list_sessions() == []


def test_no_new_job_for_10_minutes_times_the_session_out(sv: Any, clock: Any, bell: str) -> None:
    session = sv.open_session(name="idle")
    done(sv.submit(bell, name="Job 1", shots=10))
    clock.advance("9m59s")
    assert session.refresh().details.status is WAITING
    clock.advance("1s")
    assert session.refresh().details.status is SessionStatus.TIMED_OUT
    assert session.is_in_terminal_state()
    with pytest.raises(SessionClosedError, match="timed out: no job was submitted for 600 s"):
        sv.submit(bell, name="Job 2")


def test_an_opened_session_without_jobs_times_out_after_10_minutes(sv: Any, clock: Any) -> None:
    session = sv.open_session()
    clock.advance("10m")
    assert session.refresh().details.status is SessionStatus.TIMED_OUT


def test_each_new_job_restarts_the_10_minutes(sv: Any, clock: Any, bell: str) -> None:
    session = sv.open_session()
    for _ in range(3):
        clock.advance("8m")
        done(sv.submit(bell, shots=10))
    clock.advance("9m")
    assert session.refresh().details.status is WAITING


def test_a_job_running_longer_than_10_minutes_does_not_time_the_session_out(
    workspace: Workspace, clock: Any, bell: str
) -> None:
    long = workspace.get_targets("slow_2")
    session = long.open_session()
    # 24 jobs of 70 s on two slots: 14 minutes in which the session is never idle.
    jobs = [long.submit(bell, shots=10) for _ in range(24)]
    done(*jobs)
    assert clock.now() - jobs[0].details.creation_time.timestamp() >= 600
    assert session.refresh().details.status is WAITING


def test_abort_is_the_default_policy(sv: Any) -> None:
    session = sv.open_session()
    assert session.details.job_failure_policy is SessionJobFailurePolicy.ABORT


def test_abort_a_failed_job_fails_the_session_and_cancels_in_progress_jobs(
    slow: Any, bell: str
) -> None:
    with slow.open_session(name="abort") as session:
        running = slow.submit(bell, name="running", shots=100)  # slot 1, 160 s
        short = slow.submit(bell, name="short", shots=10)  # slot 2, 70 s
        bad = slow.submit("garbage", name="bad")  # gets slot 2 at 70 s and fails
        queued = slow.submit(bell, name="queued", shots=10)
        assert session.refresh().details.status is WAITING
        done(bad)
        assert session.refresh().details.status is FAILED
        with pytest.raises(SessionClosedError, match="failed: a job failed and the failure"):
            slow.submit(bell, name="rejected")
    for job in (running, short, queued):
        job.refresh()
    assert short.details.status is JobStatus.SUCCEEDED
    assert bad.details.status is JobStatus.FAILED
    for job in (running, queued):
        assert job.details.status is JobStatus.CANCELLED
        assert job.details.error_data.code == "SessionFailed"
    assert running.details.begin_execution_time is not None  # it was running
    assert queued.details.begin_execution_time is None  # it was queued
    assert session.details.status is FAILED
    assert [j.details.name for j in session.list_jobs()] == ["running", "short", "bad", "queued"]


def test_abort_on_a_one_slot_qpu_jobs_before_the_failure_succeed(qpu: Any, bell: str) -> None:
    with qpu.open_session() as session:
        first = qpu.submit(bell, name="first", shots=10)
        bad = qpu.submit("garbage", name="bad")
        after = qpu.submit(bell, name="after", shots=10)
    done(first, bad, after)
    assert [j.details.status for j in (first, bad, after)] == [
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    ]
    assert session.refresh().details.status is FAILED


def test_continue_keeps_accepting_reports_failures_then_failed_once_closed(
    sv: Any, bell: str
) -> None:
    with sv.open_session(job_failure_policy=SessionJobFailurePolicy.CONTINUE) as session:
        bad = sv.submit("garbage", name="Job 1")
        good = [sv.submit(bell, name=f"Job {i}", shots=10) for i in (2, 3)]
        done(bad, *good)
        assert session.refresh().details.status is SessionStatus.FAILURE_S_
        assert not session.is_in_terminal_state()
        late = sv.submit(bell, name="Job 4", shots=10)  # still accepted
    done(late)
    assert session.refresh().details.status is FAILED
    assert [j.details.status for j in (*good, late)] == [JobStatus.SUCCEEDED] * 3


def test_continue_timed_out_wins_over_failures(sv: Any, clock: Any) -> None:
    session = sv.open_session(job_failure_policy="Continue")
    done(sv.submit("garbage"))
    assert session.refresh().details.status is SessionStatus.FAILURE_S_
    clock.advance("10m")
    assert session.refresh().details.status is SessionStatus.TIMED_OUT


def test_closed_normally_succeeds_after_its_jobs_drain(qpu: Any, bell: str) -> None:
    session = qpu.open_session()
    jobs = [qpu.submit(bell, shots=10) for _ in range(3)]
    session.close()
    assert session.details.status is WAITING  # draining: jobs still run
    done(*jobs)
    assert session.refresh().details.status is SessionStatus.SUCCEEDED
    assert session.details.end_execution_time >= jobs[-1].details.end_execution_time


def test_executing_is_never_reported_while_a_job_runs(slow: Any, bell: str) -> None:
    session = slow.open_session()
    job = slow.submit(bell, shots=10)
    job.refresh()
    assert job.details.status is JobStatus.EXECUTING
    assert session.refresh().details.status is WAITING


def test_cancelling_the_first_job_does_not_close_the_session(slow: Any, bell: str) -> None:
    session = slow.open_session()
    first = slow.submit(bell, shots=10)
    first.cancel()
    assert first.details.status is JobStatus.CANCELLED
    done(slow.submit(bell, shots=10))
    assert session.refresh().details.status is WAITING


def test_garbage_input_fails_only_its_job(workspace: Workspace, sv: Any, bell: str) -> None:
    other = workspace.get_targets("statevector")
    bystander = other.open_session(name="bystander")
    bad = sv.submit("garbage")  # job mode
    done(bad)
    assert bad.details.status is JobStatus.FAILED
    good = other.submit(bell, shots=10)
    done(good)
    assert good.details.status is JobStatus.SUCCEEDED
    assert bystander.refresh().details.status is WAITING


def test_a_session_left_open_at_shutdown_is_timed_out(
    workspace: Workspace, runtime: Any, sv: Any
) -> None:
    first = sv.open_session()
    left_open = sv.open_session()  # closes the first one
    runtime.shutdown()
    assert workspace.get_session(first.id).details.status is SessionStatus.SUCCEEDED
    assert workspace.get_session(left_open.id).details.status is SessionStatus.TIMED_OUT


def test_azure_sessions_carry_azures_rules_in_the_core(
    workspace: Workspace, runtime: Any, sv: Any
) -> None:
    session = sv.open_session(job_failure_policy="continue")
    record = runtime.session(session.id)
    assert record.idle_timeout == 600
    assert record.idle_scope is IdleScope.ANY
    assert record.failure_policy is FailurePolicy.CONTINUE
    assert record.close_on_root_cancel is False
    session.close()
    assert runtime.session(session.id).close_reason is CloseReason.CLOSED
