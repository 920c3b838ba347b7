"""Calibrations: periodic system jobs ahead of session jobs, and the calibration a job ran with.

``fake_qpu``: 1 slot, 2 s per job + 1 s per circuit execution; ``fake_sim``: a simulator.
The manual clock moves only through ``advance()``.
"""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.calibrations import (
    CALIBRATION_KEY,
    CALIBRATION_PROGRAM,
    CalibrationSchedule,
)
from qsession_provider.core.job import JobStatus
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import InputError

pytestmark = pytest.mark.timeout(30)


def test_a_scheduled_calibration_goes_before_queued_session_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    rt.schedule_calibrations("fake_qpu", CalibrationSchedule(every=100, duration=20, first=10))
    session = rt.open_session("fake_qpu")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=session.id) for _ in range(6)]
    manual_clock.advance(60)
    # 0-3, 3-6, 6-9, 9-12 (running at 10: it finishes), calibration 12-32, then 32-35, 35-38
    starts = [j.started_at for j in jobs]
    assert starts == [0.0, 3.0, 6.0, 9.0, 32.0, 35.0]
    calibration = rt.jobs(program_id=CALIBRATION_PROGRAM)[0]
    assert calibration.record.system and calibration.started_at == 12.0
    assert calibration.result() == {"calibration_id": calibration.id, "device": "fake_qpu"}
    # The jobs that started after it ran with it; those before had none yet.
    assert [CALIBRATION_KEY in j.record.metadata for j in jobs] == [False] * 4 + [True] * 2
    assert jobs[4].record.metadata[CALIBRATION_KEY] == calibration.id
    assert rt.calibration_in_force("fake_qpu") == calibration.id
    manual_clock.advance(100)  # the next one, at 110
    assert len(rt.jobs(program_id=CALIBRATION_PROGRAM)) == 2


def test_a_users_calibration_in_a_session_is_named_by_later_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    mine = rt.calibrate("fake_qpu", "5s", session_id=session.id, instance="lab")
    assert not mine.record.system and mine.record.session_id == session.id
    later = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    named = rt.submit(
        "echo", "fake_qpu", payload(), session_id=session.id, metadata={CALIBRATION_KEY: "x"}
    )
    manual_clock.advance(20)
    assert mine.status is JobStatus.DONE and (mine.started_at, mine.finished_at) == (0.0, 5.0)
    assert later.record.metadata[CALIBRATION_KEY] == mine.id
    assert named.record.metadata[CALIBRATION_KEY] == "x"  # a job that names one keeps it


def test_the_calibration_in_force_survives_a_restart(tmp_path: Any, engine: Any) -> None:
    from qsession_provider.core.clock import VirtualClock

    from ...conftest import make_devices

    path = str(tmp_path / "store.sqlite3")
    clock = VirtualClock(start=0)
    first = Runtime(store=SQLiteStore(path), clock=clock, devices=make_devices(engine))
    job = first.calibrate("fake_qpu", 3)
    job.result()
    first.shutdown()
    again = Runtime(store=SQLiteStore(path), clock=clock, devices=make_devices(engine))
    try:
        assert again.calibration_in_force("fake_qpu") == job.id
    finally:
        again.shutdown()


def test_bad_calibrations_are_clear_errors(manual_runtime: Any) -> None:
    rt = manual_runtime
    with pytest.raises(InputError, match="simulator"):
        rt.schedule_calibrations("fake_sim", CalibrationSchedule(every=10, duration=1))
    with pytest.raises(InputError, match="simulator"):
        rt.calibrate("fake_sim", 1)
    with pytest.raises(InputError, match="hold the device for good"):
        CalibrationSchedule(every=10, duration=10)
    with pytest.raises(InputError, match="every > 0"):
        CalibrationSchedule(every=0, duration=1)
    with pytest.raises(InputError, match="> 0 seconds"):
        rt.calibrate("fake_qpu", 0)
    with pytest.raises(InputError, match="not a CalibrationSchedule"):
        rt.schedule_calibrations("fake_qpu", {"every": 10})
