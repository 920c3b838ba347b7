"""Every ``qsession`` command on a store file, and its refusals with their exit codes.

The store is run by a runtime of this process on a manual virtual clock (``fake_qpu``:
one slot, 3 s a job), so a job can be left queued or running: reading opens the file
read-only; ``cancel`` and ``close`` go through that runtime (``open_runtime`` finds it).
The runtime writes behind, so the fixture flushes its store before a listing.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.cli import EXIT_FAILED, EXIT_NOT_FOUND
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.encoding import from_jsonable
from qsession_provider.core.job import JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import SessionState
from tests.conftest import make_devices

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def world(tmp_path: Path, engine: Any, payload: Any) -> Iterator[dict[str, Any]]:
    """Session ``s`` on fake_qpu: ``done`` (0-3), ``running`` (3-6), ``queued``; a batch
    ``b`` with one failed job; the runtime left running at t=4."""
    path = str(tmp_path / "store.sqlite3")
    clock = VirtualClock(start=1_000.0, auto_advance=False, stall_timeout=5.0)
    rt = Runtime.for_store(path, clock=clock, devices=make_devices(engine))
    s = rt.open_session("fake_qpu", name="cli-demo")
    jobs = [
        rt.submit("echo", "fake_qpu", payload(n=i), session_id=s.id, name=f"j{i}") for i in range(3)
    ]
    b = rt.open_session("fake_sim", mode="batch", name="other")
    failed = rt.submit("echo", "fake_sim", payload(fail=True, why="on purpose"), session_id=b.id)
    clock.advance(4)
    assert [j.status for j in jobs] == [JobStatus.DONE, JobStatus.RUNNING, JobStatus.QUEUED]
    rt.store.flush()  # write-behind: what the read-only reader sees is on disk
    yield {
        "path": path,
        "rt": rt,
        "clock": clock,
        "s": s,
        "b": b,
        "done": jobs[0],
        "running": jobs[1],
        "queued": jobs[2],
        "failed": failed,
    }
    rt.shutdown(wait=False, cancel_pending=True)


def test_jobs_lists_with_filters(world: dict[str, Any], qsession: Callable[..., Any]) -> None:
    path, s = world["path"], world["s"]
    run = qsession("--store", path, "jobs")
    assert run.code == 0 and run.err == ""
    for key in ("done", "running", "queued", "failed"):
        assert world[key].id in run.out
    assert "boom: on purpose" in run.out  # the failed job's error
    pending = qsession("jobs", "--pending", "--store", path).out
    assert world["running"].id in pending and world["queued"].id in pending
    assert world["done"].id not in pending
    final = qsession("--store", path, "jobs", "--final").out
    assert world["done"].id in final and world["failed"].id in final
    assert world["queued"].id not in final
    error = qsession("--store", path, "jobs", "--status", "ERROR").out
    assert world["failed"].id in error and world["done"].id not in error
    mine = qsession("--store", path, "jobs", "--session", s.id).out
    assert world["failed"].id not in mine and world["done"].id in mine
    sim = qsession("--store", path, "jobs", "--device", "fake_sim").out
    assert world["failed"].id in sim and world["done"].id not in sim
    one = qsession("--store", path, "jobs", "--limit", "1").out
    assert sum(world[k].id in one for k in ("done", "running", "queued", "failed")) == 1


def test_sessions_lists_with_job_counts(
    world: dict[str, Any], qsession: Callable[..., Any]
) -> None:
    run = qsession("--store", world["path"], "sessions")
    assert run.code == 0
    lines = {line.split()[0]: line for line in run.out.splitlines() if line.strip()}
    s_line, b_line = lines[world["s"].id], lines[world["b"].id]
    assert "cli-demo" in s_line and "dedicated" in s_line and "active" in s_line
    assert "1 done, 1 queued, 1 running" in s_line
    assert "batch" in b_line and "1 error" in b_line
    closed = qsession("--store", world["path"], "sessions", "--state", "closed").out
    assert world["s"].id not in closed


def test_devices_show_queues_and_holders(tmp_path: Path, qsession: Callable[..., Any]) -> None:
    """On a store of the plugins' devices: the queue length and the session holding one."""
    from qsession_provider.client.local import open_runtime
    from qsession_provider.core import Circuit, Gate, Measure
    from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

    path = str(tmp_path / "devices.sqlite3")
    fresh = qsession("--store", path, "devices")  # no store file yet: devices, no queues
    assert fresh.code == 0 and "emulated_falcon_27" in fresh.out
    assert not os.path.exists(path)  # listing created nothing
    clock = VirtualClock(auto_advance=False, stall_timeout=5.0)
    rt = open_runtime(path, clock=clock)
    try:
        circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
        s = rt.open_session("emulated_falcon_27")
        for _ in range(3):
            rt.submit(
                "sampler",
                "emulated_falcon_27",
                SamplerPayload((SamplerPub(circuit, None, 100),)),
                session_id=s.id,
            )
        run = qsession("--store", path, "devices")
        line = next(x for x in run.out.splitlines() if x.startswith("emulated_falcon_27"))
        assert run.code == 0 and " 3 " in line and s.id in line
    finally:
        rt.shutdown(wait=False, cancel_pending=True)


