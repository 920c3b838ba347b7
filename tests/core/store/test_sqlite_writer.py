"""Write-behind in the SQLite store: coalescing, read-your-writes, failures, flush on exit."""

from __future__ import annotations

import logging
import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

import pytest

import qsession_provider
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.store import sqlite_writer
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import InputError, StoreError

pytestmark = pytest.mark.timeout(60)


def job(job_id: str, status: JobStatus = JobStatus.QUEUED, **kw: Any) -> JobRecord:
    return JobRecord(job_id, "sampler", "d", status, 1.0, **kw)


def session(session_id: str, state: SessionState = SessionState.OPEN) -> SessionRecord:
    return SessionRecord(session_id, "d", SessionMode.DEDICATED, state, created_at=1.0)


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "wb.sqlite3")


@pytest.fixture
def store(path: str) -> Any:
    made = SQLiteStore(path)
    yield made
    made.close()


def test_file_stores_write_behind_and_memory_stores_cannot(path: str) -> None:
    assert SQLiteStore(path).write_behind
    assert not SQLiteStore(path, write_behind=False).write_behind
    assert not SQLiteStore(":memory:").write_behind
    with pytest.raises(InputError, match="write_behind"):
        SQLiteStore(":memory:", write_behind=True)


def test_a_job_written_many_times_before_a_commit_lands_once_in_its_last_state(
    store: SQLiteStore, path: str
) -> None:
    with store.batch():
        store.add_job(job("a", tags=("x",)), "payload")
        store.update_job(job("a", JobStatus.RUNNING, started_at=2.0, tags=("x",)))
        store.update_job(
            job("a", JobStatus.DONE, started_at=2.0, finished_at=3.0, tags=("x", "y")),
            result="result",
        )
    store.flush()
    other = SQLiteStore(path)  # as another process would read it
    try:
        assert other.get_job("a").status is JobStatus.DONE
        assert other.get_payload("a") == "payload"
        assert other.get_result("a") == "result"
        assert [j.id for j in other.query_jobs(JobQuery(tags=("y",)))] == ["a"]
    finally:
        other.close()
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
    assert rows == 1


def test_reads_see_the_writes_of_their_own_store_at_once(store: SQLiteStore) -> None:
    for k in range(50):
        store.add_job(job(f"j{k}"), "{}", fresh=True)
        assert store.get_job(f"j{k}").status is JobStatus.QUEUED
    assert store.count_jobs(JobQuery()) == 50


def test_final_states_are_refused_from_memory_and_forgotten_once_stored(
    store: SQLiteStore,
) -> None:
    store.add_job(job("f"), "{}")
    assert store.update_job(job("f", JobStatus.CANCELLED, finished_at=2.0))
    assert not store.update_job(job("f", JobStatus.DONE, finished_at=3.0))
    store.flush()
    assert "f" not in store._jobs  # stored final: later updates go to the database
    assert not store.update_job(job("f", JobStatus.DONE, finished_at=3.0))
    assert store.update_job(job("f", JobStatus.CANCELLED, finished_at=2.0, name="renamed"))
    assert store.get_job("f").name == "renamed"


def test_an_update_of_a_job_another_process_finalised_is_skipped_and_logged(
    store: SQLiteStore, path: str, caplog: Any
) -> None:
    store.add_job(job("x"), "{}")
    store.flush()
    other = SQLiteStore(path)
    try:
        assert other.update_job(job("x", JobStatus.CANCELLED, finished_at=2.0))
        other.flush()
    finally:
        other.close()
    with caplog.at_level(logging.WARNING, logger="qsession_provider.store"):
        assert store.update_job(job("x", JobStatus.DONE, finished_at=3.0))  # ours: QUEUED
        store.flush()
    assert "finalised in the store by another process" in caplog.text
    assert store.get_job("x").status is JobStatus.CANCELLED


def test_sessions_are_stored_at_once_and_closing_one_is_committed_before_returning(
    store: SQLiteStore, path: str
) -> None:
    store.add_session(session("s"))
    other = SQLiteStore(path)
    try:
        assert other.get_session("s").state is SessionState.OPEN
        assert store.update_session(session("s", SessionState.ACTIVE))
        store.update_session(session("s", SessionState.CLOSED))
        assert other.get_session("s").state is SessionState.CLOSED  # no flush needed
        assert not store.update_session(session("s", SessionState.ACTIVE))
    finally:
        other.close()


