"""The persistent store: one SQLite file (stdlib ``sqlite3``, WAL) shared by processes.

Where the file is: the ``path`` argument, else the ``QSESSION_STORE`` environment
variable, else ``store.sqlite3`` in the user data directory
(``platformdirs.user_data_dir("qsession_provider")``, e.g.
``~/.local/share/qsession_provider/`` on Linux). ``":memory:"`` gives a private
in-memory database.

Concurrency: one connection per store object, used under a lock, so the store is safe
across threads; SQLite's file locking (WAL mode, a busy timeout, write transactions
started with ``BEGIN IMMEDIATE``) makes it safe across processes. Records are JSON text;
payloads and results are the runtime's :mod:`~qsession_provider.core.encoding` text.

Indexes are chosen for the write path: no index contains a job's status, and an update
sets only the columns that changed (plus the record), so a status change rewrites only the
row, never an index entry. Status filters scan; owner, session, time and tag filters do not.

Write batches: :meth:`SQLiteStore.batch` groups every write made inside it into one
transaction (each write still atomic on its own, through a savepoint), committed when the
block exits. Inside a batch, a job added with :meth:`~SQLiteStore.add_job` is checked for a
duplicate id at once but inserted only when the batch commits (or as soon as anything else
touches the store), with whatever :meth:`~SQLiteStore.update_job` made of it meanwhile:
a job that is submitted, run and finished inside one batch is one INSERT. The runtime
batches the writes of a submission (the insert, a start at once, the session's update) and
of a job's end (the final state, the result, the session's update, committed before anyone
waiting for the job is woken): a small job costs two transactions, a tiny job run at
submission one.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import threading
from collections.abc import Collection, Sequence
from typing import Any

from ..errors import JobNotFoundError, SessionNotFoundError, StoreError
from .clock import RealClock
from .job_record import FINAL_STATES, PENDING_STATES, JobRecord
from .processes import ProcessRecord
from .session import SessionRecord, SessionState
from .store import JobQuery, OrphanReport, SessionQuery, orphan_job, orphan_session

__all__ = ["SQLiteStore", "default_store_path", "resolve_store_path", "STORE_ENV_VAR"]

#: Environment variable that overrides the default store file.
STORE_ENV_VAR = "QSESSION_STORE"
SCHEMA_VERSION = 1

_SCHEMA = """
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

_FINAL = tuple(s.value for s in FINAL_STATES)
_PENDING = tuple(s.value for s in PENDING_STATES)


def default_store_path() -> str:
    """``$QSESSION_STORE`` if set, else ``store.sqlite3`` in the user data directory."""
    env = os.environ.get(STORE_ENV_VAR)
    if env:
        return env
    import platformdirs  # a declared dependency; imported here so core imports stay light

    return os.path.join(
        platformdirs.user_data_dir("qsession_provider", appauthor=False), "store.sqlite3"
    )


def resolve_store_path(path: str | os.PathLike[str] | None = None) -> str:
    """The canonical location for ``path`` (see :func:`default_store_path` for None).

    Two spellings of the same file resolve to the same string, so they share a runtime.
    """
    raw = default_store_path() if path is None else os.fspath(path)
    if raw == ":memory:":
        return raw
    return os.path.realpath(os.path.expanduser(raw))


