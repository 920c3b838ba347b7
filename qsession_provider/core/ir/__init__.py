"""The neutral circuit IR: circuits, parameters, gates, observables, payloads, encoding.

Everything a job carries into the runtime and out of it. Imports only ``errors``, the
standard library and numpy.
"""

from __future__ import annotations

from .bits import PackedBits
from .circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from .gates import GATES, GateSpec, gate_matrix
from .noise import NoiseChannel, NoiseModel, ReadoutError
from .observables import PauliSum, PauliTerm
from .params import Parameter, ParamExpr

__all__ = [
    "GATES",
    "Barrier",
    "Condition",
    "Gate",
    "GateSpec",
    "Measure",
    "NoiseChannel",
    "NoiseModel",
    "ReadoutError",
    "PackedBits",
    "ParamExpr",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Circuit",
    "Reset",
    "gate_matrix",
]
