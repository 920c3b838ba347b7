"""qsession_provider: a local quantum runtime with real sessions for Qiskit, Cirq and Azure code.

The top level never imports a framework: the faces live in ``qsession_provider.qiskit``,
``qsession_provider.cirq`` and ``qsession_provider.azure``. The names below are loaded on
first use, so importing a low layer never loads the runtime or the plugins.
"""

from __future__ import annotations

from ._lazy import lazy_exports

__version__ = "0.1.0"

_EXPORTS = {
    "Barrier": ".core.ir",
    "Gate": ".core.ir",
    "Measure": ".core.ir",
    "Parameter": ".core.ir",
    "PauliSum": ".core.ir",
    "PauliTerm": ".core.ir",
    "Circuit": ".core.ir",
    "Reset": ".core.ir",
    "RealClock": ".core.clock",
    "VirtualClock": ".core.clock",
    "Runtime": ".core.runtime",
    "QSessionError": ".errors",
    "open_runtime": ".client",
}

__getattr__, __dir__ = lazy_exports(__name__, _EXPORTS)


__all__ = [
    "Barrier",
    "Gate",
    "Measure",
    "Parameter",
    "PauliSum",
    "PauliTerm",
    "Circuit",
    "QSessionError",
    "RealClock",
    "Reset",
    "Runtime",
    "VirtualClock",
    "__version__",
    "open_runtime",
]
