"""Instances' plans and usage limits, and device reservations: what IBM's service enforces.

- :class:`InstancePlan`: an instance's plan (IBM's names: ``open``, ``pay-as-you-go``,
  ``flex``, ``premium``, ``dedicated``) and optional usage limit, in quantum seconds per
  rolling period on the runtime's clock. On the ``open`` plan, session execution mode is
  not available (jobs run in job mode instead, with the service's warning); batch and job
  modes work on every plan.
- :class:`Reservation`: a device reserved for one instance during a window on the
  runtime's clock. During it only that instance's jobs start on the device (its sessions
  included); outside it the device is shared by fair share.

The runtime enforces both (:mod:`.runtime.allowances`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .clock import parse_duration

__all__ = [
    "DEFAULT_PERIOD",
    "OPEN_PLAN_SESSIONS",
    "PLANS",
    "USAGE_LIMIT_MET",
    "InstancePlan",
    "Reservation",
]

#: IBM Quantum's plan names.
PLANS = ("open", "pay-as-you-go", "flex", "premium", "dedicated")
#: A usage limit counts the quantum seconds of this rolling window (IBM's Open plan: 28 days).
DEFAULT_PERIOD = 28 * 24 * 3600.0
#: The service's words when session mode is asked for on the Open plan (seed 001).
OPEN_PLAN_SESSIONS = (
    "Session execution mode is not supported in the Open Plan. Jobs will run in job mode instead."
)
#: The start of the service's words when an instance has met its usage limit.
USAGE_LIMIT_MET = (
    "This instance has met its usage limit. Workloads will not run until time is made available."
)


@dataclass(frozen=True)
class InstancePlan:
    """An instance's plan and usage limit.

    Attributes:
        plan: one of :data:`PLANS` (default ``premium``: sessions, no limit).
        usage_limit: quantum seconds the instance may use per ``period`` (seconds or a
            string such as ``"10m"``), or None for no limit.
        period: the rolling window the limit counts, in seconds (default 28 days).

    Raises:
        InputError: an unknown plan, or a limit or period that is not a finite number of
            seconds (the limit may be 0, the period must be > 0).
    """

    plan: str = "premium"
    usage_limit: float | None = None
    period: float = DEFAULT_PERIOD

    def __post_init__(self) -> None:
        if self.plan not in PLANS:
            raise InputError(f"plan must be one of {', '.join(PLANS)}; got {self.plan!r}")
        if self.usage_limit is not None:
            object.__setattr__(self, "usage_limit", _seconds(self.usage_limit, "usage_limit"))
        period = _seconds(self.period, "period")
        if period <= 0:
            raise InputError(f"period must be > 0 seconds, got {self.period!r}")
        object.__setattr__(self, "period", period)

    @property
    def sessions_allowed(self) -> bool:
        """False on the Open plan: dedicated sessions are not available there."""
        return self.plan != "open"


@dataclass(frozen=True)
class Reservation:
    """``device`` reserved for ``instance`` from ``start`` to ``end`` (clock seconds).

    Raises:
        InputError: empty names, or a window that is not ``start < end`` in finite seconds.
    """

    device: str
    instance: str
    start: float
    end: float

    def __post_init__(self) -> None:
        for name in ("device", "instance"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise InputError(f"reservation {name} must be a non-empty string, got {value!r}")
        start, end = _time(self.start, "start"), _time(self.end, "end")
        if not start < end:
            raise InputError(f"a reservation must end after it starts, got {start} to {end}")
        object.__setattr__(self, "start", start)
        object.__setattr__(self, "end", end)

    def covers(self, now: float) -> bool:
        """True during the window (its start included, its end not)."""
        return self.start <= now < self.end


def _seconds(value: Any, what: str) -> float:
    try:
        seconds = parse_duration(value)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    if seconds < 0:
        raise InputError(f"{what} must be >= 0 seconds, got {value!r}")
    return seconds


def _time(value: Any, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise InputError(f"reservation {what} must be a finite time in seconds, got {value!r}")
    return float(value)