class _FailingCommits:
    """Wraps a connection so that COMMIT raises ``error`` the next ``times`` times."""

    def __init__(self, db: sqlite3.Connection, error: str, times: int) -> None:
        self._db = db
        self.error = error
        self.times = times

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.times > 0:
            self.times -= 1
            self._db.execute("ROLLBACK")
            raise sqlite3.OperationalError(self.error)
        return self._db.execute(sql, *args)

    def cursor(self) -> Any:
        return self._db.cursor()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_write_the_store_fails_to_commit_is_held_and_stored_once_it_recovers(
    store: SQLiteStore, caplog: Any
) -> None:
    store.add_job(job("kept"), "{}")
    store.flush()
    db = store._db
    store._db = _FailingCommits(db, "database or disk is full", times=1)  # type: ignore
    try:
        with caplog.at_level(logging.ERROR, logger="qsession_provider.store"):
            store.add_job(job("held"), "{}")
            store.flush()  # the writer's commit failed; the flush's own commit succeeds
        assert "1 write(s) held in memory" in caplog.text
    finally:
        store._db = db
    assert store._writes.failing is None
    assert store.get_job("kept").status is JobStatus.QUEUED  # what was stored survives
    assert store.get_job("held").status is JobStatus.QUEUED  # nothing was lost
    store.add_job(job("after"), "{}")  # the store works on
    assert store.get_job("after").status is JobStatus.QUEUED


def test_a_group_with_one_bad_write_keeps_the_others(store: SQLiteStore, path: str) -> None:
    other = SQLiteStore(path, write_behind=False)
    try:
        other.add_job(job("taken"), "{}")  # unknown to `store`: its insert will collide
    finally:
        other.close()
    with store.batch():
        store.add_job(job("good"), "{}", fresh=True)
        store.add_job(job("taken"), "{}", fresh=True)  # claims fresh: not looked up
        store.add_job(job("also-good"), "{}", fresh=True)
    with pytest.raises(StoreError, match="taken"):
        store.flush()
    assert store.get_job("good").status is JobStatus.QUEUED
    assert store.get_job("also-good").status is JobStatus.QUEUED


def test_a_busy_database_is_retried_and_nothing_is_lost(
    store: SQLiteStore, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sqlite_writer, "RETRY_PAUSE", 0.001)
    db = store._db
    failing = _FailingCommits(db, "database is locked", times=3)
    store._db = failing  # type: ignore[assignment]
    try:
        store.add_job(job("b"), "{}")
        store.flush()
    finally:
        store._db = db
    assert failing.times == 0
    assert store.get_job("b").status is JobStatus.QUEUED


def test_closing_commits_what_waits(path: str) -> None:
    store = SQLiteStore(path)
    for k in range(20):
        store.add_job(job(f"c{k}"), "{}", fresh=True)
    store.close()
    reopened = SQLiteStore(path)
    try:
        assert reopened.count_jobs(JobQuery()) == 20
    finally:
        reopened.close()


def test_leaving_the_interpreter_commits_what_waits(path: str) -> None:
    root = str(Path(qsession_provider.__file__).resolve().parent.parent)
    code = textwrap.dedent(
        """
        import sys
        from qsession_provider.core.job import JobRecord, JobStatus
        from qsession_provider.core.store.sqlite import SQLiteStore
        store = SQLiteStore(sys.argv[1])
        for k in range(200):
            store.add_job(JobRecord(f"e{k}", "sampler", "d", JobStatus.QUEUED, 1.0), "{}",
                          fresh=True)
        """
    )
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run([sys.executable, "-c", code, path], env=env, timeout=60)
    assert done.returncode == 0
    reopened = SQLiteStore(path)
    try:
        assert reopened.count_jobs(JobQuery()) == 200
    finally:
        reopened.close()


