"""The SQLite store's schema and statements: what a row holds and how writes are applied.

Indexes are chosen for the write path: every indexed column of a job (``id``, ``created_at``,
``session_id``, ``owner``, ``user``) or a session (``id``, ``created_at``, ``user``) never
changes after the insert (but for ``owner`` when a runtime adopts the work of a process that
is gone), and updates set only the columns that can change (status, name, tags, state,
record), so an update rewrites the row and never an index entry. Status filters scan;
owner, user (but the embedded user ""), session, time and tag filters do not.

Schema versions: 1, the first; 2 adds the ``user`` column of jobs and sessions (NULL for
embedded use, with partial indexes) and the ``tokens`` table; 3 adds ``payload_parts``, the
large circuits of payloads stored once (:mod:`.payload_parts`: a payload may then name
them, which a version-2 reader would not understand). A store file written by an
older version is migrated when it is opened for writing (:data:`MIGRATIONS`, in the opening
transaction); opened read-only, a version-2 file is read as it is (:data:`READ_ONLY_FROM`).

:func:`apply_writes` applies a group of coalesced writes (:class:`JobWrite`,
:class:`SessionWrite`) in few statements: one multi-row ``INSERT`` per table for the new
jobs, one statement per updated row. It runs inside the caller's transaction.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ..clock import RealClock
from ..ir.encoding import compact
from ..job_record import FINAL_STATES, PENDING_STATES, JobRecord
from ..session import SessionRecord, SessionState
from .payload_parts import PartHashes, split_parts
from .protocol import JobQuery, RecordQuery, SessionQuery

_log = logging.getLogger("qsession_provider.store")

SCHEMA_VERSION = 3
#: The oldest schema a read-only open reads without migrating it: version 3 only adds
#: ``payload_parts``, which a version-2 store's whole payloads do not use.
READ_ONLY_FROM = 2

SCHEMA = """
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
    record TEXT NOT NULL,
    user TEXT
);
CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at, seq);
CREATE INDEX IF NOT EXISTS jobs_by_session ON jobs (session_id) WHERE session_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner);
CREATE TABLE IF NOT EXISTS job_data (
    job_id TEXT PRIMARY KEY,
    payload TEXT NOT NULL,
    result TEXT
);
CREATE TABLE IF NOT EXISTS payload_parts (hash TEXT PRIMARY KEY, text TEXT NOT NULL);
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
    record TEXT NOT NULL,
    user TEXT
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
CREATE TABLE IF NOT EXISTS tokens (
    name TEXT PRIMARY KEY,
    token_hash TEXT NOT NULL UNIQUE,
    instance TEXT NOT NULL,
    share REAL NOT NULL,
    admin INTEGER NOT NULL,
    created_at REAL NOT NULL
);
"""

#: Statements that bring a store of version ``v`` (the key) to ``v + 1``.
MIGRATIONS: dict[int, tuple[str, ...]] = {
    1: (
        "ALTER TABLE jobs ADD COLUMN user TEXT",
        "ALTER TABLE sessions ADD COLUMN user TEXT",
    ),
    2: ("CREATE TABLE IF NOT EXISTS payload_parts (hash TEXT PRIMARY KEY, text TEXT NOT NULL)",),
}

#: Indexes on columns a migration may have added: created after migrating. The ``user``
#: column is NULL for embedded use (user ""), so these partial indexes cost an embedded
#: runtime nothing; a query for one user (``user = ?``) uses them, newest first.
INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user, created_at, seq) WHERE user IS NOT NULL;
CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user, created_at, seq)
    WHERE user IS NOT NULL;
"""

FINAL = tuple(s.value for s in FINAL_STATES)
PENDING = tuple(s.value for s in PENDING_STATES)
CLOSED = SessionState.CLOSED.value

_JOB_INSERT_COLUMNS = (
    "id, device, status, program_id, session_id, instance, name, created_at, owner, user, tags, "
    "record"
)
_SESSION_INSERT = (
    "INSERT INTO sessions (id, device, state, mode, instance, name, created_at, owner, user, "
    "record) VALUES (?,?,?,?,?,?,?,?,?,?)"
)
#: A job update never touches an indexed column; it refuses to leave a final status.
_JOB_UPDATE = (
    "UPDATE jobs SET status=?, name=?, tags=?, record=? WHERE id=? "
    f"AND (status NOT IN ({','.join('?' * len(FINAL))}) OR status=?)"
)
_SESSION_UPDATE = "UPDATE sessions SET state=?, name=?, record=? WHERE id=? AND (state!=? OR ?=?)"
#: Rows per multi-row INSERT: each statement releases the GIL while SQLite works, so a
#: small chunk keeps the writer's stretches of Python (which other threads wait for) short.
_INSERT_CHUNK = 16


