"""A store file written by schema version 1 (before users and tokens) opens and is migrated.

:data:`V1_SCHEMA` is the schema as version 1 wrote it, kept here verbatim: the test builds
such a file by hand, with rows as version 1 wrote them (records without ``user``).
"""

from __future__ import annotations

import json
import sqlite3
import threading
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.encoding import dumps
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.store.protocol import JobQuery, SessionQuery
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.core.store.sqlite_sql import SCHEMA_VERSION
from qsession_provider.core.user import TokenRecord, hash_token

pytestmark = pytest.mark.timeout(60)

V1_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL,
    status TEXT NOT NULL,
    program_id TEXT NOT NULL,
    session_id TEXT,
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    owner TEXT NOT NULL,
    tags TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at, seq);
CREATE INDEX IF NOT EXISTS jobs_by_session ON jobs (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner);
CREATE TABLE IF NOT EXISTS job_data (
    job_id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS job_tags (
    job_id TEXT NOT NULL,
    tag TEXT NOT NULL,
    PRIMARY KEY (job_id, tag)
);
CREATE INDEX IF NOT EXISTS job_tags_by_tag ON job_tags (tag);
CREATE TABLE IF NOT EXISTS sessions (
    seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    device TEXT NOT NULL,
    state TEXT NOT NULL,
    mode TEXT NOT NULL,
    instance TEXT NOT NULL,
    name TEXT NOT NULL,
    created_at REAL NOT NULL,
    owner TEXT NOT NULL,
    record TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at, seq);
CREATE TABLE IF NOT EXISTS processes (
    id TEXT PRIMARY KEY,
    pid INTEGER NOT NULL,
    hostname TEXT NOT NULL,
    start_token TEXT NOT NULL,
    started_at REAL NOT NULL,
    heartbeat REAL NOT NULL
);
"""

JOB = JobRecord(
    "old-job",
    "echo",
    "echo",
    JobStatus.DONE,
    10.0,
    session_id="old-session",
    tags=("t",),
    name="from v1",
    started_at=10.0,
    finished_at=11.0,
    owner="gone",
)
SESSION = SessionRecord(
    "old-session",
    "echo",
    SessionMode.DEDICATED,
    SessionState.CLOSED,
    9.0,
    accepting_jobs=False,
    timestamps=((SessionState.OPEN, 9.0), (SessionState.CLOSED, 12.0)),
    owner="gone",
)


def v1_text(record: Any) -> str:
    """The record's JSON as version 1 wrote it: no ``user`` key."""
    data = record.to_json()
    del data["user"]
    return json.dumps(data, separators=(",", ":"))


def write_v1_store(path: Any) -> None:
    db = sqlite3.connect(path)
    db.executescript(V1_SCHEMA)
    db.execute("INSERT INTO meta (key, value) VALUES ('schema_version', '1')")
    db.execute(
        "INSERT INTO jobs (id, device, status, program_id, session_id, instance, name, "
        "created_at, owner, tags, record) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
        (
            JOB.id,
            JOB.device,
            JOB.status.value,
            JOB.program_id,
            JOB.session_id,
            JOB.instance,
            JOB.name,
            JOB.created_at,
            JOB.owner,
            '["t"]',
            v1_text(JOB),
        ),
    )
    db.execute(
        "INSERT INTO job_data (job_id, payload, result) VALUES (?,?,?)",
        (JOB.id, dumps({"k": 1}), dumps({"answer": 42})),
    )
    db.execute("INSERT INTO job_tags (job_id, tag) VALUES (?, ?)", (JOB.id, "t"))
    db.execute(
        "INSERT INTO sessions (id, device, state, mode, instance, name, created_at, owner, "
        "record) VALUES (?,?,?,?,?,?,?,?,?)",
        (
            SESSION.id,
            SESSION.device,
            SESSION.state.value,
            SESSION.mode.value,
            SESSION.instance,
            SESSION.name,
            SESSION.created_at,
            SESSION.owner,
            v1_text(SESSION),
        ),
    )
    db.commit()
    db.close()


def schema_of(path: Any) -> tuple[str, set[str], set[str], set[str]]:
    db = sqlite3.connect(path)
    version = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()[0]
    job_columns = {row[1] for row in db.execute("PRAGMA table_info(jobs)")}
    session_columns = {row[1] for row in db.execute("PRAGMA table_info(sessions)")}
    names = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    db.close()
    return version, job_columns, session_columns, names


def test_a_version_1_store_is_migrated_when_opened(tmp_path: Any) -> None:
    path = tmp_path / "v1.sqlite3"
    write_v1_store(path)
    store = SQLiteStore(path)
    version, job_columns, session_columns, names = schema_of(path)
    assert version == str(SCHEMA_VERSION) == "3"
    assert "user" in job_columns and "user" in session_columns
    assert {"jobs_by_user", "sessions_by_user", "tokens", "payload_parts"} <= names
    # Old rows read back as they were, with the embedded user "".
    assert store.get_job(JOB.id) == JOB and store.get_job(JOB.id).user == ""
    assert store.get_session(SESSION.id) == SESSION
    assert [r.id for r in store.query_jobs(JobQuery(user=""))] == [JOB.id]
    assert [r.id for r in store.query_sessions(SessionQuery(user=""))] == [SESSION.id]
    # New rows carry their user, and the new filters and tables work.
    new = JobRecord("new-job", "echo", "echo", JobStatus.QUEUED, 20.0, user="alice", tags=("t",))
    store.add_job(new, "{}")
    assert [r.id for r in store.query_jobs(JobQuery(user="alice"))] == ["new-job"]
    assert [r.id for r in store.query_jobs(JobQuery(tags=("t",), descending=False))] == [
        JOB.id,
        "new-job",
    ]
    token = TokenRecord("alice", hash_token("secret"))
    store.add_token(token)
    store.close()
    # Opening again changes nothing.
    again = SQLiteStore(path)
    assert schema_of(path)[0] == "3"
    assert again.get_job("new-job") == new and again.tokens() == [token]
    again.close()


def test_a_runtime_reads_the_jobs_of_a_migrated_store(tmp_path: Any) -> None:
    path = tmp_path / "v1.sqlite3"
    write_v1_store(path)
    store = SQLiteStore(path)
    with Runtime(store=store, clock=VirtualClock(start=0)) as rt:
        job = rt.job(JOB.id)
        assert job.result() == {"answer": 42} and job.payload == {"k": 1}
        assert [j.id for j in rt.jobs(user="")] == [JOB.id]
        assert rt.jobs(user="alice") == []
        assert rt.session(SESSION.id).user == ""
    store.close()


def test_two_processes_opening_an_old_store_at_once_migrate_it_once(tmp_path: Any) -> None:
    path = tmp_path / "v1.sqlite3"
    write_v1_store(path)
    opened: list[SQLiteStore] = []
    errors: list[BaseException] = []

    def open_it() -> None:
        try:
            opened.append(SQLiteStore(path))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == [] and len(opened) == 4
    assert schema_of(path)[0] == "3"
    for store in opened:
        assert store.get_job(JOB.id) == JOB
        store.close()


def test_tokens_are_written_at_once_for_other_connections(tmp_path: Any) -> None:
    path = tmp_path / "s.sqlite3"
    writer, reader = SQLiteStore(path), SQLiteStore(path)
    token = TokenRecord("bob", hash_token("t-bob"), "team", share=3.0, admin=True, created_at=1.5)
    writer.add_token(token)  # no flush: tokens never wait in the write-behind queue
    assert reader.token_by_hash(hash_token("t-bob")) == token
    assert reader.remove_token("bob")
    assert writer.token_by_hash(hash_token("t-bob")) is None
    writer.close()
    reader.close()
