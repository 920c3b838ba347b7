"""The PostgreSQL store: one database shared by the runtimes of many processes and hosts.

``PostgresStore("postgresql://user:pw@host/dbname")`` (or ``open_runtime`` / ``qsession
serve --store`` with that URL) keeps what :class:`~.sqlite.SQLiteStore` keeps, in the
tables of :mod:`~.postgres_sql`, through psycopg 3 and a psycopg_pool connection pool.
psycopg is the ``postgres`` extra (``pip install 'qsession-provider[postgres]'``) and is
imported only when a PostgreSQL store is opened: the core never loads it otherwise.

**Writes are synchronous** (SQLite's ``write_behind=False``): every write is committed
before it returns, so another process reads it as soon as the call returns, and a crash
loses nothing acknowledged. :meth:`PostgresStore.batch` groups the writes a thread makes
inside it into one transaction committed at its exit (the runtime batches a submission's
writes and a job's end, and returns or settles the job after the exit): reads inside the
batch see its writes, other connections see them all at its exit. Inside a batch, new jobs
and updates of this store's open sessions are held until the exit and written by one
statement (see :class:`_BatchState`): a tiny job of a session costs one round trip.

**The promises of the store contract**, kept by the database rather than by memory:
a final job status and a closed session never change (the guard is in each ``UPDATE``'s
``WHERE``, evaluated under the row's lock, so it holds between processes); the orphan
sweep and adoption run in one transaction each, serialised by an advisory lock, so two
runtimes starting at once never both take a record (:mod:`~.processes` decides who is
gone, as for SQLite: pid and start time on the same host, heartbeats across hosts).

**Opening.** A URL that is not one, a server that cannot be reached, a database that does
not exist, a wrong password: a :class:`~qsession_provider.errors.StoreError` naming the
store (password hidden) and the fault (:mod:`~.postgres_open`). A database holding other
tables but no store schema is refused and left unchanged; a newer schema version is
refused. The store's tables live in the connection's current schema: put
``?options=-csearch_path%3Dmyschema`` in the URL to keep them apart from other tables.
``read_only=True`` sets every session read-only and creates nothing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import threading
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, TypeVar

from ...errors import (
    AlreadyExistsError,
    InputError,
    JobNotFoundError,
    SessionNotFoundError,
    StoreError,
)
from ..job_record import JobRecord, JobStatus
from ..session import SessionRecord, SessionState
from ..user import TokenRecord
from . import postgres_sql as sql
from .postgres_open import connect_error, is_postgres_url, missing_driver, redact_url
from .postgres_sweep import adopt_orphan_rows, mark_orphan_rows
from .processes import ProcessRecord
from .protocol import Adoption, JobQuery, OrphanReport, SessionQuery

__all__ = ["PostgresStore"]

_log = logging.getLogger("qsession_provider.store")

_T = TypeVar("_T")


def _driver(location: str) -> tuple[Any, Any]:
    """psycopg and psycopg_pool, imported now (the ``postgres`` extra)."""
    try:
        import psycopg
        import psycopg_pool
    except ImportError as exc:
        raise missing_driver(location, exc) from exc
    return psycopg, psycopg_pool


class PostgresStore:
    """The PostgreSQL implementation of :class:`~qsession_provider.core.store.protocol.Store`.

    Args:
        url: ``postgresql://[user[:password]@][host][:port]/dbname[?options]`` (libpq's
            URI; a unix socket directory as ``?host=/path``).
        max_connections: most connections the pool opens (threads beyond wait).
        timeout: seconds a call waits for a free connection before raising
            :class:`~qsession_provider.errors.StoreError`.
        connect_timeout: seconds to wait for the server when connecting.
        read_only: open for reading only: nothing is created or written; writes raise.

    Raises:
        StoreError: the URL is not valid, the server cannot be reached or refuses, the
            database does not exist, holds another program's tables, or has a newer
            schema; psycopg is not installed. The message names the store.
        InputError: ``url`` is not a ``postgresql://`` URL.
    """

    #: Writes commit before they return (see the module docstring).
    write_behind = False

    def __init__(
        self,
        url: str,
        *,
        max_connections: int = 10,
        timeout: float = 30.0,
        connect_timeout: float = 10.0,
        read_only: bool = False,
    ) -> None:
        if not is_postgres_url(url):
            raise InputError(f"a PostgreSQL store needs a postgresql:// URL, not {url!r}")
        #: The URL without its password.
        self.location = redact_url(url)
        self.read_only = bool(read_only)
        psycopg, pool_module = _driver(self.location)
        self._errors: type[Exception] = psycopg.Error
        #: A transaction a failed statement aborted.
        self._inerror = psycopg.pq.TransactionStatus.INERROR
        self._closed = False
        self._local = threading.local()
        #: Sessions this store added or adopted, not closed: id -> state last written. An
        #: update of one inside a batch is written with the batch.
        self._sessions: dict[str, SessionState] = {}
        self._sessions_lock = threading.Lock()
        kwargs: dict[str, Any] = {
            "autocommit": True,
            "connect_timeout": max(1, round(connect_timeout)),
        }
        try:
            first = psycopg.connect(url, **kwargs)
        except psycopg.Error as exc:
            raise StoreError(connect_error(self.location, exc)) from exc
        try:
            self._configure(first)
            self._setup(first)
        except psycopg.Error as exc:
            raise StoreError(f"cannot open the PostgreSQL store at {self.location}: {exc}") from exc
        finally:
            first.close()
        self._pool = pool_module.ConnectionPool(
            url,
            min_size=1,
            max_size=max(1, max_connections),
            kwargs=kwargs,
            configure=self._configure,
            timeout=timeout,
            open=False,
            name=f"qsession-store {self.location}",
        )
        try:
            self._pool.open(wait=True, timeout=max(1.0, connect_timeout))
        except psycopg.Error as exc:
            self._pool.close()
            raise StoreError(connect_error(self.location, exc)) from exc

    # -- setup ---------------------------------------------------------------------------------
    def _configure(self, conn: Any) -> None:
        """Every new connection: read-only sessions for a read-only store."""
        if self.read_only:
            conn.execute("SET default_transaction_read_only = on")

    def _setup(self, conn: Any) -> None:
        """Create the tables of a new store; refuse another program's database or a newer
        schema (under an advisory lock: stores opened at once create the tables once)."""
        with conn.transaction():
            if not self.read_only:
                conn.execute(sql.LOCK_SETUP)
            tables = sorted(
                row[0]
                for row in conn.execute(
                    "SELECT table_name FROM information_schema.tables "
                    "WHERE table_schema = current_schema() AND table_type = 'BASE TABLE'"
                )
            )
            version: int | None = None
            if "meta" in tables:
                row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
                version = None if row is None else int(row[0])
            if tables and version is None:
                shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
                raise StoreError(
                    f"the PostgreSQL database at {self.location} is not a qsession store (it "
                    f"holds the tables {shown} and no schema version); it was left unchanged: "
                    "choose another database or schema"
                )
            if version is not None and version > sql.SCHEMA_VERSION:
                raise StoreError(
                    f"the store at {self.location} has schema version {version}, newer than "
                    f"this qsession_provider understands ({sql.SCHEMA_VERSION}); upgrade the "
                    "package"
                )
            if version is None:
                if self.read_only:
                    raise StoreError(
                        f"the store at {self.location} is empty (not a store yet): nothing to read"
                    )
                for statement in sql.SCHEMA:
                    conn.execute(statement)
                conn.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', %s)",
                    (str(sql.SCHEMA_VERSION),),
                )

    # -- connections and transactions ----------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"the store at {self.location} is opened read-only (read_only=True): "
                "it cannot be written"
            )

    @contextmanager
    def _connection(self, what: str) -> Iterator[Any]:
        """This thread's batch transaction (begun now if needed, with the batch's staged
        jobs written first), else a pool connection (autocommit); psycopg's errors become
        :class:`StoreError` naming ``what`` failed."""
        self._check_open()
        state: _BatchState | None = getattr(self._local, "batch", None)
        try:
            if state is not None:
                yield state.begin(self)
                return
            conn = self._pool.getconn()
            try:
                yield conn
            finally:
                self._pool.putconn(conn)
        except self._errors as exc:
            if state is not None:
                state.failed = True  # the batch is rolled back at its exit
            raise StoreError(f"cannot {what} store {self.location}: {exc}") from exc

    def _read(self, query: str, params: Sequence[Any] = ()) -> list[Any]:
        """Rows of a query."""
        with self._connection("read") as conn:
            return list(conn.execute(query, params).fetchall())

    def _write(self, apply: Callable[[Any], _T]) -> _T:
        """``apply(conn)`` in one transaction (the batch's, if this thread is in one)."""
        self._check_writable()
        with self._connection("write to") as conn:
            if getattr(self._local, "batch", None) is not None:
                return apply(conn)
            with conn.transaction():
                return apply(conn)

    def _write_one(self, query: str, params: Any) -> tuple[int, Any]:
        """One statement (atomic on its own): how many rows it changed, its first row."""
        self._check_writable()
        with self._connection("write to") as conn:
            cur = conn.execute(query, params)
            return cur.rowcount, cur.fetchone() if cur.description else None

    def batch(self) -> _Batch:
        """Group this thread's writes of the block into one transaction, committed at its
        exit (raising :class:`~qsession_provider.errors.StoreError` if the commit fails,
        with none of them kept). Nested batches join the outermost one."""
        return _Batch(self)

    def flush(self, timeout: float | None = None) -> None:
        """Nothing waits: every write is committed before it returns (kept for parity with
        :meth:`~.sqlite.SQLiteStore.flush`)."""
        self._check_open()

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, record: JobRecord, payload: str, *, fresh: bool = False) -> None:
        self._check_open()
        self._check_writable()
        state: _BatchState | None = getattr(self._local, "batch", None)
        if fresh and state is not None and record.id not in state.staged:
            # A new random id inside a batch: written with the batch (see _BatchState).
            state.staged[record.id] = _StagedJob(record, record.to_json_text(), payload)
            return
        params = sql.add_job_params(record, record.to_json_text(), payload, None)
        if self._write_one(sql.ADD_JOB, params)[1][0] == 0:
            raise AlreadyExistsError(f"a job with id {record.id!r} already exists")

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        self._check_open()
        state: _BatchState | None = getattr(self._local, "batch", None)
        staged = None if state is None else state.staged.get(record.id)
        if staged is not None:
            if (
                staged.record.status.value in sql.FINAL
                and staged.record.status is not record.status
            ):
                return False
            staged.record, staged.text = record, record.to_json_text()
            staged.result = staged.result if result is None else result
            return True
        params = {
            "id": record.id,
            "status": record.status.value,
            "name": record.name,
            "tags": sql.tags_text(record),
            "record": record.to_json_text(),
            "result": result,
        }

        def apply(conn: Any) -> bool:
            row = conn.execute(sql.UPDATE_JOB, params).fetchone()
            if row is None:
                if conn.execute("SELECT 1 FROM jobs WHERE id = %s", (record.id,)).fetchone():
                    return False  # final, and stays so
                raise JobNotFoundError(f"no job with id {record.id!r}")
            if row[0] != params["tags"]:
                conn.execute(sql.REPLACE_TAGS, {"id": record.id, "tags": list(record.tags)})
            return True

        return self._write(apply)

    def get_job(self, job_id: str) -> JobRecord:
        rows = self._read("SELECT record FROM jobs WHERE id = %s", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return JobRecord.from_json(json.loads(rows[0][0]))

    def get_payload(self, job_id: str) -> str:
        rows = self._read("SELECT payload FROM job_data WHERE job_id = %s", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return str(rows[0][0])

    def get_result(self, job_id: str) -> str | None:
        rows = self._read("SELECT result FROM job_data WHERE job_id = %s", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return None if rows[0][0] is None else str(rows[0][0])

    def query_jobs(self, query: JobQuery) -> list[JobRecord]:
        where, params = sql.job_filters(query)
        order, paging = sql.paging(query)
        rows = self._read(f"SELECT record FROM jobs{where}{order}", (*params, *paging))
        return [JobRecord.from_json(json.loads(r[0])) for r in rows]

    def count_jobs(self, query: JobQuery) -> int:
        where, params = sql.job_filters(query)
        return int(self._read(f"SELECT count(*) FROM jobs{where}", params)[0][0])

    def count_jobs_by_session(
        self, session_ids: Collection[str]
    ) -> dict[str, dict[JobStatus, int]]:
        counts: dict[str, dict[JobStatus, int]] = {}
        if not session_ids:
            return counts
        for session_id, status, count in self._read(sql.COUNT_BY_SESSION, (sorted(session_ids),)):
            counts.setdefault(session_id, {})[JobStatus(status)] = int(count)
        return counts

    def delete_job(self, job_id: str) -> None:
        if self._write_one(sql.DELETE_JOB, {"id": job_id})[1][0] == 0:
            raise JobNotFoundError(f"no job with id {job_id!r}")

    # -- sessions ------------------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        if self._write_one(sql.ADD_SESSION, sql.add_session_params(record))[0] == 0:
            raise AlreadyExistsError(f"a session with id {record.id!r} already exists")
        self._know_session(record.id, record.state)

    def update_session(self, record: SessionRecord) -> bool:
        self._check_open()
        state: _BatchState | None = getattr(self._local, "batch", None)
        with self._sessions_lock:
            known = self._sessions.get(record.id)
            if known is SessionState.CLOSED and record.state is not SessionState.CLOSED:
                return False
            if state is not None and known is not None:
                # A session of ours, open: written with the batch (see _BatchState).
                self._check_writable()
                state.sessions[record.id] = (record, record.to_json_text())
                self._sessions[record.id] = record.state
                return True
        params = {
            "id": record.id,
            "state": record.state.value,
            "name": record.name,
            "record": record.to_json_text(),
        }

        def apply(conn: Any) -> bool:
            if conn.execute(sql.UPDATE_SESSION, params).rowcount > 0:
                return True
            if conn.execute("SELECT 1 FROM sessions WHERE id = %s", (record.id,)).fetchone():
                return False  # closed, and stays so
            raise SessionNotFoundError(f"no session with id {record.id!r}")

        updated = self._write(apply)
        if updated and state is None:
            self._know_session(record.id, record.state)
        return updated

    def _know_session(self, session_id: str, state: SessionState) -> None:
        """Remember the committed state of a session of ours (a closed one is forgotten:
        the database's guard answers for it)."""
        with self._sessions_lock:
            if state is SessionState.CLOSED:
                self._sessions.pop(session_id, None)
            else:
                self._sessions[session_id] = state

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT record FROM sessions WHERE id = %s", (session_id,))
        if not rows:
            raise SessionNotFoundError(f"no session with id {session_id!r}")
        return SessionRecord.from_json(json.loads(rows[0][0]))

    def query_sessions(self, query: SessionQuery) -> list[SessionRecord]:
        where, params = sql.session_filters(query)
        order, paging = sql.paging(query)
        rows = self._read(f"SELECT record FROM sessions{where}{order}", (*params, *paging))
        return [SessionRecord.from_json(json.loads(r[0])) for r in rows]

    # -- processes -----------------------------------------------------------------------------
    def register_process(self, record: ProcessRecord) -> None:
        self._write_one(
            sql.REGISTER_PROCESS,
            (
                record.id,
                record.pid,
                record.hostname,
                record.start_token,
                record.started_at,
                record.heartbeat,
                record.clock,
            ),
        )

    def heartbeat(self, process_id: str, now: float) -> None:
        self._write_one("UPDATE processes SET heartbeat = %s WHERE id = %s", (now, process_id))

    def unregister_process(self, process_id: str) -> None:
        self._write_one("DELETE FROM processes WHERE id = %s", (process_id,))

    def processes(self) -> list[ProcessRecord]:
        rows = self._read(f"SELECT {sql.PROCESS_COLUMNS} FROM processes ORDER BY id")
        return [ProcessRecord(*row) for row in rows]

    def mark_orphans(self, process_ids: Collection[str], now: float) -> OrphanReport:
        owners = sorted(set(process_ids))
        if not owners:
            return OrphanReport()
        return self._write(lambda conn: mark_orphan_rows(conn, owners, now))

    def adopt_orphans(self, process_ids: Collection[str], owner: str) -> Adoption:
        adopted = self._write(lambda conn: adopt_orphan_rows(conn, sorted(set(process_ids)), owner))
        for session in adopted.sessions:  # ours now
            self._know_session(session.id, session.state)
        return adopted

    # -- tokens --------------------------------------------------------------------------------
    def add_token(self, record: TokenRecord) -> None:
        inserted, _ = self._write_one(
            f"INSERT INTO tokens ({sql.TOKEN_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s) "
            "ON CONFLICT DO NOTHING",
            (
                record.name,
                record.token_hash,
                record.instance,
                record.share,
                bool(record.admin),
                record.created_at,
            ),
        )
        if inserted == 0:
            if self._read("SELECT 1 FROM tokens WHERE name = %s", (record.name,)):
                raise AlreadyExistsError(f"a token for user {record.name!r} already exists")
            raise AlreadyExistsError("a token with that hash already exists")

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        rows = self._read(
            f"SELECT {sql.TOKEN_COLUMNS} FROM tokens WHERE token_hash = %s", (token_hash,)
        )
        return TokenRecord(*rows[0]) if rows else None

    def tokens(self) -> list[TokenRecord]:
        rows = self._read(f"SELECT {sql.TOKEN_COLUMNS} FROM tokens ORDER BY name")
        return [TokenRecord(*row) for row in rows]

    def remove_token(self, name: str) -> bool:
        return self._write_one("DELETE FROM tokens WHERE name = %s", (name,))[0] > 0

    def close(self) -> None:
        """Close the pool's connections (idempotent; the store is unusable afterwards)."""
        if self._closed:
            return
        self._closed = True
        self._pool.close()

    def __repr__(self) -> str:
        return f"PostgresStore({self.location!r})"


@dataclass(slots=True)
class _StagedJob:
    """A job added inside a batch with a fresh id, not written yet: its latest record (and
    that record's JSON text, made when it was given), payload and result."""

    record: JobRecord
    text: str
    payload: str
    result: str | None = None

    def params(self) -> tuple[Any, ...]:
        return sql.add_job_params(self.record, self.text, self.payload, self.result)


class _BatchState:
    """One thread's open batch.

    Two kinds of writes are *staged*, held until the batch needs its transaction (any other
    write, or a read) or ends: jobs added with a fresh id (their later updates in the batch
    fold into them) and updates of this store's open sessions (the latest per session).
    They are written by one statement (:func:`~.postgres_sql.staged_writes`): a tiny job
    submitted, run and finished in a batch, with its session's update, is one round trip,
    atomic on its own. Every other write runs in the batch's transaction, begun on first
    need, after the staged writes.
    """

    __slots__ = ("conn", "staged", "sessions", "failed")

    def __init__(self) -> None:
        self.conn: Any = None
        self.staged: dict[str, _StagedJob] = {}
        self.sessions: dict[str, tuple[SessionRecord, str]] = {}
        self.failed = False

    def begin(self, store: PostgresStore) -> Any:
        """The batch's connection, in its transaction, with the staged writes written."""
        if self.conn is None:
            conn = store._pool.getconn()
            try:
                conn.execute("BEGIN")
            except BaseException:
                store._pool.putconn(conn)
                raise
            self.conn = conn
        self.write_staged(store, self.conn)
        return self.conn

    def write_staged(self, store: PostgresStore, conn: Any) -> None:
        """Write what is staged in one statement (nothing if nothing is)."""
        if not self.staged and not self.sessions:
            return
        jobs, self.staged = list(self.staged.values()), {}
        sessions, self.sessions = list(self.sessions.values()), {}
        query, params = sql.staged_writes([job.params() for job in jobs], sessions)
        try:
            counts = conn.execute(query, params).fetchone()
        except BaseException:
            with store._sessions_lock:  # not written: their states are read from the store
                for record, _ in sessions:
                    store._sessions.pop(record.id, None)
            raise
        for (record, _), count in zip(sessions, counts[len(jobs) :]):
            if count:
                store._know_session(record.id, record.state)
            else:
                store._know_session(record.id, SessionState.CLOSED)
                _log.warning("session %s was closed in the store by another process", record.id)
        for job, count in zip(jobs, counts):
            if not count:
                raise AlreadyExistsError(f"a job with id {job.record.id!r} already exists")

    def forget(self, store: PostgresStore) -> None:
        """Rolled back: the staged sessions' states are unknown again (read from the store)."""
        with store._sessions_lock:
            for session_id in self.sessions:
                store._sessions.pop(session_id, None)
        self.staged, self.sessions = {}, {}

    def finish(self, store: PostgresStore, keep: bool) -> None:
        """Commit (``keep``) or roll back what the batch wrote; give the connection back."""
        conn = self.conn
        if conn is None:
            if keep and (self.staged or self.sessions):
                conn = store._pool.getconn()  # one statement: atomic on its own
                try:
                    self.write_staged(store, conn)
                finally:
                    store._pool.putconn(conn)
            else:
                self.forget(store)
            return
        try:
            if keep:
                self.write_staged(store, conn)
                conn.execute("COMMIT")
            else:
                self.forget(store)
                conn.execute("ROLLBACK")
        except BaseException:
            if conn.info.transaction_status != 0:  # not idle: end the transaction
                with contextlib.suppress(Exception):
                    conn.execute("ROLLBACK")
            raise
        finally:
            self.conn = None
            store._pool.putconn(conn)


class _Batch:
    """The context manager of :meth:`PostgresStore.batch` (this thread's :class:`_BatchState`)."""

    __slots__ = ("_store", "_outer")

    def __init__(self, store: PostgresStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        store = self._store
        if getattr(store._local, "batch", None) is not None:
            return
        store._check_open()
        store._check_writable()
        store._local.batch = _BatchState()
        self._outer = True

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._outer:
            return
        store = self._store
        state: _BatchState = store._local.batch
        store._local.batch = None
        # A statement that failed (the server aborted the transaction, or psycopg refused
        # its parameters) rolls the whole batch back; otherwise what was written is
        # committed, even when the block raised (as SQLite's batch does).
        failed = state.failed or (
            state.conn is not None and state.conn.info.transaction_status == store._inerror
        )
        try:
            state.finish(store, keep=not failed)
        except (store._errors, StoreError) as error:
            if exc_type is None:
                if isinstance(error, StoreError):
                    raise
                raise StoreError(f"cannot write to store {store.location}: {error}") from error
            return
        if failed and exc_type is None:
            raise StoreError(
                f"cannot write to store {store.location}: a statement of the batch failed; "
                "none of its writes were kept"
            )
