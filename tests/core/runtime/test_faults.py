"""Scripted faults drive the session rules to their documented outcomes, on a virtual clock."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.job import JobErrorCode, JobStatus
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.runtime.fault_kinds import (
    AZURE_META_KEY,
    Calibration,
    CancelJob,
    DeviceOffline,
    FailJob,
    JobMatch,
    SlowJob,
    StoreRefusal,
    TenantLoad,
)
from qsession_provider.core.runtime.faults import (
    FAULTS_KEY,
    DeviceUnavailableError,
    FaultInjector,
)
from qsession_provider.core.session import CloseReason, SessionState
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import InputError, QSessionError, StoreError

#: Every job on the emulated QPU takes 10 s (per_job) + 1 ms per shot: 100 shots -> 10.1 s.
QPU_TIMING = TimingModel(per_job=10.0, per_shot=0.001)


def _execute(program_id: str, payload: Any) -> dict[str, Any]:
    return {"shots": int(payload.total_shots)}


def qpu() -> Device:
    return Device("qpu", 2, _execute, programs={"sampler"}, timing=QPU_TIMING)


def job_payload(shots: int = 100) -> SamplerPayload:
    circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
    return SamplerPayload((SamplerPub(circuit, np.zeros((0,)), shots),), seed=1)


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(start=0)


@pytest.fixture
def rt(clock: VirtualClock) -> Iterator[Runtime]:
    runtime = Runtime(devices=[qpu()], clock=clock)
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)


def history(record: Any) -> list[str]:
    return [entry["fault"] for entry in record.metadata.get(FAULTS_KEY, ())]


@pytest.mark.parametrize("policy", ["abort", "continue"])
def test_a_failing_job_under_each_failure_policy(rt: Runtime, policy: str) -> None:
    session = rt.open_session("qpu", failure_policy=policy)
    with FaultInjector(rt, [FailJob(JobMatch(nth=2), ibm_code=1010)]) as faults:
        jobs = [rt.submit("sampler", "qpu", job_payload(), session_id=session.id) for _ in range(3)]
        for job in jobs:
            job.wait()
    first, failed, third = (j.record for j in jobs)
    assert first.status is JobStatus.DONE
    assert failed.status is JobStatus.ERROR
    assert failed.error_code == JobErrorCode.EXECUTION_FAILED.value
    assert failed.error_message == "Error code 1010: Error returned at backend level."
    assert failed.execution_time == pytest.approx(10.1)  # it used its modelled time
    assert history(failed) == ["fail"]
    assert "fails at its end" in faults.describe()
    record = rt.session(session.id)
    assert record.failed
    if policy == "abort":
        assert third.status is JobStatus.CANCELLED
        assert third.error_code == JobErrorCode.SESSION_FAILED.value
        assert record.state is SessionState.CLOSED and record.close_reason is CloseReason.JOB_FAILED
    else:
        assert third.status is JobStatus.DONE
        assert record.state is not SessionState.CLOSED
    # what was stored says what was injected
    assert history(rt.store.get_job(failed.id)) == ["fail"]


def test_an_azure_code_becomes_the_jobs_error_data(rt: Runtime) -> None:
    fault = FailJob(
        JobMatch(tag="flaky"),
        azure_code="QuantumComputingResourceError",
        message="the target failed",
    )
    with FaultInjector(rt, [fault]):
        job = rt.submit("sampler", "qpu", job_payload(), tags=["flaky"])
        other = rt.submit("sampler", "qpu", job_payload())
        job.wait(), other.wait()
    assert other.record.status is JobStatus.DONE
    stored = rt.store.get_job(job.id)
    assert stored.error_message == "the target failed"
    assert stored.metadata[AZURE_META_KEY]["error"] == {
        "code": "QuantumComputingResourceError",
        "message": "the target failed",
    }


def test_the_azure_meta_key_is_the_azure_faces() -> None:
    from qsession_provider.azure._mapping import META_KEY

    assert AZURE_META_KEY == META_KEY


def test_a_slow_job_crossing_max_time_finishes_and_the_queued_ones_fail(rt: Runtime) -> None:
    session = rt.open_session("qpu", max_ttl=60)
    with FaultInjector(rt, [SlowJob(JobMatch(nth=1), extra="100s")]):
        slow = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        queued = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        slow.wait(), queued.wait()
    assert slow.record.status is JobStatus.DONE  # running jobs finish
    assert slow.record.execution_time == pytest.approx(110.1)
    assert history(slow.record) == ["slow"]
    assert queued.record.status is JobStatus.ERROR  # queued ones fail
    assert queued.record.error_code == JobErrorCode.SESSION_EXPIRED.value
    assert rt.session(session.id).close_reason is CloseReason.MAX_TTL


def test_a_slow_job_crossing_max_execution_time_fails_so(rt: Runtime) -> None:
    with FaultInjector(rt, [SlowJob(JobMatch(name="long"), extra=30)]):
        job = rt.submit("sampler", "qpu", job_payload(), name="long", max_execution_time=20)
        job.wait()
    assert job.record.error_code == JobErrorCode.MAX_EXECUTION_TIME.value
    assert job.record.execution_time == pytest.approx(20)


def test_a_device_outage_during_a_dedicated_session(rt: Runtime, clock: VirtualClock) -> None:
    session = rt.open_session("qpu", interactive_ttl=600)
    outage = DeviceOffline("qpu", at=15, duration=100)
    with FaultInjector(rt, [outage]):
        first = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        first.wait()  # t = 10.1: before the outage
        clock.advance_to(20)  # the outage began at 15
        waiting = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        clock.advance_to(60)
        assert waiting.status is JobStatus.QUEUED  # queued jobs wait
        assert rt.holder("qpu") == session.id  # the session still holds the device
        waiting.wait()
    assert waiting.record.started_at == pytest.approx(115)  # when the device came back
    assert waiting.record.status is JobStatus.DONE
    assert history(waiting.record) == ["offline", "offline"]  # waited, back online
    assert history(rt.session(session.id)) == ["offline", "offline"]


def test_an_outage_refusing_submissions_answers_as_the_service(
    rt: Runtime, clock: VirtualClock
) -> None:
    session = rt.open_session("qpu")
    before = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
    before.wait()  # t = 10.1
    with FaultInjector(rt, [DeviceOffline("qpu", at=0, duration=50, refuse=True)]) as faults:
        clock.advance(1)
        with pytest.raises(DeviceUnavailableError, match="1004: The Backend is not available"):
            rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        assert len(rt.jobs()) == 1  # nothing stored
        clock.advance_to(70)
        after = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        assert after.result() == {"shots": 100}
    # the session, and what was stored before, survive the refusal
    assert rt.session(session.id).state is SessionState.ACTIVE
    assert rt.job(before.id).result() == {"shots": 100}
    assert "submission to qpu refused" in faults.describe()


def test_another_tenants_load_delays_a_deactivated_sessions_next_job(
    rt: Runtime, clock: VirtualClock
) -> None:
    session = rt.open_session("qpu", interactive_ttl=5)
    load = TenantLoad("qpu", at=20, jobs=3, seconds=30)
    with FaultInjector(rt, [load]):
        rt.submit("sampler", "qpu", job_payload(), session_id=session.id).wait()  # ends 10.1
        clock.advance_to(21)  # the session went inactive at 15.1; the load came at 20
        assert rt.session(session.id).state is SessionState.INACTIVE
        nxt = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        others = rt.jobs(instance="other-tenant")
        for job in [nxt, *others]:
            job.wait()
    assert len(others) == 3 and all(j.record.execution_time == pytest.approx(30) for j in others)
    # Fair share: the session's instance used 10.1 s, the other tenant 30 s once its first job
    # ran, so the session's job runs second, at 50 (not at 21 as on an idle device).
    assert nxt.record.started_at == pytest.approx(50)
    assert history(rt.session(session.id)) == ["load"]


def test_a_calibration_pre_empts_a_session_job(rt: Runtime, clock: VirtualClock) -> None:
    session = rt.open_session("qpu", interactive_ttl=600)
    with FaultInjector(rt, [Calibration("qpu", at=5, duration=120)]):
        first = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        second = rt.submit("sampler", "qpu", job_payload(), session_id=session.id)
        second.wait()  # the calibration came at 5, while the first job ran
    calibration = rt.jobs(name_prefix="calibration")[0].record
    assert calibration.system and calibration.started_at == pytest.approx(10.1)
    assert first.record.finished_at == pytest.approx(10.1)  # the running job finished
    assert second.record.started_at == pytest.approx(130.1)  # after the calibration
    assert history(rt.session(session.id)) == ["calibration"]
    assert "calibration" in history(second.record)


def test_a_running_job_cancelled_from_outside(rt: Runtime) -> None:
    session = rt.open_session("qpu")
    with FaultInjector(rt, [CancelJob(JobMatch(nth=2), after=3)]):
        jobs = [rt.submit("sampler", "qpu", job_payload(), session_id=session.id) for _ in range(2)]
        for job in jobs:
            job.wait()
    assert jobs[0].record.status is JobStatus.DONE
    cancelled = jobs[1].record
    assert cancelled.status is JobStatus.CANCELLED
    assert cancelled.finished_at - cancelled.started_at == pytest.approx(3)
    assert history(cancelled) == ["cancel"]


def test_store_refusal_loses_no_job_and_surfaces_the_error_once(
    tmp_path: Path, clock: VirtualClock
) -> None:
    rt = Runtime(devices=[qpu()], clock=clock, store=SQLiteStore(str(tmp_path / "s.db")))
    try:
        with FaultInjector(rt, [StoreRefusal(at=5, duration=100)]) as faults:
            running = rt.submit("sampler", "qpu", job_payload())
            clock.advance_to(50)  # it ended at 10.1, inside the window: its write is held
            assert running.status is JobStatus.DONE
            with pytest.raises(StoreError, match="disk is full"):
                rt.store.flush()  # the writer's commit failed: the store says so
            with pytest.raises(StoreError, match=r"disk is full \(injected\)"):
                rt.submit("sampler", "qpu", job_payload())  # not stored: its caller knows
            clock.advance_to(106)  # the window ends: what was held is stored
            after = rt.submit("sampler", "qpu", job_payload())
            after.wait()
        rt.store.flush()
        stored = {j.id: j.status for j in rt.store.query_jobs(_all())}
        assert stored == {running.id: JobStatus.DONE, after.id: JobStatus.DONE}
        assert "the store refuses writes" in faults.describe()
    finally:
        rt.shutdown(wait=False)


def _all() -> Any:
    from qsession_provider.core.store.protocol import JobQuery

    return JobQuery()


def test_a_store_refusal_on_a_memory_store_is_refused_clearly(rt: Runtime) -> None:
    with pytest.raises(InputError, match="needs a store file"):
        FaultInjector(rt, [StoreRefusal()])


def test_bad_faults_name_the_field() -> None:
    with pytest.raises(InputError, match="nth must be a positive integer"):
        JobMatch(nth=0)
    with pytest.raises(InputError, match="extra must be > 0"):
        SlowJob(extra=0)
    with pytest.raises(InputError, match="at: invalid duration"):
        DeviceOffline("qpu", at="soon")
    with pytest.raises(InputError, match="ibm_code 9999 needs a message"):
        FailJob(ibm_code=9999)


def test_an_unknown_device_and_a_second_injector_are_refused(rt: Runtime) -> None:
    with pytest.raises(InputError, match="no device named 'nope'"):
        FaultInjector(rt, [DeviceOffline("nope")])
    with FaultInjector(rt, []):
        with pytest.raises(QSessionError, match="already has a fault injector"):
            FaultInjector(rt, [])
    FaultInjector(rt, []).remove()  # removed: a new one may come


def test_removing_the_injector_ends_an_outage(rt: Runtime, clock: VirtualClock) -> None:
    faults = FaultInjector(rt, [DeviceOffline("qpu", at=0, duration=1000)])
    clock.advance(1)
    job = rt.submit("sampler", "qpu", job_payload())
    assert job.status is JobStatus.QUEUED
    faults.remove()
    job.wait()
    assert job.record.started_at == pytest.approx(1)
