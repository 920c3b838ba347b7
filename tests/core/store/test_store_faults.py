"""The store under faults: bad text, a writer that fails, a failing disk, private files."""

from __future__ import annotations

import logging
import os
import sqlite3
import stat
import subprocess
import sys
import textwrap
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

import qsession_provider
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store import sqlite as sqlite_module
from qsession_provider.core.store import sqlite_writer
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.core.store.sqlite import STORE_ENV_VAR, SQLiteStore
from qsession_provider.errors import InputError, StoreError

pytestmark = pytest.mark.timeout(60)

BAD = "run-\udcff"  # a file name decoded with surrogateescape


def job(job_id: str, status: JobStatus = JobStatus.QUEUED, **kw: Any) -> JobRecord:
    return JobRecord(job_id, "sampler", "d", status, 1.0, **kw)


@pytest.fixture
def path(tmp_path: Path) -> str:
    return str(tmp_path / "faults.sqlite3")


@pytest.fixture
def store(path: str) -> Any:
    made = SQLiteStore(path)
    yield made
    made.close()


def can_write_now(path: str) -> bool:
    """Whether another connection takes the write lock at once (no transaction left open)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("ROLLBACK")
        return True
    except sqlite3.OperationalError:
        return False
    finally:
        other.close()


def open_in_another_process(path: str) -> int:
    """Open the store in a fresh interpreter and count its jobs (fails if it cannot)."""
    root = str(Path(qsession_provider.__file__).resolve().parent.parent)
    code = textwrap.dedent(
        """
        import sys
        from qsession_provider.core.store.protocol import JobQuery
        from qsession_provider.core.store.sqlite import SQLiteStore
        store = SQLiteStore(sys.argv[1], busy_timeout=5.0)
        print(store.count_jobs(JobQuery()))
        store.close()
        """
    )
    env = {**os.environ, "PYTHONPATH": root + os.pathsep + os.environ.get("PYTHONPATH", "")}
    done = subprocess.run(
        [sys.executable, "-c", code, path], env=env, timeout=60, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    return int(done.stdout)


# -- item 1: bad text is refused at the API; a fault below it costs one record ------------------
@pytest.mark.parametrize(
    "kwargs, named",
    [
        ({"tags": ["ok", BAD]}, "a tag"),
        ({"name": BAD}, "name"),
        ({"instance": BAD}, "instance"),
        ({"job_id": BAD}, "job_id"),
        ({"user": BAD}, "user"),
    ],
)
def test_text_that_is_not_utf8_is_refused_at_submit_and_the_store_works_on(
    make_runtime: Callable[..., Runtime],
    vclock: Any,
    payload: Any,
    path: str,
    kwargs: dict[str, Any],
    named: str,
) -> None:
    rt = make_runtime(store=SQLiteStore(path), clock=vclock)
    with pytest.raises(InputError, match=rf"{named}.*lone surrogate"):
        rt.submit("echo", "fake_sim", payload(), **kwargs)
    assert rt.store.count_jobs(JobQuery()) == 0  # nothing queued
    done = rt.submit("echo", "fake_sim", payload(), tags=["after"])
    assert done.result() is not None
    assert rt.store.get_job(done.id).status is JobStatus.DONE
    assert can_write_now(path)
    assert open_in_another_process(path) == 1


def test_session_text_that_is_not_utf8_is_refused(
    make_runtime: Callable[..., Runtime], vclock: Any, path: str
) -> None:
    rt = make_runtime(store=SQLiteStore(path), clock=vclock)
    with pytest.raises(InputError, match="instance.*lone surrogate"):
        rt.open_session("fake_sim", instance=BAD)
    with pytest.raises(InputError, match="a tag.*lone surrogate"):
        rt.update_job("nope", tags=[BAD])
    assert rt.open_session("fake_sim").id


def test_a_record_sqlite_rejects_below_the_api_is_dropped_alone(
    store: SQLiteStore, path: str, caplog: Any
) -> None:
    with caplog.at_level(logging.ERROR, logger="qsession_provider.store"):
        with store.batch():
            store.add_job(job("good"), "{}")
            store.add_job(job("bad", tags=(BAD,)), "{}")  # the store does not check text
            store.add_job(job("also-good"), "{}")
        with pytest.raises(StoreError, match="could not store job bad"):
            store.flush()
    assert "could not store job bad" in caplog.text
    assert can_write_now(path)  # the failed transaction was rolled back
    assert {j.id for j in store.query_jobs(JobQuery())} == {"good", "also-good"}
    store.add_job(job("later"), "{}")  # the writer goes on
    assert store.get_job("later").status is JobStatus.QUEUED
    assert open_in_another_process(path) == 3


def test_a_writer_thread_that_dies_is_reported_and_replaced(
    store: SQLiteStore, caplog: Any
) -> None:
    writes = store._writes
    real = writes._committed
    calls = {"n": 0}

    def broken_once(group: list[Any], stored: bool) -> None:
        calls["n"] += 1
        if calls["n"] == 1:
            raise RuntimeError("injected")
        real(group, stored)

    writes._committed = broken_once  # type: ignore[method-assign]
    with caplog.at_level(logging.ERROR, logger="qsession_provider.store"):
        store.add_job(job("a"), "{}")
        with pytest.raises(StoreError, match="writer failed"):
            store.flush()
    assert "the store's writer failed" in caplog.text
    store.add_job(job("b"), "{}")  # a new writer takes it
    assert store.get_job("b").status is JobStatus.QUEUED
    assert writes._thread is None or writes._thread.is_alive()


def test_flush_waits_a_bounded_time_for_a_stuck_writer(
    store: SQLiteStore, monkeypatch: Any
) -> None:
    virtual = {"t": 0.0}

    def now() -> float:  # every look at the clock moves it 10 s on
        virtual["t"] += 10.0
        return virtual["t"]

    monkeypatch.setattr(sqlite_writer, "_now", now)
    monkeypatch.setattr(sqlite_writer, "WATCH", 0.001)
    release = threading.Event()
    real = store._writes._commit

    def stuck(group: list[Any]) -> None:
        release.wait(30)
        real(group)

    store._writes._commit = stuck  # type: ignore[method-assign]
    store.add_job(job("a"), "{}")
    with pytest.raises(StoreError, match=r"timed out after 120 s waiting for the store's writer"):
        store.flush()
    release.set()
    store.flush(timeout=60)
    assert store.get_job("a").status is JobStatus.QUEUED


# -- item 2: a failing store surfaces to the caller and loses nothing it held ------------------
class _FailingSQLite:
    """Wraps the store's connection: statements raise ``error`` while ``failing`` is set,
    as SQLite does on a full disk or a device error."""

    def __init__(self, db: sqlite3.Connection, error: str) -> None:
        self._db = db
        self.error = error
        self.failing = True

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.failing:
            self._db.execute("ROLLBACK")
            raise sqlite3.OperationalError(self.error)
        return self._db.execute(sql, *args)

    def cursor(self) -> Any:
        return self._db.cursor()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_failing_disk_turns_writes_synchronous_and_raises_to_the_caller(
    store: SQLiteStore, path: str, caplog: Any
) -> None:
    store.add_job(job("running", JobStatus.RUNNING), "{}")
    store.flush()
    db = store._db
    disk = _FailingSQLite(db, "disk I/O error")
    store._db = disk  # type: ignore[assignment]
    try:
        with caplog.at_level(logging.ERROR, logger="qsession_provider.store"):
            store.add_job(job("held", JobStatus.DONE), "{}")  # behind the caller: held
            with pytest.raises(StoreError, match="disk I/O error"):
                store.flush()
            assert store._writes.failing is not None
            assert "held in memory" in caplog.text
            with pytest.raises(StoreError, match="disk I/O error"):
                store.add_job(job("refused"), "{}")  # synchronous now: the caller sees it
            with pytest.raises(StoreError, match="disk I/O error"):
                store.get_job("held")  # reads too: nothing silently missing
            with pytest.raises(StoreError, match="disk I/O error"):  # a job's end: raises,
                store.update_job(job("running", JobStatus.DONE), result="r")  # and is held
        assert can_write_now(path)
        disk.failing = False  # the disk recovers
        store.add_job(job("after"), "{}")
    finally:
        store._db = db
    assert store._writes.failing is None  # write-behind again
    assert store.get_job("held").status is JobStatus.DONE  # what a caller held is stored
    assert store.get_job("after").status is JobStatus.QUEUED
    assert store.get_job("running").status is JobStatus.DONE
    assert store.get_result("running") == "r"
    ids = {j.id for j in store.query_jobs(JobQuery())}
    assert ids == {"running", "held", "after"}  # not "refused": its caller got the error


def test_a_failing_disk_surfaces_at_submit_through_the_runtime(
    make_runtime: Callable[..., Runtime], vclock: Any, payload: Any, path: str
) -> None:
    rt = make_runtime(store=SQLiteStore(path), clock=vclock)
    store = rt.store
    assert isinstance(store, SQLiteStore)
    first = rt.submit("echo", "fake_sim", payload())
    first.result()
    store.flush()
    db = store._db
    disk = _FailingSQLite(db, "database or disk is full")
    store._db = disk  # type: ignore[assignment]
    try:
        held = rt.submit("echo", "fake_sim", payload())  # write-behind: accepted
        held_result = held.result()
        with pytest.raises(StoreError, match="disk is full"):
            store.flush()  # the writer failed the group: held, and the store is synchronous
        with pytest.raises(StoreError, match="disk is full"):
            rt.submit("echo", "fake_sim", payload())  # the caller sees the store's error
        disk.failing = False
        later = rt.submit("echo", "fake_sim", payload())
        later.result()
    finally:
        store._db = db
    assert held_result is not None
    assert store.get_job(held.id).status is JobStatus.DONE  # its result is stored after all
    assert store.get_job(later.id).status is JobStatus.DONE


def test_closing_a_store_that_still_fails_logs_the_held_writes_as_lost(
    path: str, caplog: Any
) -> None:
    store = SQLiteStore(path)
    db = store._db
    store._db = _FailingSQLite(db, "disk I/O error")  # type: ignore[assignment]
    store.add_job(job("never"), "{}")
    with caplog.at_level(logging.ERROR, logger="qsession_provider.store"):
        store.close()
    assert "could not be stored and are lost" in caplog.text
    db.close()


# -- item 7: private by default ----------------------------------------------------------------
def test_store_files_are_private(tmp_path: Path) -> None:
    where = tmp_path / "new" / "dir" / "store.sqlite3"
    store = SQLiteStore(where)
    try:
        store.add_job(job("a"), "{}")
        store.flush()
        for suffix in ("", "-wal", "-shm"):
            mode = stat.S_IMODE(os.stat(str(where) + suffix).st_mode)
            assert mode == 0o600, (suffix, oct(mode))
        assert stat.S_IMODE(os.stat(where.parent).st_mode) == 0o700
    finally:
        store.close()


def test_an_existing_store_file_keeps_its_mode(tmp_path: Path) -> None:
    where = tmp_path / "shared.sqlite3"
    SQLiteStore(where).close()
    os.chmod(where, 0o640)  # shared with a group on purpose
    SQLiteStore(where).close()
    assert stat.S_IMODE(os.stat(where).st_mode) == 0o640


def test_the_default_data_directory_is_private(tmp_path: Path, monkeypatch: Any) -> None:
    import platformdirs

    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    os.chmod(data, 0o755)
    monkeypatch.delenv(STORE_ENV_VAR, raising=False)
    monkeypatch.setattr(platformdirs, "user_data_dir", lambda *a, **k: str(data))
    store = SQLiteStore()
    try:
        assert store.location == os.path.realpath(data / "store.sqlite3")
        assert stat.S_IMODE(os.stat(data).st_mode) == 0o700
        assert stat.S_IMODE(os.stat(store.location).st_mode) == 0o600
    finally:
        store.close()


def test_a_store_that_cannot_be_created_names_its_path(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("not a directory")
    with pytest.raises(StoreError, match=r"cannot create the store at .*file"):
        SQLiteStore(blocker / "store.sqlite3")
    assert sqlite_module.FILE_MODE == 0o600
