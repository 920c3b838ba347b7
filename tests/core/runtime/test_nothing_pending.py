"""No job pending for ever (issue 20, items 3-5 and 7b).

* an interrupt landing anywhere in a submission's bookkeeping, then shutdown: nothing stays
  QUEUED or RUNNING in the store (item 3);
* a live runtime sweeps the jobs of a killed owner, or of an owner whose heartbeat is stale,
  within two heartbeats of its wall clock (item 4; the wall clock is virtual here);
* SIGTERM to a process that embeds a runtime: every result it delivered is stored DONE, and
  nothing is left pending or orphaned (item 5, a real subprocess);
* finished jobs are changed or deleted only by their own instance and user (item 7b).
"""

from __future__ import annotations

import contextlib
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from types import FrameType
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.job import FINAL_STATES, PENDING_STATES, JobErrorCode, JobStatus
from qsession_provider.core.runtime import signals
from qsession_provider.core.runtime.checks import decode_result
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.processes import (
    HEARTBEAT_INTERVAL,
    STALE_AFTER,
    Heartbeat,
    ProcessRecord,
)
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import (
    ForbiddenError,
    InputError,
    JobFailedError,
    JobNotFoundError,
)
from tests.conftest import make_devices
from tests.core.store.test_sqlite_store import run_child

pytestmark = pytest.mark.timeout(120)

# The interrupts land in the runtime's own code (the store's interrupt safety is the store's).
RUNTIME_CODE = str(
    Path(__import__("qsession_provider").__file__).resolve().parent / "core" / "runtime"
)


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


def pending_in(path: Path) -> list[Any]:
    """The jobs a fresh reader of the store sees QUEUED or RUNNING."""
    store = SQLiteStore(str(path))
    try:
        return store.query_jobs(JobQuery(statuses=PENDING_STATES))
    finally:
        store.close()


