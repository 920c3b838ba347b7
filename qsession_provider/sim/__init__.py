"""The simulation engine: neutral circuits in, states, samples and expectation values out.

Imports only ``core.ir``, ``errors`` and numpy (never qiskit or cirq); the math runs in the
C extension ``qsession_provider.sim._kernel`` (sources in ``csrc/``; numpy reference:
``qsession_provider.sim._reference``). Modules, from the job inward:

- ``execute``: neutral payloads (sampler, estimator, run) -> neutral result dicts;
  ``rng``: the generators jobs draw from;
- ``simulator``: :class:`StatevectorSimulator` (compile cache, states, public API);
  ``precision`` (``auto``: complex64 only for sampling wide circuits), ``sampling``,
  ``expectation``, ``branches`` (mid-circuit measurement), ``memory``;
- ``compiler``: a circuit -> :class:`CompiledCircuit` of ``steps`` and ``plan`` objects;
  ``fusion`` and ``fusion_policy`` decide blocks and tiles, ``binding`` binds values;
- ``kernels``: which kernel module runs (C or the numpy reference).
"""

from __future__ import annotations

from .compiler import CompiledCircuit, compile_circuit
from .execute import execute
from .kernels import load_kernel
from .memory import available_memory
from .simulator import StatevectorSimulator

__all__ = [
    "CompiledCircuit",
    "StatevectorSimulator",
    "available_memory",
    "compile_circuit",
    "execute",
    "load_kernel",
]
