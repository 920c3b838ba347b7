"""Readable tables (rich) for jobs, sessions, devices and one record's details."""

from __future__ import annotations

import sys
from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime, timezone
from typing import Any

from rich import box
from rich.console import Console
from rich.table import Table
from rich.text import Text

from ..core.device import Device
from ..core.job_record import JobRecord
from ..core.session import SessionRecord

__all__ = [
    "console",
    "when",
    "jobs_table",
    "sessions_table",
    "devices_table",
    "details_table",
    "simple_table",
]

#: Colour per job status / session state.
_STYLES = {
    "DONE": "green",
    "ERROR": "red",
    "CANCELLED": "yellow",
    "RUNNING": "cyan",
    "QUEUED": "blue",
    "active": "cyan",
    "inactive": "magenta",
    "draining": "yellow",
    "open": "blue",
    "closed": "dim",
}
#: Columns on a pipe or file: wide enough never to fold an id.
_PIPE_WIDTH = 240


def console(*, err: bool = False) -> Console:
    """A console on the current stdout (or stderr): colours and width only on a terminal."""
    stream = sys.stderr if err else sys.stdout
    width = None if stream.isatty() else _PIPE_WIDTH
    return Console(file=stream, width=width, highlight=False, soft_wrap=False)


def when(ts: float | None) -> str:
    """A UTC time to the second, or "-"."""
    if ts is None:
        return "-"
    return datetime.fromtimestamp(ts, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def seconds(value: float | None) -> str:
    """A duration, or "-"."""
    return "-" if value is None else f"{value:.3f} s"


def styled(value: str) -> Text:
    """A status or state, coloured."""
    return Text(value, style=_STYLES.get(value, ""))


def simple_table(header: Sequence[str], rows: Iterable[Sequence[Any]]) -> Table:
    """A table with ``header`` and ``rows``; ids and names are never folded."""
    table = Table(box=box.SIMPLE, show_edge=False, header_style="bold", pad_edge=False)
    for name in header:
        table.add_column(name, no_wrap=True, overflow="ignore")
    for row in rows:
        table.add_row(*(cell if isinstance(cell, Text) else str(cell) for cell in row))
    return table


def jobs_table(records: Iterable[JobRecord]) -> Table:
    """One row per job, newest first as given."""
    header = ["job", "status", "program", "device", "session", "user", "created", "started"]
    header += ["finished", "error"]
    rows = [
        [
            r.id,
            styled(r.status.value),
            r.program_id,
            r.device,
            r.session_id or "-",
            r.user or "-",
            when(r.created_at),
            when(r.started_at),
            when(r.finished_at),
            r.error_message or "",
        ]
        for r in records
    ]
    return simple_table(header, rows)


def sessions_table(
    records: Iterable[SessionRecord], counts: Mapping[str, Mapping[str, int]]
) -> Table:
    """One row per session with its job counts by status."""
    header = ["session", "name", "device", "mode", "state", "user", "created", "started"]
    header += ["closed", "jobs"]
    rows = [
        [
            r.id,
            r.name or "-",
            r.device,
            r.mode.value,
            styled(r.state.value),
            r.user or "-",
            when(r.created_at),
            when(r.started_at),
            when(r.closed_at),
            _counts(counts.get(r.id, {})),
        ]
        for r in records
    ]
    return simple_table(header, rows)


def _counts(counts: Mapping[str, int]) -> str:
    if not counts:
        return "0"
    return ", ".join(f"{n} {status.lower()}" for status, n in sorted(counts.items()))


def devices_table(rows: Iterable[tuple[Device, int | None, str | None]]) -> Table:
    """One row per device: (device, queued and running jobs, holding session)."""
    header = ["device", "qubits", "slots", "kind", "pending", "held by", "description"]
    return simple_table(
        header,
        [
            [
                d.name,
                d.num_qubits,
                d.slots,
                "simulator" if d.simulator else "qpu",
                "-" if pending is None else pending,
                holder or "-",
                d.description,
            ]
            for d, pending, holder in rows
        ],
    )


def details_table(title: str, items: Iterable[tuple[str, Any]]) -> Table:
    """A two-column key/value table."""
    table = Table(
        title=title, box=box.SIMPLE, show_header=False, show_edge=False, title_justify="left"
    )
    table.add_column("key", style="bold", no_wrap=True)
    table.add_column("value", overflow="fold")
    for key, value in items:
        table.add_row(key, value if isinstance(value, Text) else str(value))
    return table