# -- item 3: an interrupt in the bookkeeping, then shutdown --------------------------------------
class _InterruptAt:
    """A tracer raising KeyboardInterrupt at the ``n``-th line run in the runtime's code (as a
    Ctrl-C landing there would); ``fired`` tells whether it did."""

    def __init__(self, n: int) -> None:
        self.left = n
        self.fired = False

    def __call__(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if not frame.f_code.co_filename.startswith(RUNTIME_CODE):
            return None
        return self._line

    def _line(self, frame: FrameType, event: str, arg: Any) -> Callable[..., Any] | None:
        if event == "line" and not self.fired:
            self.left -= 1
            if self.left < 0:
                self.fired = True
                raise KeyboardInterrupt
        return self._line


def test_an_interrupt_anywhere_in_a_submission_leaves_nothing_pending(
    tmp_path: Path, engine: Any, payload: Any
) -> None:
    """Ctrl-C at every 7th line run by a submission in turn (about 80 runs), leaving a
    ``with Runtime(...)`` block: the store then holds no QUEUED or RUNNING job, and no
    process record is left behind."""
    fired = 0
    n = 0
    while True:
        path = tmp_path / f"s{n}.db"
        store = SQLiteStore(str(path))
        tracer = _InterruptAt(n)
        with pytest.raises(KeyboardInterrupt) if n % 2 else contextlib.suppress(KeyboardInterrupt):
            with Runtime(store=store, devices=make_devices(engine)) as rt:
                try:
                    sys.settrace(tracer)
                    rt.submit("echo", "fake_sim", payload(k=n))
                finally:
                    sys.settrace(None)
                if n % 2:
                    raise KeyboardInterrupt  # the interrupt that landed after the submission
        store.close()
        assert pending_in(path) == [], f"interrupted at line {n}"
        reader = SQLiteStore(str(path))
        assert reader.processes() == []
        reader.close()
        if not tracer.fired:
            break  # the whole submission ran: every line was tried
        fired += 1
        n += 7
    assert fired >= 15


def test_shutdown_fails_a_job_its_scheduler_lost(
    tmp_path: Path, engine: Any, payload: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The reproducer: the job is stored QUEUED but never reaches the scheduler."""
    rt = Runtime(store=SQLiteStore(str(tmp_path / "s.db")), devices=make_devices(engine))

    def interrupted(*args: Any, **kwargs: Any) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(rt._scheduler, "enqueue", interrupted)
    with pytest.raises(KeyboardInterrupt):
        rt.submit("echo", "fake_sim", payload(k=1))
    [job] = rt.store.query_jobs(JobQuery())
    assert job.status is JobStatus.QUEUED
    rt.shutdown()
    rt.store.close()
    reader = SQLiteStore(str(tmp_path / "s.db"))
    stored = reader.get_job(job.id)
    reader.close()
    assert stored.status is JobStatus.ERROR
    assert stored.error_code == JobErrorCode.SHUTDOWN.value


def test_keep_queued_still_leaves_queued_jobs_for_adoption(
    tmp_path: Path, engine: Any, payload: Any
) -> None:
    engine.gate = threading.Event()
    devices = make_devices(engine)
    rt = Runtime(store=SQLiteStore(str(tmp_path / "s.db")), devices=devices, clock=VirtualClock())
    jobs = [rt.submit("echo", "slow_qpu", payload(k=k)) for k in range(3)]
    engine.gate.set()
    rt.shutdown(keep_queued=True, wait=False)
    rt.store.close()
    pending = {r.id for r in pending_in(tmp_path / "s.db")}
    assert {j.id for j in jobs[1:]} <= pending


@pytest.mark.parametrize("delay", [0.2, 0.5, 0.9])
def test_sigint_during_a_submission_loop_leaves_nothing_pending(
    tmp_path: Path, delay: float
) -> None:
    path = tmp_path / "s.db"
    child = run_child(
        """
        rt = Runtime.for_store(sys.argv[1], devices=[Device("echo", 2, echo, programs={"echo"})])
        print("ready", flush=True)
        n = 0
        while True:
            rt.submit("echo", "echo", {"n": n}).result()
            n += 1
        """,
        str(path),
        wait=False,
    )
    assert child.stdout.readline().strip() == "ready"
    time.sleep(delay)  # not a timeout: where the interrupt lands
    child.send_signal(signal.SIGINT)
    child.communicate(timeout=60)
    assert child.returncode != 0
    assert pending_in(path) == []


# -- item 4: live processes sweep dead owners ----------------------------------------------------
def _foreign_jobs(store: SQLiteStore, owner: ProcessRecord, count: int) -> list[str]:
    """Jobs left QUEUED and RUNNING by ``owner`` (registered in ``store``)."""
    from qsession_provider.core.job import JobRecord
    from qsession_provider.core.runtime.checks import encode

    store.register_process(owner)
    ids = []
    for k in range(count):
        status = JobStatus.RUNNING if k % 2 else JobStatus.QUEUED
        record = JobRecord(
            id=f"{owner.id}-{k}",
            program_id="echo",
            device="fake_sim",
            status=status,
            created_at=1.0,
            owner=owner.id,
        )
        store.add_job(record, encode({"k": k}, "payload"))
        ids.append(record.id)
    store.flush()
    return ids


@pytest.fixture(scope="module")
def dead_pid() -> int:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    return gone.pid


def test_a_live_runtime_fails_a_killed_owners_jobs_within_one_heartbeat(
    tmp_path: Path, engine: Any, dead_pid: int, closing: list[Any]
) -> None:
    wall = VirtualClock(time.time(), auto_advance=False)
    rt = Runtime(
        store=SQLiteStore(str(tmp_path / "s.db")), devices=make_devices(engine), wall_clock=wall
    )
    closing.append(rt)
    closing.append(rt.store)
    other = SQLiteStore(str(tmp_path / "s.db"))
    closing.insert(0, other)
    killed = ProcessRecord("killed", dead_pid, socket.gethostname(), "", wall.now(), wall.now())
    ids = _foreign_jobs(other, killed, 4)
    handles = [rt.job(i) for i in ids]
    assert not any(h.in_final_state() for h in handles)
    wall.advance(HEARTBEAT_INTERVAL)
    for handle in handles:
        with pytest.raises(JobFailedError) as info:
            handle.result()  # no timeout: it returns because the job is now final
        assert info.value.error_code == JobErrorCode.ORPHANED.value  # type: ignore[attr-defined]
    assert all(p.id != "killed" for p in other.processes())


def test_a_live_runtime_fails_a_stale_owners_jobs_within_two_heartbeats(
    tmp_path: Path, engine: Any, closing: list[Any]
) -> None:
    """An owner on another host is judged by its heartbeat: stale after STALE_AFTER."""
    wall = VirtualClock(time.time(), auto_advance=False)
    rt = Runtime(
        store=SQLiteStore(str(tmp_path / "s.db")), devices=make_devices(engine), wall_clock=wall
    )
    closing.append(rt)
    closing.append(rt.store)
    other = SQLiteStore(str(tmp_path / "s.db"))
    closing.insert(0, other)
    start = wall.now()
    away = ProcessRecord("away", 4242, "another-host.invalid", "", start, start)
    ids = _foreign_jobs(other, away, 2)
    wall.advance(STALE_AFTER)  # fresh enough until now: nothing is touched
    assert all(other.get_job(i).status in PENDING_STATES for i in ids)
    wall.advance(2 * HEARTBEAT_INTERVAL)  # stale: swept at the next heartbeat
    for i in ids:
        stored = other.get_job(i)
        assert stored.status is JobStatus.ERROR
        assert stored.error_code == JobErrorCode.ORPHANED.value
        assert "another-host.invalid" in (stored.error_message or "")


def test_a_live_owner_keeps_its_jobs(
    tmp_path: Path, engine: Any, payload: Any, closing: list[Any]
) -> None:
    """Two live runtimes on one store: the heartbeats and sweeps touch neither's work."""
    engine.gate = threading.Event()
    wall = VirtualClock(time.time(), auto_advance=False)
    store_a = SQLiteStore(str(tmp_path / "s.db"))
    store_b = SQLiteStore(str(tmp_path / "s.db"))
    a = Runtime(store=store_a, devices=make_devices(engine), wall_clock=wall)
    b = Runtime(store=store_b, devices=make_devices(engine), wall_clock=wall)
    closing.extend([a, b, store_a, store_b])
    job = a.submit("echo", "slow_qpu", payload(k=1))
    wall.advance(STALE_AFTER * 3)
    assert store_b.get_job(job.id).status in PENDING_STATES
    engine.gate.set()
    assert job.result()["echo"] == {"k": 1}


def test_heartbeat_intervals_are_injectable_and_checked() -> None:
    wall = VirtualClock(0.0, auto_advance=False)
    beats: list[float] = []
    beat = Heartbeat(lambda: beats.append(wall.now()), 2.0, wall)
    beat.start()
    wall.advance(7.0)
    assert beats == [2.0, 4.0, 6.0]
    beat.stop()
    wall.advance(10.0)
    assert beats == [2.0, 4.0, 6.0]
    with pytest.raises(ValueError, match="interval"):
        Heartbeat(lambda: None, 0.0, wall)


def test_a_failing_beat_does_not_stop_the_heartbeat() -> None:
    wall = VirtualClock(0.0, auto_advance=False)
    calls: list[float] = []

    def beat() -> None:
        calls.append(wall.now())
        raise OSError("store busy")

    heartbeat = Heartbeat(beat, 1.0, wall)
    heartbeat.start()
    wall.advance(3.0)
    heartbeat.stop()
    assert calls == [1.0, 2.0, 3.0]


@pytest.mark.parametrize("bad", [0, -1.0, "10", True, float("nan")])
def test_a_bad_heartbeat_interval_is_refused(bad: Any) -> None:
    with pytest.raises(InputError, match="heartbeat_interval"):
        Runtime(heartbeat_interval=bad)


# -- item 5: SIGTERM ------------------------------------------------------------------------------
def test_sigterm_loses_no_delivered_result(tmp_path: Path) -> None:
    """A child delivers results as fast as it can (write-behind on) and is sent SIGTERM:
    every result it printed is stored DONE with its value; nothing is pending."""
    path = tmp_path / "s.db"
    child = run_child(
        """
        rt = Runtime.for_store(sys.argv[1], devices=[Device("echo", 2, echo, programs={"echo"})])
        print("ready", flush=True)
        n = 0
        while True:
            job = rt.submit("echo", "echo", {"n": n})
            job.result()
            print(job.id, n, flush=True)
            n += 1
        """,
        str(path),
        wait=False,
    )
    assert child.stdout.readline().strip() == "ready"
    delivered: dict[str, int] = {}
    while len(delivered) < 200:
        job_id, n = child.stdout.readline().split()
        delivered[job_id] = int(n)
    child.send_signal(signal.SIGTERM)
    out, err = child.communicate(timeout=60)
    assert child.returncode == 128 + signal.SIGTERM, err
    for line in out.splitlines():
        job_id, n = line.split()
        delivered[job_id] = int(n)
    store = SQLiteStore(str(path))
    try:
        assert store.query_jobs(JobQuery(statuses=PENDING_STATES)) == []
        for job_id, n in delivered.items():
            record = store.get_job(job_id)
            assert record.status is JobStatus.DONE, (record.error_code, record.error_message)
            assert decode_result(store.get_result(job_id))["n"] == n
        orphaned = store.query_jobs(JobQuery(statuses=frozenset({JobStatus.ERROR})))
        assert all(r.error_code != JobErrorCode.ORPHANED.value for r in orphaned)
    finally:
        store.close()


def test_the_sigterm_handler_is_installed_only_over_the_default(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    original = signal.getsignal(signal.SIGTERM)
    try:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        assert signals.install_sigterm_handler()
        assert signal.getsignal(signal.SIGTERM) is signals.exit_on_sigterm
        assert signals.install_sigterm_handler()  # idempotent

        def mine(signum: int, frame: Any) -> None:
            pass

        signal.signal(signal.SIGTERM, mine)
        assert not signals.install_sigterm_handler()
        assert signal.getsignal(signal.SIGTERM) is mine
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        result: list[bool] = []
        thread = threading.Thread(target=lambda: result.append(signals.install_sigterm_handler()))
        thread.start()
        thread.join()
        assert result == [False]
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, original)


def test_the_sigterm_handler_exits_and_restores_the_default() -> None:
    original = signal.getsignal(signal.SIGTERM)
    try:
        with pytest.raises(SystemExit) as info:
            signals.exit_on_sigterm(signal.SIGTERM, None)
        assert info.value.code == 128 + signal.SIGTERM
        assert signal.getsignal(signal.SIGTERM) is signal.SIG_DFL
    finally:
        signal.signal(signal.SIGTERM, original)


# -- item 7b: only the job's instance (and user) may change or delete it -----------------------
@pytest.fixture
def finished(engine: Any, payload: Any) -> Iterator[tuple[Runtime, str]]:
    rt = Runtime(devices=make_devices(engine), clock=VirtualClock())
    job = rt.submit("echo", "fake_sim", payload(k=1), instance="hub/a", user="alice", name="n")
    job.result()
    yield rt, job.id
    rt.shutdown()


def test_another_instance_cannot_change_or_delete_a_job(finished: tuple[Runtime, str]) -> None:
    rt, job_id = finished
    with pytest.raises(ForbiddenError, match="another instance"):
        rt.update_job(job_id, tags=["x"], instance="hub/b")
    with pytest.raises(ForbiddenError, match="another instance"):
        rt.update_job(job_id, name="renamed", instance="hub/b")
    with pytest.raises(ForbiddenError, match="another instance"):
        rt.delete_job(job_id, instance="hub/b")
    record = rt.store.get_job(job_id)
    assert (record.tags, record.name) == ((), "n")


def test_another_user_does_not_see_the_job(finished: tuple[Runtime, str]) -> None:
    rt, job_id = finished
    with pytest.raises(JobNotFoundError):
        rt.update_job(job_id, tags=["x"], instance="hub/a", user="mallory")
    with pytest.raises(JobNotFoundError):
        rt.delete_job(job_id, user="mallory")
    assert rt.store.get_job(job_id).tags == ()


def test_the_jobs_own_instance_and_user_may(finished: tuple[Runtime, str]) -> None:
    rt, job_id = finished
    assert rt.update_job(job_id, tags=["x"], instance="hub/a", user="alice").tags == ("x",)
    rt.delete_job(job_id, instance="hub/a", user="alice")
    with pytest.raises(JobNotFoundError):
        rt.store.get_job(job_id)


@pytest.mark.parametrize(
    ("instance", "user"), [("", None), (3, None), (None, 7), ("hub/\udcff", None)]
)
def test_bad_caller_names_are_refused(
    finished: tuple[Runtime, str], instance: Any, user: Any
) -> None:
    rt, job_id = finished
    with pytest.raises(InputError):
        rt.delete_job(job_id, instance=instance, user=user)
    with pytest.raises(InputError):
        rt.update_job(job_id, tags=["y"], instance=instance, user=user)
    assert rt.store.get_job(job_id).status in FINAL_STATES
    assert rt.store.get_job(job_id).tags == ()
