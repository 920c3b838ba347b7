"""The PostgreSQL store's sweep of work left by processes that are gone: fail it, or adopt it.

Both run inside the caller's transaction and first take the sweep's advisory lock
(:data:`~.postgres_sql.LOCK_SWEEP`), so two runtimes sweeping one store at once run one
after the other and never both take the same record (SQLite's ``BEGIN IMMEDIATE`` does
the same for :mod:`~.sqlite_sweep`). The records changed are the same: the shared
:func:`~.protocol.orphan_job` and :func:`~.protocol.orphan_session`.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from ..job_record import JobRecord
from ..session import SessionRecord
from .postgres_sql import CLOSED, LOCK_SWEEP, PENDING, PROCESS_COLUMNS
from .processes import ProcessRecord
from .protocol import Adoption, OrphanReport, orphan_job, orphan_session

__all__ = ["mark_orphan_rows", "adopt_orphan_rows"]


def mark_orphan_rows(conn: Any, owners: Sequence[str], now: float) -> OrphanReport:
    """Fail the pending jobs and close the open sessions of ``owners``; forget the owners."""
    conn.execute(LOCK_SWEEP)
    owners = list(owners)
    procs = {
        row[0]: ProcessRecord(*row)
        for row in conn.execute(
            f"SELECT {PROCESS_COLUMNS} FROM processes WHERE id = ANY(%s::text[])", (owners,)
        )
    }
    jobs: list[str] = []
    rows = conn.execute(
        "SELECT record FROM jobs WHERE owner = ANY(%s::text[]) AND status = ANY(%s::text[]) "
        "ORDER BY seq FOR UPDATE",
        (owners, list(PENDING)),
    ).fetchall()
    for (text,) in rows:
        old = JobRecord.from_json(json.loads(text))
        new = orphan_job(old, now, procs.get(old.owner))
        conn.execute(
            "UPDATE jobs SET status = %s, record = %s WHERE id = %s",
            (new.status.value, new.to_json_text(), new.id),
        )
        jobs.append(new.id)
    sessions: list[str] = []
    rows = conn.execute(
        "SELECT record FROM sessions WHERE owner = ANY(%s::text[]) AND state <> %s "
        "ORDER BY seq FOR UPDATE",
        (owners, CLOSED),
    ).fetchall()
    for (text,) in rows:
        closed = orphan_session(SessionRecord.from_json(json.loads(text)), now)
        conn.execute(
            "UPDATE sessions SET state = %s, record = %s WHERE id = %s",
            (closed.state.value, closed.to_json_text(), closed.id),
        )
        sessions.append(closed.id)
    conn.execute("DELETE FROM processes WHERE id = ANY(%s::text[])", (owners,))
    return OrphanReport(tuple(jobs), tuple(sessions))


def adopt_orphan_rows(conn: Any, process_ids: Sequence[str], owner: str) -> Adoption:
    """Forget ``process_ids``; give ``owner`` the pending jobs and open sessions of every
    owner without a process record (see ``Store.adopt_orphans``)."""
    conn.execute(LOCK_SWEEP)
    if process_ids:
        conn.execute("DELETE FROM processes WHERE id = ANY(%s::text[])", (list(process_ids),))
    unowned = "NOT EXISTS (SELECT 1 FROM processes p WHERE p.id = owner)"
    rows = conn.execute(
        f"SELECT record FROM jobs WHERE status = ANY(%s::text[]) AND {unowned} "
        "ORDER BY seq FOR UPDATE",
        (list(PENDING),),
    ).fetchall()
    jobs = tuple(JobRecord.from_json(json.loads(text)) for (text,) in rows)
    for job in jobs:
        conn.execute(
            "UPDATE jobs SET owner = %s, record = %s WHERE id = %s",
            (owner, job.replace(owner=owner).to_json_text(), job.id),
        )
    rows = conn.execute(
        f"SELECT record FROM sessions WHERE state <> %s AND {unowned} ORDER BY seq FOR UPDATE",
        (CLOSED,),
    ).fetchall()
    sessions = tuple(SessionRecord.from_json(json.loads(text)) for (text,) in rows)
    for session in sessions:
        conn.execute(
            "UPDATE sessions SET owner = %s, record = %s WHERE id = %s",
            (owner, session.replace(owner=owner).to_json_text(), session.id),
        )
    return Adoption(jobs, sessions)
