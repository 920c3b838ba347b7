"""Clocks: the only place the runtime reads time, sets timers or waits.

:class:`Clock` is the protocol (:mod:`.protocol`), :class:`RealClock` wall time
(:mod:`.real`), :class:`VirtualClock` time that moves only when told to
(``clock.advance("10m")``, :mod:`.virtual`); timers, activities and durations live in
:mod:`.timers`.
"""

from __future__ import annotations

from .protocol import Clock
from .real import RealClock
from .timers import NO_ACTIVITY, Activity, Timer, parse_duration
from .virtual import DEFAULT_VIRTUAL_EPOCH, VirtualClock

__all__ = [
    "DEFAULT_VIRTUAL_EPOCH",
    "NO_ACTIVITY",
    "Activity",
    "Clock",
    "RealClock",
    "Timer",
    "VirtualClock",
    "parse_duration",
]
