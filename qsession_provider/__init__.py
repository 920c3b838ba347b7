"""qsession_provider: a local quantum runtime with real sessions for Qiskit and Cirq."""

from __future__ import annotations

from .core import Barrier, Gate, Measure, Parameter, PauliSum, PauliTerm, Program, Reset
from .errors import QSessionError

__version__ = "0.1.0"

__all__ = [
    "Barrier",
    "Gate",
    "Measure",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Program",
    "QSessionError",
    "Reset",
    "__version__",
]
