"""What a session did over time: lanes per device slot, a bar per job, the state changes.

:func:`build_timeline` turns job records (and a session record) into a :class:`Timeline`
that pictures (``visual/timeline.py``) and the dashboard draw the same way:

* one lane per device slot, named ``"<device> · slot k"`` (k from 1). A job record does not
  say which slot ran it, so jobs are packed onto slots greedily by start time: each bar
  goes to the lowest slot that is free at its start (a running job keeps its slot).
* one :class:`Bar` per job that started, from ``started_at`` to ``finished_at`` (None while
  still running). Jobs that never started have no bar; their ids are in
  :attr:`Timeline.unstarted`.
* ``own`` bars are the jobs of the session drawn; ``others`` are other users' or sessions'
  jobs on the same devices, drawn so that waiting is explained.
* one :class:`Mark` per session state change (``SessionRecord.timestamps``).

Framework-free: stdlib and the core records only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from .job_record import FINAL_STATES, JobRecord
from .session import SessionRecord

__all__ = ["Bar", "Mark", "Timeline", "build_timeline", "lane_name"]


@dataclass(frozen=True)
class Bar:
    """One job on one lane.

    Attributes:
        job_id: the job.
        lane: the lane it is drawn on (see :func:`lane_name`).
        start: when it began execution.
        end: when it reached its final state, or None while it still runs.
        status: its :class:`~qsession_provider.core.job_record.JobStatus` value.
        user: who submitted it ("" for embedded use).
        session_id: its session, or None in job mode.
        own: True for a job of the session drawn; False for another user's or session's job
            on the same device (drawn to explain waiting).
        queued_at: when it was submitted (``created_at``).
    """

    job_id: str
    lane: str
    start: float
    end: float | None
    status: str
    user: str
    session_id: str | None
    own: bool
    queued_at: float

    def end_or(self, now: float) -> float:
        """The end, or ``now`` (never before the start) while still running."""
        return self.end if self.end is not None else max(self.start, now)


@dataclass(frozen=True)
class Mark:
    """A session state change: the state (a ``SessionState`` value) entered at ``time``."""

    time: float
    state: str


@dataclass(frozen=True)
class Timeline:
    """Lanes, bars and marks over ``[start, end]`` (seconds on the runtime's clock).

    Attributes:
        lanes: lane names, top to bottom (the session's device first, slots in order).
        bars: one per started job, ordered by start time.
        marks: the session's state changes, oldest first (empty without a session).
        start, end: the span worth drawing (submissions, bars, marks and, while anything
            runs, ``now``).
        session_id: the session drawn, or None for a plain list of jobs.
        unstarted: ids of the own jobs that never started (queued, or ended before
            starting), in submission order.
    """

    lanes: tuple[str, ...]
    bars: tuple[Bar, ...]
    marks: tuple[Mark, ...]
    start: float
    end: float
    session_id: str | None
    unstarted: tuple[str, ...] = ()

    def bars_on(self, lane: str) -> tuple[Bar, ...]:
        """The bars of one lane, by start time."""
        return tuple(b for b in self.bars if b.lane == lane)


def lane_name(device: str, slot: int) -> str:
    """The lane of ``device``'s slot number ``slot`` (from 1)."""
    return f"{device} · slot {slot}"


def build_timeline(
    jobs: Sequence[JobRecord],
    *,
    session: SessionRecord | None = None,
    others: Sequence[JobRecord] = (),
    now: float,
    slots: Mapping[str, int] | None = None,
) -> Timeline:
    """Lay out ``jobs`` (and ``others``) on device-slot lanes.

    Args:
        jobs: the jobs to draw as the session's own (any order).
        session: the session they belong to; gives the marks and the first lane's device.
        others: other jobs on the same devices (another user's or session's); a job also in
            ``jobs`` is drawn once, as own.
        now: the current time on the runtime's clock (the end of running bars).
        slots: optional number of slots per device: lanes are shown for every slot even
            when idle (packing never needs more lanes than it finds overlapping jobs).

    Returns:
        The :class:`Timeline`.
    """
    own_ids = {j.id for j in jobs}
    entries = [(j, True) for j in jobs]
    entries += [(j, False) for j in _unique(others) if j.id not in own_ids]
    started = [(j, own) for j, own in entries if j.started_at is not None]
    started.sort(key=lambda e: (e[0].started_at, e[0].created_at, e[0].id))

    busy_until: dict[str, list[float]] = {}  # device -> end time per slot (inf: running)
    bars: list[Bar] = []
    for job, own in started:
        assert job.started_at is not None
        end = _end(job)
        ends = busy_until.setdefault(job.device, [])
        slot = next((k for k, e in enumerate(ends) if e <= job.started_at), len(ends))
        if slot == len(ends):
            ends.append(0.0)
        ends[slot] = float("inf") if end is None else end
        bars.append(
            Bar(
                job_id=job.id,
                lane=lane_name(job.device, slot + 1),
                start=job.started_at,
                end=end,
                status=job.status.value,
                user=job.user,
                session_id=job.session_id,
                own=own,
                queued_at=job.created_at,
            )
        )

    counts = {device: len(ends) for device, ends in busy_until.items()}
    for device, n in (slots or {}).items():
        if device in counts or (session is not None and device == session.device):
            counts[device] = max(counts.get(device, 0), n)
    if session is not None:
        counts.setdefault(session.device, 1)
    lanes = tuple(
        lane_name(device, k + 1)
        for device in _device_order(counts, session)
        for k in range(counts[device])
    )
    marks = tuple(Mark(when, state.value) for state, when in session.timestamps) if session else ()
    start, end = _span(entries, bars, marks, session, now)
    unstarted = tuple(
        j.id for j in sorted(jobs, key=lambda j: (j.created_at, j.id)) if j.started_at is None
    )
    return Timeline(
        lanes=lanes,
        bars=tuple(bars),
        marks=marks,
        start=start,
        end=end,
        session_id=None if session is None else session.id,
        unstarted=unstarted,
    )


def _unique(records: Iterable[JobRecord]) -> list[JobRecord]:
    seen: set[str] = set()
    out = []
    for r in records:
        if r.id not in seen:
            seen.add(r.id)
            out.append(r)
    return out


def _end(job: JobRecord) -> float | None:
    """The bar's end: finished_at; None while running; the start if final without one."""
    if job.finished_at is not None:
        return job.finished_at
    if job.status in FINAL_STATES:
        return job.started_at
    return None


def _device_order(counts: Mapping[str, int], session: SessionRecord | None) -> list[str]:
    first = [session.device] if session is not None and session.device in counts else []
    return first + sorted(d for d in counts if d not in first)


def _span(
    entries: Sequence[tuple[JobRecord, bool]],
    bars: Sequence[Bar],
    marks: Sequence[Mark],
    session: SessionRecord | None,
    now: float,
) -> tuple[float, float]:
    times = [j.created_at for j, own in entries if own or j.started_at is not None]
    times += [b.start for b in bars] + [b.end for b in bars if b.end is not None]
    times += [m.time for m in marks]
    if session is not None:
        times.append(session.created_at)
        if session.closed_at is not None:
            times.append(session.closed_at)
    running = any(b.end is None for b in bars) or any(
        own and j.status not in FINAL_STATES for j, own in entries
    )
    if running or (session is not None and session.closed_at is None):
        times.append(now)
    if not times:
        return now, now
    return min(times), max(times)