class SQLiteStore:
    """The SQLite implementation of :class:`~qsession_provider.core.store.Store`.

    Args:
        path: database file, ``":memory:"``, or None for :func:`default_store_path`.
            Parent directories are created.
        busy_timeout: seconds to wait for another process's write lock.

    Raises:
        StoreError: the file cannot be opened or was written by a newer schema.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, busy_timeout: float = 30.0
    ) -> None:
        self.location = resolve_store_path(path)
        self._lock = threading.RLock()
        if self.location != ":memory:":
            os.makedirs(os.path.dirname(self.location) or ".", exist_ok=True)
        try:
            self._db = sqlite3.connect(
                self.location,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # guarded by self._lock
            )
        except sqlite3.Error as exc:
            raise StoreError(f"cannot open the store at {self.location}: {exc}") from exc
        self._closed = False
        #: The running :meth:`batch`, if any (only its thread gets past the lock).
        self._batch: _BatchState | None = None
        try:
            self._setup(busy_timeout)
        except BaseException:
            self._db.close()
            raise

    # -- setup ---------------------------------------------------------------------------------
    def _setup(self, busy_timeout: float) -> None:
        db = self._db
        db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        if self.location != ":memory:":
            mode = _retry_locked(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot switch {self.location} to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = NORMAL")
        with self._tx() as cur:
            for statement in _SCHEMA.split(";"):
                if statement.strip():
                    cur.execute(statement)
            row = cur.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
            if row is None:
                cur.execute(
                    "INSERT INTO meta (key, value) VALUES ('schema_version', ?)",
                    (str(SCHEMA_VERSION),),
                )
            elif int(row[0]) > SCHEMA_VERSION:
                raise StoreError(
                    f"the store at {self.location} has schema version {row[0]}, newer than "
                    f"this qsession_provider understands ({SCHEMA_VERSION}); upgrade the package"
                )

    def batch(self) -> _Batch:
        """Run the writes of the block in one transaction, committed when it exits.

        The transaction begins at the first write (``BEGIN IMMEDIATE``); each write stays
        atomic on its own (a failing write is rolled back to its savepoint and raises as
        usual; the others are kept). The store's lock is held for the whole block, so
        other threads wait for the commit. The commit happens however the block exits.
        Nested batches join the outermost one.

        Raises:
            StoreError: the commit failed (the batch's writes are rolled back).
        """
        return _Batch(self)

    def _begin(self, cur: sqlite3.Cursor) -> None:
        try:
            _retry_locked(lambda: cur.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            raise StoreError(f"store {self.location} is busy: {exc}") from exc

    def _tx(self) -> _Transaction:
        """A write transaction (BEGIN IMMEDIATE takes the write lock up front); ``with``
        gives its cursor. Inside a :meth:`batch`, a savepoint of the batch's transaction."""
        return _Transaction(self)

    def _read(self, sql: str, params: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            self._check_open()
            state = self._batch
            if state is not None and state.pending:
                state.flush(self._db.cursor())
            try:
                return self._db.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read store {self.location}: {exc}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, record: JobRecord, payload: str) -> None:
        with self._lock:
            state = self._batch
            if state is not None:  # checked now, inserted at the commit (module docstring)
                self._check_open()
                cur = self._db.cursor()
                state.begin(self, cur)
                taken = (
                    record.id in state.pending
                    or cur.execute("SELECT 1 FROM jobs WHERE id = ?", (record.id,)).fetchone()
                )
                if taken:
                    raise StoreError(f"a job with id {record.id!r} already exists")
                state.pending[record.id] = [record, payload, None]
                return
        try:
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO jobs (id, device, status, program_id, session_id, instance, "
                    "name, created_at, owner, tags, record) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                    (*_job_columns(record), record.to_json_text()),
                )
                cur.execute(
                    "INSERT INTO job_data (job_id, payload) VALUES (?, ?)", (record.id, payload)
                )
                _write_tags(cur, record)
        except sqlite3.IntegrityError:
            raise StoreError(f"a job with id {record.id!r} already exists") from None

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        with self._lock:
            state = self._batch
            entry = None if state is None else state.pending.get(record.id)
            if entry is not None:  # not inserted yet: the insert will carry this state
                old = entry[0]
                if old.status.value in _FINAL and old.status is not record.status:
                    return False
                entry[0] = record
                if result is not None:
                    entry[2] = result
                return True
        columns = _job_columns(record)[1:]
        text = record.to_json_text()
        with self._tx() as cur:
            row = cur.execute(_SELECT_JOB_COLUMNS, (record.id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no job with id {record.id!r}")
            if row[1] in _FINAL and row[1] != record.status.value:
                return False
            # Only the changed columns: an indexed column in SET rewrites its index entry.
            changed = [i for i, (old, new) in enumerate(zip(row, columns)) if old != new]
            sets = "".join(f"{_JOB_COLUMNS[i]}=?, " for i in changed)
            cur.execute(
                f"UPDATE jobs SET {sets}record=? WHERE id=?",
                (*(columns[i] for i in changed), text, record.id),
            )
            if row[-1] != columns[-1]:
                cur.execute("DELETE FROM job_tags WHERE job_id = ?", (record.id,))
                _write_tags(cur, record)
            if result is not None:
                cur.execute("UPDATE job_data SET result = ? WHERE job_id = ?", (result, record.id))
            return True

    def get_job(self, job_id: str) -> JobRecord:
        rows = self._read("SELECT record FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return JobRecord.from_json(json.loads(rows[0][0]))

    def get_payload(self, job_id: str) -> str:
        rows = self._read("SELECT payload FROM job_data WHERE job_id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return str(rows[0][0])

    def get_result(self, job_id: str) -> str | None:
        rows = self._read("SELECT result FROM job_data WHERE job_id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return None if rows[0][0] is None else str(rows[0][0])

    def query_jobs(self, query: JobQuery) -> list[JobRecord]:
        where, params = _job_filters(query)
        order = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT record FROM jobs{where} ORDER BY created_at {order}, seq {order} "
            "LIMIT ? OFFSET ?"
        )
        limit = -1 if query.limit is None else query.limit
        rows = self._read(sql, (*params, limit, query.skip))
        return [JobRecord.from_json(json.loads(r[0])) for r in rows]

    def count_jobs(self, query: JobQuery) -> int:
        where, params = _job_filters(query)
        return int(self._read(f"SELECT COUNT(*) FROM jobs{where}", params)[0][0])

    def delete_job(self, job_id: str) -> None:
        with self._tx() as cur:
            if cur.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobNotFoundError(f"no job with id {job_id!r}")
            cur.execute("DELETE FROM job_data WHERE job_id = ?", (job_id,))
            cur.execute("DELETE FROM job_tags WHERE job_id = ?", (job_id,))

    # -- sessions ------------------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        try:
            with self._tx() as cur:
                cur.execute(
                    "INSERT INTO sessions (id, device, state, mode, instance, name, created_at, "
                    "owner, record) VALUES (?,?,?,?,?,?,?,?,?)",
                    (*_session_columns(record), record.to_json_text()),
                )
        except sqlite3.IntegrityError:
            raise StoreError(f"a session with id {record.id!r} already exists") from None

    def update_session(self, record: SessionRecord) -> bool:
        columns = _session_columns(record)[1:]
        text = record.to_json_text()
        with self._tx() as cur:
            row = cur.execute(_SELECT_SESSION_COLUMNS, (record.id,)).fetchone()
            if row is None:
                raise SessionNotFoundError(f"no session with id {record.id!r}")
            if row[1] == SessionState.CLOSED.value and record.state is not SessionState.CLOSED:
                return False
            changed = [i for i, (old, new) in enumerate(zip(row, columns)) if old != new]
            sets = "".join(f"{_SESSION_COLUMNS[i]}=?, " for i in changed)
            cur.execute(
                f"UPDATE sessions SET {sets}record=? WHERE id=?",
                (*(columns[i] for i in changed), text, record.id),
            )
            return True

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT record FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(f"no session with id {session_id!r}")
        return SessionRecord.from_json(json.loads(rows[0][0]))

    def query_sessions(self, query: SessionQuery) -> list[SessionRecord]:
        clauses: list[str] = []
        params: list[Any] = []
        _eq(clauses, params, "device", query.device)
        _eq(clauses, params, "mode", None if query.mode is None else query.mode.value)
        _eq(clauses, params, "instance", query.instance)
        _eq(clauses, params, "owner", query.owner)
        if query.states is not None:
            _in(clauses, params, "state", [s.value for s in query.states])
        _range_and_prefix(
            clauses, params, query.created_after, query.created_before, query.name_prefix
        )
        where = f" WHERE {' AND '.join(clauses)}" if clauses else ""
        order = "DESC" if query.descending else "ASC"
        limit = -1 if query.limit is None else query.limit
        rows = self._read(
            f"SELECT record FROM sessions{where} ORDER BY created_at {order}, seq {order} "
            "LIMIT ? OFFSET ?",
            (*params, limit, query.skip),
        )
        return [SessionRecord.from_json(json.loads(r[0])) for r in rows]

    # -- processes -----------------------------------------------------------------------------
    def register_process(self, record: ProcessRecord) -> None:
        with self._tx() as cur:
            cur.execute(
                "INSERT OR REPLACE INTO processes (id, pid, hostname, start_token, started_at, "
                "heartbeat) VALUES (?,?,?,?,?,?)",
                (
                    record.id,
                    record.pid,
                    record.hostname,
                    record.start_token,
                    record.started_at,
                    record.heartbeat,
                ),
            )

    def heartbeat(self, process_id: str, now: float) -> None:
        with self._tx() as cur:
            cur.execute("UPDATE processes SET heartbeat = ? WHERE id = ?", (now, process_id))

    def unregister_process(self, process_id: str) -> None:
        with self._tx() as cur:
            cur.execute("DELETE FROM processes WHERE id = ?", (process_id,))

    def processes(self) -> list[ProcessRecord]:
        rows = self._read(
            "SELECT id, pid, hostname, start_token, started_at, heartbeat FROM processes"
        )
        return [ProcessRecord(*row) for row in rows]

    def mark_orphans(self, process_ids: Collection[str], now: float) -> OrphanReport:
        owners = sorted(set(process_ids))
        if not owners:
            return OrphanReport()
        marks = ",".join("?" * len(owners))
        jobs: list[str] = []
        sessions: list[str] = []
        with self._tx() as cur:
            procs = {
                row[0]: ProcessRecord(*row)
                for row in cur.execute(
                    "SELECT id, pid, hostname, start_token, started_at, heartbeat FROM processes "
                    f"WHERE id IN ({marks})",
                    owners,
                )
            }
            rows = cur.execute(
                f"SELECT record FROM jobs WHERE owner IN ({marks}) AND status IN (?, ?)",
                (*owners, *_PENDING),
            ).fetchall()
            for (text,) in rows:
                old = JobRecord.from_json(json.loads(text))
                new = orphan_job(old, now, procs.get(old.owner))
                cur.execute(
                    "UPDATE jobs SET status = ?, record = ? WHERE id = ?",
                    (new.status.value, new.to_json_text(), new.id),
                )
                jobs.append(new.id)
            rows = cur.execute(
                f"SELECT record FROM sessions WHERE owner IN ({marks}) AND state != ?",
                (*owners, SessionState.CLOSED.value),
            ).fetchall()
            for (text,) in rows:
                new_s = orphan_session(SessionRecord.from_json(json.loads(text)), now)
                cur.execute(
                    "UPDATE sessions SET state = ?, record = ? WHERE id = ?",
                    (new_s.state.value, new_s.to_json_text(), new_s.id),
                )
                sessions.append(new_s.id)
            cur.execute(f"DELETE FROM processes WHERE id IN ({marks})", owners)
        return OrphanReport(tuple(jobs), tuple(sessions))

    def close(self) -> None:
        with self._lock:
            if not self._closed:
                self._closed = True
                self._db.close()

    def __repr__(self) -> str:
        return f"SQLiteStore({self.location!r})"


# -- transactions -------------------------------------------------------------------------------
class _BatchState:
    """A running batch: whether its transaction began, and the jobs still to insert."""

    __slots__ = ("began", "pending")

    def __init__(self) -> None:
        self.began = False
        #: job id -> [record, payload, result], in submission order
        self.pending: dict[str, list[Any]] = {}

    def begin(self, store: SQLiteStore, cur: sqlite3.Cursor) -> None:
        if not self.began:
            store._begin(cur)
            self.began = True

    def flush(self, cur: sqlite3.Cursor) -> None:
        """Insert the pending jobs, in their latest state (inside the transaction)."""
        pending = self.pending
        for job_id, (record, payload, result) in list(pending.items()):
            cur.execute(
                "INSERT INTO jobs (id, device, status, program_id, session_id, instance, "
                "name, created_at, owner, tags, record) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*_job_columns(record), record.to_json_text()),
            )
            cur.execute(
                "INSERT INTO job_data (job_id, payload, result) VALUES (?, ?, ?)",
                (record.id, payload, result),
            )
            _write_tags(cur, record)
            del pending[job_id]


class _Batch:
    """The context manager of :meth:`SQLiteStore.batch`."""

    __slots__ = ("_store", "_outer")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        store = self._store
        store._lock.acquire()
        if store._batch is None:
            store._batch = _BatchState()
            self._outer = True

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        store = self._store
        try:
            if self._outer:
                state, store._batch = store._batch, None
                if state is not None and state.began:
                    db = store._db
                    try:
                        state.flush(db.cursor())
                        db.execute("COMMIT")
                    except sqlite3.Error as error:
                        with contextlib.suppress(sqlite3.Error):
                            db.execute("ROLLBACK")
                        raise StoreError(
                            f"cannot write to store {store.location}: {error}"
                        ) from error
        finally:
            store._lock.release()


class _Transaction:
    """The context manager of :meth:`SQLiteStore._tx` (a few per job: a class, not a
    generator)."""

    __slots__ = ("_store", "_in_batch")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._in_batch = False

    def __enter__(self) -> sqlite3.Cursor:
        store = self._store
        store._lock.acquire()
        try:
            store._check_open()
            cur = store._db.cursor()
            batch = store._batch
            if batch is not None:
                batch.begin(store, cur)
                if batch.pending:  # what follows sees the jobs added so far
                    batch.flush(cur)
                cur.execute("SAVEPOINT w")
                self._in_batch = True
            else:
                store._begin(cur)
        except BaseException:
            store._lock.release()
            raise
        return cur

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        store = self._store
        db = store._db
        try:
            if self._in_batch:
                if exc_type is not None:
                    db.execute("ROLLBACK TO w")
                db.execute("RELEASE w")
            elif exc_type is not None:
                db.execute("ROLLBACK")
            else:
                try:
                    db.execute("COMMIT")
                except sqlite3.Error as error:
                    db.execute("ROLLBACK")
                    raise StoreError(f"cannot write to store {store.location}: {error}") from error
        finally:
            store._lock.release()


# -- helpers ------------------------------------------------------------------------------------
#: The searchable columns of ``jobs`` after ``id``, in :func:`_job_columns` order.
_JOB_COLUMNS = (
    "device",
    "status",
    "program_id",
    "session_id",
    "instance",
    "name",
    "created_at",
    "owner",
    "tags",
)
_SELECT_JOB_COLUMNS = f"SELECT {', '.join(_JOB_COLUMNS)} FROM jobs WHERE id = ?"
#: The searchable columns of ``sessions`` after ``id``, in :func:`_session_columns` order.
_SESSION_COLUMNS = ("device", "state", "mode", "instance", "name", "created_at", "owner")
_SELECT_SESSION_COLUMNS = f"SELECT {', '.join(_SESSION_COLUMNS)} FROM sessions WHERE id = ?"


def _dumps(data: Any) -> str:
    return json.dumps(data, separators=(",", ":"))


def _job_columns(r: JobRecord) -> tuple[Any, ...]:
    return (
        r.id,
        r.device,
        r.status.value,
        r.program_id,
        r.session_id,
        r.instance,
        r.name,
        r.created_at,
        r.owner,
        _dumps(list(r.tags)),
    )


def _session_columns(r: SessionRecord) -> tuple[Any, ...]:
    return (r.id, r.device, r.state.value, r.mode.value, r.instance, r.name, r.created_at, r.owner)


def _write_tags(cur: sqlite3.Cursor, record: JobRecord) -> None:
    if record.tags:
        cur.executemany(
            "INSERT OR IGNORE INTO job_tags (job_id, tag) VALUES (?, ?)",
            [(record.id, tag) for tag in record.tags],
        )


def _eq(clauses: list[str], params: list[Any], column: str, value: Any) -> None:
    if value is not None:
        clauses.append(f"{column} = ?")
        params.append(value)


def _in(clauses: list[str], params: list[Any], column: str, values: Sequence[Any]) -> None:
    if not values:
        clauses.append("0")
        return
    clauses.append(f"{column} IN ({','.join('?' * len(values))})")
    params.extend(values)


def _range_and_prefix(
    clauses: list[str],
    params: list[Any],
    after: float | None,
    before: float | None,
    prefix: str | None,
) -> None:
    if after is not None:
        clauses.append("created_at >= ?")
        params.append(after)
    if before is not None:
        clauses.append("created_at <= ?")
        params.append(before)
    if prefix is not None:
        # substr() rather than LIKE: no wildcard escaping, and case-sensitive like str.startswith.
        clauses.append("substr(name, 1, ?) = ?")
        params.extend((len(prefix), prefix))


def _job_filters(query: JobQuery) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    _eq(clauses, params, "device", query.device)
    _eq(clauses, params, "program_id", query.program_id)
    _eq(clauses, params, "session_id", query.session_id)
    _eq(clauses, params, "instance", query.instance)
    _eq(clauses, params, "owner", query.owner)
    if query.statuses is not None:
        _in(clauses, params, "status", [s.value for s in query.statuses])
    tags = sorted(set(query.tags))
    if tags:
        clauses.append(
            f"id IN (SELECT job_id FROM job_tags WHERE tag IN ({','.join('?' * len(tags))}) "
            "GROUP BY job_id HAVING COUNT(*) = ?)"
        )
        params.extend((*tags, len(tags)))
    _range_and_prefix(clauses, params, query.created_after, query.created_before, query.name_prefix)
    return (f" WHERE {' AND '.join(clauses)}" if clauses else ""), params


def _retry_locked(fn: Any, attempts: int = 50) -> Any:
    """Run ``fn``, retrying "database is locked" (statements the busy handler does not cover)."""
    wall: RealClock | None = None
    for attempt in range(attempts):
        try:
            return fn()
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or attempt == attempts - 1:
                raise
            wall = wall or RealClock()
            wall.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")
