"""Commands that write files: ``timeline SESSION -o file.png`` and ``export``.

``export`` writes one JSON document: the session record, and per job its record, its
timings and its result as our stable encoding's JSON tree
(:func:`~qsession_provider.core.ir.encoding.from_jsonable` turns it back into arrays)::

    {"format": "qsession-export", "version": 1, "source": ..., "exported_at": ...,
     "session": {...}, "jobs": [{"record": {...}, "timings": {...}, "result": ...}]}
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path
from typing import Any

from rich.console import Console

from ..core.job_record import JobRecord
from .sources import StoreReader, now_of, reader, result_tree

__all__ = ["timeline", "export", "EXPORT_FORMAT", "EXPORT_VERSION"]

EXPORT_FORMAT = "qsession-export"
EXPORT_VERSION = 1


def timeline(args: argparse.Namespace, out: Console) -> None:
    """``qsession timeline SESSION -o file.png``: draw the session's timeline to a file.

    Raises:
        ImportError: matplotlib is missing (names the ``plot`` extra).
        SessionNotFoundError: unknown id (or another user's session on a server).
        OSError: the file cannot be written.
    """
    from ..visual.sources import session_timeline
    from ..visual.timeline import draw_timeline, require_matplotlib

    require_matplotlib()  # before reading anything
    with reader(args) as source:
        # a store's devices come from the plugins, slow to load: lanes from the jobs there
        tl = session_timeline(
            source,
            args.session,
            others=not args.mine,
            now=now_of(source),
            idle_lanes=not isinstance(source, StoreReader),
        )
    fig = draw_timeline(tl)
    fig.savefig(args.output, dpi=args.dpi)
    out.print(f"wrote the timeline of session {args.session} to {args.output}")


def export(args: argparse.Namespace, out: Console) -> None:
    """``qsession export --session ID -o file.json`` (``-o -``: standard output).

    Raises:
        SessionNotFoundError: unknown id (or another user's session on a server).
        OSError: the file cannot be written.
    """
    with reader(args) as source:
        session = source.session(args.session)
        jobs = source.jobs(session_id=session.id, descending=False)
        document = {
            "format": EXPORT_FORMAT,
            "version": EXPORT_VERSION,
            "source": source.location,
            "exported_at": time.time(),
            "now": now_of(source),
            "session": session.to_json(),
            "jobs": [
                {
                    "record": job.record.to_json(),
                    "timings": timings(job.record),
                    "result": result_tree(source, job),
                }
                for job in jobs
            ],
        }
    text = json.dumps(document, indent=1)
    if args.output == "-":
        sys.stdout.write(text + "\n")
        return
    Path(args.output).write_text(text + "\n", encoding="utf-8")
    out.print(f"wrote session {session.id} ({len(jobs)} jobs) to {args.output}")


def timings(r: JobRecord) -> dict[str, Any]:
    """Queued, started and finished times, with the wait and the execution time."""
    return {
        "queued_at": r.created_at,
        "started_at": r.started_at,
        "finished_at": r.finished_at,
        "waited": None if r.started_at is None else r.started_at - r.created_at,
        "execution_time": r.execution_time,
    }
