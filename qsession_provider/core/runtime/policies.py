"""Scheduling policies: which queued job takes a free slot.

The scheduler asks its policy for one job at a time, for one device, under the runtime
lock, whenever a slot is free or the queue changes. :class:`FairSharePolicy` is the
default and implements the order the cloud services document:

1. system (calibration) jobs first, even ahead of sessions; during a reservation
   (``queue.reserved_for``) only the reserving instance's jobs are considered after them;
2. the jobs of the dedicated session holding the device, FIFO;
3. while that session is inside its interactive window (active and accepting jobs)
   with nothing queued, nothing else runs - the device waits for it - unless
   ``work_conserving=True``, which lets job-mode and batch jobs fill the gap;
4. otherwise fair share across instances: the instance with the least recent usage
   relative to its share goes first, FIFO within an instance. Usage is device seconds
   (the modelled execution time, at least ``min_charge`` per job so instant jobs still
   rotate) decaying with a half-life, so old usage is forgotten.

A plugin may return another policy from ``qsession_scheduling_policy``.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Protocol, runtime_checkable

from ...errors import InputError
from ..session import SessionState
from .queues import DeviceQueue, QueuedJob

__all__ = ["SchedulingPolicy", "FairSharePolicy"]


@runtime_checkable
class SchedulingPolicy(Protocol):
    """Chooses the next job of a device. Called under the runtime lock: be quick."""

    def select(self, queue: DeviceQueue, now: float) -> QueuedJob | None:
        """The queued entry to start on a free slot of ``queue.device``, or None to wait.

        Must return an entry currently in ``queue`` (or None).
        """
        ...

    def charge(self, instance: str, seconds: float, now: float) -> None:
        """Record that ``instance`` used the device for ``seconds`` (at dispatch)."""
        ...


class FairSharePolicy:
    """The default policy (see the module docstring).

    Args:
        work_conserving: let job-mode and batch jobs use a device that an active
            dedicated session holds but is not using. Default False (IBM semantics).
        shares: relative share per instance (default 1.0 for every instance).
        half_life: seconds after which recorded usage counts half.
        min_charge: least seconds charged per job.
    """

    def __init__(
        self,
        *,
        work_conserving: bool = False,
        shares: Mapping[str, float] | None = None,
        half_life: float = 3600.0,
        min_charge: float = 1e-3,
    ) -> None:
        for instance, share in (shares or {}).items():
            _check_share(instance, share)
        if not half_life > 0:
            raise InputError(f"half_life must be > 0, got {half_life!r}")
        self.work_conserving = bool(work_conserving)
        self.shares = {instance: float(share) for instance, share in (shares or {}).items()}
        self.half_life = float(half_life)
        self.min_charge = float(min_charge)
        self._usage: dict[str, tuple[float, float]] = {}  # instance -> (usage, as of time)

    def select(self, queue: DeviceQueue, now: float) -> QueuedJob | None:
        entry = queue.next_system()
        if entry is not None:
            return entry
        reserved = queue.reserved_for  # during a reservation, only its instance's jobs
        holder = queue.holder
        if holder is not None and reserved is not None and holder.record.instance != reserved:
            holder = None  # the reservation outranks another instance's session
        if holder is None:
            return self._fair_share(_only(queue.heads(include_dedicated=True), reserved), now)
        entry = queue.next_of_session(holder.id)
        if entry is not None:
            return entry
        in_window = holder.state is SessionState.ACTIVE and holder.record.accepting_jobs
        if in_window and not self.work_conserving:
            return None
        # Only jobs that do not need the device dedicated may fill the gap.
        return self._fair_share(_only(queue.heads(include_dedicated=False), reserved), now)

    def set_share(self, instance: str, share: float) -> None:
        """Give ``instance`` a new relative share (a service applies its tokens' shares).

        Takes effect at the next choice; recorded usage is kept.

        Raises:
            InputError: ``share`` is not a finite number > 0, or ``instance`` is not a
                non-empty string.
        """
        if not isinstance(instance, str) or not instance:
            raise InputError(f"instance must be a non-empty string, got {instance!r}")
        self.shares[instance] = _check_share(instance, share)

    def charge(self, instance: str, seconds: float, now: float) -> None:
        self._usage[instance] = (self.usage(instance, now) + max(seconds, self.min_charge), now)

    def usage(self, instance: str, now: float) -> float:
        """Decayed usage of ``instance`` at ``now``."""
        value, since = self._usage.get(instance, (0.0, now))
        if value == 0.0:
            return 0.0
        return value * 0.5 ** (max(0.0, now - since) / self.half_life)

    def _fair_share(self, heads: list[tuple[str, QueuedJob]], now: float) -> QueuedJob | None:
        if not heads:
            return None
        return min(
            heads,
            key=lambda item: (
                self.usage(item[0], now) / self.shares.get(item[0], 1.0),
                item[1].key,
            ),
        )[1]


def _only(heads: list[tuple[str, QueuedJob]], instance: str | None) -> list[tuple[str, QueuedJob]]:
    """``heads`` of ``instance`` alone (all of them when None)."""
    return heads if instance is None else [h for h in heads if h[0] == instance]


def _check_share(instance: str, share: object) -> float:
    """``share`` as a float, if it is a finite number > 0."""
    if (
        isinstance(share, bool)
        or not isinstance(share, (int, float))
        or not (math.isfinite(share) and share > 0)
    ):
        raise InputError(f"share of instance {instance!r} must be > 0, got {share!r}")
    return float(share)
