"""The PostgreSQL store's schema and statements (psycopg placeholders: ``%s``).

The tables hold what SQLite's do (:mod:`~.sqlite_sql`): a job's searchable columns and its
record as JSON text, its payload and result in ``job_data``, its tags in ``job_tags``;
sessions, processes, tokens, and ``meta`` with the schema version. The user column is
``user_name`` (``user`` is a reserved word), NULL for embedded use as in SQLite.

Each write is one statement (data-modifying ``WITH`` clauses): a job's insert writes its
row, payload and tags in one round trip; an update guards the final state in its
``WHERE`` (``UPDATE ... WHERE status NOT IN (final) OR status = new``), which PostgreSQL
evaluates on the latest committed row under its row lock, so two processes finishing one
job can never both change its final state.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..ir.encoding import compact
from ..job_record import FINAL_STATES, PENDING_STATES, JobRecord
from ..session import SessionRecord, SessionState
from .protocol import JobQuery, RecordQuery, SessionQuery

__all__ = [
    "ADD_JOB",
    "ADD_SESSION",
    "CLOSED",
    "COUNT_BY_SESSION",
    "DELETE_JOB",
    "LOCK_SWEEP",
    "PENDING",
    "SCHEMA",
    "SCHEMA_VERSION",
    "UPDATE_JOB",
    "UPDATE_SESSION",
    "add_job_params",
    "job_filters",
    "session_filters",
    "staged_writes",
    "tags_text",
]

SCHEMA_VERSION = 1

#: Statements creating the tables of a new store (each runs on its own).
SCHEMA: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    """CREATE TABLE IF NOT EXISTS jobs (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        device TEXT NOT NULL,
        status TEXT NOT NULL,
        program_id TEXT NOT NULL,
        session_id TEXT,
        instance TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        owner TEXT NOT NULL,
        user_name TEXT,
        tags TEXT NOT NULL,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS jobs_by_created ON jobs (created_at, seq)",
    "CREATE INDEX IF NOT EXISTS jobs_by_session ON jobs (session_id) WHERE session_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS jobs_by_owner ON jobs (owner)",
    "CREATE INDEX IF NOT EXISTS jobs_by_user ON jobs (user_name, created_at, seq) "
    "WHERE user_name IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS job_data (
        job_id TEXT PRIMARY KEY,
        payload TEXT NOT NULL,
        result TEXT
    )""",
    """CREATE TABLE IF NOT EXISTS job_tags (
        job_id TEXT NOT NULL,
        tag TEXT NOT NULL,
        PRIMARY KEY (job_id, tag)
    )""",
    "CREATE INDEX IF NOT EXISTS job_tags_by_tag ON job_tags (tag)",
    """CREATE TABLE IF NOT EXISTS sessions (
        seq BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
        id TEXT NOT NULL UNIQUE,
        device TEXT NOT NULL,
        state TEXT NOT NULL,
        mode TEXT NOT NULL,
        instance TEXT NOT NULL,
        name TEXT NOT NULL,
        created_at DOUBLE PRECISION NOT NULL,
        owner TEXT NOT NULL,
        user_name TEXT,
        record TEXT NOT NULL
    )""",
    "CREATE INDEX IF NOT EXISTS sessions_by_created ON sessions (created_at, seq)",
    "CREATE INDEX IF NOT EXISTS sessions_by_user ON sessions (user_name, created_at, seq) "
    "WHERE user_name IS NOT NULL",
    """CREATE TABLE IF NOT EXISTS processes (
        id TEXT PRIMARY KEY,
        pid INTEGER NOT NULL,
        hostname TEXT NOT NULL,
        start_token TEXT NOT NULL,
        started_at DOUBLE PRECISION NOT NULL,
        heartbeat DOUBLE PRECISION NOT NULL,
        clock TEXT NOT NULL DEFAULT ''
    )""",
    """CREATE TABLE IF NOT EXISTS tokens (
        name TEXT PRIMARY KEY,
        token_hash TEXT NOT NULL UNIQUE,
        instance TEXT NOT NULL,
        share DOUBLE PRECISION NOT NULL,
        admin BOOLEAN NOT NULL,
        created_at DOUBLE PRECISION NOT NULL
    )""",
)

#: Advisory lock keys (transaction-scoped): the schema set-up, and the orphan sweep and
#: adoption (so two runtimes sweeping at once never both take one record).
LOCK_SETUP = "SELECT pg_advisory_xact_lock(7177001)"
LOCK_SWEEP = "SELECT pg_advisory_xact_lock(7177002)"


def _literals(values: tuple[str, ...]) -> str:
    """SQL string literals of our own enum values (letters only: nothing to escape)."""
    assert all(v.replace("_", "").isalnum() for v in values)
    return ",".join(f"'{v}'" for v in values)


FINAL = tuple(s.value for s in FINAL_STATES)
PENDING = tuple(s.value for s in PENDING_STATES)
CLOSED = SessionState.CLOSED.value

_JOB_COLUMNS = (
    "id, device, status, program_id, session_id, instance, name, created_at, owner, user_name, "
    "tags, record"
)

#: The ``WITH`` clauses of a new job ``{n}``: row, payload, result and tags; ``j{n}`` holds
#: its id if it was inserted, nothing if the id is taken (nothing written then).
_JOB_CTE = f"""
j{{n}} AS (
    INSERT INTO jobs ({_JOB_COLUMNS}) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s,%s)
    ON CONFLICT (id) DO NOTHING RETURNING id
), d{{n}} AS (
    INSERT INTO job_data (job_id, payload, result) SELECT id, %s, %s FROM j{{n}}
), t{{n}} AS (
    INSERT INTO job_tags (job_id, tag) SELECT j{{n}}.id, tag FROM j{{n}}, unnest(%s::text[]) AS tag
    ON CONFLICT DO NOTHING
)"""

#: A new job in one statement; yields 1 if inserted, 0 if the id is taken.
ADD_JOB = "WITH " + _JOB_CTE.format(n=0) + " SELECT count(*) FROM j0"

#: The ``WITH`` clause of a guarded session update ``{n}`` (as :data:`UPDATE_SESSION`).
_SESSION_CTE = (
    "s{n} AS (UPDATE sessions SET state = %s, name = %s, record = %s "
    f"WHERE id = %s AND (state <> '{CLOSED}' OR %s = '{CLOSED}') RETURNING 1)"
)


def staged_writes(
    jobs: Sequence[tuple[Any, ...]], sessions: Sequence[tuple[SessionRecord, str]]
) -> tuple[str, list[Any]]:
    """One statement writing new jobs (:func:`add_job_params` each) and session updates
    (record, its JSON text); it yields one row: per job 1 if inserted (0: its id was
    taken), then per session 1 if updated (0: it was closed meanwhile, and stays so)."""
    clauses: list[str] = []
    counts: list[str] = []
    params: list[Any] = []
    for n, job in enumerate(jobs):
        clauses.append(_JOB_CTE.format(n=n))
        counts.append(f"(SELECT count(*) FROM j{n})")
        params += job
    for n, (record, text) in enumerate(sessions):
        clauses.append(_SESSION_CTE.format(n=n))
        counts.append(f"(SELECT count(*) FROM s{n})")
        state = record.state.value
        params += (state, record.name, text, record.id, state)
    return f"WITH {', '.join(clauses)} SELECT {', '.join(counts)}", params


#: A job update that refuses to leave a final status; yields the tags it had (no row: the
#: job is missing or final). The result, if given (``%(result)s``), is stored with it.
UPDATE_JOB = f"""
WITH u AS (
    UPDATE jobs AS j SET status = %(status)s, name = %(name)s, tags = %(tags)s,
        record = %(record)s
    FROM jobs AS old
    WHERE j.id = %(id)s AND old.id = j.id
        AND (j.status NOT IN ({_literals(FINAL)}) OR j.status = %(status)s)
    RETURNING old.tags
), r AS (
    UPDATE job_data SET result = %(result)s::text
    WHERE job_id = %(id)s AND %(result)s::text IS NOT NULL AND EXISTS (SELECT 1 FROM u)
)
SELECT tags FROM u
"""

#: Replace a job's tags (after an update that changed them).
REPLACE_TAGS = """
WITH gone AS (DELETE FROM job_tags WHERE job_id = %(id)s)
INSERT INTO job_tags (job_id, tag) SELECT %(id)s, tag FROM unnest(%(tags)s::text[]) AS tag
ON CONFLICT DO NOTHING
"""

#: Delete a job with its payload, result and tags; yields how many jobs went (0 or 1).
DELETE_JOB = """
WITH j AS (DELETE FROM jobs WHERE id = %(id)s RETURNING id),
d AS (DELETE FROM job_data WHERE job_id = %(id)s AND EXISTS (SELECT 1 FROM j)),
t AS (DELETE FROM job_tags WHERE job_id = %(id)s AND EXISTS (SELECT 1 FROM j))
SELECT count(*) FROM j
"""

ADD_SESSION = (
    "INSERT INTO sessions (id, device, state, mode, instance, name, created_at, owner, "
    "user_name, record) VALUES (%s,%s,%s,%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO NOTHING"
)
#: A session update that refuses to reopen a closed session.
UPDATE_SESSION = (
    "UPDATE sessions SET state = %(state)s, name = %(name)s, record = %(record)s "
    f"WHERE id = %(id)s AND (state <> '{CLOSED}' OR %(state)s = '{CLOSED}')"
)

REGISTER_PROCESS = (
    "INSERT INTO processes (id, pid, hostname, start_token, started_at, heartbeat, clock) "
    "VALUES (%s,%s,%s,%s,%s,%s,%s) ON CONFLICT (id) DO UPDATE SET pid = EXCLUDED.pid, "
    "hostname = EXCLUDED.hostname, start_token = EXCLUDED.start_token, "
    "started_at = EXCLUDED.started_at, heartbeat = EXCLUDED.heartbeat, clock = EXCLUDED.clock"
)
PROCESS_COLUMNS = "id, pid, hostname, start_token, started_at, heartbeat, clock"

#: Job counts by session and status for the session ids of the one array parameter.
COUNT_BY_SESSION = (
    "SELECT session_id, status, count(*) FROM jobs WHERE session_id = ANY(%s::text[]) "
    "GROUP BY session_id, status"
)

TOKEN_COLUMNS = "name, token_hash, instance, share, admin, created_at"


# -- columns ------------------------------------------------------------------------------------
def tags_text(r: JobRecord) -> str:
    """The ``tags`` column (JSON text, as SQLite's)."""
    return compact(list(r.tags)) if r.tags else "[]"


def add_job_params(r: JobRecord, text: str, payload: str, result: str | None) -> tuple[Any, ...]:
    """The parameters of :data:`ADD_JOB` (``text``: the record's JSON text)."""
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
        text,
        payload,
        result,
        list(r.tags),
    )


