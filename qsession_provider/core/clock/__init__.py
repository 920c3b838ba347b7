"""Clocks: the only place the runtime reads time, sets timers or waits.

:class:`Clock` is the protocol, :class:`RealClock` wall time, :class:`VirtualClock` time
that moves only when told to (``clock.advance("10m")``); timers and durations live in
:mod:`.timers`.
"""

from __future__ import annotations

from .real import Clock, RealClock
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
