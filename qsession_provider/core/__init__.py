"""Framework-neutral core: the circuit IR, clocks, stores, the runtime and the records.

Four rooms and the records every layer reads:

- :mod:`.ir`: circuits, parameters, gates, observables, payloads, encoding;
- :mod:`.clock`: ``Clock``, ``RealClock``, ``VirtualClock``, timers;
- :mod:`.store`: the ``Store`` protocol, the memory and SQLite stores, the process registry;
- :mod:`.runtime`: ``Runtime``, the scheduler, execution, the session rules, live
  sessions, queues, policies, events, executors, input checks, ids;
- :mod:`.device`, :mod:`.job`, :mod:`.job_record`, :mod:`.session`: the records (the
  stored ones share :mod:`.record`; string enums share :mod:`.text_enum`);
  :mod:`.user`: the token records of a service's users.

Nothing under ``core`` imports qiskit, cirq, pluggy or the simulator. Names listed here
are loaded on first use, so ``import qsession_provider.core.ir`` loads the IR alone.
"""

from __future__ import annotations

from .._lazy import lazy_exports

_EXPORTS = {
    "Clock": ".clock",
    "RealClock": ".clock",
    "VirtualClock": ".clock",
    "parse_duration": ".clock",
    "Device": ".device",
    "DeviceRegistry": ".device",
    "TimingModel": ".device",
    "RuntimeListener": ".runtime",
    "Executor": ".runtime",
    "InlineExecutor": ".runtime",
    "ThreadExecutor": ".runtime",
    "FairSharePolicy": ".runtime",
    "SchedulingPolicy": ".runtime",
    "Runtime": ".runtime",
    "GATES": ".ir",
    "GateSpec": ".ir",
    "gate_matrix": ".ir",
    "PauliSum": ".ir",
    "PauliTerm": ".ir",
    "Parameter": ".ir",
    "ParamExpr": ".ir",
    "Barrier": ".ir",
    "Condition": ".ir",
    "Gate": ".ir",
    "Measure": ".ir",
    "Circuit": ".ir",
    "Reset": ".ir",
    "FINAL_STATES": ".job",
    "Job": ".job",
    "JobErrorCode": ".job",
    "JobRecord": ".job",
    "JobStatus": ".job",
    "MemoryStore": ".store",
    "SQLiteStore": ".store",
    "default_store_path": ".store",
    "JobQuery": ".store",
    "SessionQuery": ".store",
    "Store": ".store",
    "CloseReason": ".session",
    "FailurePolicy": ".session",
    "IdleScope": ".session",
    "SessionMode": ".session",
    "SessionRecord": ".session",
    "SessionState": ".session",
    "TokenRecord": ".user",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "Barrier",
    "Clock",
    "CloseReason",
    "Condition",
    "Device",
    "DeviceRegistry",
    "Executor",
    "FINAL_STATES",
    "FailurePolicy",
    "FairSharePolicy",
    "GATES",
    "Gate",
    "GateSpec",
    "IdleScope",
    "InlineExecutor",
    "Job",
    "JobErrorCode",
    "JobQuery",
    "JobRecord",
    "JobStatus",
    "Measure",
    "MemoryStore",
    "ParamExpr",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Circuit",
    "RealClock",
    "Reset",
    "Runtime",
    "RuntimeListener",
    "SQLiteStore",
    "SchedulingPolicy",
    "SessionMode",
    "SessionQuery",
    "SessionRecord",
    "SessionState",
    "Store",
    "ThreadExecutor",
    "TimingModel",
    "TokenRecord",
    "VirtualClock",
    "default_store_path",
    "gate_matrix",
    "parse_duration",
]