def add_session_params(r: SessionRecord) -> tuple[Any, ...]:
    """The parameters of :data:`ADD_SESSION`."""
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
        r.to_json_text(),
    )


# -- queries ------------------------------------------------------------------------------------
def _shared_filters(query: RecordQuery) -> tuple[list[str], list[Any]]:
    """Clauses and parameters of the filters jobs and sessions share."""
    clauses: list[str] = []
    params: list[Any] = []
    for column, value in (
        ("device", query.device),
        ("instance", query.instance),
        ("owner", query.owner),
    ):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if query.user == "":
        clauses.append("user_name IS NULL")  # embedded records
    elif query.user is not None:
        clauses.append("user_name = %s")
        params.append(query.user)
    if query.created_after is not None:
        clauses.append("created_at >= %s")
        params.append(query.created_after)
    if query.created_before is not None:
        clauses.append("created_at <= %s")
        params.append(query.created_before)
    if query.name_prefix is not None:
        # left() rather than LIKE: no wildcard escaping, case-sensitive like str.startswith.
        clauses.append("left(name, %s) = %s")
        params.extend((len(query.name_prefix), query.name_prefix))
    return clauses, params


def _where(clauses: list[str]) -> str:
    return f" WHERE {' AND '.join(clauses)}" if clauses else ""


