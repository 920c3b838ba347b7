"""Restarts lose nothing: ``shutdown(keep_queued=True)`` and ``Runtime(adopt_orphans=True)``.

A runtime that keeps its queued work leaves it QUEUED (and its sessions open) in the store;
an adopting runtime on the same store takes it over, as it takes over the work of a process
that died (simulated by giving a live runtime's process record the pid of a process that
has exited, or by writing a dead process's records straight into a store). Everything runs
on virtual clocks.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.core.job import JobErrorCode, JobRecord, JobStatus
from qsession_provider.core.runtime.adoption import RERUN_KEY, is_deterministic
from qsession_provider.core.runtime.checks import encode
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import (
    CloseReason,
    IdleScope,
    SessionMode,
    SessionRecord,
    SessionState,
)
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.processes import ProcessRecord
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import SessionNotFoundError
from tests.conftest import PROGRAMS, make_devices
from tests.core.store.test_sqlite_store import run_child

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def dead_pid() -> int:
    """The pid of a process that has exited (what a killed runtime leaves in the store)."""
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def dead_process(process_id: str, pid: int) -> ProcessRecord:
    return ProcessRecord(process_id, pid, socket.gethostname(), "", 0.0, 0.0)


def bell() -> Circuit:
    ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)]
    return Circuit(2, ops, {"c": 2}, name="bell")


def sampler(seed: int | None) -> SamplerPayload:
    return SamplerPayload((SamplerPub(bell(), np.zeros((0,)), 16),), seed=seed)


def estimator(precision: float, seed: int | None = None) -> EstimatorPayload:
    observables = np.empty((), dtype=object)
    observables[()] = PauliSum([PauliTerm("ZZ", (0, 1), 1.0)])
    circuit = Circuit(2, [Gate("h", (0,)), Gate("x", (1,), controls=(0,))], {})
    return EstimatorPayload((EstimatorPub(circuit, np.zeros((0,)), observables, precision),), seed)


def two_slot_qpu(engine: Any) -> Device:
    return Device("qpu2", 5, engine, slots=2, programs=PROGRAMS, timing=TimingModel(per_job=5.0))


@pytest.fixture
def closing() -> Iterator[list[Any]]:
    """Runtimes and stores to close after the test, in order."""
    things: list[Any] = []
    yield things
    for thing in things:
        if isinstance(thing, Runtime):
            thing.shutdown(wait=False, cancel_pending=True)
        else:
            thing.close()


# -- shutdown(keep_queued=True) then adoption --------------------------------------------------
def test_queued_session_jobs_survive_a_restart_and_run_in_order(
    tmp_path: Any, engine: Any, payload: Any, closing: list[Any]
) -> None:
    path = str(tmp_path / "s.sqlite3")
    first_clock = VirtualClock(start=0)
    first = Runtime(store=SQLiteStore(path), clock=first_clock, devices=make_devices(engine))
    session = first.open_session("fake_qpu", user="alice", name="vqe")
    jobs = [
        first.submit(
            "echo", "fake_qpu", payload(n=i), session_id=session.id, user="alice", name=f"j{i}"
        )
        for i in range(4)
    ]
    alone = first.submit("echo", "fake_qpu", payload(n=9), name="job-mode")
    first.shutdown(keep_queued=True)  # j0 runs to its end (3 s); the rest stays queued
    seen = SQLiteStore(path)
    closing.append(seen)
    assert seen.get_job(jobs[0].id).status is JobStatus.DONE
    for job in (*jobs[1:], alone):
        record = seen.get_job(job.id)
        assert record.status is JobStatus.QUEUED and record.owner == first.process_id
    kept = seen.get_session(session.id)
    assert kept.state is SessionState.ACTIVE and kept.accepting_jobs
    assert seen.processes() == []  # unregistered: the work has no process any more

    # An embedded runtime leaves kept work alone (only an adopting one takes it).
    embedded = Runtime(store=SQLiteStore(path), clock=VirtualClock(start=0))
    assert embedded.orphans.jobs == () and embedded.orphans.adopted_jobs == ()
    embedded.shutdown()
    embedded.store.close()
    assert seen.get_job(alone.id).status is JobStatus.QUEUED

    calls_before = len(engine.calls)
    second = Runtime(
        store=SQLiteStore(path),
        clock=VirtualClock(start=first_clock.now()),
        devices=make_devices(engine),
        adopt_orphans=True,
    )
    closing[:0] = [second, second.store]
    report = second.orphans
    assert report.adopted_jobs == (jobs[1].id, jobs[2].id, jobs[3].id, alone.id)
    assert report.adopted_sessions == (session.id,)
    assert report.rerun == () and report.jobs == () and report.sessions == ()
    done = [second.job(j.id) for j in (*jobs[1:], alone)]
    assert [j.result()["echo"]["n"] for j in done] == [1, 2, 3, 9]
    assert [c[1]["n"] for c in engine.calls[calls_before:]] == [1, 2, 3, 9]  # in order
    assert all(j.record.owner == second.process_id for j in done)
    starts = [j.started_at for j in done]
    assert starts[:3] == sorted(starts[:3])
    # The session kept its device: job mode waited out its interactive window.
    live = second.session(session.id)
    assert done[3].started_at == done[2].finished_at + live.interactive_ttl
    assert live.state is SessionState.INACTIVE and live.owner == second.process_id
    # The session is live here: its user feeds it, another user does not find it.
    more = second.submit("echo", "fake_qpu", payload(n=5), session_id=session.id, user="alice")
    assert more.result()["echo"]["n"] == 5 and more.record.user == "alice"
    with pytest.raises(SessionNotFoundError):
        second.submit("echo", "fake_qpu", payload(), session_id=session.id, user="bob")
    assert second.close_session(session.id).state is SessionState.CLOSED


def test_keep_queued_waits_for_running_jobs_only(
    make_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    store = MemoryStore()  # ours, so that it stays open after the runtime shuts down
    rt = make_runtime(store=store, clock=manual_clock)
    running = rt.submit("echo", "fake_qpu", payload())
    queued = rt.submit("echo", "fake_qpu", payload())
    session = rt.open_session("fake_sim")
    assert running.status is JobStatus.RUNNING
    # A manual clock cannot move while we wait: the running job ends "shutdown", as today.
    rt.shutdown(keep_queued=True)
    assert running.status is JobStatus.ERROR
    assert running.error_code == JobErrorCode.SHUTDOWN.value
    assert store.get_job(queued.id).status is JobStatus.QUEUED
    assert store.get_session(session.id).state is SessionState.OPEN
    assert store.processes() == []


# -- a process that died --------------------------------------------------------------------------
def test_a_dead_runtimes_running_jobs_rerun_once_if_seeded_else_fail(
    tmp_path: Any, engine: Any, dead_pid: int, closing: list[Any]
) -> None:
    path = str(tmp_path / "s.sqlite3")
    first_store = SQLiteStore(path)
    # The first runtime's clock never moves: its jobs stay RUNNING, as in a process that froze.
    first = Runtime(
        store=first_store,
        clock=VirtualClock(start=0, auto_advance=False),
        devices=[two_slot_qpu(engine)],
    )
    closing.append(first_store)  # "killed": its store goes first, so it writes nothing more
    closing.append(first)
    seeded = first.submit("sampler", "qpu2", sampler(seed=3), name="seeded")
    unseeded = first.submit("sampler", "qpu2", sampler(seed=None), name="unseeded")
    waiting = first.submit("sampler", "qpu2", sampler(seed=None), name="waiting")
    assert [j.status for j in (seeded, unseeded, waiting)] == [
        JobStatus.RUNNING,
        JobStatus.RUNNING,
        JobStatus.QUEUED,
    ]
    first_store.flush()
    first_store.register_process(dead_process(first.process_id, dead_pid))  # it died

    second = Runtime(
        store=SQLiteStore(path),
        clock=VirtualClock(start=100),
        devices=[two_slot_qpu(engine)],
        adopt_orphans=True,
    )
    closing[:0] = [second, second.store]
    report = second.orphans
    assert report.rerun == (seeded.id,)
    assert report.jobs == (unseeded.id,)
    assert report.adopted_jobs == (waiting.id,)
    again = second.job(seeded.id)
    assert again.result() == {"program": "sampler", "shots": 16}
    assert again.metadata[RERUN_KEY] == 1 and again.started_at == 100.0
    assert second.store.get_job(seeded.id).status is JobStatus.DONE
    failed = second.job(unseeded.id)
    assert failed.status is JobStatus.ERROR
    assert failed.error_code == JobErrorCode.ORPHANED.value
    assert f"process {dead_pid} on {socket.gethostname()}" in (failed.error_message or "")
    assert "not deterministic" in (failed.error_message or "")
    assert failed.finished_at == 100.0
    assert second.job(waiting.id).result()["shots"] == 16
    assert [p.id for p in second.store.processes()] == [second.process_id]


def write_dead_work(store: MemoryStore, pid: int, *records: Any) -> None:
    """Records of a process ``dead`` that died, written straight into ``store``."""
    store.register_process(dead_process("dead", pid))
    for record in records:
        if isinstance(record, SessionRecord):
            store.add_session(record.replace(owner="dead"))
        else:
            record, job_payload = record
            store.add_job(record.replace(owner="dead"), encode(job_payload, "payload"))


def job(job_id: str, device: str = "fake_sim", **changes: Any) -> JobRecord:
    fields: dict[str, Any] = {"program_id": "sampler", "status": JobStatus.QUEUED}
    fields.update(changes)
    return JobRecord(job_id, device=device, created_at=0.0, **fields)


def session(session_id: str, device: str = "fake_qpu", **changes: Any) -> SessionRecord:
    fields: dict[str, Any] = {"mode": SessionMode.DEDICATED, "state": SessionState.OPEN}
    fields.update(changes)
    return SessionRecord(session_id, device=device, created_at=0.0, **fields)


def test_a_job_rerun_once_is_not_rerun_again(make_runtime: Any, dead_pid: int) -> None:
    store = MemoryStore()
    running = {"status": JobStatus.RUNNING, "started_at": 5.0}
    write_dead_work(
        store,
        dead_pid,
        (job("twice", metadata={RERUN_KEY: 1}, **running), sampler(seed=1)),
        (job("exact", program_id="estimator", **running), estimator(precision=0.0)),
        (job("seeded-est", program_id="estimator", **running), estimator(0.1, seed=4)),
        (job("noisy", program_id="estimator", **running), estimator(precision=0.1)),
        (job("run", program_id="run", **running), RunPayload((bell(),), shots=8, seed=2)),
    )
    rt = make_runtime(store=store, clock=VirtualClock(start=50), adopt_orphans=True)
    assert rt.orphans.rerun == ("exact", "seeded-est", "run")
    assert rt.orphans.jobs == ("twice", "noisy")
    twice = rt.job("twice")
    assert twice.error_code == JobErrorCode.ORPHANED.value
    assert "re-run only once" in (twice.error_message or "")
    assert f"process {dead_pid}" in (twice.error_message or "")
    for job_id in rt.orphans.rerun:
        assert rt.job(job_id).result() is not None
        assert rt.job(job_id).metadata == {RERUN_KEY: 1}


def test_adopted_sessions_keep_their_state_and_timers(
    make_runtime: Any, dead_pid: int, payload: Any
) -> None:
    store = MemoryStore()
    active = session(
        "active",  # holding fake_qpu in its interactive window, nothing outstanding
        state=SessionState.ACTIVE,
        started_at=10.0,
        activated_at=10.0,
        active_since=10.0,
        last_job_started=40.0,
        last_job_completed=50.0,
        root_job_id="x",
    )
    idle = session("idle", device="fake_sim", idle_timeout=1800.0)
    expiring = session(
        "expiring",
        device="fake_sim",
        mode=SessionMode.BATCH,
        state=SessionState.INACTIVE,
        started_at=0.0,
        max_ttl=500.0,
        root_job_id="y",
        idle_scope=IdleScope.ANY,
        idle_timeout=None,
    )
    draining = session("draining", device="fake_sim", state=SessionState.DRAINING)
    write_dead_work(store, dead_pid, active, idle, expiring, draining)
    clock = VirtualClock(start=100, auto_advance=False)
    rt = make_runtime(store=store, clock=clock, adopt_orphans=True)
    assert rt.orphans.adopted_sessions == ("active", "idle", "expiring", "draining")
    assert rt.session("draining").close_reason is CloseReason.CLOSED  # nothing left to drain
    assert rt.holder("fake_qpu") == "active"
    other = rt.submit("echo", "fake_qpu", payload())  # waits for the held device
    assert other.status is JobStatus.QUEUED
    clock.advance_to(349)
    assert other.status is JobStatus.QUEUED
    clock.advance_to(350)  # last job completed at 50 + interactive TTL 300
    assert other.started_at == 350.0
    assert rt.session("active").state is SessionState.INACTIVE
    assert rt.session("active").usage_time == 340.0  # held from 10 to 350
    clock.advance_to(500)  # max TTL counts from started_at 0
    assert rt.session("expiring").close_reason is CloseReason.MAX_TTL
    assert rt.session("idle").state is SessionState.OPEN
    clock.advance_to(1800)  # idle timeout counts from created_at 0
    assert rt.session("idle").close_reason is CloseReason.IDLE_TIMEOUT
    assert rt.store.get_session("idle").closed_at == 1800.0


def test_what_cannot_run_again_fails_with_a_reason(make_runtime: Any, dead_pid: int) -> None:
    store = MemoryStore()
    closed = session("closed", device="fake_sim", state=SessionState.CLOSED)
    write_dead_work(
        store,
        dead_pid,
        session("lost-device", device="no_such_qpu"),
        closed,
        (job("nowhere", device="no_such_qpu"), sampler(seed=1)),
        (job("closed-session", session_id="closed"), sampler(seed=1)),
        (job("echo-running", program_id="echo", status=JobStatus.RUNNING), {"x": 1}),
    )
    rt = make_runtime(store=store, clock=VirtualClock(start=0), adopt_orphans=True)
    assert rt.orphans.sessions == ("lost-device",)
    assert rt.orphans.jobs == ("nowhere", "closed-session", "echo-running")
    lost = rt.session("lost-device")
    assert lost.close_reason is CloseReason.OWNER_EXITED and lost.owner == rt.process_id
    messages = {j: rt.job(j).error_message or "" for j in rt.orphans.jobs}
    assert "device 'no_such_qpu' is not available" in messages["nowhere"]
    assert "its session closed is closed" in messages["closed-session"]
    assert "not deterministic" in messages["echo-running"]
    assert rt.session("closed").owner == "dead"  # closed work is not taken over


def test_live_processes_keep_their_work(make_runtime: Any, payload: Any) -> None:
    store = MemoryStore()
    first = make_runtime(store=store, clock=VirtualClock(start=0, auto_advance=False))
    mine = first.submit("echo", "fake_qpu", payload())
    waiting = first.submit("echo", "fake_qpu", payload())
    second = make_runtime(store=store, clock=VirtualClock(start=0), adopt_orphans=True)
    assert second.orphans == type(second.orphans)()
    assert store.get_job(waiting.id).owner == first.process_id
    assert mine.status is JobStatus.RUNNING


@pytest.mark.parametrize(
    ("program_id", "payload", "expected"),
    [
        ("sampler", sampler(seed=0), True),
        ("sampler", sampler(seed=None), False),
        ("run", RunPayload((bell(),), seed=1), True),
        ("run", RunPayload((bell(),)), False),
        ("estimator", estimator(0.0), True),
        ("estimator", estimator(0.01), False),
        ("estimator", estimator(0.01, seed=3), True),
        ("echo", {"seed": 1}, False),
        ("sampler", {"seed": 1}, False),
    ],
    ids=lambda v: v if isinstance(v, str) else "",
)
def test_which_payloads_are_deterministic(program_id: str, payload: Any, expected: bool) -> None:
    assert is_deterministic(program_id, payload) is expected


def test_a_killed_process_work_is_adopted_by_the_next_adopting_runtime(
    tmp_path: Any, engine: Any, closing: list[Any]
) -> None:
    path = str(tmp_path / "s.sqlite3")
    proc = run_child(
        """
        from qsession_provider.core.device import TimingModel
        from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
        from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

        def payload(seed):
            ops = [Gate("h", (0,)), Measure(0, "c", 0)]
            return SamplerPayload((SamplerPub(Circuit(1, ops, {"c": 1}), np.zeros((0,)), 8),), seed)

        # Modelled time, so that no job runs (and hangs) in the submitting thread.
        hanging = Device("hang", 2, hang, programs={"sampler"}, slots=2,
                         timing=TimingModel(per_job=0.001))
        rt = Runtime(store=SQLiteStore(sys.argv[1]), devices=[hanging])
        session = rt.open_session("hang", user="alice")
        jobs = [rt.submit("sampler", "hang", payload(seed), session_id=session.id, user="alice")
                for seed in (1, None, 2, 3)]
        while jobs[1].status.value != "RUNNING":
            time.sleep(0.01)
        rt.store.flush()  # what the writer commits within milliseconds anyway
        print(json.dumps({"jobs": [j.id for j in jobs], "session": session.id}), flush=True)
        time.sleep(120)
    """,
        path,
        wait=False,
    )
    try:
        ids = json.loads(proc.stdout.readline())
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()
    seeded, unseeded, *queued = ids["jobs"]
    device = Device("hang", 2, engine, programs={"sampler"})  # restarted, one slot: in order
    rt = Runtime(
        store=SQLiteStore(path), clock=VirtualClock(start=0), devices=[device], adopt_orphans=True
    )
    closing[:0] = [rt, rt.store]
    assert rt.orphans.rerun == (seeded,)
    assert rt.orphans.jobs == (unseeded,)
    assert rt.orphans.adopted_jobs == tuple(queued)
    assert rt.orphans.adopted_sessions == (ids["session"],)
    assert f"process {proc.pid}" in (rt.job(unseeded).error_message or "")
    for job_id in (seeded, *queued):
        assert rt.job(job_id).result() == {"program": "sampler", "shots": 8}
    assert [j.id for j in rt.jobs(session_id=ids["session"], status="DONE", descending=False)] == [
        seeded,
        *queued,
    ]
    assert [call[1].seed for call in engine.calls] == [1, 2, 3]  # re-run first, then in order
    assert rt.session(ids["session"]).user == "alice"
