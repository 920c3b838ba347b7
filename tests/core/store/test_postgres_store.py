"""The PostgreSQL store across threads and processes: sharing, final states, orphans, adoption.

The same situations as ``test_sqlite_store.py`` (several processes on one store), on an
empty database of the test run's PostgreSQL cluster (``conftest.py``; skipped with the
reason where PostgreSQL is missing). The store contract itself runs in
``test_store_contract.py``.
"""

from __future__ import annotations

import json
import sys
import threading
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.job import JobErrorCode, JobRecord, JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import CloseReason, SessionMode, SessionRecord, SessionState
from qsession_provider.core.store.postgres import PostgresStore
from qsession_provider.core.store.processes import ProcessRecord
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.errors import QSessionError, StoreError

pytestmark = pytest.mark.timeout(120)

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from store_children import child_prelude, echo_device  # noqa: E402
from store_children import run_child as _run_child  # noqa: E402

# The child processes define a tiny device for themselves (``echo``, ``hang``).
CHILD_PRELUDE = child_prelude("from qsession_provider.core.store.postgres import PostgresStore")


def run_child(script: str, *args: str, wait: bool = True) -> Any:
    return _run_child(CHILD_PRELUDE, script, *args, wait=wait)


@pytest.fixture
def open_pg(postgres_url: str) -> Any:
    """``open_pg()`` opens a store on the test's database, closed after the test."""
    opened: list[PostgresStore] = []

    def open_store() -> PostgresStore:
        opened.append(PostgresStore(postgres_url))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


def test_two_store_objects_in_many_threads(open_pg: Any) -> None:
    stores = [open_pg(), open_pg()]
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
    # Synchronous writes: the other object's writes are visible without a flush.
    assert stores[0].count_jobs(JobQuery(statuses=frozenset({JobStatus.DONE}))) == 300
    assert stores[1].get_result("5-49") == "[1]"


