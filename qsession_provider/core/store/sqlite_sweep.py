"""The SQLite store's sweep of work left by processes that are gone: fail it, or adopt it.

Both run inside the caller's write transaction (``BEGIN IMMEDIATE``), so two runtimes
opening one store at once never both sweep the same record.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence

from ..job_record import JobRecord
from ..session import SessionRecord, SessionState
from .processes import ProcessRecord
from .protocol import Adoption, OrphanReport, orphan_job, orphan_session
from .sqlite_sql import PENDING

__all__ = ["mark_orphan_rows", "adopt_orphan_rows"]

_CLOSED = SessionState.CLOSED.value


def mark_orphan_rows(cur: sqlite3.Cursor, owners: Sequence[str], now: float) -> OrphanReport:
    """Fail the pending jobs and close the open sessions of ``owners``; forget the owners."""
    marks = ",".join("?" * len(owners))
    procs = {
        row[0]: ProcessRecord(*row)
        for row in cur.execute(
            "SELECT id, pid, hostname, start_token, started_at, heartbeat FROM processes "
            f"WHERE id IN ({marks})",
            owners,
        )
    }
    jobs: list[str] = []
    rows = cur.execute(
        f"SELECT record FROM jobs WHERE owner IN ({marks}) AND status IN (?, ?)",
        (*owners, *PENDING),
    ).fetchall()
    for (text,) in rows:
        old = JobRecord.from_json(json.loads(text))
        new = orphan_job(old, now, procs.get(old.owner))
        cur.execute(
            "UPDATE jobs SET status = ?, record = ? WHERE id = ?",
            (new.status.value, new.to_json_text(), new.id),
        )
        jobs.append(new.id)
    sessions: list[str] = []
    rows = cur.execute(
        f"SELECT record FROM sessions WHERE owner IN ({marks}) AND state != ?",
        (*owners, _CLOSED),
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


def adopt_orphan_rows(cur: sqlite3.Cursor, process_ids: Sequence[str], owner: str) -> Adoption:
    """Forget ``process_ids``; give ``owner`` the pending jobs and open sessions of every
    owner without a process record (see ``Store.adopt_orphans``)."""
    if process_ids:
        marks = ",".join("?" * len(process_ids))
        cur.execute(f"DELETE FROM processes WHERE id IN ({marks})", tuple(process_ids))
    unowned = "owner NOT IN (SELECT id FROM processes)"
    rows = cur.execute(
        f"SELECT record FROM jobs WHERE status IN (?, ?) AND {unowned} ORDER BY seq",
        PENDING,
    ).fetchall()
    jobs = tuple(JobRecord.from_json(json.loads(text)) for (text,) in rows)
    for job in jobs:
        cur.execute(
            "UPDATE jobs SET owner = ?, record = ? WHERE id = ?",
            (owner, job.replace(owner=owner).to_json_text(), job.id),
        )
    rows = cur.execute(
        f"SELECT record FROM sessions WHERE state != ? AND {unowned} ORDER BY seq", (_CLOSED,)
    ).fetchall()
    sessions = tuple(SessionRecord.from_json(json.loads(text)) for (text,) in rows)
    for session in sessions:
        cur.execute(
            "UPDATE sessions SET owner = ?, record = ? WHERE id = ?",
            (owner, session.replace(owner=owner).to_json_text(), session.id),
        )
    return Adoption(jobs, sessions)
