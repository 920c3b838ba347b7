"""Run neutral job payloads (``sampler``, ``estimator``, ``run``) on the simulator.

Results are neutral dicts of numpy arrays, which the store encodes and each face turns
into its own containers (``PrimitiveResult``, ``Result``, ``cirq.Result``):

- sampler: ``{"pubs": [{"registers": {name: uint8 (*shape, shots, size)}, "shots": n}]}``
- estimator: ``{"pubs": [{"evs": float (*shape), "stds": float (*shape), "precision": p}]}``
- run: ``{"results": [{"registers": {name: uint8 (shots, size)}, "shots": n, "name": str}]}``
"""

from __future__ import annotations

import math
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
from .simulator import StatevectorSimulator

__all__ = ["execute"]


def execute(program_id: str, payload: Payload, simulator: StatevectorSimulator) -> dict[str, Any]:
    """Run ``payload`` for ``program_id`` and return the neutral result dict.

    A job with a seed draws from ``np.random.default_rng(seed)`` (the same seed gives the
    same bits); a job without one draws from this process's shared generator
    (:mod:`.rng`). A seeded estimator job starts each pub's noise afresh from
    ``default_rng(seed)``, as qiskit's ``StatevectorEstimator`` does (one ``normal`` draw
    per value of the pub's broadcast shape, in C order): identical pubs get identical
    noise, and the values equal the reference's for the same seed. Sampler and ``run`` jobs
    draw one stream through all their pubs.

    Raises:
        InputError: the circuit id does not match the payload.
        InvalidCircuitError, ResourceTooLargeError: from the simulator.
    """
    if program_id == "sampler" and isinstance(payload, SamplerPayload):
        rng = simulator.job_random.generator(payload.seed)
        return {"pubs": [_sample_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "estimator" and isinstance(payload, EstimatorPayload):
        return {"pubs": [_estimate_pub(simulator, pub, payload.seed) for pub in payload.pubs]}
    if program_id == "run" and isinstance(payload, RunPayload):
        rng = simulator.job_random.generator(payload.seed)
        results = []
        for circuit in payload.circuits:
            registers = simulator.sample(circuit, payload.shots, None, rng)
            results.append({"registers": registers, "shots": payload.shots, "name": circuit.name})
        return {"results": results}
    raise InputError(f"circuit {program_id!r} cannot run a {type(payload).__name__}")


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
    circuit = pub.circuit
    compiled = sim.compiled_for(circuit)
    if pub.values.ndim == 1:  # one parameter set (or none): the bits are the registers
        registers = sim.sample_compiled(compiled, pub.shots, _one_row(pub.values), rng)
        return {"registers": registers, "shots": pub.shots}
    shape = pub.shape
    registers = {
        name: np.zeros((*shape, pub.shots, size), dtype=np.uint8)
        for name, size in circuit.registers.items()
    }
    for index, row in zip(np.ndindex(*shape), _rows(circuit.parameters, pub.values)):
        bits = sim.sample_compiled(compiled, pub.shots, row, rng)
        for name, arr in bits.items():
            registers[name][index] = arr
    return {"registers": registers, "shots": pub.shots}


def _estimate_pub(sim: StatevectorSimulator, pub: EstimatorPub, seed: Any) -> dict[str, Any]:
    circuit = pub.circuit
    compiled = sim.compiled_for(circuit)
    observables = list(pub.observables.ravel())
    if pub.values.ndim == 1:  # one parameter set: the pub's shape is the observables'
        shape = pub.observables.shape
        state = sim.evolve(compiled, _one_row(pub.values))
        evs = sim.expectations_of_state(compiled, state, observables).reshape(shape)
    else:
        vshape = pub.values.shape[:-1]
        shape = pub.shape
        per_binding = np.empty((math.prod(vshape), len(observables)))
        for i, row in enumerate(_rows(circuit.parameters, pub.values)):
            state = sim.evolve(compiled, row)
            per_binding[i] = sim.expectations_of_state(compiled, state, observables)
        # Broadcast (parameter sets) x (observables) to the pub shape by index arithmetic.
        vidx = np.broadcast_to(np.arange(per_binding.shape[0]).reshape(vshape), shape)
        oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
        evs = per_binding[vidx, oidx].astype(float)
    if pub.precision > 0:  # noise from the seed's start for every pub (see execute)
        evs = sim.job_random.generator(seed).normal(evs, pub.precision)
    stds = np.full(shape, pub.precision, dtype=float)
    return {"evs": np.asarray(evs, dtype=float), "stds": stds, "precision": pub.precision}