def test_show_a_job_and_a_session(world: dict[str, Any], qsession: Callable[..., Any]) -> None:
    path = world["path"]
    job = qsession("--store", path, "show", world["done"].id)
    assert job.code == 0
    assert f"job {world['done'].id}" in job.out and "DONE" in job.out and "j0" in job.out
    assert "3.000 s" in job.out  # execution time
    failed = qsession("--store", path, "show", world["failed"].id).out
    assert "execution_failed" in failed and "boom: on purpose" in failed
    session = qsession("--store", path, "show", world["s"].id)
    assert session.code == 0 and "cli-demo" in session.out and "active" in session.out
    for key in ("done", "running", "queued"):
        assert world[key].id in session.out  # the session's jobs under its details


def test_unknown_ids_are_refused_with_exit_3(
    world: dict[str, Any], qsession: Callable[..., Any]
) -> None:
    path = world["path"]
    for argv in (
        ["show", "nope"],
        ["cancel", "nope"],
        ["close", "nope"],
        ["export", "--session", "nope", "-o", "-"],
    ):
        run = qsession("--store", path, *argv)
        assert run.code == EXIT_NOT_FOUND, argv
        assert "'nope'" in run.err and "Traceback" not in run.err
        assert len(run.err.strip().splitlines()) == 1


def test_cancel_goes_through_the_runtime(
    world: dict[str, Any], qsession: Callable[..., Any]
) -> None:
    path, queued = world["path"], world["queued"]
    run = qsession("--store", path, "cancel", queued.id)
    assert run.code == 0 and f"cancelled job {queued.id}" in run.out
    assert queued.status is JobStatus.CANCELLED  # the runtime's own handle saw it
    again = qsession("--store", path, "cancel", queued.id)
    assert again.code == EXIT_FAILED and "already CANCELLED: nothing to cancel" in again.err
    assert not world["rt"].closed  # the runtime of this process is left running


def test_close_and_cancel_a_session(world: dict[str, Any], qsession: Callable[..., Any]) -> None:
    path, rt = world["path"], world["rt"]
    run = qsession("--store", path, "close", world["s"].id)
    assert run.code == 0 and "now draining" in run.out  # jobs still to run
    world["clock"].advance(6)
    assert rt.session(world["s"].id).state is SessionState.CLOSED
    other = rt.open_session("fake_qpu")
    running = rt.submit("echo", "fake_qpu", {"n": 9}, session_id=other.id)
    queued = rt.submit("echo", "fake_qpu", {"n": 10}, session_id=other.id)
    run = qsession("close", other.id, "--cancel", "--store", path)
    assert run.code == 0 and "cancelled session" in run.out and "now closed" in run.out
    assert running.status is JobStatus.RUNNING  # a running job finishes
    assert (queued.status, queued.error_code) == (JobStatus.ERROR, "session_cancelled")


