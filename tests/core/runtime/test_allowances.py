"""Plans, usage limits and reservations on the runtime's clock.

``fake_qpu``: 1 slot, 2 s per job + 1 s per circuit execution; the manual clock moves only
through ``advance()``.
"""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.job import JobErrorCode, JobStatus
from qsession_provider.core.plans import InstancePlan, Reservation
from qsession_provider.errors import InputError, PlanError, UsageLimitError

pytestmark = pytest.mark.timeout(30)


def test_the_open_plan_has_no_session_mode_but_batches_and_jobs_run(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.set_plan("free", InstancePlan("open"))
    with pytest.raises(PlanError, match="not supported in the Open Plan"):
        rt.open_session("fake_qpu", instance="free")
    batch = rt.open_session("fake_qpu", mode="batch", instance="free")
    job = rt.submit("echo", "fake_qpu", payload(), session_id=batch.id, instance="free")
    alone = rt.submit("echo", "fake_qpu", payload(), instance="free")
    manual_clock.advance(10)
    assert job.status is JobStatus.DONE and alone.status is JobStatus.DONE
    assert rt.open_session("fake_qpu", instance="paying").mode.value == "dedicated"


def test_a_usage_limit_fails_queued_jobs_and_refuses_new_ones(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.set_plan("lab", InstancePlan("open", usage_limit=5))  # 5 quantum seconds per period
    jobs = [rt.submit("echo", "fake_qpu", payload(), instance="lab") for _ in range(3)]  # 3 s each
    other = rt.submit("echo", "fake_qpu", payload(), instance="physics")
    manual_clock.advance(30)
    assert [j.status for j in jobs[:2]] == [JobStatus.DONE, JobStatus.DONE]  # 6 s >= 5 s
    assert jobs[2].status is JobStatus.ERROR
    assert jobs[2].record.error_code == JobErrorCode.USAGE_LIMIT.value
    assert "met its usage limit" in jobs[2].record.error_message
    assert other.status is JobStatus.DONE  # another instance is not limited
    usage = rt.usage("lab")
    assert usage["usage_consumed_seconds"] == 6.0 and usage["usage_limit_reached"]
    with pytest.raises(UsageLimitError, match="used 6 of its 5 quantum seconds"):
        rt.submit("echo", "fake_qpu", payload(), instance="lab")
    assert rt.submit("echo", "fake_qpu", payload(), instance="physics")  # others still run


def test_usage_counts_a_rolling_period(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.set_plan("lab", InstancePlan(usage_limit=3, period=100))
    rt.submit("echo", "fake_qpu", payload(), instance="lab")
    manual_clock.advance(3)
    with pytest.raises(UsageLimitError):
        rt.submit("echo", "fake_qpu", payload(), instance="lab")
    manual_clock.advance(100)  # the job's seconds leave the window
    assert rt.usage("lab")["usage_consumed_seconds"] == 0.0
    rt.submit("echo", "fake_qpu", payload(), instance="lab")


def test_a_plan_set_later_counts_the_stored_jobs_of_its_period(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.submit("echo", "fake_qpu", payload(executions=4), instance="lab")  # 6 s
    manual_clock.advance(10)
    rt.set_plan("lab", InstancePlan(usage_limit="5s"))
    assert rt.usage("lab")["usage_consumed_seconds"] == 6.0
    with pytest.raises(UsageLimitError):
        rt.submit("echo", "fake_qpu", payload(), instance="lab")


def test_a_reservation_gives_the_device_to_its_instance_and_ends_its_pending_session_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.reserve(Reservation("fake_qpu", "lab", start=10, end=20))
    other = [rt.submit("echo", "fake_qpu", payload(), instance="physics") for _ in range(4)]
    manual_clock.advance(9)  # three of them run before the window (3 s each)
    session = rt.open_session("fake_qpu", instance="lab")
    mine = [
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id, instance="lab")
        for _ in range(5)
    ]
    lone = rt.submit("echo", "fake_qpu", payload(), instance="lab")
    manual_clock.advance(11)  # to 20: the window closes
    # The window opened at 10 with physics' 4th job still running (started at 9): it ended
    # at 12; then only lab's jobs: session jobs at 12, 15, 18; at 20 the rest fail.
    assert [j.started_at for j in other] == [0.0, 3.0, 6.0, 9.0]
    assert [j.started_at for j in mine[:3]] == [12.0, 15.0, 18.0]
    for job in mine[3:]:
        assert job.status is JobStatus.ERROR
        assert job.record.error_code == JobErrorCode.RESERVATION_ENDED.value
        assert "reservation of fake_qpu for instance 'lab' ended" in job.record.error_message
    # A job-mode job is not failed; the session still holds the device (its interactive
    # window), so the job runs once the session is closed.
    assert lone.status is JobStatus.QUEUED
    rt.close_session(session.id)
    manual_clock.advance(5)  # the session's running job ends at 21 (it is not cut short)
    assert (lone.status, lone.started_at) == (JobStatus.DONE, 21.0)


def test_during_a_reservation_other_instances_wait_even_with_an_active_session(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    theirs = rt.open_session("fake_qpu", instance="physics")
    first = rt.submit("echo", "fake_qpu", payload(), session_id=theirs.id, instance="physics")
    rt.reserve(Reservation("fake_qpu", "lab", start=5, end=50))
    manual_clock.advance(6)
    assert first.status is JobStatus.DONE  # before the window
    # Inside the window: the session (active, in its interactive window) would hold the
    # device, but the reservation outranks it: its next job waits.
    again = rt.submit("echo", "fake_qpu", payload(), session_id=theirs.id, instance="physics")
    manual_clock.advance(2)
    assert again.status is JobStatus.QUEUED
    ours = rt.submit("echo", "fake_qpu", payload(), instance="lab")
    manual_clock.advance(3)
    assert ours.status is JobStatus.DONE and again.status is JobStatus.QUEUED


def test_bad_plans_and_reservations_are_clear_errors(manual_runtime: Any) -> None:
    with pytest.raises(InputError, match="plan must be one of"):
        InstancePlan("gold")
    with pytest.raises(InputError, match="usage_limit"):
        InstancePlan(usage_limit=-1)
    with pytest.raises(InputError, match="must end after it starts"):
        Reservation("fake_qpu", "lab", start=5, end=5)
    manual_runtime.reserve(Reservation("fake_qpu", "lab", start=0, end=10))
    with pytest.raises(InputError, match="overlaps"):
        manual_runtime.reserve(Reservation("fake_qpu", "other", start=5, end=15))
    with pytest.raises(InputError, match="must be an InstancePlan"):
        manual_runtime.set_plan("lab", {"plan": "open"})
