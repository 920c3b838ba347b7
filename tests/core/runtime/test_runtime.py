"""The Runtime facade: the per-store registry, queries, updates, deletion, shutdown."""

from __future__ import annotations

import gc
from datetime import datetime, timezone
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.job import JobErrorCode, JobStatus
from qsession_provider.core.runtime.policies import FairSharePolicy
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import SessionState
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.errors import (
    InvalidJobStateError,
    JobNotFoundError,
    PluginError,
    QSessionError,
    SessionError,
    SessionNotFoundError,
)

pytestmark = pytest.mark.timeout(30)


def test_for_store_shares_one_runtime_per_store_path(tmp_path: Any, engine: Any) -> None:
    path = tmp_path / "shared.sqlite3"
    clock = VirtualClock(start=0)
    devices = [Device("d", 2, engine, programs={"echo"})]
    first = Runtime.for_store(str(path), clock=clock, devices=devices)
    try:
        assert Runtime.for_store(str(tmp_path / "." / "shared.sqlite3")) is first
        assert Runtime.for_store(str(path), clock=clock) is first
        other = Runtime.for_store(str(tmp_path / "other.sqlite3"), devices=devices)
        assert other is not first
        other.shutdown()
        with pytest.raises(QSessionError, match="already runs on VirtualClock"):
            Runtime.for_store(str(path), clock=VirtualClock(start=0))
        with pytest.raises(QSessionError, match="scheduling policy"):
            Runtime.for_store(str(path), policy=FairSharePolicy())
        session = first.open_session("d")
        assert Runtime.for_store(str(path)).session(session.id).id == session.id
    finally:
        first.shutdown()
    assert first.closed
    again = Runtime.for_store(str(path), devices=devices)
    assert again is not first
    assert again.session(session.id).state is SessionState.CLOSED  # closed at shutdown
    again.shutdown()


def test_for_store_setup_runs_only_when_the_runtime_is_created(tmp_path: Any, engine: Any) -> None:
    calls: list[int] = []

    def setup() -> dict[str, Any]:
        calls.append(1)
        return {"devices": [Device("d", 2, engine, programs={"echo"})]}

    path = str(tmp_path / "s.sqlite3")
    rt = Runtime.for_store(path, setup=setup)
    assert Runtime.for_store(path, setup=setup) is rt and calls == [1]
    assert [d.name for d in rt.devices()] == ["d"]
    rt.shutdown()
    with pytest.raises(QSessionError, match="unknown option 'colour'"):
        Runtime.for_store(path, setup=lambda: {"colour": "blue"})


def test_job_lookup_returns_the_same_handle_then_reloads_from_the_store(
    runtime: Any, payload: Any
) -> None:
    job = runtime.submit("echo", "fake_sim", payload(x=1))
    job.result()
    assert runtime.job(job.id) is job
    job_id, record = job.id, job.record
    del job
    gc.collect()
    again = runtime.job(job_id)
    assert again.record == record
    assert again.result() == {"program": "echo", "echo": {"x": 1}}
    assert again.payload == {"x": 1}
    with pytest.raises(JobNotFoundError, match="no job with id 'nope'"):
        runtime.job("nope")


def test_jobs_filters(runtime: Any, vclock: Any, payload: Any) -> None:
    session = runtime.open_session("fake_qpu")
    a = runtime.submit("echo", "fake_sim", payload(), tags=["x", "y"], name="alpha")
    vclock.advance(10)
    b = runtime.submit(
        "sampler",
        "fake_qpu",
        payload(),
        session_id=session.id,
        instance="team",
        tags=["x"],
        name="beta",
    )
    b.result()
    c = runtime.submit("echo", "slow_qpu", payload(), name="gamma")

    def names(**filters: Any) -> list[str]:
        return [j.name for j in runtime.jobs(**filters)]

    assert names() == ["gamma", "beta", "alpha"]
    assert names(descending=False) == ["alpha", "beta", "gamma"]
    assert names(device="fake_qpu") == ["beta"]
    assert names(program_id="sampler") == ["beta"]
    assert names(tags=["x"]) == ["beta", "alpha"]
    assert names(tags=["x", "y"]) == ["alpha"]
    assert names(session_id=session.id) == ["beta"]
    assert names(instance="team") == ["beta"]
    assert names(pending=True) == ["gamma"]
    assert names(pending=False) == ["beta", "alpha"]
    assert names(status="done") == ["beta", "alpha"]
    assert names(status=[JobStatus.RUNNING, "QUEUED"]) == ["gamma"]
    assert names(status="DONE", pending=True) == []
    assert names(name_prefix="g") == ["gamma"]
    assert names(created_after=5.0) == ["gamma", "beta"]
    when = datetime.fromtimestamp(5.0, tz=timezone.utc)
    assert names(created_before=when) == ["alpha"]
    assert names(limit=1, skip=1) == ["beta"]
    assert names(owner=runtime.process_id) == ["gamma", "beta", "alpha"]
    assert runtime.pending_jobs("slow_qpu") == 1 and runtime.pending_jobs("fake_qpu") == 0
    assert all(j is k for j, k in zip(runtime.jobs(), (c, b, a)))


