"""Run neutral job payloads (``sampler``, ``estimator``, ``run``) on the simulator.

Results are neutral dicts of numpy arrays, which the store encodes and each face turns
into its own containers (``PrimitiveResult``, ``Result``, ``cirq.Result``):

- sampler: ``{"pubs": [{"registers": {name: uint8 (*shape, shots, size)}, "shots": n}]}``
- estimator: ``{"pubs": [{"evs": float (*shape), "stds": float (*shape), "precision": p}]}``
- run: ``{"results": [{"registers": {name: uint8 (shots, size)}, "shots": n, "name": str}]}``
"""

from __future__ import annotations

from typing import Any

import numpy as np

from ..core.payload import (
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

    Raises:
        InputError: the program id does not match the payload.
        InvalidProgramError, ResourceTooLargeError: from the simulator.
    """
    if program_id == "sampler" and isinstance(payload, SamplerPayload):
        rng = np.random.default_rng(payload.seed)
        return {"pubs": [_sample_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "estimator" and isinstance(payload, EstimatorPayload):
        rng = np.random.default_rng(payload.seed)
        return {"pubs": [_estimate_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "run" and isinstance(payload, RunPayload):
        rng = np.random.default_rng(payload.seed)
        results = []
        for program in payload.circuits:
            registers = simulator.sample(program, payload.shots, None, rng)
            results.append({"registers": registers, "shots": payload.shots, "name": program.name})
        return {"results": results}
    raise InputError(f"program {program_id!r} cannot run a {type(payload).__name__}")


def _rows(names: tuple[str, ...], values: np.ndarray) -> np.ndarray:
    """The parameter sets of a pub as rows ordered like ``names`` (pubs validate finiteness)."""
    count = int(np.prod(values.shape[:-1], dtype=int))
    if not names:
        return np.zeros((count, 0))
    return np.ascontiguousarray(values, dtype=float).reshape(count, len(names))


def _sample_pub(
    sim: StatevectorSimulator, pub: SamplerPub, rng: np.random.Generator
) -> dict[str, Any]:
    shape = pub.shape
    program = pub.program
    registers = {
        name: np.zeros((*shape, pub.shots, size), dtype=np.uint8)
        for name, size in program.registers.items()
    }
    compiled = sim.compile(program)
    for index, row in zip(np.ndindex(*shape), _rows(program.parameters, pub.values)):
        bits = sim.sample_compiled(compiled, pub.shots, row, rng)
        for name, arr in bits.items():
            registers[name][index] = arr
    return {"registers": registers, "shots": pub.shots}


def _estimate_pub(
    sim: StatevectorSimulator, pub: EstimatorPub, rng: np.random.Generator
) -> dict[str, Any]:
    program = pub.program
    vshape = pub.values.shape[:-1]
    shape = pub.shape
    compiled = sim.compile(program)
    observables = list(pub.observables.ravel())
    per_binding = np.empty((int(np.prod(vshape, dtype=int)), len(observables)))
    for i, row in enumerate(_rows(program.parameters, pub.values)):
        state = sim.evolve(compiled, row)
        per_binding[i] = sim.expectations_of_state(compiled, state, observables)
    # Broadcast (parameter sets) x (observables) to the pub shape by index arithmetic.
    vidx = np.broadcast_to(np.arange(per_binding.shape[0]).reshape(vshape), shape)
    oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
    evs = per_binding[vidx, oidx].astype(float)
    if pub.precision > 0:
        evs = rng.normal(evs, pub.precision)
    stds = np.full(shape, pub.precision, dtype=float)
    return {"evs": np.asarray(evs, dtype=float), "stds": stds, "precision": pub.precision}
