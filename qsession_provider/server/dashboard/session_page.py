"""The session page: its details in both dialects, its jobs, and its timeline.

The timeline (:func:`~qsession_provider.core.timeline.build_timeline`) shows the
session's jobs and the other jobs that ran on its device during the session's span (at
most :data:`OTHERS_LIMIT`, the newest), so that waiting is explained; another user's
job is drawn without its id or user for a viewer who is not an administrator.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from ...core.dialect_words import (
    AZURE_JOB_STATUS,
    azure_status,
    ibm_details,
    ibm_status,
    iso_utc,
)
from ...core.job_record import JobRecord
from ...core.session import SessionRecord, SessionState
from ...core.store.protocol import JobQuery
from ...core.timeline import build_timeline
from ...errors import SessionNotFoundError
from .lists import STATUS_ORDER
from .queries import paging
from .svg import timeline_svg
from .web import Page, View

__all__ = ["session_page", "visible_session", "TIMELINE_LIMIT", "OTHERS_LIMIT"]

#: Most jobs of the session drawn on its timeline (the newest).
TIMELINE_LIMIT = 2000
#: Most other jobs of the device looked at for the timeline (the newest in the span).
OTHERS_LIMIT = 500


def visible_session(view: View, session_id: str) -> SessionRecord:
    """The session if the viewer may see it; else the error of an unknown id (404)."""
    try:
        record = view.runtime.session(session_id)
    except SessionNotFoundError:
        record = None
    if record is None or not view.principal.sees(record.user):
        raise SessionNotFoundError(f"no session with id {session_id!r}")
    return record


def _others(view: View, record: SessionRecord, start: float, end: float) -> list[JobRecord]:
    """Other jobs on the session's device that ran during ``[start, end]``."""
    candidates = view.runtime.store.query_jobs(
        JobQuery(device=record.device, created_before=end, limit=OTHERS_LIMIT)
    )
    return [
        job
        for job in candidates
        if job.session_id != record.id
        and job.started_at is not None
        and job.started_at <= end
        and (job.finished_at is None or job.finished_at >= start)
    ]


def _azure_details(record: SessionRecord) -> dict[str, Any]:
    """Azure's ``SessionDetails`` fields (times in ISO 8601 UTC), as the Azure face fills
    them: provider and priority from the face's metadata when it opened the session."""
    meta = record.metadata.get("azure") if isinstance(record.metadata, dict) else None
    meta = meta if isinstance(meta, dict) else {}
    last = record.timestamps[-1][1] if record.timestamps else record.created_at
    return {
        "id": record.id,
        "name": record.name,
        "provider_id": meta.get("provider_id", "qsession"),
        "target": record.device,
        "status": azure_status(record),
        "job_failure_policy": record.failure_policy.value.capitalize(),
        "priority": meta.get("priority", "Standard"),
        "creation_time": iso_utc(record.created_at),
        "begin_execution_time": iso_utc(record.started_at),
        "end_execution_time": iso_utc(record.closed_at),
        "last_updated_time": iso_utc(last),
        "created_by": record.instance,
        "tags": ", ".join(record.tags),
    }


def session_page(view: View) -> Page:
    """GET /sessions/{session_id}."""
    record = visible_session(view, view.request.path_params["session_id"])
    runtime, store = view.runtime, view.runtime.store
    now = runtime.clock.now()
    page = paging(view.query)
    mine = JobQuery(session_id=record.id)
    listed = store.query_jobs(dataclasses.replace(mine, limit=page.size + 1, skip=page.skip))
    more = len(listed) > page.size
    drawn = store.query_jobs(dataclasses.replace(mine, limit=TIMELINE_LIMIT))
    counts = store.count_jobs_by_session([record.id]).get(record.id, {})
    total = sum(counts.values())
    span_end = record.closed_at if record.closed_at is not None else now
    timeline = build_timeline(
        drawn,
        session=record,
        others=_others(view, record, record.created_at, span_end),
        now=now,
        slots={record.device: runtime.device(record.device).slots},
    )
    svg = timeline_svg(timeline, now=now, sees=view.principal.sees)
    pending = record.state is not SessionState.CLOSED or any(
        j.in_final_state is False for j in drawn
    )
    return Page(
        "session.html",
        {
            "record": record,
            "ibm_status": ibm_status(record),
            "azure_status": azure_status(record),
            "ibm": ibm_details(record, now),
            "azure": _azure_details(record),
            "jobs": [
                {"record": j, "azure": AZURE_JOB_STATUS[j.status]} for j in listed[: page.size]
            ],
            "counts": [(s.value, counts.get(s, 0)) for s in STATUS_ORDER],
            "total": total,
            "page": page,
            "more": more,
            "prev_link": page.link(view.lists, page.number - 1),
            "next_link": page.link(view.lists, page.number + 1),
            "timeline": svg,
            "bars": len(timeline.bars),
            "drawn_all": total <= TIMELINE_LIMIT,
            "unstarted": len(timeline.unstarted),
        },
        pending=pending,
        title=f"Session {record.name or record.id}",
    )
