"""qsession_provider: a local quantum runtime with real sessions for Qiskit and Cirq.

The top level never imports qiskit or cirq: the faces live in ``qsession_provider.qiskit``
and ``qsession_provider.cirq``.
"""

from __future__ import annotations

from typing import Any

from .core import (
    Barrier,
    Gate,
    Measure,
    Parameter,
    PauliSum,
    PauliTerm,
    Program,
    RealClock,
    Reset,
    Runtime,
    VirtualClock,
)
from .errors import QSessionError

__version__ = "0.1.0"


def __getattr__(name: str) -> Any:
    # ``open_runtime`` loads pluggy and the plugins: imported on first use only, so that
    # ``import qsession_provider.core`` stays free of pluggy.
    if name == "open_runtime":
        from .plugins import open_runtime

        return open_runtime
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Barrier",
    "Gate",
    "Measure",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Program",
    "QSessionError",
    "RealClock",
    "Reset",
    "Runtime",
    "VirtualClock",
    "__version__",
    "open_runtime",
]
