"""Opening a PostgreSQL store: routing of ``postgresql://`` locations, and clear errors.

Bad input (a URL that is not one, a refused connection, a database or user that does not
exist, another program's database, a newer schema) raises a ``StoreError`` naming the
store (never its password) and the fault; nothing is written to a database that is not
ours. Needs the test run's PostgreSQL cluster (``conftest.py``), else skips with the reason.
"""

from __future__ import annotations

import contextlib
import io
import socket
import sys
from typing import Any

import pytest

from qsession_provider import cli
from qsession_provider.client import open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.store.postgres import PostgresStore
from qsession_provider.core.store.postgres_open import is_postgres_url, open_store, redact_url
from qsession_provider.core.store.sqlite import SQLiteStore, resolve_store_path
from qsession_provider.core.user import hash_token
from qsession_provider.errors import InputError, StoreError

pytestmark = pytest.mark.timeout(60)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_locations_are_routed_by_scheme(tmp_path: Any) -> None:
    url = "postgresql://u:pw@db.example:5432/q?sslmode=require"
    assert is_postgres_url(url) and is_postgres_url("postgres://h/db")
    assert not is_postgres_url(str(tmp_path / "s.sqlite3")) and not is_postgres_url(None)
    assert resolve_store_path(url) == url  # kept as it is (not a file path)
    assert redact_url(url) == "postgresql://u:***@db.example:5432/q?sslmode=require"
    assert redact_url("postgresql://h/db?user=u&password=pw") == (
        "postgresql://h/db?user=u&password=***"
    )
    store = open_store(str(tmp_path / "s.sqlite3"))
    assert isinstance(store, SQLiteStore)
    store.close()
    with pytest.raises(InputError, match="postgresql://"):
        PostgresStore(str(tmp_path / "s.sqlite3"))


def test_a_refused_connection_names_the_store_without_its_password() -> None:
    url = f"postgresql://postgres:s3cret@127.0.0.1:{free_port()}/db"
    with pytest.raises(StoreError, match="cannot be reached") as caught:
        PostgresStore(url, connect_timeout=5)
    assert "postgres:***@127.0.0.1" in str(caught.value)
    assert "s3cret" not in str(caught.value)


def test_a_url_that_is_not_one_says_so(postgres_cluster: Any) -> None:
    with pytest.raises(StoreError, match="not a valid PostgreSQL URL"):
        PostgresStore(postgres_cluster.url("postgres") + "&bogus=1")
    with pytest.raises(StoreError, match="not a port number"):
        PostgresStore("postgresql://localhost:notaport/db")


def test_a_missing_database_or_user_says_which(postgres_cluster: Any) -> None:
    with pytest.raises(StoreError, match="database that does not exist.*createdb"):
        PostgresStore(postgres_cluster.url("no_such_db"))
    url = postgres_cluster.url("postgres").replace("postgres@", "ghost@")
    with pytest.raises(StoreError, match="user \\(role\\) the server does not know"):
        PostgresStore(url)


def test_another_programs_database_is_refused_and_left_unchanged(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")
    with pytest.raises(StoreError, match="not a qsession store.*invoices.*left unchanged"):
        PostgresStore(postgres_url)
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        tables = conn.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public'"
        ).fetchall()
    assert tables == [("invoices",)]


def test_a_newer_schema_is_refused(postgres_url: str) -> None:
    import psycopg

    PostgresStore(postgres_url).close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("UPDATE meta SET value = '99' WHERE key = 'schema_version'")
    with pytest.raises(StoreError, match="schema version 99, newer"):
        PostgresStore(postgres_url)


