"""The persistent store: one SQLite file (stdlib ``sqlite3``, WAL) shared by processes.

Where the file is: the ``path`` argument, else the ``QSESSION_STORE`` environment
variable, else ``store.sqlite3`` in the user data directory
(``platformdirs.user_data_dir("qsession_provider")``, e.g.
``~/.local/share/qsession_provider/`` on Linux). ``":memory:"`` gives a private
in-memory database.

Concurrency: the store is safe across threads (locks) and processes (SQLite's file
locking: WAL mode, a busy timeout, write transactions started with ``BEGIN IMMEDIATE``).
Records are JSON text; payloads and results are the runtime's
:mod:`~qsession_provider.core.ir.encoding` text. The schema and statements are in
:mod:`~.sqlite_sql`.

**Write-behind (group commit).** Job and session writes (``add_job``, ``update_job``,
``add_session``, ``update_session``) are coalesced in memory and committed by a writer
thread, a group per transaction (:mod:`~.sqlite_writer`): a write returns before it is
on disk, and everything this process wrote is committed within a commit's time (about a
millisecond; while a loop of tiny jobs keeps the interpreter busy, a write waiting longer
than :data:`~.sqlite_writer.MAX_LAG`, 10 ms, makes the next writer wait for the commit).
Reads, the other writes and :meth:`SQLiteStore.flush` wait for the writer first, so a
process always reads its own writes and other processes see them as soon as they are
committed; closing the store, shutting its runtime down and leaving the interpreter
flush (each waits at most :data:`~.sqlite_writer.CLOSE_LIMIT` seconds; a flush at most
:data:`~.sqlite_writer.FLUSH_LIMIT` unless told otherwise). What a crash of the process
can lose is the last group not yet committed: jobs whose results the process itself had
just received. ``write_behind=False`` commits every write before it returns instead (the
choice for ``":memory:"``).

**Failures.** A record SQLite rejects is dropped alone, logged and reported by the next
flush; a store that fails (full disk, I/O error) holds the writes in memory and turns
synchronous until a commit succeeds: every write and read raises its
:class:`~qsession_provider.errors.StoreError` meanwhile (see :mod:`~.sqlite_writer`).
New files are private: mode 0600 (SQLite gives ``-wal`` and ``-shm`` the same), new
directories 0700, and the default data directory is made 0700.

**Opening.** A file that is not an SQLite database, is damaged (truncated), belongs to
another program (tables but no store schema; left unchanged) or is read-only raises a
:class:`~qsession_provider.errors.StoreError` naming the path and the fault
(:mod:`~.sqlite_open`). ``read_only=True`` reads an existing store without writing
anything (not even the journal mode): listings of a file this user may not write.

The store keeps in memory the status of the jobs it wrote whose final state is not
committed yet (and the state of its open sessions), which is how ``update_job`` and
``update_session`` refuse to leave a final status without reading the database; for any
other job or session they read and write the database directly.

Write batches: :meth:`SQLiteStore.batch` groups the writes made inside it by one thread
into one transaction: a job submitted, run and finished inside a batch is one INSERT.
The runtime batches the writes of a submission and of a job's end.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import logging
import os
import sqlite3
import threading
import urllib.parse
import weakref
from collections.abc import Collection, Sequence
from typing import Any

from ...errors import (
    AlreadyExistsError,
    InputError,
    JobNotFoundError,
    SessionNotFoundError,
    StoreError,
)
from ..ir.encoding import to_jsonable
from ..job_record import JobRecord, JobStatus
from ..session import SessionRecord, SessionState
from .payload_parts import PartHashes, join_parts
from .postgres_open import is_postgres_url
from .processes import ProcessRecord
from .protocol import Adoption, JobQuery, OrphanReport, SessionQuery
from .sqlite_open import check_ours, check_schema_version, open_error
from .sqlite_sql import (
    COUNT_BY_SESSION,
    FINAL,
    INDEXES,
    MIGRATIONS,
    SCHEMA,
    SCHEMA_VERSION,
    JobWrite,
    SessionWrite,
    add_session_row,
    apply_writes,
    job_filters,
    retry_locked,
    session_filters,
    tags_text,
    update_job_row,
    update_session_row,
)
from .sqlite_sweep import adopt_orphan_rows, mark_orphan_rows
from .sqlite_tokens import SQLiteTokens
from .sqlite_writer import CLOSE_LIMIT, GroupCommit, Write, WriteKey, merge_write

__all__ = ["SQLiteStore", "default_store_path", "resolve_store_path", "STORE_ENV_VAR"]

_log = logging.getLogger("qsession_provider.store")

#: Environment variable that overrides the default store file.
STORE_ENV_VAR = "QSESSION_STORE"


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
    if raw == ":memory:" or is_postgres_url(raw):  # a PostgreSQL URL is kept as it is
        return raw
    return os.path.realpath(os.path.expanduser(raw))


#: Mode of a store file this package creates (SQLite gives its ``-wal`` and ``-shm`` the same).
FILE_MODE = 0o600
#: Mode of the directories created for a store, and of the default data directory.
DIR_MODE = 0o700


def _create_private(location: str, *, own_dir: bool) -> None:
    """Create the store file (mode :data:`FILE_MODE`) and its missing parent directories
    (:data:`DIR_MODE`) unless they exist; ``own_dir``: the default data directory, made
    private even if it exists. An existing file keeps its mode (sharing it is a choice).

    Raises:
        StoreError: the directory or file cannot be created (the message names the path).
    """
    directory = os.path.dirname(location) or "."
    try:
        os.makedirs(directory, mode=DIR_MODE, exist_ok=True)
        if own_dir:
            os.chmod(directory, DIR_MODE)
        try:
            fd = os.open(location, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE)
        except FileExistsError:
            return
    except OSError as exc:
        raise StoreError(f"cannot create the store at {location}: {exc}") from exc
    os.close(fd)


#: Stores with a writer thread, flushed when the interpreter exits.
_OPEN: weakref.WeakSet[SQLiteStore] = weakref.WeakSet()


class SQLiteStore(SQLiteTokens):
    """The SQLite implementation of :class:`~qsession_provider.core.store.protocol.Store`.

    Args:
        path: database file, ``":memory:"``, or None for :func:`default_store_path`.
            A new file is created private (mode 0600, and its parent directories 0700;
            the default data directory is made 0700 even if it exists).
        busy_timeout: seconds to wait for another process's write lock.
        write_behind: commit job and session writes in a writer thread (the default for
            a file; see the module docstring), or before each write returns (False; the
            only choice for ``":memory:"`` and ``read_only``).
        read_only: open an existing store for reading only (e.g. a file this user may
            not write): nothing is created, migrated or written, not even the journal
            mode; every write raises :class:`~qsession_provider.errors.StoreError`.

    A file written by an older schema version is migrated when it is opened
    (:mod:`~.sqlite_sql`); opened ``read_only`` it is refused instead.

    Raises:
        StoreError: the file cannot be opened, is not an SQLite database, is damaged
            (e.g. truncated), is another program's SQLite database, is read-only (without
            ``read_only``), or was written by a newer schema; the message names the path.
        InputError: ``write_behind=True`` with ``":memory:"`` or ``read_only``.
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None = None,
        *,
        busy_timeout: float = 30.0,
        write_behind: bool | None = None,
        read_only: bool = False,
    ) -> None:
        self.location = resolve_store_path(path)
        memory = self.location == ":memory:"
        if write_behind and memory:
            raise InputError("write_behind needs a store file, not ':memory:'")
        if write_behind and read_only:
            raise InputError("write_behind needs a writable store, not read_only=True")
        #: Opened for reading only (see the class docstring).
        self.read_only = bool(read_only)
        self.write_behind = (
            not memory and not read_only if write_behind is None else bool(write_behind)
        )
        if read_only and not memory and not os.path.isfile(self.location):
            raise StoreError(f"cannot open the store at {self.location} read-only: no such file")
        if not memory and not read_only:
            _create_private(
                self.location, own_dir=path is None and not os.environ.get(STORE_ENV_VAR)
            )
        #: Guards the write connection (and, for ":memory:", reads too).
        self._lock = threading.RLock()
        self._db = self._connect(busy_timeout)
        self._closed = False
        try:
            try:
                self._setup(busy_timeout)
            except sqlite3.Error as exc:
                raise StoreError(open_error(self.location, exc)) from exc
            # A file gets a second connection for reads: WAL readers never wait for the writer.
            single = memory or self.read_only
            self._reader = self._db if single else self._connect(busy_timeout)
        except BaseException:
            self._db.close()
            raise
        self._read_lock = self._lock if single else threading.Lock()
        #: Per thread: the writes staged by its open batch (None outside a batch).
        self._local = threading.local()
        #: Jobs written here whose final state is not committed yet: id -> (status, tags,
        #: the metadata dict last written, and the JSON data copied from it then).
        self._jobs: dict[str, tuple[Any, tuple[str, ...], Any, Any]] = {}
        #: Sessions written here, not committed closed yet: id -> state.
        self._sessions: dict[str, SessionState] = {}
        #: Large circuits of payloads, stored once (payload_parts.py).
        self._parts = PartHashes()
        self._writes = GroupCommit(self._commit, self._committed, background=self.write_behind)
        if self.write_behind:
            _OPEN.add(self)

    # -- setup ---------------------------------------------------------------------------------
    def _connect(self, busy_timeout: float) -> sqlite3.Connection:
        target, uri = self.location, False
        if self.read_only and self.location != ":memory:":
            target, uri = "file:" + urllib.parse.quote(self.location) + "?mode=ro", True
        try:
            db = sqlite3.connect(
                target,
                timeout=busy_timeout,
                isolation_level=None,  # we issue BEGIN IMMEDIATE / COMMIT ourselves
                check_same_thread=False,  # guarded by our locks
                uri=uri,
            )
            db.execute(f"PRAGMA busy_timeout = {int(busy_timeout * 1000)}")
        except sqlite3.Error as exc:
            raise StoreError(open_error(self.location, exc)) from exc
        return db

    def _setup(self, busy_timeout: float) -> None:
        db = self._db
        fresh = check_ours(self.location, db)  # before anything is written to another's file
        if self.read_only:
            if fresh:
                raise StoreError(
                    f"the store at {self.location} is empty (not a store yet): nothing to read"
                )
            check_schema_version(self.location, db, read_only=True)
            return
        if self.location != ":memory:":
            mode = retry_locked(lambda: db.execute("PRAGMA journal_mode = WAL").fetchone()[0])
            if str(mode).lower() != "wal":
                raise StoreError(f"cannot switch {self.location} to WAL mode (got {mode})")
        db.execute("PRAGMA synchronous = NORMAL")
        with self._tx() as cur:
            for statement in SCHEMA.split(";"):
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
            elif int(row[0]) < SCHEMA_VERSION:
                for version in range(int(row[0]), SCHEMA_VERSION):
                    for statement in MIGRATIONS.get(version, ()):
                        cur.execute(statement)
                cur.execute(
                    "UPDATE meta SET value = ? WHERE key = 'schema_version'", (str(SCHEMA_VERSION),)
                )
            for statement in INDEXES.split(";"):
                if statement.strip():
                    cur.execute(statement)
            # Each process's clock (processes.py): a column added in place, no new schema
            # version (older versions name their columns, so they read and write on).
            if not _has_column(cur, "processes", "clock"):
                cur.execute("ALTER TABLE processes ADD COLUMN clock TEXT NOT NULL DEFAULT ''")
            # A write that changes nothing: a file SQLite opened read-only (no write
            # permission) fails here, at open, rather than at the first job's write.
            cur.execute("UPDATE meta SET value = value WHERE key = 'schema_version'")

    # -- batches and the write queue -----------------------------------------------------------
    def batch(self) -> _Batch:
        """Group this thread's job and session writes of the block into one transaction.

        The writes are committed together after the block exits (in the background with
        write-behind; before the block exits otherwise, raising
        :class:`~qsession_provider.errors.StoreError` if the commit fails, with none of
        them kept). Each write is still checked when it is made. Nested batches join the
        outermost one; a read inside a batch first hands the batch's writes so far over.
        """
        return _Batch(self)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until every write made so far (by any thread) is committed.

        Raises:
            StoreError: a background write failed since the last flush (it was logged and
                dropped), or ``timeout`` seconds passed first.
        """
        staged = getattr(self._local, "staged", None)
        if staged:
            self._local.staged = {}
            with self._writes.lock:
                self._writes.publish(staged)
        self._writes.flush(timeout)

    def _stage(self, key: WriteKey, write: Write) -> None:
        """Queue one write (call with ``self._writes.lock`` held)."""
        staged = getattr(self._local, "staged", None)
        if staged is not None:
            merge_write(staged, key, write)
        else:
            self._writes.publish({key: write})

    def _commit(self, group: list[Write]) -> None:
        """Apply ``group`` in one transaction (the writer thread, or a foreground caller)."""
        with self._lock:
            self._check_open()
            cur = self._db.cursor()
            self._begin(cur)
            try:
                inserted = apply_writes(cur, group, self._parts)
                self._db.execute("COMMIT")
            except BaseException as error:
                # Whatever failed (SQLite, or text it cannot encode), no transaction stays
                # open: an open one would lock the file for every other process.
                with contextlib.suppress(sqlite3.Error):
                    self._db.execute("ROLLBACK")
                if isinstance(error, StoreError) or not isinstance(error, Exception):
                    raise
                raise StoreError(f"cannot write to store {self.location}: {error}") from error
            self._parts.mark_stored(inserted)

    def _committed(self, group: list[Write], stored: bool) -> None:
        """Forget the rows whose final state is now stored, and those whose write failed
        (later writes go to the database directly). Called with ``self._writes.lock`` held."""
        for write in group:
            ident = write.record.id
            if not stored:
                (self._jobs if isinstance(write, JobWrite) else self._sessions).pop(ident, None)
            elif isinstance(write, JobWrite):
                known = self._jobs.get(ident)
                if known is not None and known[0].value in FINAL:
                    del self._jobs[ident]
            elif self._sessions.get(ident) is SessionState.CLOSED:
                del self._sessions[ident]

    def _begin(self, cur: sqlite3.Cursor) -> None:
        self._check_writable()
        try:
            retry_locked(lambda: cur.execute("BEGIN IMMEDIATE"))
        except sqlite3.Error as exc:
            if "readonly" in str(exc).lower():
                raise StoreError(open_error(self.location, exc)) from exc
            raise StoreError(f"store {self.location} is busy: {exc}") from exc

    def _tx(self) -> _Transaction:
        """A direct write transaction on the write connection; ``with`` gives its cursor."""
        return _Transaction(self)

    def _read(self, sql: str, params: Sequence[Any] = (), *, flush: bool = True) -> list[Any]:
        """Rows of a query on the reader (after the writer's backlog, unless not ``flush``)."""
        self._check_open()
        if flush:
            self.flush()
        with self._read_lock:
            self._check_open()
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read store {self.location}: {exc}") from exc

    def _exists(self, sql: str, ident: str) -> bool:
        """Whether a committed row matches (no flush: callers check what waits themselves)."""
        with self._read_lock:
            try:
                return self._reader.execute(sql, (ident,)).fetchone() is not None
            except sqlite3.Error as exc:
                raise StoreError(f"cannot read store {self.location}: {exc}") from exc

    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _check_writable(self) -> None:
        if self.read_only:
            raise StoreError(
                f"the store at {self.location} is opened read-only (read_only=True): "
                "it cannot be written"
            )

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, record: JobRecord, payload: str, *, fresh: bool = False) -> None:
        self._check_open()
        self._check_writable()
        with self._writes.lock:
            # A job not committed yet is in self._jobs until its final state is committed.
            if record.id in self._jobs or (
                not fresh and self._exists("SELECT 1 FROM jobs WHERE id = ?", record.id)
            ):
                raise AlreadyExistsError(f"a job with id {record.id!r} already exists")
            metadata = _snapshot(record)
            self._jobs[record.id] = (record.status, record.tags, record.metadata, metadata)
            try:
                self._stage(("job", record.id), JobWrite(record, metadata, payload))
            except StoreError:
                self._jobs.pop(record.id, None)
                raise

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        self._check_open()
        with self._writes.lock:
            known = self._jobs.get(record.id)
            if known is not None:
                status, tags, written, metadata = known
                if status.value in FINAL and status is not record.status:
                    return False
                # The same, unchanged metadata as last time (the usual case): same copy.
                if record.metadata is not written or not _unchanged(record.metadata, metadata):
                    metadata = _snapshot(record)
                self._jobs[record.id] = (record.status, record.tags, record.metadata, metadata)
                write = JobWrite(record, metadata, None, result, tags != record.tags)
                self._stage(("job", record.id), write)
                return True
        # Not a job of ours in flight: read and write the database directly.
        self.flush()
        with self._tx() as cur:
            row = cur.execute("SELECT status, tags FROM jobs WHERE id = ?", (record.id,)).fetchone()
            if row is None:
                raise JobNotFoundError(f"no job with id {record.id!r}")
            return update_job_row(cur, record, result, tags_changed=row[1] != tags_text(record))

    def get_job(self, job_id: str) -> JobRecord:
        rows = self._read("SELECT record FROM jobs WHERE id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return JobRecord.from_json(json.loads(rows[0][0]))

    def get_payload(self, job_id: str) -> str:
        rows = self._read("SELECT payload FROM job_data WHERE job_id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return join_parts(str(rows[0][0]), self._read_parts)

    def _read_parts(self, hashes: list[str]) -> dict[str, str]:
        """Payload parts by hash (:mod:`.payload_parts`)."""
        marks = ",".join("?" * len(hashes))
        rows = self._read(f"SELECT hash, text FROM payload_parts WHERE hash IN ({marks})", hashes)
        return {str(digest): str(text) for digest, text in rows}

    def get_result(self, job_id: str) -> str | None:
        rows = self._read("SELECT result FROM job_data WHERE job_id = ?", (job_id,))
        if not rows:
            raise JobNotFoundError(f"no job with id {job_id!r}")
        return None if rows[0][0] is None else str(rows[0][0])

    def query_jobs(self, query: JobQuery) -> list[JobRecord]:
        where, params = job_filters(query)
        order = "DESC" if query.descending else "ASC"
        sql = (
            f"SELECT record FROM jobs{where} ORDER BY created_at {order}, seq {order} "
            "LIMIT ? OFFSET ?"
        )
        limit = -1 if query.limit is None else query.limit
        rows = self._read(sql, (*params, limit, query.skip))
        return [JobRecord.from_json(json.loads(r[0])) for r in rows]

    def count_jobs(self, query: JobQuery) -> int:
        where, params = job_filters(query)
        return int(self._read(f"SELECT COUNT(*) FROM jobs{where}", params)[0][0])

    def count_jobs_by_session(
        self, session_ids: Collection[str]
    ) -> dict[str, dict[JobStatus, int]]:
        ids = sorted(set(session_ids))
        counts: dict[str, dict[JobStatus, int]] = {}
        for start in range(0, len(ids), 500):  # under SQLite's bound-parameter limit
            chunk = ids[start : start + 500]
            rows = self._read(COUNT_BY_SESSION.format(marks=",".join("?" * len(chunk))), chunk)
            for session_id, status, count in rows:
                counts.setdefault(session_id, {})[JobStatus(status)] = int(count)
        return counts

    def delete_job(self, job_id: str) -> None:
        self.flush()
        with self._tx() as cur:
            if cur.execute("DELETE FROM jobs WHERE id = ?", (job_id,)).rowcount == 0:
                raise JobNotFoundError(f"no job with id {job_id!r}")
            cur.execute("DELETE FROM job_data WHERE job_id = ?", (job_id,))
            cur.execute("DELETE FROM job_tags WHERE job_id = ?", (job_id,))
        with self._writes.lock:
            self._jobs.pop(job_id, None)

    # -- sessions ------------------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        # Written at once (sessions are few): another process can look it up right away.
        self.flush()
        try:
            with self._tx() as cur:
                add_session_row(cur, record)
        except sqlite3.IntegrityError:
            raise AlreadyExistsError(f"a session with id {record.id!r} already exists") from None
        with self._writes.lock:
            self._sessions[record.id] = record.state

    def update_session(self, record: SessionRecord) -> bool:
        self._check_open()
        with self._writes.lock:
            state = self._sessions.get(record.id)
            if state is not None:
                if state is SessionState.CLOSED and record.state is not SessionState.CLOSED:
                    return False
                self._sessions[record.id] = record.state
                self._stage(("session", record.id), SessionWrite(record, _snapshot(record)))
        if state is not None:
            if record.state is SessionState.CLOSED:
                self.flush()  # a close is committed before the call returns
            return True
        self.flush()
        with self._tx() as cur:
            if cur.execute("SELECT 1 FROM sessions WHERE id = ?", (record.id,)).fetchone() is None:
                raise SessionNotFoundError(f"no session with id {record.id!r}")
            return update_session_row(cur, record)

    def get_session(self, session_id: str) -> SessionRecord:
        rows = self._read("SELECT record FROM sessions WHERE id = ?", (session_id,))
        if not rows:
            raise SessionNotFoundError(f"no session with id {session_id!r}")
        return SessionRecord.from_json(json.loads(rows[0][0]))

    def query_sessions(self, query: SessionQuery) -> list[SessionRecord]:
        where, params = session_filters(query)
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
                "heartbeat, clock) VALUES (?,?,?,?,?,?,?)",
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
        with self._tx() as cur:
            cur.execute("UPDATE processes SET heartbeat = ? WHERE id = ?", (now, process_id))

    def unregister_process(self, process_id: str) -> None:
        # Our writes land first: once we are gone, others may sweep what we left unfinished.
        self.flush()
        with self._tx() as cur:
            cur.execute("DELETE FROM processes WHERE id = ?", (process_id,))

    def processes(self) -> list[ProcessRecord]:
        clock = "clock" if self._clocks_known() else "''"  # a store opened read-only
        rows = self._read(
            f"SELECT id, pid, hostname, start_token, started_at, heartbeat, {clock} FROM processes"
        )
        return [ProcessRecord(*row) for row in rows]

    def _clocks_known(self) -> bool:
        """Whether the processes table has its ``clock`` column (added at a writable open)."""
        if not self.read_only:
            return True
        with self._read_lock:
            return _has_column(self._reader.cursor(), "processes", "clock")

    def mark_orphans(self, process_ids: Collection[str], now: float) -> OrphanReport:
        owners = sorted(set(process_ids))
        if not owners:
            return OrphanReport()
        self.flush()
        with self._tx() as cur:
            return mark_orphan_rows(cur, owners, now)

    def adopt_orphans(self, process_ids: Collection[str], owner: str) -> Adoption:
        self.flush()
        with self._tx() as cur:
            adopted = adopt_orphan_rows(cur, sorted(set(process_ids)), owner)
        # Ours now: later writes of these records go through the writer like our own.
        with self._writes.lock:
            for job in adopted.jobs:
                mine = job.replace(owner=owner)
                self._jobs[job.id] = (mine.status, mine.tags, mine.metadata, _snapshot(mine))
            for session in adopted.sessions:
                self._sessions[session.id] = session.state
        return adopted

    def close(self) -> None:
        """Commit what waits, then close the database (idempotent)."""
        if self._closed:
            return
        try:
            self.flush(timeout=CLOSE_LIMIT)
        except StoreError:
            pass  # logged: by the writer (a dropped write), by close() below (held writes)
        finally:
            self._writes.close()
            with self._lock, self._read_lock:
                if not self._closed:
                    self._closed = True
                    self._db.close()
                    if self._reader is not self._db:
                        self._reader.close()
            _OPEN.discard(self)

    def __repr__(self) -> str:
        return f"SQLiteStore({self.location!r})"


@atexit.register
def _flush_open_stores() -> None:
    """Leaving the interpreter commits what the writers still hold (waiting at most
    :data:`~.sqlite_writer.CLOSE_LIMIT` seconds per store); what cannot be is logged."""
    for store in list(_OPEN):
        try:
            store.flush(timeout=CLOSE_LIMIT)
        except StoreError as exc:
            _log.error("leaving the interpreter, store %s: %s", store.location, exc)
        except Exception:  # noqa: S110 - the interpreter is going away: never block it
            pass


def _has_column(cur: sqlite3.Cursor, table: str, column: str) -> bool:
    return any(row[1] == column for row in cur.execute(f"PRAGMA table_info({table})"))


def _unchanged(metadata: Any, snapshot: Any) -> bool:
    """True if ``metadata`` still equals its stored snapshot (metadata holding numpy arrays,
    which do not compare to one truth value, counts as changed)."""
    try:
        return bool(metadata == snapshot)
    except (ValueError, TypeError):
        return False


def _snapshot(record: JobRecord | SessionRecord) -> Any:
    """The record's metadata as JSON data, copied now (the caller may change its dict)."""
    return to_jsonable(record.metadata) if record.metadata else {}


# -- transactions -------------------------------------------------------------------------------
class _Batch:
    """The context manager of :meth:`SQLiteStore.batch` (this thread's staged writes)."""

    __slots__ = ("_store", "_outer")

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        self._outer = False

    def __enter__(self) -> None:
        local = self._store._local
        if getattr(local, "staged", None) is None:
            local.staged = {}
            self._outer = True

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._outer:
            return
        store = self._store
        staged: dict[WriteKey, Write] = store._local.staged
        store._local.staged = None
        if staged:
            with store._writes.lock:
                store._writes.publish(staged)


class _Transaction:
    """The context manager of :meth:`SQLiteStore._tx`: BEGIN IMMEDIATE ... COMMIT."""

    __slots__ = ("_store",)

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def __enter__(self) -> sqlite3.Cursor:
        store = self._store
        store._lock.acquire()
        try:
            store._check_open()
            cur = store._db.cursor()
            store._begin(cur)
        except BaseException:
            store._lock.release()
            raise
        return cur

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        store = self._store
        db = store._db
        try:
            if exc_type is not None:
                db.execute("ROLLBACK")
            else:
                try:
                    db.execute("COMMIT")
                except sqlite3.Error as error:
                    db.execute("ROLLBACK")
                    raise StoreError(f"cannot write to store {store.location}: {error}") from error
        finally:
            store._lock.release()