# -- coalesced writes ---------------------------------------------------------------------------
@dataclass(slots=True)
class JobWrite:
    """Everything written to one job since the last commit: its latest record (with its
    metadata as JSON data, copied when written), its payload if the job is new (an
    INSERT), its result if one was given, whether its tags changed."""

    record: JobRecord
    metadata: Any
    payload: str | None = None
    result: str | None = None
    tags_changed: bool = False

    def merge(self, later: JobWrite) -> None:
        """Fold a later write of the same job into this one."""
        self.record = later.record
        self.metadata = later.metadata
        if later.result is not None:
            self.result = later.result
        self.tags_changed = self.tags_changed or later.tags_changed


@dataclass(slots=True)
class SessionWrite:
    """A stored session's latest record since the last commit (metadata as for
    :class:`JobWrite`)."""

    record: SessionRecord
    metadata: Any

    def merge(self, later: SessionWrite) -> None:
        """Fold a later write of the same session into this one."""
        self.record = later.record
        self.metadata = later.metadata


def record_text(record: JobRecord | SessionRecord, metadata: Any) -> str:
    """The stored JSON text of ``record`` with ``metadata`` (JSON data) as its metadata."""
    return record.to_json_text(metadata=metadata)


def apply_writes(
    cur: sqlite3.Cursor,
    writes: Iterable[JobWrite | SessionWrite],
    parts: PartHashes | None = None,
) -> list[str]:
    """Apply coalesced writes inside the caller's transaction; return the hashes of the
    payload parts it inserted (``parts``: keep large circuits once, see
    :mod:`.payload_parts`; None: store payloads whole).

    An update that would move a stored final job (or a closed session) is skipped and
    logged: another process finalised it first, and final states never change.
    """
    new_jobs: list[JobWrite] = []
    job_updates: list[JobWrite] = []
    session_updates: list[SessionWrite] = []
    for write in writes:
        if isinstance(write, JobWrite):
            (new_jobs if write.payload is not None else job_updates).append(write)
        else:
            session_updates.append(write)
    inserted = insert_jobs(cur, new_jobs, parts)
    for write in job_updates:
        text = record_text(write.record, write.metadata)
        if not update_job_row(
            cur, write.record, write.result, tags_changed=write.tags_changed, text=text
        ):
            _log.warning(
                "job %s was finalised in the store by another process; its %s state is kept "
                "in memory only",
                write.record.id,
                write.record.status.value,
            )
    for s in session_updates:
        if not update_session_row(cur, s.record, text=record_text(s.record, s.metadata)):
            _log.warning("session %s was closed in the store by another process", s.record.id)
    return inserted


def insert_jobs(
    cur: sqlite3.Cursor, writes: Sequence[JobWrite], parts: PartHashes | None = None
) -> list[str]:
    """INSERT new jobs (rows, payloads and results, tags), a chunk of rows per statement;
    with ``parts``, each payload's large circuits once (returns the part hashes inserted)."""
    inserted: dict[str, str] = {}
    for start in range(0, len(writes), _INSERT_CHUNK):
        chunk = writes[start : start + _INSERT_CHUNK]
        rows: list[Any] = []
        data: list[Any] = []
        for w in chunk:
            r = w.record
            rows += (*job_columns(r), record_text(r, w.metadata))
            payload = w.payload
            if parts is not None and payload is not None:
                payload, new = split_parts(payload, parts)
                inserted.update(new)
            data += (r.id, payload, w.result)
        n = len(chunk)
        cur.execute(
            f"INSERT INTO jobs ({_JOB_INSERT_COLUMNS}) VALUES "
            + ",".join(["(?,?,?,?,?,?,?,?,?,?,?,?)"] * n),
            rows,
        )
        cur.execute(
            "INSERT INTO job_data (job_id, payload, result) VALUES " + ",".join(["(?,?,?)"] * n),
            data,
        )
    tags = [(w.record.id, tag) for w in writes for tag in w.record.tags]
    if tags:
        cur.executemany("INSERT OR IGNORE INTO job_tags (job_id, tag) VALUES (?, ?)", tags)
    if inserted:
        cur.executemany(
            "INSERT OR IGNORE INTO payload_parts (hash, text) VALUES (?, ?)", inserted.items()
        )
    return list(inserted)