def test_read_only_reads_and_refuses_writes(postgres_url: str) -> None:
    with pytest.raises(StoreError, match="empty"):
        PostgresStore(postgres_url, read_only=True)
    writer = PostgresStore(postgres_url)
    writer.add_job(JobRecord("r", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
    reader = PostgresStore(postgres_url, read_only=True)
    try:
        assert reader.get_job("r").id == "r"
        with pytest.raises(StoreError, match="read-only"):
            reader.add_job(JobRecord("w", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
        with pytest.raises(StoreError, match="read-only"):
            with reader.batch():
                pass
    finally:
        reader.close()
        writer.close()


def test_without_psycopg_the_error_names_the_extra(monkeypatch: Any) -> None:
    monkeypatch.setitem(sys.modules, "psycopg", None)  # import psycopg raises ImportError
    with pytest.raises(StoreError, match=r"qsession-provider\[postgres\]"):
        PostgresStore("postgresql://localhost/db")


def test_a_closed_store_refuses_work(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    store.close()
    store.close()
    with pytest.raises(StoreError, match="closed"):
        store.processes()


def test_open_runtime_with_a_url_runs_jobs_on_postgres(postgres_url: str) -> None:
    echo = Device("echo", 2, lambda p, x: {"n": x["n"]}, programs={"echo"}, simulator=True)
    from qsession_provider.core.runtime import Runtime

    rt = Runtime.for_store(postgres_url, clock=VirtualClock(start=0), devices=[echo])
    try:
        assert isinstance(rt.store, PostgresStore)
        assert open_runtime(postgres_url) is rt  # one runtime per store in a process
        session = rt.open_session("echo")
        first = rt.submit("echo", "echo", {"n": 1}, session_id=session.id)
        with pytest.raises(Exception, match="no_such_device|not found|unknown"):
            rt.submit("echo", "no_such_device", {"n": 2}, session_id=session.id)
        second = rt.submit("echo", "echo", {"n": 3}, session_id=session.id)
        assert [first.result(), second.result()] == [{"n": 1}, {"n": 3}]
        other = PostgresStore(postgres_url)  # what another process would read
        try:
            assert other.get_job(second.id).status is JobStatus.DONE
            assert other.get_session(session.id).id == session.id
        finally:
            other.close()
    finally:
        rt.shutdown()
        rt.store.close()


def test_token_commands_work_on_a_postgres_store(postgres_url: str) -> None:
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = cli.main(["--store", postgres_url, "token", "create", "alice", "--instance", "lab"])
    assert code == 0
    token = out.getvalue().strip().splitlines()[-1]
    store = PostgresStore(postgres_url)
    try:
        record = store.token_by_hash(hash_token(token))
        assert record is not None and record.name == "alice" and record.instance == "lab"
    finally:
        store.close()
    with contextlib.redirect_stdout(io.StringIO()):
        assert cli.main(["--store", postgres_url, "token", "revoke", "alice"]) == 0


def test_the_cli_reads_a_postgres_store(postgres_url: str) -> None:
    store = PostgresStore(postgres_url)
    try:
        store.add_job(JobRecord("job-on-pg", "sampler", "statevector", JobStatus.DONE, 1.0), "{}")
    finally:
        store.close()
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert cli.main(["--store", postgres_url, "show", "job-on-pg"]) == 0
    assert "job-on-pg" in out.getvalue() and "DONE" in out.getvalue()


def test_a_schema_in_the_url_keeps_the_store_apart(postgres_url: str) -> None:
    import psycopg

    with psycopg.connect(postgres_url, autocommit=True) as conn:
        conn.execute("CREATE TABLE invoices (id int)")  # another program's table, in public
        conn.execute("CREATE SCHEMA lab")
    store = PostgresStore(postgres_url + "&options=-csearch_path%3Dlab")
    try:
        store.add_job(JobRecord("in-lab", "echo", "d", JobStatus.QUEUED, 1.0), "{}")
        assert store.get_job("in-lab").id == "in-lab"
    finally:
        store.close()
    with psycopg.connect(postgres_url, autocommit=True) as conn:
        schemas = conn.execute(
            "SELECT table_schema FROM information_schema.tables WHERE table_name = 'jobs'"
        ).fetchall()
    assert schemas == [("lab",)]
