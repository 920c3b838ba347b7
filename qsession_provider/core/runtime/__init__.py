"""The runtime: jobs, sessions and the scheduler that runs them on devices.

:class:`Runtime` is the one object faces talk to (through :mod:`qsession_provider.client`).
Inside: the scheduler (:mod:`.scheduler`), the session rules (:mod:`.session_rules`),
per-device queues (:mod:`.queues`), scheduling policies (:mod:`.policies`), events for
listeners (:mod:`.events`), executors (:mod:`.executors`) and input checks
(:mod:`.checks`).
"""

from __future__ import annotations

from .events import RuntimeListener
from .executors import Executor, InlineExecutor, ThreadExecutor
from .policies import FairSharePolicy, SchedulingPolicy
from .runtime import Runtime

__all__ = [
    "Executor",
    "FairSharePolicy",
    "InlineExecutor",
    "Runtime",
    "RuntimeListener",
    "SchedulingPolicy",
    "ThreadExecutor",
]