def update_job_row(
    cur: sqlite3.Cursor,
    record: JobRecord,
    result: str | None,
    *,
    tags_changed: bool,
    text: str | None = None,
) -> bool:
    """UPDATE a stored job (``text``: its record text, if made already); False (nothing
    changed) if its stored status is final and differs, or if there is no such row."""
    status = record.status.value
    text = record.to_json_text() if text is None else text
    cur.execute(
        _JOB_UPDATE, (status, record.name, tags_text(record), text, record.id, *FINAL, status)
    )
    if cur.rowcount == 0:
        return False
    if tags_changed:
        cur.execute("DELETE FROM job_tags WHERE job_id = ?", (record.id,))
        if record.tags:
            cur.executemany(
                "INSERT OR IGNORE INTO job_tags (job_id, tag) VALUES (?, ?)",
                [(record.id, tag) for tag in record.tags],
            )
    if result is not None:
        cur.execute("UPDATE job_data SET result = ? WHERE job_id = ?", (result, record.id))
    return True


def update_session_row(
    cur: sqlite3.Cursor, record: SessionRecord, *, text: str | None = None
) -> bool:
    """UPDATE a stored session (``text`` as for :func:`update_job_row`); False (nothing
    changed) if it is closed and ``record`` is not, or if there is no such row."""
    state = record.state.value
    text = record.to_json_text() if text is None else text
    cur.execute(_SESSION_UPDATE, (state, record.name, text, record.id, CLOSED, state, CLOSED))
    return cur.rowcount > 0


def add_session_row(cur: sqlite3.Cursor, record: SessionRecord) -> None:
    """INSERT a session (raises ``sqlite3.IntegrityError`` for a taken id)."""
    cur.execute(_SESSION_INSERT, (*session_columns(record), record.to_json_text()))


# -- columns ------------------------------------------------------------------------------------
def tags_text(r: JobRecord) -> str:
    return compact(list(r.tags)) if r.tags else "[]"


def job_columns(r: JobRecord) -> tuple[Any, ...]:
    """The searchable columns of ``jobs`` (everything but ``seq`` and ``record``)."""
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
        r.user or None,
        tags_text(r),
    )


def session_columns(r: SessionRecord) -> tuple[Any, ...]:
    """The searchable columns of ``sessions`` (everything but ``seq`` and ``record``)."""
    return (
        r.id,
        r.device,
        r.state.value,
        r.mode.value,
        r.instance,
        r.name,
        r.created_at,
        r.owner,
        r.user or None,
    )


# -- queries ------------------------------------------------------------------------------------
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


def _shared_filters(query: RecordQuery) -> tuple[list[str], list[Any]]:
    """Clauses and parameters of the filters jobs and sessions share."""
    clauses: list[str] = []
    params: list[Any] = []
    _eq(clauses, params, "device", query.device)
    _eq(clauses, params, "instance", query.instance)
    _eq(clauses, params, "owner", query.owner)
    if query.user == "":
        clauses.append("user IS NULL")  # embedded records (see INDEXES)
    else:
        _eq(clauses, params, "user", query.user)
    if query.created_after is not None:
        clauses.append("created_at >= ?")
        params.append(query.created_after)
    if query.created_before is not None:
        clauses.append("created_at <= ?")
        params.append(query.created_before)
    prefix = query.name_prefix
    if prefix is not None:
        # substr() rather than LIKE: no wildcard escaping, and case-sensitive like str.startswith.
        clauses.append("substr(name, 1, ?) = ?")
        params.extend((len(prefix), prefix))
    return clauses, params


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def job_filters(query: JobQuery) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` for a job query (``""`` when it filters nothing)."""
    clauses, params = _shared_filters(query)
    _eq(clauses, params, "program_id", query.program_id)
    _eq(clauses, params, "session_id", query.session_id)
    if query.statuses is not None:
        _in(clauses, params, "status", [s.value for s in query.statuses])
    tags = sorted(set(query.tags))
    if tags:
        clauses.append(
            f"id IN (SELECT job_id FROM job_tags WHERE tag IN ({','.join('?' * len(tags))}) "
            "GROUP BY job_id HAVING COUNT(*) = ?)"
        )
        params.extend((*tags, len(tags)))
    return _where(clauses), params


#: Job counts by session and status for the ``{marks}`` session ids (uses ``jobs_by_session``).
COUNT_BY_SESSION = (
    "SELECT session_id, status, COUNT(*) FROM jobs WHERE session_id IN ({marks}) "
    "GROUP BY session_id, status"
)


def session_filters(query: SessionQuery) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` for a session query."""
    clauses, params = _shared_filters(query)
    _eq(clauses, params, "mode", None if query.mode is None else query.mode.value)
    if query.states is not None:
        _in(clauses, params, "state", [s.value for s in query.states])
    return _where(clauses), params


def retry_locked(fn: Any, attempts: int = 50) -> Any:
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