def test_stores_opened_at_once_on_a_new_database_create_it_once(open_pg: Any) -> None:
    barrier = threading.Barrier(4)
    opened: list[PostgresStore] = []
    errors: list[BaseException] = []

    def open_one() -> None:
        barrier.wait()
        try:
            opened.append(open_pg())
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_one) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    opened[0].add_job(JobRecord("one", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
    assert all(store.get_job("one").id == "one" for store in opened)


def test_two_runtimes_adopting_at_once_never_take_the_same_record(open_pg: Any) -> None:
    first, second = open_pg(), open_pg()
    for n in range(60):
        record = JobRecord(f"o{n}", "echo", "d", JobStatus.QUEUED, float(n), owner="gone")
        first.add_job(record, "{}")
    barrier = threading.Barrier(2)
    taken: dict[str, list[str]] = {}

    def adopt(store: PostgresStore, owner: str) -> None:
        store.register_process(ProcessRecord(owner, 1, "host", "", 1.0, 1.0))
        barrier.wait()
        taken[owner] = [r.id for r in store.adopt_orphans([], owner).jobs]

    threads = [
        threading.Thread(target=adopt, args=(first, "p-1")),
        threading.Thread(target=adopt, args=(second, "p-2")),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(taken) == ["p-1", "p-2"]
    assert not set(taken["p-1"]) & set(taken["p-2"])  # one of them took everything
    assert sorted(taken["p-1"] + taken["p-2"]) == sorted(f"o{n}" for n in range(60))
    owners = {r.owner for r in first.query_jobs(JobQuery())}
    assert len(owners) == 1 and owners <= {"p-1", "p-2"}


def test_two_stores_finishing_one_job_at_once_keep_one_final_state(open_pg: Any) -> None:
    first, second = open_pg(), open_pg()
    outcomes: dict[str, list[bool]] = {"DONE": [], "CANCELLED": []}
    records = [JobRecord(f"race-{n}", "echo", "d", JobStatus.RUNNING, 1.0) for n in range(40)]
    for record in records:
        first.add_job(record, "{}")
    barrier = threading.Barrier(2)

    def finish(store: PostgresStore, status: JobStatus) -> None:
        barrier.wait()
        for record in records:
            outcomes[status.value].append(store.update_job(record.replace(status=status)))

    threads = [
        threading.Thread(target=finish, args=(first, JobStatus.DONE)),
        threading.Thread(target=finish, args=(second, JobStatus.CANCELLED)),
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for n, record in enumerate(records):
        won_done, won_cancel = outcomes["DONE"][n], outcomes["CANCELLED"][n]
        assert won_done != won_cancel  # exactly one write changed the final state
        stored = first.get_job(record.id).status
        assert stored is (JobStatus.DONE if won_done else JobStatus.CANCELLED)


def test_a_batch_is_one_transaction(open_pg: Any) -> None:
    store, other = open_pg(), open_pg()
    record = JobRecord("b1", "echo", "d", JobStatus.QUEUED, 1.0, tags=("t",))
    with store.batch():
        store.add_job(record, "{}")
        with store.batch():  # nested: joins the outer one
            assert store.update_job(record.replace(status=JobStatus.RUNNING))
        assert store.get_job("b1").status is JobStatus.RUNNING  # the batch reads its writes
        with pytest.raises(Exception, match="no job"):
            other.get_job("b1")  # not committed yet
    assert other.get_job("b1").status is JobStatus.RUNNING
    assert other.query_jobs(JobQuery(tags=("t",)))[0].id == "b1"


def test_a_fresh_job_run_inside_a_batch_is_written_once_at_its_exit(open_pg: Any) -> None:
    store, other = open_pg(), open_pg()
    record = JobRecord("f1", "echo", "d", JobStatus.QUEUED, 1.0, tags=("a",), metadata={"k": 1})
    with store.batch():
        store.add_job(record, '{"p": 1}', fresh=True)
        record.metadata["k"] = 2  # the caller's dict changes later: the store keeps a copy
        with pytest.raises(Exception, match="no job"):
            other.get_job("f1")  # staged: nothing written yet
        done = record.replace(status=JobStatus.DONE, tags=("a", "b"), metadata={"k": 3})
        assert store.update_job(done, result="[1]")
        assert not store.update_job(record.replace(status=JobStatus.CANCELLED))  # final stays
        store.add_job(JobRecord("f2", "echo", "d", JobStatus.QUEUED, 2.0), "{}", fresh=True)
        assert store.get_job("f2").id == "f2"  # a read inside the batch sees its writes
        assert store.update_job(store.get_job("f1").replace(name="renamed"))
    assert other.get_job("f1") == done.replace(name="renamed")
    assert other.get_result("f1") == "[1]" and other.get_payload("f1") == '{"p": 1}'
    assert [r.id for r in other.query_jobs(JobQuery(tags=("a", "b")))] == ["f1"]
    assert other.count_jobs(JobQuery()) == 2


def test_session_updates_in_a_batch_keep_a_closed_session_closed(open_pg: Any, caplog: Any) -> None:
    store, other = open_pg(), open_pg()
    opened = SessionRecord("s1", "d", SessionMode.DEDICATED, SessionState.OPEN, 1.0)
    store.add_session(opened)
    with store.batch():
        assert store.update_session(opened.replace(state=SessionState.ACTIVE, name="a"))
        assert other.get_session("s1").state is SessionState.OPEN  # written at the exit
    assert other.get_session("s1").name == "a"
    closed = opened.replace(state=SessionState.CLOSED, close_reason=CloseReason.CANCELLED)
    assert other.update_session(closed)  # another process closes it meanwhile
    with store.batch():  # ours still thinks it open: the database's guard keeps it closed
        assert store.update_session(opened.replace(state=SessionState.ACTIVE, name="late"))
    assert other.get_session("s1") == closed
    assert "closed in the store by another process" in caplog.text
    assert not store.update_session(opened.replace(state=SessionState.ACTIVE))
    store.add_session(opened.replace(id="s2"))
    with store.batch():
        assert store.update_session(closed.replace(id="s2"))
        assert not store.update_session(opened.replace(id="s2", state=SessionState.ACTIVE))
    assert other.get_session("s2").state is SessionState.CLOSED


def test_a_failed_statement_rolls_the_whole_batch_back(open_pg: Any) -> None:
    store = open_pg()
    with pytest.raises(StoreError, match="cannot write"):
        with store.batch():
            store.add_job(JobRecord("kept?", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
            store.add_job(JobRecord("bad", "echo", "d", JobStatus.QUEUED, 1.0), "nul \x00 here")
    with pytest.raises(Exception, match="no job"):
        store.get_job("kept?")
    store.add_job(JobRecord("after", "echo", "d", JobStatus.QUEUED, 1.0), "{}")  # works on
    assert store.get_job("after").status is JobStatus.QUEUED


def test_a_lost_connection_fails_one_call_and_the_store_works_on(
    open_pg: Any, postgres_url: str
) -> None:
    import psycopg

    store = open_pg()
    store.add_job(JobRecord("before", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
    with psycopg.connect(postgres_url, autocommit=True) as admin:
        admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    failures = 0
    for _ in range(3):  # the pool's connection was killed: at most one call fails
        try:
            assert store.get_job("before").id == "before"
        except StoreError as exc:
            assert "cannot read store" in str(exc)
            failures += 1
    assert failures <= 1
    store.add_job(JobRecord("after", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
    assert store.get_job("after").id == "after"


def test_a_job_is_read_back_by_id_from_another_process(postgres_url: str, open_pg: Any) -> None:
    with Runtime(store=open_pg(), clock=VirtualClock(start=0), devices=[echo_device()]) as rt:
        job = rt.submit("echo", "echo", {"k": 3}, tags=["vqe", "iter-1"], name="read-me")
        expected = job.result()
        job_id = job.id
    out = run_child(
        """
        rt = Runtime(store=PostgresStore(sys.argv[1]))
        job = rt.job(sys.argv[2])
        result = job.result()
        print(json.dumps({"status": job.status.value, "tags": list(job.tags), "name": job.name,
                          "arr": result["arr"].tolist(), "dtype": str(result["arr"].dtype),
                          "c": [result["c"].real, result["c"].imag], "names": result["names"],
                          "payload": job.payload, "foreign": job.is_foreign}))
        rt.shutdown()
        rt.store.close()
    """,
        postgres_url,
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


def test_two_processes_run_jobs_on_one_store_at_the_same_time(
    tmp_path: Any, postgres_url: str, open_pg: Any
) -> None:
    go = tmp_path / "go"
    script = """
        import os
        rt = Runtime(store=PostgresStore(sys.argv[1]),
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
        rt.store.close()
    """
    procs = [run_child(script, postgres_url, str(go), tag, wait=False) for tag in ("p1", "p2")]
    go.touch()
    outputs = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=90)
        assert proc.returncode == 0, stderr
        outputs.append(json.loads(stdout.strip().splitlines()[-1]))
    assert {o["seen"] for o in outputs} == {80} and {o["theirs"] for o in outputs} == {40}
    for out in outputs:
        assert out["other_square"] == out["other_n"] ** 2
    store = open_pg()
    for out in outputs:
        for job_id in out["ids"]:
            record = store.get_job(job_id)
            assert record.owner == out["owner"] and record.status is JobStatus.DONE
    assert outputs[0]["owner"] != outputs[1]["owner"]
    assert store.processes() == []  # both unregistered on shutdown


def _killed_child(script: str, url: str) -> tuple[dict[str, Any], int]:
    """Run ``script`` (it prints one JSON line, then hangs), kill it; (its line, its pid)."""
    proc = run_child(script, url, wait=False)
    try:
        line = proc.stdout.readline()
        assert line, proc.stderr.read()
        return json.loads(line), proc.pid
    finally:
        proc.kill()
        proc.wait(10)
        proc.stdout.close()
        proc.stderr.close()


def test_a_killed_process_leaves_orphans_that_the_next_open_marks_failed(
    postgres_url: str, open_pg: Any
) -> None:
    ids, pid = _killed_child(
        """
        rt = Runtime(store=PostgresStore(sys.argv[1]),
                     devices=[Device("hang", 2, hang, programs={"echo"})])
        session = rt.open_session("hang")
        running = rt.submit("echo", "hang", {}, session_id=session.id)
        queued = rt.submit("echo", "hang", {}, session_id=session.id)
        while running.status.value != "RUNNING":
            time.sleep(0.01)
        print(json.dumps({"running": running.id, "queued": queued.id, "session": session.id}),
              flush=True)
        time.sleep(120)
    """,
        postgres_url,
    )
    with Runtime(store=open_pg(), clock=VirtualClock(start=0)) as rt:
        assert sorted(rt.orphans.jobs) == sorted([ids["running"], ids["queued"]])
        assert rt.orphans.sessions == (ids["session"],)
        for key, was in (("running", "RUNNING"), ("queued", "QUEUED")):
            job = rt.job(ids[key])
            assert job.status is JobStatus.ERROR
            assert job.error_code == JobErrorCode.ORPHANED.value
            assert f"process {pid}" in (job.error_message or "")
            assert f"it was {was}" in (job.error_message or "")
        session = rt.session(ids["session"])
        assert session.state is SessionState.CLOSED
        assert session.close_reason is CloseReason.OWNER_EXITED


def test_a_killed_process_work_is_adopted_by_the_next_adopting_runtime(
    postgres_url: str, open_pg: Any
) -> None:
    ids, pid = _killed_child(
        """
        from qsession_provider.core.device import TimingModel
        hanging = Device("hang", 2, hang, programs={"echo"}, slots=1,
                         timing=TimingModel(per_job=0.001))
        rt = Runtime(store=PostgresStore(sys.argv[1]), devices=[hanging])
        session = rt.open_session("hang", user="alice")
        jobs = [rt.submit("echo", "hang", {"n": n}, session_id=session.id, user="alice")
                for n in range(3)]
        while jobs[0].status.value != "RUNNING":
            time.sleep(0.01)
        print(json.dumps({"jobs": [j.id for j in jobs], "session": session.id}), flush=True)
        time.sleep(120)
    """,
        postgres_url,
    )
    running, *queued = ids["jobs"]
    device = Device("hang", 2, lambda p, x: {"n": x["n"]}, programs={"echo"})
    rt = Runtime(store=open_pg(), clock=VirtualClock(start=0), devices=[device], adopt_orphans=True)
    try:
        assert rt.orphans.jobs == (running,)  # an echo payload is not known to be deterministic
        assert f"process {pid}" in (rt.job(running).error_message or "")
        assert rt.orphans.adopted_jobs == tuple(queued)
        assert rt.orphans.adopted_sessions == (ids["session"],)
        assert [rt.job(job_id).result() for job_id in queued] == [{"n": 1}, {"n": 2}]
        assert rt.session(ids["session"]).user == "alice"
        assert rt.store.get_job(queued[0]).owner == rt.process_id
    finally:
        rt.shutdown()


def test_jobs_of_a_live_runtime_are_not_orphaned(open_pg: Any, payload: Any) -> None:
    slow = Device("slow", 2, lambda p, x: {}, programs={"echo"}, timing=TimingModel(per_job=50))
    clock = VirtualClock(start=0, auto_advance=False)
    first = Runtime(store=open_pg(), clock=clock, devices=[slow])
    pending = first.submit("echo", "slow", payload())
    second = Runtime(store=open_pg(), clock=clock)  # one timeline per store
    try:
        assert second.orphans.jobs == ()
        assert second.job(pending.id).status is JobStatus.RUNNING
        assert second.job(pending.id).is_foreign
        clock.advance(50)
        assert second.job(pending.id).result() == {}
    finally:
        second.shutdown()
        first.shutdown()


def test_runtime_messages_name_a_postgresql_store_without_its_password(
    postgres_url: str,
) -> None:
    url = postgres_url + "&password=s3cret"  # trust authentication never asks for it
    first = Runtime.for_store(url, clock=VirtualClock(start=0))
    try:
        with pytest.raises(QSessionError, match="already runs on") as caught:
            Runtime.for_store(url, clock=VirtualClock(start=0))
        assert "s3cret" not in str(caught.value) and "password=***" in str(caught.value)
        assert "s3cret" not in repr(first) and "s3cret" not in first.location
    finally:
        first.shutdown()
