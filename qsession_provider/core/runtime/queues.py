"""The per-device queue the scheduler and its policy read.

Every queued job is one :class:`QueuedJob` entry, indexed several ways so a policy finds
the next job without scanning: system jobs; jobs by session; and, per instance, jobs
that are free to run whenever a slot is free (job mode and batch sessions) apart from
jobs of dedicated sessions (which may run only when they hold the device, or when no
session does). Within each index the order is priority (higher first), then submission.
Removal is lazy: an entry is flagged and skipped when it reaches the head of a heap.
"""

from __future__ import annotations

import heapq
from collections.abc import Iterator
from dataclasses import dataclass, field

from ..device import Device
from ..job import Job
from .live_session import LiveSession

__all__ = ["QueuedJob", "DeviceQueue"]


@dataclass(eq=False)
class QueuedJob:
    """A queued job with what scheduling needs to know about it.

    Attributes:
        job: the job handle.
        seq: submission order within the runtime.
        session: the job's live session, or None in job mode.
        expected: modelled execution seconds (the fair-share charge).
        removed: taken or dropped; heaps skip it.
    """

    job: Job
    seq: int
    session: LiveSession | None
    expected: float
    removed: bool = False
    heaps: tuple[_Heap, ...] = ()

    @property
    def key(self) -> tuple[int, int]:
        """Sort key: higher priority first, then submission order."""
        return (-self.job.record.priority, self.seq)

    @property
    def instance(self) -> str:
        return self.job.record.instance

    @property
    def dedicated(self) -> bool:
        """True for jobs of dedicated (non-batch) sessions."""
        return self.session is not None and self.session.dedicated

    def __lt__(self, other: QueuedJob) -> bool:
        return self.key < other.key


class _Heap:
    """A heap of entries with lazy removal, compacted when half of it is dead."""

    __slots__ = ("items", "dead")

    def __init__(self) -> None:
        self.items: list[QueuedJob] = []
        self.dead = 0

    def push(self, entry: QueuedJob) -> None:
        heapq.heappush(self.items, entry)

    def head(self) -> QueuedJob | None:
        items = self.items
        while items and items[0].removed:
            heapq.heappop(items)
            self.dead -= 1
        return items[0] if items else None

    def discard(self) -> None:
        """One of the entries was flagged removed; rebuild if most of the heap is dead."""
        self.dead += 1
        if self.dead > 16 and self.dead * 2 > len(self.items):
            self.items = [e for e in self.items if not e.removed]
            heapq.heapify(self.items)
            self.dead = 0

    def __len__(self) -> int:
        return len(self.items) - self.dead

    def live(self) -> Iterator[QueuedJob]:
        return (e for e in self.items if not e.removed)


@dataclass(eq=False)
class DeviceQueue:
    """Queued and running jobs of one device, and the session holding it.

    Attributes:
        device: the device.
        holder: the dedicated session the device is dedicated to, or None.
        running: jobs occupying a slot, by id.
        reserved_for: the instance a reservation gives the device to right now, or None
            (set by the scheduler before it asks the policy).
    """

    device: Device
    holder: LiveSession | None = None
    running: dict[str, Job] = field(default_factory=dict)
    reserved_for: str | None = None
    _system: _Heap = field(default_factory=_Heap)
    _sessions: dict[str, _Heap] = field(default_factory=dict)
    _free: dict[str, _Heap] = field(default_factory=dict)
    _dedicated: dict[str, _Heap] = field(default_factory=dict)
    _entries: dict[str, QueuedJob] = field(default_factory=dict)

    # -- sizes -------------------------------------------------------------------------------
    @property
    def free_slots(self) -> int:
        """Slots not occupied by a running job."""
        return self.device.slots - len(self.running)

    @property
    def queued(self) -> int:
        """Number of queued jobs."""
        return len(self._entries)

    # -- changes -------------------------------------------------------------------------------
    def push(self, entry: QueuedJob) -> None:
        """Queue ``entry``."""
        self._entries[entry.job.id] = entry
        if entry.job.record.system:
            heaps = [self._system]
        else:
            pools = self._dedicated if entry.dedicated else self._free
            heaps = [pools.setdefault(entry.instance, _Heap())]
            if entry.session is not None:
                heaps.append(self._sessions.setdefault(entry.session.id, _Heap()))
        entry.heaps = tuple(heaps)
        for heap in heaps:
            heap.push(entry)

    def remove(self, job_id: str) -> QueuedJob | None:
        """Take a job out of the queue (to start or drop it); None if it is not queued."""
        entry = self._entries.pop(job_id, None)
        if entry is not None:
            entry.removed = True
            for heap in entry.heaps:
                heap.discard()
            entry.heaps = ()
        return entry

    def forget_session(self, session_id: str) -> None:
        """Drop the (empty) index of a closed session."""
        heap = self._sessions.get(session_id)
        if heap is not None and len(heap) == 0:
            del self._sessions[session_id]

    def has(self, job_id: str) -> bool:
        """True if the job is queued here."""
        return job_id in self._entries

    def job_ids(self) -> list[str]:
        """Ids of every queued job."""
        return list(self._entries)

    def entry(self, job_id: str) -> QueuedJob | None:
        """The entry of a queued job, or None."""
        return self._entries.get(job_id)

    def entries(self) -> list[QueuedJob]:
        """Every queued entry (in no particular order)."""
        return list(self._entries.values())

    def session_entries(self, session_id: str) -> list[QueuedJob]:
        """Queued entries of a session, in queue order."""
        heap = self._sessions.get(session_id)
        return sorted(heap.live()) if heap is not None else []

    # -- what a policy reads ---------------------------------------------------------------------
    def next_system(self) -> QueuedJob | None:
        """The first system job, if any."""
        return self._system.head()

    def next_of_session(self, session_id: str) -> QueuedJob | None:
        """The first queued job of a session, if any."""
        heap = self._sessions.get(session_id)
        return heap.head() if heap is not None else None

    def heads(self, *, include_dedicated: bool) -> list[tuple[str, QueuedJob]]:
        """``(instance, first job)`` per instance with queued jobs.

        Args:
            include_dedicated: also consider jobs of dedicated sessions (only sensible
                when no session holds the device).
        """
        best: dict[str, QueuedJob] = {}
        pools = (self._free, self._dedicated) if include_dedicated else (self._free,)
        for pool in pools:
            empty = []
            for instance, heap in pool.items():
                head = heap.head()
                if head is None:
                    empty.append(instance)
                elif instance not in best or head < best[instance]:
                    best[instance] = head
            for instance in empty:
                del pool[instance]
        return list(best.items())
