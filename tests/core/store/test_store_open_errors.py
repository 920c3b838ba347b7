"""Opening a file that is not a usable store: a clear StoreError naming the path; a
read-only store opened ``read_only=True`` is read without a single write."""

from __future__ import annotations

import hashlib
import os
import sqlite3
import stat
import urllib.parse
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.store import sqlite as sqlite_module
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import InputError, StoreError

pytestmark = pytest.mark.timeout(60)


def job(job_id: str, status: JobStatus = JobStatus.DONE) -> JobRecord:
    return JobRecord(job_id, "sampler", "d", status, 1.0)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def stored(tmp_path: Path) -> Path:
    """A store file holding one finished job, with everything checkpointed into it."""
    where = tmp_path / "stored.sqlite3"
    store = SQLiteStore(where)
    store.add_job(job("kept"), "{}")
    store.close()
    db = sqlite3.connect(where)
    db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    db.execute("PRAGMA journal_mode = DELETE")  # a plain file: no -wal or -shm needed
    db.close()
    return where


def test_a_file_that_is_not_sqlite_names_the_path(tmp_path: Path) -> None:
    junk = tmp_path / "notes.txt"
    junk.write_bytes(b"shopping list: eggs, milk\n" * 200)
    before = digest(junk)
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"notes\.txt is not an SQLite database"):
            SQLiteStore(junk, read_only=read_only)
    assert digest(junk) == before


def test_a_truncated_store_names_the_path(stored: Path, tmp_path: Path) -> None:
    cut = tmp_path / "cut.sqlite3"
    data = stored.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"cut\.sqlite3 is damaged \(truncated or corrupt\)"):
            SQLiteStore(cut, read_only=read_only)


def test_another_programs_sqlite_file_is_refused_and_left_unchanged(tmp_path: Path) -> None:
    foreign = tmp_path / "foreign.db"
    db = sqlite3.connect(foreign)
    db.execute("CREATE TABLE people (name TEXT)")
    db.execute("INSERT INTO people VALUES ('ada')")
    db.commit()
    db.close()
    before = digest(foreign)
    for read_only in (False, True):
        with pytest.raises(
            StoreError, match=r"foreign\.db is an SQLite database but not a qsession store.*people"
        ):
            SQLiteStore(foreign, read_only=read_only)
    assert digest(foreign) == before  # not even switched to WAL
    assert not os.path.exists(str(foreign) + "-wal")


def _read_only_connect(monkeypatch: Any) -> None:
    """Connections open the file read-only, as SQLite does for a file this process may not
    write (root ignores file modes, so a chmod alone cannot show it here)."""
    real = sqlite3.connect

    def connect(target: str, **kwargs: Any) -> sqlite3.Connection:
        if kwargs.pop("uri", False):  # already a read-only URI (read_only=True)
            return real(target, uri=True, **kwargs)
        return real("file:" + urllib.parse.quote(target) + "?mode=ro", uri=True, **kwargs)

    monkeypatch.setattr(sqlite_module.sqlite3, "connect", connect)


def test_a_read_only_file_opened_for_writing_says_so(stored: Path, monkeypatch: Any) -> None:
    _read_only_connect(monkeypatch)
    with pytest.raises(StoreError, match=r"stored\.sqlite3 is read-only.*read_only=True"):
        SQLiteStore(stored)


@pytest.mark.skipif(
    hasattr(os, "geteuid") and os.geteuid() == 0, reason="root may write a file of any mode"
)
def test_a_file_without_write_permission_opened_for_writing_says_so(stored: Path) -> None:
    os.chmod(stored, 0o400)
    with pytest.raises(StoreError, match=r"stored\.sqlite3 is read-only"):
        SQLiteStore(stored)
    store = SQLiteStore(stored, read_only=True)
    try:
        assert [j.id for j in store.query_jobs(JobQuery())] == ["kept"]
    finally:
        store.close()


def test_read_only_reads_without_writing_anything(stored: Path, monkeypatch: Any) -> None:
    os.chmod(stored, 0o400)
    before = (digest(stored), stat.S_IMODE(os.stat(stored).st_mode))
    store = SQLiteStore(stored, read_only=True)
    try:
        assert store.read_only and not store.write_behind
        assert [j.id for j in store.query_jobs(JobQuery())] == ["kept"]
        assert store.get_job("kept").status is JobStatus.DONE
        assert store.count_jobs(JobQuery()) == 1
        refused = r"stored\.sqlite3 is opened read-only \(read_only=True\)"
        with pytest.raises(StoreError, match=refused):
            store.add_job(job("new", JobStatus.QUEUED), "{}")
        with pytest.raises(StoreError, match=refused):
            store.update_job(job("kept").replace(name="renamed"))
        with pytest.raises(StoreError, match=refused):
            store.delete_job("kept")
        assert store.get_job("kept").name == ""  # nothing changed, reads go on
    finally:
        store.close()
    assert (digest(stored), stat.S_IMODE(os.stat(stored).st_mode)) == before
    assert not os.path.exists(str(stored) + "-wal")  # the journal mode was not switched


def test_read_only_on_a_file_sqlite_opens_read_only(stored: Path, monkeypatch: Any) -> None:
    _read_only_connect(monkeypatch)
    store = SQLiteStore(stored, read_only=True)
    try:
        assert store.get_job("kept").status is JobStatus.DONE
    finally:
        store.close()


def test_read_only_needs_an_existing_store(tmp_path: Path) -> None:
    with pytest.raises(StoreError, match=r"missing\.sqlite3 read-only: no such file"):
        SQLiteStore(tmp_path / "missing.sqlite3", read_only=True)
    assert not (tmp_path / "missing.sqlite3").exists()
    empty = tmp_path / "empty.sqlite3"
    empty.touch()
    with pytest.raises(StoreError, match=r"empty\.sqlite3 is empty \(not a store yet\)"):
        SQLiteStore(empty, read_only=True)
    with pytest.raises(InputError, match="write_behind needs a writable store"):
        SQLiteStore(empty, read_only=True, write_behind=True)


def test_a_newer_or_unmigrated_schema_is_named(stored: Path) -> None:
    db = sqlite3.connect(stored)
    db.execute("UPDATE meta SET value = '1' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match=r"schema version 1, older .* opened read-only"):
        SQLiteStore(stored, read_only=True)
    db = sqlite3.connect(stored)
    db.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    for read_only in (False, True):
        with pytest.raises(StoreError, match=r"stored\.sqlite3 has schema version 99, newer"):
            SQLiteStore(stored, read_only=read_only)