def test_timeline_writes_a_picture(
    world: dict[str, Any], qsession: Callable[..., Any], tmp_path: Path
) -> None:
    pytest.importorskip("matplotlib", reason="the timeline needs the plot extra")
    out = tmp_path / "t.png"
    run = qsession("--store", world["path"], "timeline", world["s"].id, "-o", str(out))
    assert run.code == 0 and str(out) in run.out
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    bad = qsession("--store", world["path"], "timeline", world["s"].id, "-o", "/no/dir/t.png")
    assert bad.code == EXIT_FAILED and "/no/dir/t.png" in bad.err
    assert "Traceback" not in bad.err


def test_export_holds_jobs_results_and_timings(
    world: dict[str, Any], qsession: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "e.json"
    run = qsession("--store", world["path"], "export", "--session", world["s"].id, "-o", str(out))
    assert run.code == 0 and "3 jobs" in run.out
    doc = json.loads(out.read_text())
    assert (doc["format"], doc["version"], doc["session"]["id"]) == (
        "qsession-export",
        1,
        world["s"].id,
    )
    by_id = {j["record"]["id"]: j for j in doc["jobs"]}
    done = by_id[world["done"].id]
    assert from_jsonable(done["result"]) == world["done"].result()
    assert done["timings"]["execution_time"] == 3.0 and done["timings"]["waited"] == 0.0
    assert by_id[world["queued"].id]["result"] is None
    assert by_id[world["queued"].id]["timings"]["started_at"] is None
    to_stdout = qsession("--store", world["path"], "export", "--session", world["s"].id, "-o", "-")
    assert json.loads(to_stdout.out)["jobs"] == doc["jobs"]


def _digest(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_reading_writes_nothing_and_starts_no_runtime(
    world: dict[str, Any], qsession: Callable[..., Any], tmp_path: Path
) -> None:
    world["rt"].shutdown()  # every write is on disk; nothing else has the file open
    path = world["path"]
    before = _digest(path)
    for argv in (
        ["jobs"],
        ["sessions"],
        ["devices"],
        ["show", world["s"].id],
        ["export", "--session", world["s"].id, "-o", "-"],
    ):
        assert qsession("--store", path, *argv).code == 0, argv
    assert _digest(path) == before
    from qsession_provider.core.store.sqlite import SQLiteStore

    store = SQLiteStore(path, read_only=True)
    try:
        assert store.processes() == []  # no runtime registered itself
    finally:
        store.close()


def test_a_read_only_store_is_listed(
    world: dict[str, Any], qsession: Callable[..., Any], tmp_path: Path
) -> None:
    if os.geteuid() == 0:
        pytest.skip("root writes read-only files anyway: the file mode proves nothing")
    world["rt"].shutdown()
    path = Path(world["path"])
    path.chmod(0o444)
    path.parent.chmod(0o555)
    try:
        run = qsession("--store", str(path), "jobs")
        assert run.code == 0 and world["done"].id in run.out
    finally:
        path.parent.chmod(0o755)
        path.chmod(0o644)


def test_bad_store_files_are_one_line_errors(qsession: Callable[..., Any], tmp_path: Path) -> None:
    missing = tmp_path / "missing.sqlite3"
    run = qsession("--store", str(missing), "jobs")
    assert run.code == EXIT_FAILED and str(missing) in run.err
    assert not missing.exists()
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(b"this is not a database, not even close" * 100)
    for argv in (["jobs"], ["sessions"], ["show", "x"], ["cancel", "x"]):
        run = qsession("--store", str(garbage), *argv)
        assert run.code == EXIT_FAILED, argv
        assert str(garbage) in run.err and "Traceback" not in run.err
        assert len(run.err.strip().splitlines()) == 1
    assert qsession("--store", str(missing), "cancel", "x").code == EXIT_FAILED
    assert not missing.exists()  # acting on no store creates none


def test_store_and_url_together_are_refused(qsession: Callable[..., Any], tmp_path: Path) -> None:
    run = qsession("--store", str(tmp_path / "s"), "--url", "http://127.0.0.1:1", "jobs")
    assert run.code == EXIT_FAILED and "either --store or --url" in run.err


def test_url_without_token_is_refused(
    qsession: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("QSESSION_TOKEN", raising=False)
    run = qsession("--url", "http://127.0.0.1:1", "jobs")
    assert run.code == EXIT_FAILED and "--url needs a token" in run.err
