"""Framework-neutral core: circuit IR, payloads, and the runtime (jobs, sessions, scheduler).

Nothing under ``core`` imports qiskit, cirq, pluggy or the simulator.
"""

from __future__ import annotations

from .clock import Clock, RealClock, VirtualClock, parse_duration
from .device import Device, DeviceRegistry, TimingModel
from .events import RuntimeListener
from .executors import Executor, InlineExecutor, ThreadExecutor
from .gates import GATES, GateSpec, gate_matrix
from .job import FINAL_STATES, Job, JobErrorCode, JobRecord, JobStatus
from .memory_store import MemoryStore
from .observables import PauliSum, PauliTerm
from .params import Parameter, ParamExpr
from .policies import FairSharePolicy, SchedulingPolicy
from .program import Barrier, Condition, Gate, Measure, Program, Reset
from .runtime import Runtime
from .session import CloseReason, FailurePolicy, IdleScope, SessionMode, SessionRecord, SessionState
from .sqlite_store import SQLiteStore, default_store_path
from .store import JobQuery, SessionQuery, Store

__all__ = [
    "FINAL_STATES",
    "GATES",
    "Barrier",
    "Clock",
    "CloseReason",
    "Condition",
    "Device",
    "DeviceRegistry",
    "Executor",
    "FailurePolicy",
    "FairSharePolicy",
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
    "Program",
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
    "VirtualClock",
    "default_store_path",
    "gate_matrix",
    "parse_duration",
]
