"""Run neutral job payloads (``sampler``, ``estimator``, ``run``) on the simulator.

Results are neutral dicts of numpy arrays, which the store encodes and each face turns
into its own containers (``PrimitiveResult``, ``Result``, ``cirq.Result``):

- sampler: ``{"pubs": [{"registers": {name: uint8 (*shape, shots, size)}, "shots": n}]}``
- estimator: ``{"pubs": [{"evs": float (*shape), "stds": float (*shape), "precision": p}]}``
- run: ``{"results": [{"registers": {name: uint8 (shots, size)}, "shots": n, "name": str}]}``
"""

from __future__ import annotations

import math
import os
import threading
from typing import Any

import numpy as np

from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    Payload,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from ..errors import InputError
from .statevector import StatevectorSimulator

__all__ = ["execute"]


def execute(program_id: str, payload: Payload, simulator: StatevectorSimulator) -> dict[str, Any]:
    """Run ``payload`` for ``program_id`` and return the neutral result dict.

    A job with a seed draws from ``np.random.default_rng(seed)`` (the same seed gives the
    same bits); a job without one draws from this process's shared generator.

    Raises:
        InputError: the program id does not match the payload.
        InvalidProgramError, ResourceTooLargeError: from the simulator.
    """
    if program_id == "sampler" and isinstance(payload, SamplerPayload):
        rng = job_rng(payload.seed)
        return {"pubs": [_sample_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "estimator" and isinstance(payload, EstimatorPayload):
        noisy = any(pub.precision > 0 for pub in payload.pubs)
        rng = job_rng(payload.seed) if noisy else None
        return {"pubs": [_estimate_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "run" and isinstance(payload, RunPayload):
        rng = job_rng(payload.seed)
        results = []
        for program in payload.circuits:
            registers = simulator.sample(program, payload.shots, None, rng)
            results.append({"registers": registers, "shots": payload.shots, "name": program.name})
        return {"results": results}
    raise InputError(f"program {program_id!r} cannot run a {type(payload).__name__}")


# -- random generators ---------------------------------------------------------------------
# Building a Generator costs ~10 us (seed mixing), more than a whole tiny job, so unseeded
# jobs share one generator per process (successive jobs draw disjoint parts of its stream;
# a forked child makes its own), and a seeded job loads the cached initial state of
# ``default_rng(seed)`` into a generator kept per thread.

_SEED_STATES_KEPT = 256
_BUFFERED = 4096  # uniforms the shared generator draws at a time


class _SharedGenerator(np.random.Generator):
    """The process's generator for unseeded jobs (fresh OS entropy).

    ``random(n)`` for small ``n`` hands out uniforms from a buffer filled in bulk: every
    array draw of a numpy generator releases the GIL, and taking it back costs a thread
    switch (~10 us) whenever another thread of the runtime is busy. Each uniform is used
    once, so jobs still draw disjoint parts of one stream.
    """

    def __init__(self) -> None:
        super().__init__(np.random.PCG64())
        self._buffer = np.empty(0)
        self._next = 0
        self._buffer_lock = threading.Lock()

    def random(self, size: Any = None, dtype: Any = np.float64, out: Any = None) -> Any:
        """:meth:`numpy.random.Generator.random`."""
        if out is None and dtype is np.float64 and type(size) is int and 0 < size <= 256:
            with self._buffer_lock:
                start = self._next
                if start + size > len(self._buffer):
                    self._buffer = super().random(_BUFFERED)
                    start = 0
                self._next = start + size
                return self._buffer[start : start + size].copy()
        return super().random(size, dtype, out)


_shared: list[np.random.Generator] = []  # the process's generator for unseeded jobs
_seed_states: dict[int, dict[str, Any]] = {}
_local = threading.local()


def _forget_shared() -> None:
    _shared.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_shared)


def job_rng(seed: Any) -> np.random.Generator:
    """The generator a job draws from: ``default_rng(seed)`` (a per-thread generator reset
    to that state) for a seed, the process's shared generator for None.

    The result is only valid until the next call on the same thread.
    """
    if seed is None:
        if not _shared:
            _shared.append(_SharedGenerator())
        return _shared[0]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        return np.random.default_rng(seed)
    key = int(seed)
    state = _seed_states.get(key)
    if state is None:
        fresh = np.random.default_rng(key)
        _seed_states[key] = fresh.bit_generator.state
        while len(_seed_states) > _SEED_STATES_KEPT:
            _seed_states.pop(next(iter(_seed_states)), None)
        return fresh
    rng: np.random.Generator | None = getattr(_local, "rng", None)
    if rng is None:
        rng = _local.rng = np.random.Generator(np.random.PCG64())
    rng.bit_generator.state = state
    return rng


# -- pubs ----------------------------------------------------------------------------------


def _rows(names: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """The parameter sets of a pub as rows ordered like ``names`` (pubs validate finiteness)."""
    count = math.prod(values.shape[:-1])
    if not names:
        return np.zeros((count, 0))
    return np.ascontiguousarray(values, dtype=float).reshape(count, len(names))


def _one_row(values: np.ndarray) -> np.ndarray:
    """The single parameter set of a pub whose values have shape ``(len(parameters),)``."""
    if values.dtype == np.float64 and values.flags.c_contiguous:
        return values
    return np.ascontiguousarray(values, dtype=float)


def _sample_pub(
    sim: StatevectorSimulator, pub: SamplerPub, rng: np.random.Generator
) -> dict[str, Any]:
    program = pub.program
    compiled = sim.compiled_for(program)
    if pub.values.ndim == 1:  # one parameter set (or none): the bits are the registers
        registers = sim.sample_compiled(compiled, pub.shots, _one_row(pub.values), rng)
        return {"registers": registers, "shots": pub.shots}
    shape = pub.shape
    registers = {
        name: np.zeros((*shape, pub.shots, size), dtype=np.uint8)
        for name, size in program.registers.items()
    }
    for index, row in zip(np.ndindex(*shape), _rows(program.parameters, pub.values)):
        bits = sim.sample_compiled(compiled, pub.shots, row, rng)
        for name, arr in bits.items():
            registers[name][index] = arr
    return {"registers": registers, "shots": pub.shots}


def _estimate_pub(
    sim: StatevectorSimulator, pub: EstimatorPub, rng: np.random.Generator | None
) -> dict[str, Any]:
    program = pub.program
    compiled = sim.compiled_for(program)
    observables = list(pub.observables.ravel())
    if pub.values.ndim == 1:  # one parameter set: the pub's shape is the observables'
        shape = pub.observables.shape
        state = sim.evolve(compiled, _one_row(pub.values))
        evs = sim.expectations_of_state(compiled, state, observables).reshape(shape)
    else:
        vshape = pub.values.shape[:-1]
        shape = pub.shape
        per_binding = np.empty((math.prod(vshape), len(observables)))
        for i, row in enumerate(_rows(program.parameters, pub.values)):
            state = sim.evolve(compiled, row)
            per_binding[i] = sim.expectations_of_state(compiled, state, observables)
        # Broadcast (parameter sets) x (observables) to the pub shape by index arithmetic.
        vidx = np.broadcast_to(np.arange(per_binding.shape[0]).reshape(vshape), shape)
        oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
        evs = per_binding[vidx, oidx].astype(float)
    if pub.precision > 0:
        assert rng is not None
        evs = rng.normal(evs, pub.precision)
    stds = np.full(shape, pub.precision, dtype=float)
    return {"evs": np.asarray(evs, dtype=float), "stds": stds, "precision": pub.precision}
