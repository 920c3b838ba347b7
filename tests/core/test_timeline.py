"""The timeline model: lanes per device slot, bars packed greedily, session state marks."""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.job_record import JobRecord, JobStatus
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.timeline import Bar, Mark, Timeline, build_timeline, lane_name

pytestmark = pytest.mark.timeout(30)


def job(
    job_id: str,
    start: float | None,
    end: float | None,
    *,
    device: str = "qpu",
    status: JobStatus | None = None,
    created: float = 0.0,
    session_id: str | None = "s1",
    user: str = "alice",
) -> JobRecord:
    if status is None:
        status = (
            JobStatus.QUEUED
            if start is None
            else (JobStatus.RUNNING if end is None else JobStatus.DONE)
        )
    return JobRecord(
        id=job_id,
        program_id="sampler",
        device=device,
        status=status,
        created_at=created,
        session_id=session_id,
        started_at=start,
        finished_at=end,
        user=user,
    )


def session(**kwargs: Any) -> SessionRecord:
    values: dict[str, Any] = {
        "id": "s1",
        "device": "qpu",
        "mode": SessionMode.DEDICATED,
        "state": SessionState.OPEN,
        "created_at": 0.0,
    }
    values.update(kwargs)
    return SessionRecord(**values)


def test_one_slot_device_gives_one_lane_and_a_bar_per_started_job() -> None:
    jobs = [job("a", 1, 3), job("b", 3, 5, status=JobStatus.ERROR), job("c", None, None)]
    tl = build_timeline(jobs, now=10)
    assert tl.lanes == (lane_name("qpu", 1),) == ("qpu · slot 1",)
    assert [(b.job_id, b.lane, b.start, b.end, b.status) for b in tl.bars] == [
        ("a", "qpu · slot 1", 1, 3, "DONE"),
        ("b", "qpu · slot 1", 3, 5, "ERROR"),
    ]
    assert all(b.own and b.user == "alice" and b.session_id == "s1" for b in tl.bars)
    assert tl.unstarted == ("c",)  # queued: listed, no bar
    # a queued job keeps the span open until now
    assert (tl.start, tl.end) == (0.0, 10.0)
    assert tl.session_id is None and tl.marks == ()


def test_overlapping_jobs_are_packed_greedily_onto_the_lowest_free_slot() -> None:
    jobs = [
        job("a", 0, 4, device="sim"),
        job("b", 1, 2, device="sim"),
        job("c", 2, 6, device="sim"),  # b's slot is free again at 2
        job("d", 3, 5, device="sim"),  # a and c busy: a third slot
        job("e", 4, 7, device="sim"),  # a ended at 4: slot 1
    ]
    tl = build_timeline(jobs, now=10)
    lanes = {b.job_id: b.lane for b in tl.bars}
    assert lanes == {
        "a": "sim · slot 1",
        "b": "sim · slot 2",
        "c": "sim · slot 2",
        "d": "sim · slot 3",
        "e": "sim · slot 1",
    }
    assert tl.lanes == ("sim · slot 1", "sim · slot 2", "sim · slot 3")
    assert [b.job_id for b in tl.bars_on("sim · slot 2")] == ["b", "c"]
    # no two bars overlap on a lane
    for lane in tl.lanes:
        bars = tl.bars_on(lane)
        assert all(x.end_or(10) <= y.start for x, y in zip(bars, bars[1:]))


def test_a_running_job_keeps_its_slot_and_ends_at_now() -> None:
    jobs = [job("run", 0, None, device="sim"), job("later", 5, 6, device="sim")]
    tl = build_timeline(jobs, now=8)
    running, later = tl.bars
    assert running.end is None and running.end_or(8) == 8 and running.status == "RUNNING"
    assert later.lane == "sim · slot 2"
    assert tl.end == 8


