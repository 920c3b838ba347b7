"""Scheduler order, slots, cancellation, execution outcomes and executors.

``fake_qpu``: 1 slot, 3 s per ``echo`` job; ``fake_sim``: 4 slots, no modelled time.
"""

from __future__ import annotations

import concurrent.futures
from typing import Any

import pytest

from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.job import Job, JobErrorCode, JobRecord, JobStatus
from qsession_provider.core.runtime.context import RuntimeContext
from qsession_provider.core.runtime.events import EventEmitter
from qsession_provider.core.runtime.executors import InlineExecutor
from qsession_provider.core.runtime.live_session import LiveSession
from qsession_provider.core.runtime.policies import FairSharePolicy
from qsession_provider.core.runtime.scheduler import Scheduler
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.errors import InputError, JobFailedError, JobTimeoutError

pytestmark = pytest.mark.timeout(30)


def order(jobs: list[Any]) -> list[str]:
    """Job names in the order they started."""
    return [j.name for j in sorted(jobs, key=lambda j: (j.started_at, j.finished_at))]


def test_system_jobs_go_first_even_before_an_active_session(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    first = rt.submit("echo", "fake_qpu", payload(), session_id=session.id, name="s1")
    later = [
        rt.submit("echo", "fake_qpu", payload(), instance="a", name="a1"),
        rt.submit("echo", "fake_qpu", payload(), session_id=session.id, name="s2"),
        rt.submit("echo", "fake_qpu", payload(), system=True, name="calibration"),
    ]
    manual_clock.advance(1000)  # a1 waits for the session's interactive window (300 s)
    assert order([first, *later]) == ["s1", "calibration", "s2", "a1"]


def test_the_active_session_goes_before_earlier_fair_share_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=session.id, name="s1")]
    manual_clock.advance(1)
    jobs += [rt.submit("echo", "fake_qpu", payload(), instance="b", name=f"b{i}") for i in (1, 2)]
    jobs.append(rt.submit("echo", "fake_qpu", payload(), session_id=session.id, name="s2"))
    manual_clock.advance(1000)
    assert order(jobs) == ["s1", "s2", "b1", "b2"]


