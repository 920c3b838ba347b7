"""The list pages: sessions, jobs and devices, filtered and paged on the server.

A page reads one page of records (``LIMIT``/``OFFSET`` on the store's
``(created_at, seq)`` index, one row more than shown to know whether a next page exists),
the jobs list's total with ``count_jobs`` and the sessions' job counts with
``count_jobs_by_session``: never every record.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...core.dialect_words import AZURE_JOB_STATUS, azure_status, ibm_status
from ...core.job_record import PENDING_STATES, JobStatus
from ...core.session import SessionMode, SessionState
from ...core.store.protocol import JobQuery
from .queries import job_query, paging, session_query
from .web import Page, View

__all__ = ["sessions_page", "jobs_page", "devices_page", "STATUS_ORDER"]

#: Job statuses in the order the dashboard shows counts.
STATUS_ORDER = (
    JobStatus.QUEUED,
    JobStatus.RUNNING,
    JobStatus.DONE,
    JobStatus.ERROR,
    JobStatus.CANCELLED,
)


def _filters(view: View, names: tuple[str, ...]) -> dict[str, Any]:
    """The filter values to put back in the form."""
    return {name: view.query.get(name, "") for name in names} | {
        "status": view.lists.get("status", []),
        "state": view.lists.get("state", []),
    }


def sessions_page(view: View) -> Page:
    """GET /sessions: the user's sessions (an administrator's: everyone's), newest first."""
    page = paging(view.query)
    query = dataclasses.replace(
        session_query(view.query, view.lists, view.principal), limit=page.size + 1, skip=page.skip
    )
    records = view.runtime.store.query_sessions(query)
    more = len(records) > page.size
    records = records[: page.size]
    counts = view.runtime.store.count_jobs_by_session([r.id for r in records])
    rows = [
        {
            "record": r,
            "ibm": ibm_status(r),
            "azure": azure_status(r),
            "counts": [(s.value, counts.get(r.id, {}).get(s, 0)) for s in STATUS_ORDER],
        }
        for r in records
    ]
    pending = any(
        r.state is not SessionState.CLOSED
        or any(counts.get(r.id, {}).get(s, 0) for s in PENDING_STATES)
        for r in records
    )
    return Page(
        "sessions.html",
        {
            "rows": rows,
            "page": page,
            "more": more,
            "prev_link": page.link(view.lists, page.number - 1),
            "next_link": page.link(view.lists, page.number + 1),
            "filters": _filters(view, ("device", "mode", "name", "from", "to", "user")),
            "states": [s.value for s in SessionState],
            "modes": [m.value for m in SessionMode],
            "devices": [d.name for d in view.runtime.devices()],
        },
        pending=pending or page.number == 1,
        title="Sessions",
    )


def jobs_page(view: View) -> Page:
    """GET /jobs: the user's jobs (an administrator's: everyone's) matching the filters."""
    page = paging(view.query)
    query: JobQuery = job_query(view.query, view.lists, view.principal)
    store = view.runtime.store
    records = store.query_jobs(dataclasses.replace(query, limit=page.size + 1, skip=page.skip))
    more = len(records) > page.size
    records = records[: page.size]
    total = store.count_jobs(query)
    rows = [{"record": r, "azure": AZURE_JOB_STATUS[r.status]} for r in records]
    return Page(
        "jobs.html",
        {
            "rows": rows,
            "total": total,
            "page": page,
            "more": more,
            "prev_link": page.link(view.lists, page.number - 1),
            "next_link": page.link(view.lists, page.number + 1),
            "filters": _filters(
                view, ("device", "session", "tags", "name", "program", "from", "to", "user")
            ),
            "statuses": [s.value for s in STATUS_ORDER],
            "devices": [d.name for d in view.runtime.devices()],
        },
        pending=page.number == 1 or any(r.status in PENDING_STATES for r in records),
        title="Jobs",
    )


def devices_page(view: View) -> Page:
    """GET /devices: every device, its queue length, the jobs running on it and its holder."""
    runtime = view.runtime
    principal = view.principal
    rows = []
    busy = False
    for device in runtime.devices():
        running = runtime.store.query_jobs(
            JobQuery(device=device.name, statuses=frozenset({JobStatus.RUNNING}), limit=8)
        )
        holder = runtime.holder(device.name)
        if holder is not None and not principal.admin:
            try:
                if runtime.session(holder).user != principal.user:
                    holder = "another user's session"
            except Exception:  # a session gone since: nothing to name
                holder = None
        queue = runtime.pending_jobs(device.name)
        busy = busy or queue > 0
        rows.append(
            {
                "device": device,
                "queue": queue,
                "running": [{"record": r, "visible": principal.sees(r.user)} for r in running],
                "holder": holder,
            }
        )
    return Page("devices.html", {"rows": rows}, pending=True, title="Devices")