def test_an_idle_writer_thread_ends_and_the_next_write_starts_another(
    store: SQLiteStore, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sqlite_writer, "IDLE_EXIT", 0.01)
    store.add_job(job("one"), "{}")
    store.flush()
    first = store._writes._thread
    if first is not None:
        first.join(5)
        assert not first.is_alive()
    store.add_job(job("two"), "{}")
    store.flush()
    assert store.count_jobs(JobQuery()) == 2


def test_many_threads_write_through_one_store(store: SQLiteStore) -> None:
    def work(t: int) -> None:
        for k in range(30):
            ident = f"t{t}-{k}"
            with store.batch():
                store.add_job(job(ident), "{}")
                store.update_job(job(ident, JobStatus.DONE, finished_at=2.0), result="r")

    threads = [threading.Thread(target=work, args=(t,)) for t in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert store.count_jobs(JobQuery(statuses=(JobStatus.DONE,))) == 180


@pytest.mark.timeout(20)
def test_a_flush_cuts_the_gathering_window_short(store: SQLiteStore, monkeypatch: Any) -> None:
    monkeypatch.setattr(sqlite_writer, "GATHER", 3600.0)  # only a flush can end the wait
    store.add_job(job("g"), "{}")
    store.flush()
    assert store.get_job("g").status is JobStatus.QUEUED
    store.add_job(job("h"), "{}")
    store.close()  # so does closing
    reopened = SQLiteStore(store.location)
    try:
        assert reopened.get_job("h").status is JobStatus.QUEUED
    finally:
        reopened.close()


def test_a_writer_that_falls_behind_holds_publishers_back(
    store: SQLiteStore, monkeypatch: Any
) -> None:
    monkeypatch.setattr(sqlite_writer, "GATHER", 3600.0)  # it would never commit on its own
    monkeypatch.setattr(sqlite_writer, "BACKLOG", 8)
    monkeypatch.setattr(sqlite_writer, "BACKLOG_WAIT", 10.0)
    writes = store._writes
    for k in range(30):
        store.add_job(job(f"p{k}"), "{}", fresh=True)
        assert len(writes._waiting) < 8  # the publisher waited for the writer to take them
    store.flush()
    assert len(store.query_jobs(JobQuery(limit=100))) == 30


def test_writes_older_than_max_lag_are_committed_before_the_next_publish_returns(
    store: SQLiteStore, monkeypatch: Any
) -> None:
    """Issue 20, item 8i: a busy publisher keeps the writer from the GIL; once the oldest
    waiting write is older than MAX_LAG, the publisher waits for the commit (virtual time)."""
    monkeypatch.setattr(sqlite_writer, "GATHER", 3600.0)  # it would never commit on its own
    monkeypatch.setattr(sqlite_writer, "BACKLOG_WAIT", 30.0)
    virtual = {"t": 0.0}
    monkeypatch.setattr(sqlite_writer, "_now", lambda: virtual["t"])
    writes = store._writes
    store.add_job(job("young"), "{}", fresh=True)  # the writer gathers (for an hour)
    virtual["t"] += sqlite_writer.MAX_LAG / 2
    store.add_job(job("still-young"), "{}", fresh=True)
    assert len(writes._waiting) == 2  # within MAX_LAG: no wait
    virtual["t"] += sqlite_writer.MAX_LAG
    store.add_job(job("late"), "{}", fresh=True)
    with writes.lock:
        assert writes._done == writes._published  # all three committed on return
    reader = SQLiteStore(store.location, read_only=True)  # what another process sees
    try:
        assert {j.id for j in reader.query_jobs(JobQuery())} == {"young", "still-young", "late"}
    finally:
        reader.close()


def test_a_flush_whose_lock_is_kept_gives_up_with_a_clear_error(store: SQLiteStore) -> None:
    # A thread stopped inside a write (or the one flushing, re-entered from a signal
    # handler) keeps the lock of the writes: the flush at exit must end, not hang.
    store.add_job(job("kept"), "{}")
    store.flush()
    assert store._writes.lock.acquire(timeout=1)  # as the stopped thread would hold it
    try:
        with pytest.raises(StoreError, match="waiting for the lock of the store's writes"):
            store.flush(timeout=0)
    finally:
        store._writes.lock.release()
    store.add_job(job("after"), "{}")
    store.flush()  # the store goes on
    assert store.get_job("after").id == "after" and store.get_job("kept").id == "kept"
