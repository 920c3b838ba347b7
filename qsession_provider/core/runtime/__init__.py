"""The runtime: jobs, sessions and the scheduler that runs them on devices.

:class:`Runtime` (:mod:`.runtime`, with its job and session halves in :mod:`.jobs` and
:mod:`.sessions`) is the one object faces talk to, through :mod:`qsession_provider.client`.
Inside:

- :mod:`.scheduler`: per-device queues and slots, the choice of the next job
  (:mod:`.queues`, :mod:`.policies`);
- :mod:`.execution`: computing started jobs (inline, on the executor, run-on-wait) and
  ending them on time; :mod:`.executors`: where payloads are computed (a thread pool;
  :mod:`.dask_executor`: a Dask cluster's workers);
- :mod:`.transitions`: job state changes, their store writes, releasing waiters;
- :mod:`.session_rules`: what job events, timers and user actions do to a session;
  :mod:`.live_session`: a session's mutable side while this runtime owns it;
- :mod:`.events`: listeners; :mod:`.context`: the lock and deferred work they share;
- :mod:`.adoption`: taking over the work processes gone from the store left behind;
- :mod:`.checks`: input checks; :mod:`.ids`: new job and session ids.
"""

from __future__ import annotations

from .dask_executor import DaskExecutor
from .events import RuntimeListener
from .executors import Executor, InlineExecutor, ThreadExecutor
from .policies import FairSharePolicy, SchedulingPolicy
from .runtime import Runtime

__all__ = [
    "DaskExecutor",
    "Executor",
    "FairSharePolicy",
    "InlineExecutor",
    "Runtime",
    "RuntimeListener",
    "SchedulingPolicy",
    "ThreadExecutor",
]
