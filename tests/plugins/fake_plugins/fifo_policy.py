"""A plugin that replaces fair share with strict first-in-first-out scheduling."""

from __future__ import annotations

from typing import Any

from qsession_provider.core.runtime.queues import DeviceQueue, QueuedJob
from qsession_provider.plugins import hookimpl


class FifoPolicy:
    """Oldest queued job first, ignoring sessions and instances."""

    def select(self, queue: DeviceQueue, now: float) -> QueuedJob | None:
        heads = [entry for _, entry in queue.heads(include_dedicated=True)]
        return min(heads, key=lambda e: e.seq) if heads else None

    def charge(self, instance: str, seconds: float, now: float) -> None:
        return None


@hookimpl
def qsession_scheduling_policy(devices: list[Any]) -> FifoPolicy:
    return FifoPolicy()
