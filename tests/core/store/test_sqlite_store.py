"""The SQLite store across threads and processes: location, WAL, sharing, orphans."""

from __future__ import annotations

import json
import socket
import sqlite3
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.job import JobErrorCode, JobRecord, JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import CloseReason, SessionState
from qsession_provider.core.store.processes import ProcessRecord, current_process, is_process_alive
from qsession_provider.core.store.sqlite import (
    STORE_ENV_VAR,
    SQLiteStore,
    default_store_path,
    resolve_store_path,
)
from qsession_provider.errors import StoreError

pytestmark = pytest.mark.timeout(60)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from store_children import child_prelude, echo_device  # noqa: E402
from store_children import run_child as _run_child  # noqa: E402

# The child processes define a tiny device for themselves (``echo``, ``hang``).
CHILD_PRELUDE = child_prelude("from qsession_provider.core.store.sqlite import SQLiteStore")


def run_child(script: str, *args: str, wait: bool = True) -> Any:
    return _run_child(CHILD_PRELUDE, script, *args, wait=wait)


def test_location_argument_env_var_and_default(monkeypatch: Any, tmp_path: Any) -> None:
    monkeypatch.setenv(STORE_ENV_VAR, str(tmp_path / "from-env.sqlite3"))
    assert default_store_path() == str(tmp_path / "from-env.sqlite3")
    assert resolve_store_path(None) == str((tmp_path / "from-env.sqlite3").resolve())
    assert resolve_store_path(tmp_path / "sub" / ".." / "x.db") == str(
        (tmp_path / "x.db").resolve()
    )
    assert resolve_store_path(":memory:") == ":memory:"
    monkeypatch.delenv(STORE_ENV_VAR)
    default = default_store_path()
    assert default.endswith("store.sqlite3") and "qsession_provider" in default


def test_the_file_is_created_with_parents_in_wal_mode(tmp_path: Any) -> None:
    path = tmp_path / "deep" / "dir" / "s.sqlite3"
    store = SQLiteStore(path)
    assert path.exists()
    db = sqlite3.connect(path)
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    db.close()
    store.close()


def test_a_newer_schema_is_refused(tmp_path: Any) -> None:
    path = tmp_path / "s.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="schema version 99"):
        SQLiteStore(path)


def test_two_store_objects_in_many_threads(tmp_path: Any) -> None:
    path = tmp_path / "s.sqlite3"
    stores = [SQLiteStore(path), SQLiteStore(path)]
    errors: list[BaseException] = []

    def writer(index: int) -> None:
        store = stores[index % 2]
        try:
            for n in range(50):
                record = JobRecord(f"{index}-{n}", "echo", "d", JobStatus.QUEUED, float(n))
                store.add_job(record, "{}")
                store.update_job(record.replace(status=JobStatus.DONE), result="[1]")
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=writer, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    from qsession_provider.core.store.protocol import JobQuery

    stores[1].flush()  # the other store's writes are committed behind its callers
    assert stores[0].count_jobs(JobQuery(statuses=frozenset({JobStatus.DONE}))) == 300
    for store in stores:
        store.close()


def test_a_job_is_read_back_by_id_from_another_process(tmp_path: Any, open_sqlite: Any) -> None:
    path = str(tmp_path / "s.sqlite3")
    with Runtime(
        store=open_sqlite(path), clock=VirtualClock(start=0), devices=[echo_device()]
    ) as rt:
        job = rt.submit("echo", "echo", {"k": 3}, tags=["vqe", "iter-1"], name="read-me")
        expected = job.result()
        job_id = job.id
    out = run_child(
        """
        rt = Runtime(store=SQLiteStore(sys.argv[1]))
        job = rt.job(sys.argv[2])
        result = job.result()
        print(json.dumps({"status": job.status.value, "tags": list(job.tags), "name": job.name,
                          "arr": result["arr"].tolist(), "dtype": str(result["arr"].dtype),
                          "c": [result["c"].real, result["c"].imag], "names": result["names"],
                          "payload": job.payload, "foreign": job.is_foreign}))
        rt.shutdown()
    """,
        path,
        job_id,
    )
    assert out == {
        "status": "DONE",
        "tags": ["vqe", "iter-1"],
        "name": "read-me",
        "arr": expected["arr"].tolist(),
        "dtype": "int16",
        "c": [3.0, -1.0],
        "names": ["a", "b"],
        "payload": {"k": 3},
        "foreign": False,
    }


def test_two_processes_run_jobs_on_one_store_at_the_same_time(tmp_path: Any) -> None:
    path = str(tmp_path / "s.sqlite3")
    go = tmp_path / "go"
    script = """
        import os
        rt = Runtime(store=SQLiteStore(sys.argv[1]),
                     devices=[Device("echo", 2, echo, programs={"echo"}, slots=2)])
        while not os.path.exists(sys.argv[2]):
            time.sleep(0.01)
        jobs = [rt.submit("echo", "echo", {"n": n}, tags=[sys.argv[3]]) for n in range(40)]
        assert [j.result()["n"] for j in jobs] == list(range(40))
        deadline = time.monotonic() + 30
        while len(rt.jobs(pending=False)) < 80 and time.monotonic() < deadline:
            time.sleep(0.02)
        theirs = [j for j in rt.jobs() if j.record.owner != rt.process_id]
        other = rt.job(theirs[0].id)
        print(json.dumps({"owner": rt.process_id, "ids": [j.id for j in jobs],
                          "seen": len(rt.jobs()), "theirs": len(theirs),
                          "other_square": int(other.result()["square"][0]),
                          "other_n": other.payload["n"]}))
        rt.shutdown()
    """
    procs = [run_child(script, path, str(go), tag, wait=False) for tag in ("p1", "p2")]
    go.touch()
    outputs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=60)
        assert proc.returncode == 0, stderr
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert {o["seen"] for o in outputs} == {80} and {o["theirs"] for o in outputs} == {40}
    for out in outputs:
        assert out["other_square"] == out["other_n"] ** 2
    store = SQLiteStore(path)
    for out in outputs:
        for job_id in out["ids"]:
            record = store.get_job(job_id)
            assert record.owner == out["owner"] and record.status is JobStatus.DONE
    assert outputs[0]["owner"] != outputs[1]["owner"]
    assert store.processes() == []  # both unregistered on shutdown
    store.close()