def test_the_interactive_window_holds_the_device(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_qpu", interactive_ttl=60)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    other = rt.submit("echo", "fake_qpu", payload(), instance="b")
    manual_clock.advance(30)
    assert other.status is JobStatus.QUEUED  # the device idles, waiting for the session
    manual_clock.advance(33)
    assert other.started_at == 63.0


def test_work_conserving_policy_fills_the_interactive_gap(
    make_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = make_runtime(clock=manual_clock, policy=FairSharePolicy(work_conserving=True))
    session = rt.open_session("fake_qpu", interactive_ttl=60)
    rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    other = rt.submit("echo", "fake_qpu", payload(), instance="b")
    manual_clock.advance(3)
    assert other.started_at == 3.0
    assert rt.session(session.id).state.value == "active"  # still dedicated, just not idle
    mine = rt.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(3)
    assert mine.started_at == 6.0


def test_fair_share_alternates_between_two_instances(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    jobs = [rt.submit("echo", "fake_qpu", payload(), instance="a", name=f"a{i}") for i in range(4)]
    jobs += [rt.submit("echo", "fake_qpu", payload(), instance="b", name=f"b{i}") for i in range(2)]
    manual_clock.advance(100)
    assert order(jobs) == ["a0", "b0", "a1", "b1", "a2", "a3"]


def test_shares_weight_the_fair_share(make_runtime: Any, manual_clock: Any, payload: Any) -> None:
    # No decay, so usage ties are exact: ties go to the earlier job.
    policy = FairSharePolicy(shares={"big": 2.0}, half_life=1e12)
    rt = make_runtime(clock=manual_clock, policy=policy)
    jobs = [
        rt.submit("echo", "fake_qpu", payload(), instance="big", name=f"g{i}") for i in range(4)
    ]
    jobs += [
        rt.submit("echo", "fake_qpu", payload(), instance="small", name=f"s{i}") for i in range(2)
    ]
    manual_clock.advance(100)
    assert order(jobs) == ["g0", "s0", "g1", "g2", "s1", "g3"]


def test_priority_orders_jobs_within_an_instance(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    jobs = [rt.submit("echo", "fake_qpu", payload(), name="first")]
    jobs.append(rt.submit("echo", "fake_qpu", payload(), name="low"))
    jobs.append(rt.submit("echo", "fake_qpu", payload(), name="high", priority=5))
    manual_clock.advance(100)
    assert order(jobs) == ["first", "high", "low"]


def test_slots_bound_parallel_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any, engine: Any
) -> None:
    rt = manual_runtime
    rt.add_device(
        Device("two_slot", 3, engine, slots=2, programs={"echo"}, timing=TimingModel(per_job=4))
    )
    jobs = [rt.submit("echo", "two_slot", payload()) for _ in range(5)]
    manual_clock.advance(100)
    assert [j.started_at for j in jobs] == [0.0, 0.0, 4.0, 4.0, 8.0]
    assert [j.finished_at for j in jobs] == [4.0, 4.0, 8.0, 8.0, 12.0]


def test_modelled_time_uses_per_job_per_circuit_and_per_shot(
    manual_runtime: Any, manual_clock: Any, payload: Any, engine: Any
) -> None:
    rt = manual_runtime
    rt.add_device(
        Device(
            "timed",
            3,
            engine,
            programs={"echo"},
            timing=TimingModel(per_job=1.0, per_circuit=0.5, per_shot=0.001),
        )
    )
    job = rt.submit("echo", "timed", payload(executions=4, shots=1000))
    manual_clock.advance(100)
    assert job.record.execution_time == pytest.approx(1.0 + 2.0 + 1.0)


def test_max_execution_time_fails_a_job_that_would_run_longer(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    job = rt.submit("echo", "fake_qpu", payload(), max_execution_time="2s")
    after = rt.submit("echo", "fake_qpu", payload())
    manual_clock.advance(10)
    assert job.status is JobStatus.ERROR
    assert job.error_code == JobErrorCode.MAX_EXECUTION_TIME.value
    assert job.finished_at == 2.0 and "maximum execution time" in (job.error_message or "")
    assert after.started_at == 2.0


def test_a_device_error_fails_the_job_with_its_message(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "fake_sim", payload(fail=True, why="no qubits left"))
    with pytest.raises(JobFailedError, match="RuntimeError: boom: no qubits left") as info:
        job.result()
    assert info.value.error_code == JobErrorCode.EXECUTION_FAILED.value  # type: ignore[attr-defined]
    assert job.status is JobStatus.ERROR
    assert runtime.submit("echo", "fake_sim", payload()).result()["echo"] == {}


def test_cancel_a_queued_job(manual_runtime: Any, manual_clock: Any, payload: Any) -> None:
    rt = manual_runtime
    first = rt.submit("echo", "fake_qpu", payload())
    queued = rt.submit("echo", "fake_qpu", payload())
    assert rt.cancel_job(queued.id)
    assert queued.status is JobStatus.CANCELLED
    assert queued.error_code == JobErrorCode.CANCELLED_BY_USER.value
    assert not rt.cancel_job(queued.id)  # already final
    manual_clock.advance(10)
    assert first.status is JobStatus.DONE and queued.started_at is None


def test_cancel_a_running_job_frees_its_slot(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    running = rt.submit("echo", "fake_qpu", payload())
    nxt = rt.submit("echo", "fake_qpu", payload())
    manual_clock.advance(1)
    assert running.cancel()
    manual_clock.advance(0)
    assert running.status is JobStatus.CANCELLED and running.finished_at == 1.0
    assert nxt.started_at == 1.0


def test_a_device_may_refuse_to_cancel_running_jobs(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    job = rt.submit("echo", "slow_qpu", payload())
    manual_clock.advance(1)
    assert not job.cancel()
    manual_clock.advance(9)
    assert job.status is JobStatus.DONE


def test_wait_and_result_time_out_at_the_exact_virtual_instant(
    runtime: Any, vclock: Any, payload: Any
) -> None:
    job = runtime.submit("echo", "slow_qpu", payload())
    assert not job.wait(timeout=4)
    assert vclock.now() == 4.0
    with pytest.raises(JobTimeoutError):
        job.result(timeout=1)
    assert vclock.now() == 5.0
    assert job.result() == {"program": "echo", "echo": {}}
    assert vclock.now() == 10.0


def test_listeners_see_submitted_started_finished_in_order(
    make_runtime: Any, vclock: Any, payload: Any
) -> None:
    events: list[tuple[str, str]] = []

    class Listener:
        def job_submitted(self, job: Any) -> None:
            events.append(("submitted", job.name))

        def job_started(self, job: Any) -> None:
            events.append(("started", job.name))

        def job_finished(self, job: Any) -> None:
            events.append(("finished", job.name))

    rt = make_runtime(clock=vclock, listeners=[Listener()])
    a = rt.submit("echo", "fake_qpu", payload(), name="a")
    b = rt.submit("echo", "fake_qpu", payload(), name="b")
    a.result(), b.result()
    assert events == [
        ("submitted", "a"),
        ("started", "a"),
        ("submitted", "b"),
        ("finished", "a"),
        ("started", "b"),
        ("finished", "b"),
    ]


def test_a_failing_listener_does_not_disturb_the_runtime(
    make_runtime: Any, vclock: Any, payload: Any, caplog: Any
) -> None:
    class Broken:
        def job_finished(self, job: Any) -> None:
            raise ValueError("listener bug")

    rt = make_runtime(clock=vclock, listeners=[Broken()])
    assert rt.submit("echo", "fake_sim", payload()).result()["program"] == "echo"
    assert rt.submit("echo", "fake_sim", payload()).status in (
        JobStatus.QUEUED,
        JobStatus.RUNNING,
        JobStatus.DONE,
    )
    assert "listener bug" in caplog.text


def test_done_callbacks_run_once_the_job_is_final(runtime: Any, payload: Any) -> None:
    seen: list[str] = []
    job = runtime.submit("echo", "fake_qpu", payload())
    job.add_done_callback(lambda j: seen.append(j.status.value))
    job.result()
    job.add_done_callback(lambda j: seen.append("late"))
    assert seen == ["DONE", "late"]


@pytest.mark.parametrize("executor", ["inline", "pool"], ids=["inline", "thread-pool"])
def test_executors_are_pluggable(
    make_runtime: Any, vclock: Any, payload: Any, executor: str
) -> None:
    chosen: Any = (
        InlineExecutor()
        if executor == "inline"
        else concurrent.futures.ThreadPoolExecutor(max_workers=2)
    )
    rt = make_runtime(clock=vclock, executor=chosen)
    jobs = [rt.submit("echo", "fake_qpu", payload(i=i)) for i in range(50)]
    assert [j.result()["echo"]["i"] for j in jobs] == list(range(50))
    assert jobs[-1].finished_at == 150.0
    chosen.shutdown()


def test_a_policy_that_picks_an_unqueued_job_is_reported(
    make_runtime: Any, vclock: Any, payload: Any
) -> None:
    class Bad(FairSharePolicy):
        def select(self, queue: Any, now: float) -> Any:
            entry = super().select(queue, now)
            if entry is not None:
                queue.remove(entry.job.id)
            return entry

    rt = make_runtime(clock=vclock, policy=Bad())
    with pytest.raises(Exception, match="not queued"):
        rt.submit("echo", "fake_qpu", payload())


def test_a_system_job_cannot_belong_to_a_session(runtime: Any, payload: Any) -> None:
    session = runtime.open_session("fake_qpu")
    with pytest.raises(InputError, match="system job"):
        runtime.submit("echo", "fake_qpu", payload(), system=True, session_id=session.id)


class RecordingHooks:
    """Session hooks that note what the scheduler reports."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, str, dict[str, Any]]] = []

    def job_started(self, session: Any, job: Any, now: float, *, persist: bool = True) -> None:
        self.calls.append(("started", session.id, job.id, {"persist": persist}))

    def job_ended(self, session: Any, job: Any, now: float, *, was_running: bool) -> None:
        self.calls.append(("ended", session.id, job.id, {"was_running": was_running}))


def test_the_scheduler_reports_session_jobs_to_the_hooks_it_is_built_with(vclock: Any) -> None:
    ctx = RuntimeContext(vclock, MemoryStore(), EventEmitter(), owner="test")
    hooks = RecordingHooks()
    scheduler = Scheduler(ctx, FairSharePolicy(), InlineExecutor(), hooks)
    device = Device("d", 2, lambda program, payload: {"ok": payload}, simulator=True)
    session = LiveSession(SessionRecord("s", "d", SessionMode.BATCH, SessionState.OPEN, 0.0))
    record = JobRecord("j", "echo", "d", JobStatus.QUEUED, 0.0, session_id="s")
    job = Job(record, clock=vclock, payload={"x": 1})
    ctx.store.add_job(record, "{}")
    session.queued += 1
    with ctx.locked():
        scheduler.enqueue(job, device, session)
    assert job.result(timeout=0) == {"ok": {"x": 1}}
    assert hooks.calls == [
        ("started", "s", "j", {"persist": True}),
        ("ended", "s", "j", {"was_running": True}),
    ]
    assert (session.queued, session.running) == (1, 0)  # counting is the hooks' business
    assert ctx.store.get_job("j").status is JobStatus.DONE
