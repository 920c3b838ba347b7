"""Queue estimates: a queued job's position and expected start and completion.

``fake_qpu``: 1 slot, 2 s per job + 1 s per circuit execution; ``fake_sim``: 4 slots, no
modelled time. The manual clock moves only through ``advance()``.
"""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.device import Device, TimingModel
from qsession_provider.errors import JobNotFoundError

pytestmark = pytest.mark.timeout(30)


def test_the_position_falls_and_the_times_follow_the_timing_model(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    running = rt.submit("echo", "fake_qpu", payload(executions=3))  # 5 s, starts at 0
    ahead = rt.submit("echo", "fake_qpu", payload(executions=1))  # 3 s
    mine = rt.submit("echo", "fake_qpu", payload(executions=2))  # 4 s
    assert rt.queue_estimate(running.id) is None  # running: not queued
    first = rt.queue_estimate(mine.id)
    assert (first.position, first.start, first.completion) == (2, 8.0, 12.0)
    manual_clock.advance(5)  # the running job ends; `ahead` starts
    assert ahead.status.value == "RUNNING"
    second = rt.queue_estimate(mine.id)
    assert (second.position, second.start, second.completion) == (1, 8.0, 12.0)
    manual_clock.advance(1.5)
    assert rt.queue_estimate(mine.id).start == 8.0  # the running job's modelled end
    manual_clock.advance(1.5)
    assert mine.status.value == "RUNNING" and rt.queue_estimate(mine.id) is None


def test_system_jobs_and_priorities_go_ahead(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.submit("echo", "fake_qpu", payload())  # running until 3
    mine = rt.submit("echo", "fake_qpu", payload())
    assert rt.queue_estimate(mine.id).position == 1
    rt.submit("echo", "fake_qpu", payload(), system=True)  # a calibration jumps the queue
    rt.submit("echo", "fake_qpu", payload())  # a later job stays behind
    estimate = rt.queue_estimate(mine.id)
    assert (estimate.position, estimate.start) == (2, 6.0)


def test_slots_share_the_jobs_ahead(
    make_runtime: Any, engine: Any, manual_clock: Any, payload: Any
) -> None:
    two = Device(
        "two_slots", 5, engine, slots=2, timing=TimingModel(per_job=10.0), programs={"echo"}
    )
    rt = make_runtime(clock=manual_clock, devices=[two])
    jobs = [rt.submit("echo", "two_slots", payload()) for _ in range(5)]
    assert [rt.queue_estimate(j.id) for j in jobs[:2]] == [None, None]  # both slots busy
    estimates = [rt.queue_estimate(j.id) for j in jobs[2:]]
    assert [(e.position, e.start, e.completion) for e in estimates] == [
        (1, 10.0, 20.0),
        (2, 10.0, 20.0),
        (3, 20.0, 30.0),
    ]


def test_an_unknown_job_is_a_clear_error(manual_runtime: Any) -> None:
    with pytest.raises(JobNotFoundError):
        manual_runtime.queue_estimate("no-such-job")
