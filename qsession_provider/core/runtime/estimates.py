"""When a queued job should start and finish: the estimate behind IBM's job metrics.

The cloud reports, for a queued job, its position in the queue and estimated start and
completion times. Ours come from the device's queue as it stands and its timing model:
the jobs ahead are the device's system jobs and every queued job with a higher priority or
an earlier submission; each slot frees when its running job's modelled time is over; the
jobs ahead take the earliest free slot in turn, then this job does. Fair share and a
dedicated session holding the device can reorder jobs later, so it is an estimate, as the
cloud's is, recomputed on every call: the position falls as jobs ahead finish.
"""

from __future__ import annotations

import heapq
from dataclasses import dataclass

from .queues import DeviceQueue, QueuedJob

__all__ = ["QueueEstimate", "queue_estimate"]


@dataclass(frozen=True)
class QueueEstimate:
    """A queued job's place and expected times.

    Attributes:
        position: 1 for the next job to start on its device, 2 for the one after, ...
        start: estimated start, in clock seconds.
        completion: estimated end, in clock seconds.
    """

    position: int
    start: float
    completion: float


def queue_estimate(q: DeviceQueue, job_id: str, now: float) -> QueueEstimate | None:
    """The estimate for queued job ``job_id`` of ``q`` at time ``now``; None if not queued."""
    entry = q.entry(job_id)
    if entry is None:
        return None
    mine = _order(entry)
    ahead = sorted((e for e in q.entries() if _order(e) < mine), key=_order)
    # Each slot frees when its running job's modelled time ends (at once if it is over).
    free_at = [
        max(now, (job.record.started_at or now) + q.device.execution_time(job.payload))
        for job in q.running.values()
    ]
    free_at += [now] * max(0, q.device.slots - len(free_at))
    heapq.heapify(free_at)
    for e in ahead:
        heapq.heappush(free_at, heapq.heappop(free_at) + e.expected)
    start = free_at[0] if free_at else now
    return QueueEstimate(len(ahead) + 1, start, start + entry.expected)


def _order(entry: QueuedJob) -> tuple[int, int, int]:
    """System jobs first, then priority and submission order."""
    return (0 if entry.job.record.system else 1, *entry.key)
