"""Framework-neutral core: circuit IR, gate library, observables (and, later, the runtime).

Nothing under ``core`` imports qiskit, cirq, pluggy or the simulator.
"""

from __future__ import annotations

from .gates import GATES, GateSpec, gate_matrix
from .observables import PauliSum, PauliTerm
from .params import Parameter, ParamExpr
from .program import Barrier, Condition, Gate, Measure, Program, Reset

__all__ = [
    "GATES",
    "Barrier",
    "Condition",
    "Gate",
    "GateSpec",
    "Measure",
    "ParamExpr",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Program",
    "Reset",
    "gate_matrix",
]
