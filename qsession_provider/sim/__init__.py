"""The simulation engine: neutral programs in, states, samples and expectation values out.

Imports only ``core`` and numpy (never qiskit or cirq); the math runs in the C extension
``qsession_provider.sim._kernel`` (numpy reference: ``qsession_provider.sim._reference``).
"""

from __future__ import annotations

from .compiler import CompiledProgram, compile_program
from .execute import execute
from .kernels import load_kernel
from .statevector import StatevectorSimulator, available_memory

__all__ = [
    "CompiledProgram",
    "StatevectorSimulator",
    "available_memory",
    "compile_program",
    "execute",
    "load_kernel",
]
