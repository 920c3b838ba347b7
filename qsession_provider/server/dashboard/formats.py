"""How the dashboard writes times, durations, numbers and status chips (Jinja2 filters)."""

from __future__ import annotations

import math
from datetime import datetime, timezone
from typing import Any

__all__ = ["FILTERS", "when", "duration", "chip", "number", "short_id"]

#: Status words -> chip colour class (``static/dashboard.css``).
_CHIPS = {
    "queued": "wait",
    "waiting": "wait",
    "pending": "wait",
    "open": "wait",
    "inactive": "idle",
    "running": "run",
    "executing": "run",
    "active": "run",
    "in progress, accepting new jobs": "run",
    "draining": "run",
    "in progress, not accepting new jobs": "run",
    "done": "ok",
    "succeeded": "ok",
    "closed": "off",
    "error": "bad",
    "failed": "bad",
    "failure(s)": "bad",
    "timedout": "bad",
    "cancelled": "cancel",
}


def when(stamp: float | None, *, millis: bool = False) -> str:
    """POSIX seconds as ``2025-01-01 00:00:03`` UTC (``"—"`` for None)."""
    if stamp is None:
        return "—"
    moment = datetime.fromtimestamp(stamp, tz=timezone.utc)
    text = moment.strftime("%Y-%m-%d %H:%M:%S")
    if millis:
        text += f".{moment.microsecond // 1000:03d}"
    return text


def duration(seconds: float | None) -> str:
    """Seconds as ``0.25 s``, ``12.5 s``, ``3 min 05 s`` or ``2 h 03 min`` (``"—"`` for None)."""
    if seconds is None or not math.isfinite(seconds):
        return "—"
    if seconds < 0.001:
        return "0 s" if seconds <= 0 else f"{seconds * 1e6:.0f} µs"
    if seconds < 1:
        return f"{seconds * 1e3:.0f} ms"
    if seconds < 60:
        return f"{seconds:.3g} s"
    if seconds < 3600:
        minutes, rest = divmod(int(round(seconds)), 60)
        return f"{minutes} min {rest:02d} s"
    hours, rest = divmod(int(round(seconds)), 3600)
    return f"{hours} h {rest // 60:02d} min"


def chip(status: Any) -> str:
    """The CSS class of a status chip: ``chip chip-<colour>``."""
    key = str(getattr(status, "value", status)).lower()
    return f"chip chip-{_CHIPS.get(key, 'off')}"


def number(value: Any, digits: int = 6) -> str:
    """A float with ``digits`` significant digits; other values as text."""
    if isinstance(value, float):
        return f"{value:.{digits}g}"
    return str(value)


def short_id(ident: str) -> str:
    """A long id as ``01a24f52…f803`` (its time-ordered head and random tail)."""
    return ident if len(ident) <= 16 else f"{ident[:8]}…{ident[-4:]}"


#: The filters the templates use.
FILTERS = {
    "when": when,
    "duration": duration,
    "chip": chip,
    "number": number,
    "short_id": short_id,
}
