"""The device queue's indexes and lazy removal, and the fair-share usage decay."""

from __future__ import annotations

from typing import Any

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.job import Job, JobRecord, JobStatus
from qsession_provider.core.runtime.live_session import LiveSession
from qsession_provider.core.runtime.policies import FairSharePolicy
from qsession_provider.core.runtime.queues import DeviceQueue, QueuedJob
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState


def entry(
    seq: int, instance: str = "a", session: Any = None, priority: int = 0, system: bool = False
) -> QueuedJob:
    record = JobRecord(
        f"j{seq}",
        "echo",
        "d",
        JobStatus.QUEUED,
        0.0,
        instance=instance,
        priority=priority,
        system=system,
    )
    return QueuedJob(Job(record, clock=VirtualClock()), seq, session, 1.0)


def session(mode: SessionMode = SessionMode.DEDICATED) -> LiveSession:
    return LiveSession(SessionRecord("s", "d", mode, SessionState.OPEN, 0.0))


def test_indexes_and_lazy_removal() -> None:
    q = DeviceQueue(Device("d", 1, lambda p, x: None))
    dedicated = session()
    entries = [
        entry(0),
        entry(1, "b"),
        entry(2, session=dedicated),
        entry(3, system=True),
        entry(4, priority=9),
    ]
    for e in entries:
        q.push(e)
    assert q.queued == 5 and q.free_slots == 1
    assert q.next_system() is entries[3]
    assert q.next_of_session("s") is entries[2]
    heads = dict(q.heads(include_dedicated=False))
    assert heads == {"a": entries[4], "b": entries[1]}  # priority 9 first in instance a
    heads = dict(q.heads(include_dedicated=True))
    assert heads["a"] is entries[4]
    q.remove("j4")
    assert dict(q.heads(include_dedicated=True))["a"] is entries[0]
    assert q.remove("j4") is None
    assert q.session_entries("s") == [entries[2]]
    q.remove("j2")
    q.forget_session("s")
    assert q.next_of_session("s") is None
    assert sorted(q.job_ids()) == ["j0", "j1", "j3"]


def test_heaps_compact_when_mostly_dead() -> None:
    q = DeviceQueue(Device("d", 1, lambda p, x: None))
    for i in range(1000):
        q.push(entry(i))
    for i in range(999):
        q.remove(f"j{i}")
    heap = q._free["a"]
    assert len(heap.items) < 100 and len(heap) == 1
    assert dict(q.heads(include_dedicated=False))["a"].seq == 999


def test_fair_share_usage_decays_with_its_half_life() -> None:
    policy = FairSharePolicy(half_life=10.0)
    policy.charge("a", 8.0, now=0.0)
    assert policy.usage("a", 0.0) == 8.0
    assert policy.usage("a", 10.0) == 4.0
    assert policy.usage("b", 10.0) == 0.0
    policy.charge("b", 0.0, now=0.0)
    assert policy.usage("b", 0.0) == policy.min_charge
