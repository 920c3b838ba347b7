"""Reading commands: ``jobs``, ``sessions``, ``devices``, ``show JOB|SESSION``."""

from __future__ import annotations

import argparse
import os
from typing import Any

from rich.console import Console

from ..core.job_record import JobRecord
from ..core.session import SessionRecord
from ..core.store.postgres_open import is_postgres_url
from ..core.store.sqlite import resolve_store_path
from ..errors import JobNotFoundError, SessionNotFoundError
from .render import (
    details_table,
    devices_table,
    jobs_table,
    seconds,
    sessions_table,
    styled,
    when,
)
from .sources import job_counts, now_of, reader, server_args

__all__ = ["jobs", "sessions", "devices", "show"]


def jobs(args: argparse.Namespace, out: Console) -> None:
    """``qsession jobs``: jobs newest first, with filters."""
    pending = True if args.pending else (False if args.final else None)
    status = None if args.status is None else [args.status.upper()]
    with reader(args) as source:
        found = source.jobs(
            session_id=args.session,
            device=args.device,
            status=status,
            pending=pending,
            limit=args.limit,
        )
        out.print(jobs_table(j.record for j in found))


def sessions(args: argparse.Namespace, out: Console) -> None:
    """``qsession sessions``: sessions newest first, with their job counts."""
    states = None if args.state is None else [args.state.lower()]
    with reader(args) as source:
        found = source.sessions(device=args.device, state=states, limit=args.limit)
        out.print(sessions_table(found, job_counts(source, found)))


def devices(args: argparse.Namespace, out: Console) -> None:
    """``qsession devices``: devices with queue length and holding session.

    On a store file that does not exist yet, the devices of the installed plugins are
    listed without queues.
    """
    location = resolve_store_path(args.store)
    if server_args(args) is None and not (is_postgres_url(location) or os.path.isfile(location)):
        from ..plugins.manager import build_device_registry, get_plugin_manager

        rows = [(d, None, None) for d in build_device_registry(get_plugin_manager())]
    else:
        with reader(args) as source:
            rows = [
                (d, source.pending_jobs(d.name), source.holder(d.name)) for d in source.devices()
            ]
    out.print(devices_table(sorted(rows, key=lambda row: row[0].name)))


def show(args: argparse.Namespace, out: Console) -> None:
    """``qsession show ID``: a job's or a session's details (a session with its jobs)."""
    with reader(args) as source:
        try:
            job = source.job(args.id)
        except JobNotFoundError:
            job = None
        if job is not None:
            out.print(details_table(f"job {job.id}", _job_items(job.record)))
            return
        try:
            record = source.session(args.id)
        except SessionNotFoundError:
            raise JobNotFoundError(f"no job or session with id {args.id!r}") from None
        out.print(details_table(f"session {record.id}", _session_items(record, now_of(source))))
        found = source.jobs(session_id=record.id, descending=False)
        out.print()
        out.print(jobs_table(j.record for j in found))


def _job_items(r: JobRecord) -> list[tuple[str, Any]]:
    waited = None if r.started_at is None else r.started_at - r.created_at
    return [
        ("status", styled(r.status.value)),
        ("program", r.program_id),
        ("device", r.device),
        ("session", r.session_id or "-"),
        ("name", r.name or "-"),
        ("tags", ", ".join(r.tags) or "-"),
        ("user", r.user or "-"),
        ("instance", r.instance),
        ("created", when(r.created_at)),
        ("started", when(r.started_at)),
        ("finished", when(r.finished_at)),
        ("waited", seconds(waited)),
        ("execution time", seconds(r.execution_time)),
        ("error code", r.error_code or "-"),
        ("error", r.error_message or "-"),
    ]


def _session_items(r: SessionRecord, now: float) -> list[tuple[str, Any]]:
    changes = ", ".join(f"{state.value} {when(t)}" for state, t in r.timestamps)
    return [
        ("name", r.name or "-"),
        ("device", r.device),
        ("mode", r.mode.value),
        ("state", styled(r.state.value)),
        ("accepting jobs", "yes" if r.accepting_jobs else "no"),
        ("failure policy", r.failure_policy.value),
        ("user", r.user or "-"),
        ("instance", r.instance),
        ("created", when(r.created_at)),
        ("started", when(r.started_at)),
        ("last active", when(r.activated_at)),
        ("closed", when(r.closed_at)),
        ("close reason", "-" if r.close_reason is None else r.close_reason.value),
        ("max time", seconds(r.max_ttl)),
        ("interactive ttl", seconds(r.interactive_ttl)),
        ("usage", seconds(r.usage(now))),
        ("state changes", changes or "-"),
    ]