def test_update_job_name_tags_and_metadata(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "slow_qpu", payload(), tags=["old"])
    updated = runtime.update_job(
        job.id, name="renamed", tags=["new", "tags"], metadata={"azure": {"priority": "High"}}
    )
    assert updated is job
    assert (job.name, job.tags) == ("renamed", ("new", "tags"))
    stored = runtime.store.get_job(job.id)
    assert stored.tags == ("new", "tags") and stored.metadata == {"azure": {"priority": "High"}}
    assert [j.id for j in runtime.jobs(tags=["new"])] == [job.id]
    job.result()
    runtime.update_job(job.id, tags=["after"])
    assert runtime.store.get_job(job.id).status is JobStatus.DONE
    assert runtime.job(job.id).tags == ("after",)


def test_delete_only_finished_jobs(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "slow_qpu", payload())
    with pytest.raises(InvalidJobStateError, match="only finished jobs can be deleted"):
        runtime.delete_job(job.id)
    job.result()
    runtime.delete_job(job.id)
    with pytest.raises(JobNotFoundError):
        runtime.delete_job(job.id)
    assert runtime.jobs() == []


def test_sessions_listing_and_lookup(runtime: Any) -> None:
    a = runtime.open_session("fake_qpu", name="a")
    b = runtime.open_session("fake_sim", mode="batch", name="b", instance="team")
    runtime.close_session(a.id)
    assert [s.name for s in runtime.sessions()] == ["b", "a"]
    assert [s.name for s in runtime.sessions(mode="batch")] == ["b"]
    assert [s.name for s in runtime.sessions(state="closed")] == ["a"]
    assert [s.name for s in runtime.sessions(state=["open", "closed"], descending=False)] == [
        "a",
        "b",
    ]
    assert [s.name for s in runtime.sessions(device="fake_sim", instance="team")] == ["b"]
    assert runtime.session(b.id).mode.value == "batch"
    assert runtime.close_session(a.id).state is SessionState.CLOSED  # idempotent
    assert runtime.cancel_session(a.id).state is SessionState.CLOSED
    with pytest.raises(SessionNotFoundError):
        runtime.session("nope")
    with pytest.raises(SessionNotFoundError):
        runtime.close_session("nope")


def test_a_session_chosen_id_must_be_new(runtime: Any) -> None:
    from qsession_provider.errors import InputError

    runtime.open_session("fake_qpu", session_id="mine")
    with pytest.raises(InputError, match="already exists"):
        runtime.open_session("fake_qpu", session_id="mine")


def test_sessions_of_another_live_process_are_read_only(
    tmp_path: Any, engine: Any, payload: Any, open_sqlite: Any
) -> None:
    path = str(tmp_path / "s.sqlite3")
    devices = [Device("d", 2, engine, programs={"echo"})]
    clock = VirtualClock(start=0)  # processes sharing a store share one timeline
    owner = Runtime(store=open_sqlite(path), devices=devices, clock=clock)
    other = Runtime(store=open_sqlite(path), devices=devices, clock=clock)
    session = owner.open_session("d")
    assert other.session(session.id).id == session.id
    with pytest.raises(SessionError, match="belongs to another process"):
        other.submit("echo", "d", payload(), session_id=session.id)
    with pytest.raises(SessionError, match="belongs to another process"):
        other.close_session(session.id)
    other.shutdown()
    owner.shutdown()


def test_devices_and_add_device(runtime: Any, engine: Any) -> None:
    assert [d.name for d in runtime.devices()] == ["fake_qpu", "fake_sim", "slow_qpu"]
    assert runtime.device("fake_qpu").slots == 1
    with pytest.raises(PluginError, match="already registered"):
        runtime.add_device(Device("fake_qpu", 1, engine))
    runtime.add_device(Device("fake_qpu", 3, engine, programs={"echo"}), replace=True)
    assert runtime.device("fake_qpu").num_qubits == 3


def test_shutdown_waits_for_jobs_then_closes_sessions(make_runtime: Any, payload: Any) -> None:
    clock = VirtualClock(start=0)
    rt = make_runtime(clock=clock, store=MemoryStore())  # not owned: stays readable
    session = rt.open_session("fake_qpu")
    jobs = [rt.submit("echo", "fake_qpu", payload(), session_id=session.id) for _ in range(3)]
    rt.shutdown()
    assert [j.status for j in jobs] == [JobStatus.DONE] * 3
    assert rt.session(session.id).state is SessionState.CLOSED
    with pytest.raises(QSessionError, match="shut down"):
        rt.submit("echo", "fake_qpu", payload())
    rt.shutdown()  # idempotent


def test_shutdown_can_cancel_pending_jobs(make_runtime: Any, payload: Any) -> None:
    clock = VirtualClock(start=0, auto_advance=False)
    rt = make_runtime(clock=clock)
    running = rt.submit("echo", "slow_qpu", payload())
    queued = rt.submit("echo", "slow_qpu", payload())
    clock.advance(1)
    rt.shutdown(wait=False, cancel_pending=True)
    assert queued.status is JobStatus.CANCELLED
    assert queued.error_code == JobErrorCode.SHUTDOWN.value
    assert running.status is JobStatus.ERROR and running.error_code == JobErrorCode.SHUTDOWN.value


def test_runtime_as_context_manager_with_default_store_and_clock(engine: Any, payload: Any) -> None:
    with Runtime(devices=[Device("d", 2, engine, programs={"echo"}, simulator=True)]) as rt:
        assert rt.submit("echo", "d", payload(a=1)).result(timeout=10)["echo"] == {"a": 1}
        assert "open" in repr(rt)
    assert rt.closed and "closed" in repr(rt)
