"""Progress while waiting: the core's observer hook, tqdm bars, one bar over many jobs.

``fake_qpu`` has one slot and takes 3 s a job on an auto-advancing virtual clock, so a wait
moves virtual time in the observer's 1 s steps and the states seen are exact. Bars write
to a StringIO (``file=``), which is what "asked explicitly" means off a terminal.
"""

from __future__ import annotations

import io
import re
from typing import Any

import pytest
from tqdm import tqdm

from qsession_provider.core.job_record import JobRecord, JobStatus
from qsession_provider.core.wait_observer import WaitObserver, wait_observed
from qsession_provider.errors import InputError, JobTimeoutError
from qsession_provider.visual.progress import (
    JobProgress,
    observing,
    progress_observer,
    queue_ahead,
    wait_all,
    wait_job,
)

pytestmark = pytest.mark.timeout(60)


class Recorder:
    """A plain observer: what a wait reported, at which clock time."""

    def __init__(self, clock: Any, interval: float = 1.0) -> None:
        self.clock = clock
        self.interval = interval
        self.seen: list[tuple[float, str]] = []

    def update(self, record: JobRecord) -> None:
        self.seen.append((self.clock.now(), record.status.value))


def three_on_the_qpu(rt: Any, payload: Any) -> list[Any]:
    """Three jobs on fake_qpu: 0-3 running, 3-6 and 6-9 queued."""
    return [rt.submit("echo", "fake_qpu", payload(n=i)) for i in range(3)]


def test_the_core_reports_to_an_observer_in_clock_steps(
    runtime: Any, vclock: Any, payload: Any
) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    recorder = Recorder(vclock)
    assert isinstance(recorder, WaitObserver)
    assert jobs[2].result(progress=recorder) == {"program": "echo", "echo": {"n": 2}}
    assert recorder.seen[0] == (0.0, "QUEUED")
    assert recorder.seen[-1] == (9.0, "DONE")
    states = [s for _, s in recorder.seen]
    assert states == sorted(states, key=["QUEUED", "RUNNING", "DONE"].index)  # in order
    assert ("RUNNING" in states) and all(t <= 9.0 for t, _ in recorder.seen)
    assert [t for t, _ in recorder.seen[:4]] == [0.0, 1.0, 2.0, 3.0]  # 1 s steps


def test_a_timeout_in_steps_returns_false_at_the_deadline(
    runtime: Any, vclock: Any, payload: Any
) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    recorder = Recorder(vclock, interval=2.0)
    assert jobs[2].wait(5.0, progress=recorder) is False
    assert [t for t, _ in recorder.seen] == [0.0, 2.0, 4.0, 5.0]
    with pytest.raises(JobTimeoutError, match="did not finish within 1.0 s"):
        jobs[2].result(1.0, progress=recorder)
    with pytest.raises(ValueError, match="interval must be > 0"):
        wait_observed(jobs[2], None, Recorder(vclock, interval=0.0))


def test_one_jobs_bar_shows_its_place_in_the_queue_then_running_then_done(
    runtime: Any, payload: Any
) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    out = io.StringIO()
    assert wait_job(jobs[2], progress={"file": out}, runtime=runtime) is True
    text = out.getvalue()
    short = jobs[2].id[:8]
    assert f"job {short} · queued, 1 ahead" in text  # jobs[1] is queued before it
    assert f"job {short} · queued, 0 ahead" in text  # then jobs[1] ran
    assert f"job {short} · running" in text
    assert text.rstrip().splitlines()[-1].split("\r")[-1].startswith(f"job {short} · DONE")


def test_queue_position_needs_a_runtime(runtime: Any, payload: Any) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    assert queue_ahead(None, jobs[2].record) is None
    assert queue_ahead(runtime, jobs[1].record) == 0
    assert queue_ahead(runtime, jobs[2].record) == 1
    out = io.StringIO()
    assert wait_job(jobs[2], progress={"file": out}) is True  # no runtime: no position
    assert "ahead" not in out.getvalue() and "· queued" in out.getvalue()


def test_a_failed_job_ends_the_bar_with_its_status(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "fake_qpu", payload(fail=True))
    out = io.StringIO()
    assert wait_job(job, progress={"file": out}) is True
    assert "· ERROR" in out.getvalue()


def test_off_a_terminal_true_prints_nothing(
    runtime: Any, payload: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    assert wait_job(jobs[0], progress=True, runtime=runtime) is True
    wait_all(jobs, progress=True)
    captured = capsys.readouterr()
    assert captured.err == "" and captured.out == ""


def test_a_callers_bar_is_used_and_left_open(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "fake_qpu", payload())
    out = io.StringIO()
    bar = tqdm(total=1, file=out, bar_format="{desc}")
    with observing(bar) as observer:
        assert observer.bar is bar
        assert job.wait(progress=observer)
    assert not bar.disable and bar.n == 1 and "· DONE" in out.getvalue()
    bar.close()
    observer = progress_observer({"file": io.StringIO()}, runtime=runtime, interval=0.5)
    assert isinstance(observer, JobProgress) and observer.interval == 0.5
    observer.bar.close()


def test_bad_progress_values_are_refused(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "fake_qpu", payload())
    for bad in ("yes", 1, ["file"]):
        with pytest.raises(InputError, match="progress must be True, a dict of tqdm options"):
            wait_job(job, progress=bad)
    with pytest.raises(InputError, match="interval must be > 0"):
        wait_job(job, progress={"file": io.StringIO()}, interval=-1)
    with pytest.raises(InputError, match="not a job: str"):
        wait_all(["nope"])
    assert job.result() == {"program": "echo", "echo": {}}  # the job is unharmed


def test_one_bar_over_many_jobs(runtime: Any, vclock: Any, payload: Any) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    jobs.append(runtime.submit("echo", "fake_sim", payload(fail=True)))
    out = io.StringIO()
    wait_all(jobs, progress={"file": out})
    assert all(j.in_final_state() for j in jobs) and vclock.now() == 9.0
    frames = [f for f in out.getvalue().replace("\n", "\r").split("\r") if f.strip()]
    assert all(f.startswith("jobs:") for f in frames)
    # "n/4 [elapsed, postfix]" after the bar's first draw (0/4, no postfix yet)
    shown = [re.search(r"(\d)/4 \[[^,\]]*(.*)\]$", f).groups() for f in frames[1:]]
    assert shown[0][1].startswith(", 2 queued")  # at t=0 (the failing one may still run)
    counts = [int(n) for n, _ in shown]
    assert counts == sorted(counts) and counts[-1] == 4  # one QPU job ends every 3 s
    assert ("3", ", 0 queued, 1 running, 1 failed or cancelled") in shown
    assert shown[-1] == ("4", ", 0 queued, 0 running, 1 failed or cancelled")


def test_many_jobs_time_out_together(runtime: Any, vclock: Any, payload: Any) -> None:
    jobs = three_on_the_qpu(runtime, payload)
    with pytest.raises(JobTimeoutError, match="2 of 3 jobs did not finish within 4 s"):
        wait_all(jobs, timeout=4, progress=False)
    assert vclock.now() == 4.0
    wait_all(jobs, progress=None)  # no bar at all
    assert [j.status for j in jobs] == [JobStatus.DONE] * 3
    wait_all([])  # nothing to wait for
