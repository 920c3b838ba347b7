"""Inline SVG drawn on the server: a session's timeline and a histogram of counts.

No charting library: rectangles and text with CSS classes (``static/dashboard.css``
colours them). The timeline draws :class:`~qsession_provider.core.timeline.Timeline`
exactly as laid out: one lane per device slot, one bar per started job coloured by
outcome, the session's state changes as dashed marks. Another user's job is drawn grey;
for a viewer who may not see it, without its id or user (``data-other``).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from markupsafe import Markup, escape

from ...core.timeline import Timeline
from .formats import duration, when

__all__ = ["timeline_svg", "histogram_svg", "tick_step"]

_WIDTH = 960
_LABEL = 190
_LANE = 30
_TOP = 46
_MARK_ROWS = 3
_BOTTOM = 26
_RIGHT = 16
_BAR_MIN = 2.0


def tick_step(span: float, *, ticks: int = 8) -> float:
    """A round step (1, 2 or 5 times a power of ten, in seconds) giving about ``ticks``."""
    if span <= 0 or not math.isfinite(span):
        return 1.0
    raw = span / ticks
    power = 10 ** math.floor(math.log10(raw))
    for factor in (1, 2, 5, 10):
        if raw <= factor * power:
            return factor * power
    return 10 * power


def _attr(value: object) -> str:
    return str(escape(str(value)))


def timeline_svg(
    timeline: Timeline, *, now: float, sees: Callable[[str], bool], link: str = "/jobs/"
) -> Markup:
    """The timeline as an ``<svg>`` element.

    Args:
        timeline: the laid-out timeline.
        now: the runtime's time (the end of running bars).
        sees: whether the viewer may see a job of this user (else it is drawn anonymous).
        link: bars of jobs the viewer may see link to ``link + job_id``.
    """
    lanes = timeline.lanes or ("(no jobs yet)",)
    start, end = timeline.start, max(timeline.end, timeline.start + 1e-3)
    span = end - start
    plot = _WIDTH - _LABEL - _RIGHT
    height = _TOP + _LANE * len(lanes) + _BOTTOM

    def x(t: float) -> float:
        return _LABEL + (t - start) / span * plot

    out = [
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {_WIDTH} {height}" width="100%" '
        f'data-session="{_attr(timeline.session_id or "")}" '
        f'aria-label="timeline of {len(timeline.bars)} jobs on {len(lanes)} lanes">'
    ]
    lane_y = {name: _TOP + k * _LANE for k, name in enumerate(lanes)}
    for k, name in enumerate(lanes):
        y = lane_y[name]
        shade = "lane lane-odd" if k % 2 else "lane"
        out.append(f'<rect class="{shade}" x="{_LABEL}" y="{y}" width="{plot}" height="{_LANE}"/>')
        out.append(
            f'<text class="lane-label" x="{_LABEL - 8}" y="{y + _LANE / 2 + 4}" '
            f'text-anchor="end">{escape(name)}</text>'
        )
    step = tick_step(span)
    axis_y = _TOP + _LANE * len(lanes)
    for k in range(int(span / step + 1e-9) + 1):  # from the start, labelled by offset
        tx = x(start + k * step)
        label = when(start) if k == 0 else f"+{duration(k * step)}"
        out.append(f'<line class="tick" x1="{tx:.1f}" y1="{_TOP}" x2="{tx:.1f}" y2="{axis_y}"/>')
        out.append(
            f'<text class="tick-label" x="{tx:.1f}" y="{axis_y + 16}" '
            f'text-anchor="middle">{escape(label)}</text>'
        )
    for bar in timeline.bars:
        y = lane_y.get(bar.lane)
        if y is None:
            continue
        x0 = x(bar.start)
        width = max(_BAR_MIN, x(bar.end_or(now)) - x0)
        visible = sees(bar.user)
        classes = f"bar bar-{bar.status.lower()}"
        if not bar.own:
            classes += " bar-other"
        if bar.end is None and bar.status != "RUNNING":
            classes += " bar-running"  # still running, whatever its record says
        ends = "running" if bar.end is None else duration(bar.end - bar.start)
        if visible:
            who = f" · {bar.user}" if bar.user else ""
            tip = f"{bar.job_id} · {bar.status} · {ends}{who}"
            data = f'data-job-id="{_attr(bar.job_id)}"'
        else:
            tip = f"another user's job · {ends}"
            data = 'data-other="1"'
        rect = (
            f'<rect class="{classes}" {data} x="{x0:.1f}" y="{y + 5}" width="{width:.1f}" '
            f'height="{_LANE - 10}" rx="3"><title>{escape(tip)}</title></rect>'
        )
        if visible and bar.own:
            rect = f'<a href="{_attr(link + bar.job_id)}">{rect}</a>'
        out.append(rect)
    ends: list[float] = []  # per label row: where its last label ends
    for mark in timeline.marks:
        mx = x(mark.time)
        row = next((k for k, e in enumerate(ends) if e < mx), len(ends))
        if row == len(ends):  # labels too close: a new row above, up to _MARK_ROWS
            if row < _MARK_ROWS:
                ends.append(0.0)
            else:
                row = _MARK_ROWS - 1
        ends[row] = mx + 8 + 6.5 * len(mark.state)
        label_y = _TOP - 6 - 13 * row
        out.append(
            f'<line class="mark mark-{_attr(mark.state)}" x1="{mx:.1f}" y1="{label_y + 3}" '
            f'x2="{mx:.1f}" y2="{axis_y}"><title>{escape(mark.state)} at '
            f"{escape(when(mark.time, millis=True))}</title></line>"
        )
        out.append(
            f'<text class="mark-label" x="{mx + 3:.1f}" y="{label_y}">{escape(mark.state)}</text>'
        )
    out.append("</svg>")
    return Markup("".join(out))


def histogram_svg(counts: Mapping[str, int], *, top: int = 32) -> Markup:
    """A bar chart of ``counts`` (the ``top`` most frequent outcomes, in outcome order)."""
    items = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:top]
    items.sort()
    if not items:
        return Markup('<p class="muted">no outcomes</p>')
    step = max(1, math.ceil(max(c for _, c in items) / 4))
    peak = 4 * step  # the axis top: four whole-number steps
    width, height, left, bottom, top_pad = 720, 260, 48, 70, 16
    plot_w, plot_h = width - left - 10, height - bottom - top_pad
    slot = plot_w / len(items)
    bar_w = min(64.0, max(2.0, slot * 0.7))
    out = [
        f'<svg class="histogram" xmlns="http://www.w3.org/2000/svg" role="img" '
        f'viewBox="0 0 {width} {height}" width="100%" '
        f'aria-label="histogram of {len(items)} outcomes">'
    ]
    for k in range(5):
        value = step * k
        gy = top_pad + plot_h - plot_h * k / 4
        out.append(
            f'<line class="tick" x1="{left}" y1="{gy:.1f}" x2="{width - 10}" y2="{gy:.1f}"/>'
        )
        out.append(
            f'<text class="tick-label" x="{left - 6}" y="{gy + 4:.1f}" '
            f'text-anchor="end">{value}</text>'
        )
    rotate = len(items) > 12
    for k, (outcome, count) in enumerate(items):
        h = plot_h * count / peak
        bx = left + k * slot + (slot - bar_w) / 2
        by = top_pad + plot_h - h
        out.append(
            f'<rect class="hbar" data-outcome="{_attr(outcome)}" data-count="{count}" '
            f'x="{bx:.1f}" y="{by:.1f}" width="{bar_w:.1f}" height="{h:.1f}">'
            f"<title>{escape(outcome)}: {count}</title></rect>"
        )
        lx, ly = bx + bar_w / 2, top_pad + plot_h + 14
        turn = f' transform="rotate(-60 {lx:.1f} {ly:.1f})"' if rotate else ""
        anchor = "end" if rotate else "middle"
        out.append(
            f'<text class="outcome" x="{lx:.1f}" y="{ly:.1f}" text-anchor="{anchor}"{turn}>'
            f"{escape(outcome)}</text>"
        )
    out.append("</svg>")
    return Markup("".join(out))