def test_slots_show_idle_lanes_and_the_session_device_comes_first() -> None:
    rec = session(device="qpu")
    tl = build_timeline(
        [job("a", 1, 2)],
        session=rec,
        others=[job("x", 0, 1, device="another", session_id=None, user="bob")],
        now=3,
        slots={"qpu": 2, "unrelated": 4},
    )
    # "unrelated" has no job: no lane; qpu shows its idle second slot
    assert tl.lanes == ("qpu · slot 1", "qpu · slot 2", "another · slot 1")


def test_session_marks_and_others_jobs_explain_waiting() -> None:
    rec = session(
        state=SessionState.CLOSED,
        created_at=0.0,
        closed_at=12.0,
        timestamps=(
            (SessionState.ACTIVE, 4.0),
            (SessionState.INACTIVE, 7.0),
            (SessionState.DRAINING, 9.0),
            (SessionState.CLOSED, 12.0),
        ),
    )
    mine = [job("m1", 4, 7, created=1.0), job("m2", 9, 12, created=2.0)]
    theirs = [
        job("t1", 0, 4, session_id=None, user="bob"),
        job("t2", 7, 9, session_id="s2", user="carol"),
        job("m1", 4, 7),  # the same job listed twice is drawn once, as own
    ]
    tl = build_timeline(mine, session=rec, others=theirs, now=100)
    assert isinstance(tl, Timeline)
    assert tl.session_id == "s1"
    assert tl.marks == (
        Mark(4.0, "active"),
        Mark(7.0, "inactive"),
        Mark(9.0, "draining"),
        Mark(12.0, "closed"),
    )
    assert [(b.job_id, b.own) for b in tl.bars] == [
        ("t1", False),
        ("m1", True),
        ("t2", False),
        ("m2", True),
    ]
    assert {b.lane for b in tl.bars} == {"qpu · slot 1"}  # one slot: no overlap
    assert tl.bars[1] == Bar("m1", "qpu · slot 1", 4, 7, "DONE", "alice", "s1", True, 1.0)
    assert (tl.start, tl.end) == (0.0, 12.0)  # closed: now is not part of it


def test_an_open_session_without_jobs_has_its_lane_and_reaches_now() -> None:
    tl = build_timeline([], session=session(created_at=5.0), now=9.0)
    assert tl.lanes == ("qpu · slot 1",)
    assert tl.bars == () and (tl.start, tl.end) == (5.0, 9.0)


def test_nothing_at_all_is_an_empty_timeline_at_now() -> None:
    tl = build_timeline([], now=3.0)
    assert tl == Timeline((), (), (), 3.0, 3.0, None)


def test_a_final_job_without_finish_time_is_a_zero_length_bar() -> None:
    tl = build_timeline([job("x", 2, None, status=JobStatus.CANCELLED)], now=5)
    (bar,) = tl.bars
    assert (bar.start, bar.end, bar.status) == (2, 2, "CANCELLED")


def test_built_from_a_real_runtime_on_a_virtual_clock(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    blocker = rt.submit("echo", "fake_qpu", payload(), instance="someone-else")
    s = rt.open_session("fake_qpu")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=s.id) for _ in range(2)]
    manual_clock.advance(9)  # blocker 0-3, then the session's jobs 3-6, 6-9
    rt.close_session(s.id)
    manual_clock.advance(1)
    record = rt.session(s.id)
    tl = build_timeline(
        [j.record for j in jobs], session=record, others=[blocker.record], now=rt.clock.now()
    )
    assert tl.lanes == ("fake_qpu · slot 1",)
    assert [(b.job_id, b.start, b.end, b.own) for b in tl.bars] == [
        (blocker.id, 0.0, 3.0, False),
        (jobs[0].id, 3.0, 6.0, True),
        (jobs[1].id, 6.0, 9.0, True),
    ]
    assert [(m.state, m.time) for m in tl.marks] == [
        ("open", 0.0),
        ("active", 3.0),
        ("closed", 9.0),  # nothing outstanding at close(): closed at once
    ]