def test_a_killed_process_leaves_orphans_that_the_next_open_marks_failed(
    tmp_path: Any, open_sqlite: Any
) -> None:
    path = str(tmp_path / "s.sqlite3")
    proc = run_child(
        """
        rt = Runtime(store=SQLiteStore(sys.argv[1]),
                     devices=[Device("hang", 2, hang, programs={"echo"})])
        session = rt.open_session("hang")
        running = rt.submit("echo", "hang", {}, session_id=session.id)
        queued = rt.submit("echo", "hang", {}, session_id=session.id)
        while running.status.value != "RUNNING":
            time.sleep(0.01)
        rt.store.flush()  # what the writer commits within milliseconds anyway
        print(json.dumps({"running": running.id, "queued": queued.id, "session": session.id}),
              flush=True)
        time.sleep(120)
    """,
        path,
        wait=False,
    )
    line = proc.stdout.readline()
    ids = json.loads(line)
    proc.kill()
    proc.wait(10)
    proc.stdout.close()
    proc.stderr.close()
    with Runtime(store=open_sqlite(path), clock=VirtualClock(start=0)) as rt:
        assert sorted(rt.orphans.jobs) == sorted([ids["running"], ids["queued"]])
        assert rt.orphans.sessions == (ids["session"],)
        for key, was in (("running", "RUNNING"), ("queued", "QUEUED")):
            job = rt.job(ids[key])
            assert job.status is JobStatus.ERROR
            assert job.error_code == JobErrorCode.ORPHANED.value
            assert f"process {proc.pid}" in (job.error_message or "")
            assert f"it was {was}" in (job.error_message or "")
        session = rt.session(ids["session"])
        assert session.state is SessionState.CLOSED
        assert session.close_reason is CloseReason.OWNER_EXITED


def test_jobs_of_a_live_runtime_are_not_orphaned(
    tmp_path: Any, payload: Any, open_sqlite: Any
) -> None:
    path = str(tmp_path / "s.sqlite3")
    slow = Device("slow", 2, lambda p, x: {}, programs={"echo"}, timing=TimingModel(per_job=50))
    clock = VirtualClock(start=0, auto_advance=False)
    first = Runtime(store=open_sqlite(path), clock=clock, devices=[slow])
    pending = first.submit("echo", "slow", payload())
    first.store.flush()  # committed within milliseconds anyway (write-behind)
    second = Runtime(store=open_sqlite(path), clock=clock)  # one timeline per store
    assert second.orphans.jobs == ()
    assert second.job(pending.id).status is JobStatus.RUNNING
    assert second.job(pending.id).is_foreign
    clock.advance(50)
    assert second.job(pending.id).result() == {}
    second.shutdown()
    first.shutdown()


def test_process_liveness(tmp_path: Any) -> None:
    me = current_process()
    assert is_process_alive(me)
    recycled = ProcessRecord(me.id, me.pid, me.hostname, "not-my-start-time", 0.0, 0.0)
    if sys.platform.startswith("linux"):
        assert not is_process_alive(recycled)  # same pid, another incarnation
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    dead = ProcessRecord("x", gone.pid, socket.gethostname(), "", 0.0, 0.0)
    assert not is_process_alive(dead)
    remote = ProcessRecord("y", 1, "another-host", "", 0.0, heartbeat=1000.0)
    assert is_process_alive(remote, now=1050.0)
    assert not is_process_alive(remote, now=1000.0 + 10_000)


def test_metadata_holding_numpy_arrays_is_updated_and_read_back(tmp_path: Path) -> None:
    """Job metadata with arrays (a Qiskit executor's passthrough data) does not stop a
    write-behind update: arrays have no single truth value to compare."""
    store = SQLiteStore(str(tmp_path / "store.sqlite3"))
    try:
        data = {"passthrough": {"coeffs": np.array([0.5, -1.0])}}
        record = JobRecord("j1", "sampler", "dev", JobStatus.QUEUED, 1.0, metadata=data)
        store.add_job(record, "{}")
        running = record.replace(status=JobStatus.RUNNING, started_at=2.0)
        assert store.update_job(running)
        done = running.replace(status=JobStatus.DONE, finished_at=3.0)
        assert store.update_job(done, result="{}")
        store.flush()
        got = store.get_job("j1")
        assert got.status is JobStatus.DONE
        assert np.array_equal(got.metadata["passthrough"]["coeffs"], [0.5, -1.0])
    finally:
        store.close()
