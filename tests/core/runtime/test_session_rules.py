"""Every session rule of DESIGN.md ("Rules to honour"), each on a virtual clock.

Device ``fake_qpu`` has one slot and takes 3 s per ``echo`` job (2 s per job + 1 s per
execution), so the timelines below are exact. The manual clock moves only through
``advance``, which settles the runtime before and after every step.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.job import JobErrorCode, JobStatus
from qsession_provider.core.session import CloseReason, SessionState
from qsession_provider.errors import SessionClosedError

pytestmark = pytest.mark.timeout(30)

S = SessionState


def states(record: Any) -> list[tuple[str, float]]:
    return [(state.value, when) for state, when in record.timestamps]


def test_session_starts_when_its_first_job_begins_execution(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    blocker = rt.submit("echo", "fake_qpu", payload(), instance="someone-else")
    session = rt.open_session("fake_qpu", max_ttl=100)
    job = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(2)
    record = rt.session(session.id)
    assert record.state is S.OPEN
    assert record.started_at is None and record.expires_at() is None
    manual_clock.advance(1)  # the blocker ends at t=3 and the session's job starts
    assert blocker.status is JobStatus.DONE
    record = rt.session(session.id)
    assert job.started_at == 3.0
    assert record.state is S.ACTIVE
    assert record.started_at == 3.0 and record.activated_at == 3.0
    assert record.expires_at() == 103.0  # the max-TTL clock started with the first job


def test_max_ttl_closes_fails_queued_lets_running_finish_and_rejects_new_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", max_ttl="10s")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=session.id) for _ in range(5)]
    manual_clock.advance(10)
    record = rt.session(session.id)
    assert record.state is S.CLOSED
    assert record.close_reason is CloseReason.MAX_TTL and record.timed_out
    assert record.closed_at == 10.0 and not record.accepting_jobs
    assert [j.status for j in jobs[:3]] == [JobStatus.DONE] * 3
    assert jobs[3].status is JobStatus.RUNNING  # started at 9, still running
    assert jobs[4].status is JobStatus.ERROR
    assert jobs[4].error_code == JobErrorCode.SESSION_EXPIRED.value
    assert "maximum time" in (jobs[4].error_message or "")
    with pytest.raises(SessionClosedError, match="maximum time"):
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(2)
    assert jobs[3].status is JobStatus.DONE and jobs[3].finished_at == 12.0


def test_interactive_ttl_deactivates_and_the_next_job_reactivates_after_queueing(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", interactive_ttl=60)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)  # runs 0-3
    manual_clock.advance(10)
    other = rt.submit("echo", "fake_qpu", payload(), instance="other")
    manual_clock.advance(52)  # t=62: still inside the window that started at t=3
    assert rt.session(session.id).state is S.ACTIVE
    assert other.status is JobStatus.QUEUED and rt.holder("fake_qpu") == session.id
    manual_clock.advance(1)  # t=63: window over, device back to fair share
    assert rt.session(session.id).state is S.INACTIVE
    assert rt.holder("fake_qpu") is None
    assert other.started_at == 63.0
    manual_clock.advance(1)
    late = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(1)  # t=65: queued behind the other job like any job
    assert late.status is JobStatus.QUEUED and rt.session(session.id).state is S.INACTIVE
    manual_clock.advance(1)  # t=66: the other job ends, the session job starts
    record = rt.session(session.id)
    assert late.started_at == 66.0
    assert record.state is S.ACTIVE and record.activated_at == 66.0
    assert states(record) == [("open", 0.0), ("active", 0.0), ("inactive", 63.0), ("active", 66.0)]


def test_a_job_inside_the_interactive_window_keeps_the_session_active(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", interactive_ttl=60)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)  # 0-3
    manual_clock.advance(50)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)  # 53-56, window re-armed
    manual_clock.advance(60)  # t=110 < 56 + 60
    assert rt.session(session.id).state is S.ACTIVE
    manual_clock.advance(6)
    assert rt.session(session.id).state is S.INACTIVE


def test_idle_open_timeout_closes_a_session_that_never_got_a_job(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")  # IBM default: 30 minutes
    manual_clock.advance("29m 59s")
    assert rt.session(session.id).state is S.OPEN
    manual_clock.advance("1s")
    record = rt.session(session.id)
    assert record.state is S.CLOSED and record.timed_out
    assert record.close_reason is CloseReason.IDLE_TIMEOUT and record.closed_at == 1800.0
    with pytest.raises(SessionClosedError, match="timed out"):
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id)


def test_idle_open_timeout_does_not_apply_once_a_job_was_submitted(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", idle_timeout="30m")
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance("2h")
    record = rt.session(session.id)
    assert record.state is S.INACTIVE and not record.timed_out


def test_azure_idle_timeout_counts_from_the_end_of_the_last_job(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", idle_timeout="10m", idle_scope="any")
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)  # ends at 3
    manual_clock.advance(602)
    assert rt.session(session.id).state is not S.CLOSED
    manual_clock.advance(1)
    record = rt.session(session.id)
    assert record.state is S.CLOSED and record.timed_out and record.closed_at == 603.0


def test_close_stops_accepting_then_drains_queued_and_running_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=session.id) for _ in range(3)]
    manual_clock.advance(1)
    record = rt.close_session(session.id)
    assert record.state is S.DRAINING and not record.accepting_jobs
    with pytest.raises(SessionClosedError, match="closing"):
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(7)  # t=8: the third job is still running
    assert rt.session(session.id).state is S.DRAINING
    manual_clock.advance(1)
    record = rt.session(session.id)
    assert [j.status for j in jobs] == [JobStatus.DONE] * 3
    assert record.state is S.CLOSED and record.close_reason is CloseReason.CLOSED
    assert record.closed_at == 9.0 and not record.timed_out and not record.failed
    assert states(record) == [("open", 0.0), ("active", 0.0), ("draining", 1.0), ("closed", 9.0)]
    with pytest.raises(SessionClosedError, match="is closed"):
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id)


def test_close_without_outstanding_jobs_closes_at_once_and_frees_the_device(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(4)  # done at 3; the device waits for the session
    other = rt.submit("echo", "fake_qpu", payload(), instance="other")
    manual_clock.advance(0)
    assert other.status is JobStatus.QUEUED
    assert rt.close_session(session.id).state is S.CLOSED
    manual_clock.advance(0)
    assert other.started_at == 4.0  # no waiting for the interactive window


def test_cancel_closes_at_once_fails_queued_and_lets_running_finish(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    running = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    queued = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(1)
    record = rt.cancel_session(session.id)
    assert record.state is S.CLOSED and record.close_reason is CloseReason.CANCELLED
    assert queued.status is JobStatus.ERROR
    assert queued.error_code == JobErrorCode.SESSION_CANCELLED.value
    assert running.status is JobStatus.RUNNING
    with pytest.raises(SessionClosedError, match="cancelled"):
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(2)
    assert running.status is JobStatus.DONE


def test_cancelling_the_root_job_fails_queued_jobs_and_closes_the_session(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    blocker = rt.submit("echo", "fake_qpu", payload(), instance="other")
    session = rt.open_session("fake_qpu")
    root = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    second = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    assert rt.session(session.id).root_job_id == root.id
    manual_clock.advance(1)
    assert root.cancel()
    record = rt.session(session.id)
    assert root.status is JobStatus.CANCELLED
    assert record.state is S.CLOSED and record.close_reason is CloseReason.ROOT_JOB_CANCELLED
    assert second.status is JobStatus.ERROR
    assert second.error_code == JobErrorCode.ROOT_JOB_CANCELLED.value
    manual_clock.advance(2)
    assert blocker.status is JobStatus.DONE


def test_cancelling_a_later_job_does_not_close_the_session(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    later = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    assert later.cancel()
    assert rt.session(session.id).state is S.ACTIVE


def _two_slot(engine: Any) -> Device:
    return Device(
        "two_slot",
        5,
        engine,
        slots=2,
        programs={"echo"},
        timing=TimingModel(per_job=10.0),
    )


def test_abort_policy_a_failed_job_fails_the_session_and_cancels_its_other_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any, engine: Any
) -> None:
    rt = manual_runtime
    rt.add_device(_two_slot(engine))
    session = rt.open_session("two_slot", failure_policy="abort")
    engine.gate = threading.Event()  # hold executions until every job is submitted
    long = rt.submit("echo", "two_slot", payload(), session_id=session.id)
    bad = rt.submit("echo", "two_slot", payload(fail=True), session_id=session.id)
    queued = rt.submit("echo", "two_slot", payload(), session_id=session.id)
    engine.gate.set()
    manual_clock.advance(0)
    record = rt.session(session.id)
    assert bad.status is JobStatus.ERROR and "boom" in (bad.error_message or "")
    assert record.state is S.CLOSED and record.failed and not record.timed_out
    assert record.close_reason is CloseReason.JOB_FAILED
    assert long.status is JobStatus.CANCELLED  # in-progress jobs are cancelled
    assert queued.status is JobStatus.CANCELLED
    assert {long.error_code, queued.error_code} == {JobErrorCode.SESSION_FAILED.value}
    with pytest.raises(SessionClosedError, match="failed"):
        rt.submit("echo", "two_slot", payload(), session_id=session.id)


def test_continue_policy_records_the_failure_and_keeps_accepting(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", failure_policy="continue")
    bad = rt.submit("echo", "fake_qpu", payload(fail=True), session_id=session.id)
    manual_clock.advance(0)
    record = rt.session(session.id)
    assert bad.status is JobStatus.ERROR
    assert record.failed and record.accepting_jobs and record.state is S.ACTIVE
    good = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(3)
    assert good.status is JobStatus.DONE
    record = rt.close_session(session.id)
    assert record.state is S.CLOSED and record.failed and not record.timed_out


def test_timed_out_wins_over_failures_when_a_continue_session_times_out(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session(
        "fake_qpu", failure_policy="continue", idle_timeout=600, idle_scope="any"
    )
    rt.submit("echo", "fake_qpu", payload(fail=True), session_id=session.id)
    manual_clock.advance(600)
    record = rt.session(session.id)
    assert record.state is S.CLOSED and record.failed and record.timed_out
    assert record.close_reason is CloseReason.IDLE_TIMEOUT


def test_batch_jobs_run_in_parallel_and_never_hold_the_device(
    manual_runtime: Any, manual_clock: Any, payload: Any, engine: Any
) -> None:
    rt = manual_runtime
    rt.add_device(
        Device("four_slot", 5, engine, slots=4, programs={"echo"}, timing=TimingModel(per_job=5))
    )
    batch = rt.open_session("four_slot", mode="batch")
    jobs = [rt.submit("echo", "four_slot", payload(), session_id=batch.id) for _ in range(5)]
    manual_clock.advance(0)
    assert [j.started_at for j in jobs[:4]] == [0.0] * 4
    assert jobs[4].status is JobStatus.QUEUED
    manual_clock.advance(5)
    assert jobs[4].started_at == 5.0
    manual_clock.advance(5)
    other = rt.submit("echo", "four_slot", payload(), instance="other")
    manual_clock.advance(0)
    assert other.started_at == 10.0  # no interactive window for batches
    assert rt.session(batch.id).state is S.ACTIVE and rt.holder("four_slot") is None


def test_active_ttl_closes_after_the_active_time_budget(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", active_ttl=5)
    first, second, third = (
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id) for _ in range(3)
    )
    manual_clock.advance(5)
    record = rt.session(session.id)
    assert record.state is S.CLOSED and record.close_reason is CloseReason.ACTIVE_TTL
    assert record.timed_out
    assert second.status is JobStatus.RUNNING and third.status is JobStatus.ERROR
    manual_clock.advance(1)
    assert first.status is second.status is JobStatus.DONE


def test_usage_time_counts_device_holding_for_sessions_and_job_time_for_batches(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", interactive_ttl=10)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)  # 0-3, held until 13
    manual_clock.advance(20)
    assert rt.session(session.id).usage(manual_clock.now()) == 13.0
    batch = rt.open_session("fake_qpu", mode="batch")
    rt.submit("echo", "fake_qpu", payload(), session_id=batch.id)
    rt.submit("echo", "fake_qpu", payload(), session_id=batch.id)
    manual_clock.advance(100)
    assert rt.session(batch.id).usage(manual_clock.now()) == 6.0


def test_timestamps_and_flags_both_dialects_read(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", max_ttl="1h", interactive_ttl=60, name="vqe")
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(6)
    r = rt.session(session.id)
    assert (r.created_at, r.started_at, r.activated_at) == (0.0, 0.0, 0.0)
    assert (r.last_job_started, r.last_job_completed) == (3.0, 6.0)
    assert (r.max_ttl, r.interactive_ttl, r.active_ttl) == (3600.0, 60.0, None)
    assert r.accepting_jobs and r.mode.value == "dedicated" and r.name == "vqe"
    assert r.closed_at is None and r.close_reason is None
    assert not r.failed and not r.timed_out


def test_listeners_see_every_session_state_change_in_order(
    make_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    seen: list[tuple[str | None, str]] = []

    class Listener:
        def session_state_changed(self, session: Any, old: Any, new: Any) -> None:
            seen.append((None if old is None else old.value, new.value))

    rt = make_runtime(clock=manual_clock, listeners=[Listener()])
    session = rt.open_session("fake_qpu", interactive_ttl=5)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(10)
    rt.close_session(session.id)
    assert seen == [
        (None, "open"),
        ("open", "active"),
        ("active", "inactive"),
        ("inactive", "closed"),
    ]