def job_filters(query: JobQuery) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` for a job query (``""`` when it filters nothing)."""
    clauses, params = _shared_filters(query)
    for column, value in (("program_id", query.program_id), ("session_id", query.session_id)):
        if value is not None:
            clauses.append(f"{column} = %s")
            params.append(value)
    if query.statuses is not None:
        clauses.append("status = ANY(%s::text[])")
        params.append([s.value for s in query.statuses])
    tags = sorted(set(query.tags))
    if tags:
        clauses.append(
            "id IN (SELECT job_id FROM job_tags WHERE tag = ANY(%s::text[]) "
            "GROUP BY job_id HAVING count(*) = %s)"
        )
        params.extend((tags, len(tags)))
    return _where(clauses), params


def session_filters(query: SessionQuery) -> tuple[str, list[Any]]:
    """``(" WHERE ...", params)`` for a session query."""
    clauses, params = _shared_filters(query)
    if query.mode is not None:
        clauses.append("mode = %s")
        params.append(query.mode.value)
    if query.states is not None:
        clauses.append("state = ANY(%s::text[])")
        params.append([s.value for s in query.states])
    return _where(clauses), params


def paging(query: RecordQuery) -> tuple[str, list[Any]]:
    """``ORDER BY ... LIMIT ... OFFSET ...`` and its parameters (NULL limit: all)."""
    order = "DESC" if query.descending else "ASC"
    return (
        f" ORDER BY created_at {order}, seq {order} LIMIT %s OFFSET %s",
        [query.limit, query.skip],
    )
