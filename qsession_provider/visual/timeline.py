"""``draw_timeline``: a matplotlib figure of a session's jobs on device-slot lanes.

The same lanes as the dashboard's session page (both draw a
:class:`~qsession_provider.core.timeline.Timeline`): one horizontal lane per device slot,
a bar per job from start to end coloured by outcome, a thin line from submission to start
for the session's own jobs (the wait), other users' and sessions' jobs hatched in grey,
and the session's state changes as labelled vertical lines.

Artists carry a ``gid`` so that tests and users can find them: ``"job:<id>"`` for bars,
``"wait:<id>"`` for waits, ``"mark:<state>"`` for state lines.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from ..client.api import RuntimeAPI
from ..core.timeline import Timeline
from .sources import timeline_of

if TYPE_CHECKING:
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = ["draw_timeline", "STATUS_COLORS", "require_matplotlib"]

#: Bar colour per job status (``RUNNING`` bars end at "now").
STATUS_COLORS = {
    "DONE": "#2e7d32",
    "ERROR": "#c62828",
    "CANCELLED": "#ef8f00",
    "RUNNING": "#1565c0",
    "QUEUED": "#9e9e9e",
}
#: Line colour per session state mark.
MARK_COLORS = {
    "open": "#616161",
    "active": "#1565c0",
    "inactive": "#8e24aa",
    "draining": "#ef8f00",
    "closed": "#212121",
}
OTHERS_COLOR = "#bdbdbd"


def require_matplotlib() -> Any:
    """Import ``matplotlib.figure`` or raise an ImportError naming the ``plot`` extra."""
    try:
        import matplotlib.figure
    except ImportError as exc:
        raise ImportError(
            "draw_timeline needs matplotlib, which is not installed. Install it with: "
            "pip install 'qsession-provider[plot]'"
        ) from exc
    return matplotlib.figure


def draw_timeline(
    source: Any,
    *,
    runtime: RuntimeAPI | None = None,
    others: bool = True,
    now: float | None = None,
    ax: Axes | None = None,
    title: str | None = None,
) -> Figure:
    """Draw the timeline of a session or of some jobs.

    Args:
        source: a session of any face, a session id (with ``runtime``), a list of jobs or a
            :class:`~qsession_provider.core.timeline.Timeline` (see
            :func:`~qsession_provider.visual.sources.timeline_of`).
        runtime: the runtime to read from (found on session objects when not given).
        others: also draw other users' and sessions' jobs on the session's device.
        now: the current time (default: the runtime's clock).
        ax: draw into these axes instead of a new figure.
        title: the figure title (default: the session id, or "jobs").

    Returns:
        The matplotlib ``Figure`` (not shown; ``fig.savefig(path)`` writes it). A new
        figure is made without pyplot, so nothing is kept in a global figure registry.

    Raises:
        ImportError: matplotlib is not installed (names the ``plot`` extra).
        InputError: ``source`` cannot be read as a session or jobs.
    """
    figure_module = require_matplotlib()
    timeline = timeline_of(source, runtime=runtime, others=others, now=now)
    if ax is None:
        height = 1.6 + 0.55 * max(1, len(timeline.lanes))
        fig = figure_module.Figure(figsize=(10, height), layout="constrained")
        ax = fig.add_subplot()
    else:
        fig = ax.figure
    _draw(ax, timeline, now)
    default = f"session {timeline.session_id}" if timeline.session_id else "jobs"
    ax.set_title(title if title is not None else default)
    return fig


def _draw(ax: Axes, tl: Timeline, now: float | None) -> None:
    from matplotlib.patches import Patch

    origin = tl.start
    row = {lane: i for i, lane in enumerate(tl.lanes)}
    end_now = tl.end if now is None else now
    span = tl.end - tl.start if tl.end > tl.start else 1.0  # all at one instant: 1 s
    min_width = 0.003 * span
    for bar in tl.bars:
        y = row[bar.lane]
        left = bar.start - origin
        # a job that failed at once still shows, as a sliver
        width = max(bar.end_or(end_now) - bar.start, min_width)
        if bar.own:
            color = STATUS_COLORS.get(bar.status, OTHERS_COLOR)
            ax.barh(
                y,
                width,
                left=left,
                height=0.6,
                color=color,
                edgecolor="black",
                gid=f"job:{bar.job_id}",
            )
            if bar.start > bar.queued_at:
                ax.plot(
                    [bar.queued_at - origin, left],
                    [y, y],
                    color=color,
                    linewidth=1,
                    linestyle=":",
                    gid=f"wait:{bar.job_id}",
                )
        else:
            ax.barh(
                y,
                width,
                left=left,
                height=0.45,
                color=OTHERS_COLOR,
                edgecolor="#757575",
                hatch="//",
                alpha=0.8,
                gid=f"job:{bar.job_id}",
            )
    labels: dict[float, list[str]] = {}
    for mark in tl.marks:
        color = MARK_COLORS.get(mark.state, "black")
        x = mark.time - origin
        ax.axvline(x, color=color, linestyle="--", linewidth=1, gid=f"mark:{mark.state}")
        labels.setdefault(x, []).append(mark.state)
    for x, states in labels.items():  # changes at one instant share a label
        ax.annotate(
            " → ".join(states),
            xy=(x, 0.98),
            xycoords=("data", "axes fraction"),
            xytext=(3, 0),
            textcoords="offset points",
            rotation=90,
            va="top",
            fontsize=8,
            color=MARK_COLORS.get(states[-1], "black"),
            gid="marks:" + ",".join(states),
        )
    ax.set_yticks(range(len(tl.lanes)), labels=list(tl.lanes))
    ax.set_ylim(len(tl.lanes) - 0.5, -0.5)  # first lane on top
    ax.set_xlim(-0.02 * span, span * 1.02)
    start = datetime.fromtimestamp(origin, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S UTC")
    ax.set_xlabel(f"seconds since {start}")
    statuses = sorted({b.status for b in tl.bars if b.own})
    handles = [
        Patch(facecolor=STATUS_COLORS.get(s, OTHERS_COLOR), label=s.lower()) for s in statuses
    ]
    if any(not b.own for b in tl.bars):
        handles.append(Patch(facecolor=OTHERS_COLOR, hatch="//", label="others' jobs"))
    if handles:
        ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=8)
