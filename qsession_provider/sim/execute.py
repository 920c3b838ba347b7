"""Run neutral job payloads (``sampler``, ``estimator``, ``run``) on the simulator.

Results are neutral dicts of numpy arrays, which the store encodes and each face turns
into its own containers (``PrimitiveResult``, ``Result``, ``cirq.Result``):

- sampler: ``{"pubs": [{"registers": {name: PackedBits (*shape, shots)}, "shots": n}]}``
- estimator: ``{"pubs": [{"evs": float (*shape), "stds": float (*shape), "precision": p}]}``;
  a circuit that resets or measures gets the exact value in the mixed state it leaves
  (every outcome weighted by its probability: :mod:`.branches`), a measurement nothing
  reads counting as a dephasing of its qubit
- run: ``{"results": [{"registers": {name: PackedBits (shots,)}, "shots": n, "name": str}]}``

Registers are :class:`~qsession_provider.core.ir.bits.PackedBits` of the register's size
(Qiskit's ``BitArray`` layout), kept packed through the store to the faces.

A sampler pub or ``run`` result sampled in complex64 (``precision="single"``, or
``"auto"`` on a wide circuit: :mod:`.precision`) carries ``"simulation_precision":
"single"``; complex128 results carry no such key.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir.bits import PackedBits, num_bytes
from ..core.ir.circuit import Circuit
from ..core.ir.observables import PauliSum
from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    Payload,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from ..errors import InputError
from .branches import measured_at_end, mixed_expectations
from .compiler import CompiledCircuit
from .expectation import dephased, pauli_table
from .method import run_by_method
from .noisy import ideal, noise_for, with_noise, without_noise
from .simulator import StatevectorSimulator

__all__ = ["execute"]


def execute(
    program_id: str, payload: Payload, simulator: StatevectorSimulator, noise: Any = None
) -> dict[str, Any]:
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
    # Noise: the payload's choice or the device's model ``noise`` (sim/noisy.py); noisy
    # circuits then run on the trajectory engine (run_by_method's hook).
    model = noise_for(payload, noise)
    payload = without_noise(payload) if ideal(payload) else with_noise(payload, model)
    # Each circuit on its method (stabilizer for wide Clifford circuits: sim/method.py).
    result = run_by_method(program_id, payload, simulator, _run_statevector)
    for entry in result.get("pubs", result.get("results", ())):
        if model is not None:
            entry["noise"] = model.name or "noise model"
        if entry.pop("noise_approximation", None):  # twirled onto the stabilizer method
            entry["noise"] = f"{entry.get('noise', 'circuit')} (Pauli-twirled)"
    return result


def _run_statevector(program_id: str, payload: Payload, simulator: Any) -> dict[str, Any]:
    """:func:`execute` on the statevector, for a payload :mod:`.method` gave it whole."""
    if program_id == "sampler" and isinstance(payload, SamplerPayload):
        rng = simulator.job_random.generator(payload.seed)
        return {"pubs": [_sample_pub(simulator, pub, rng) for pub in payload.pubs]}
    if program_id == "estimator" and isinstance(payload, EstimatorPayload):
        return {"pubs": [_estimate_pub(simulator, pub, payload.seed) for pub in payload.pubs]}
    if program_id == "run" and isinstance(payload, RunPayload):
        rng = simulator.job_random.generator(payload.seed)
        results = []
        for circuit in payload.circuits:
            target = simulator.sampling_simulator(circuit)
            registers = _packed(target.sample(circuit, payload.shots, None, rng))
            entry = {"registers": registers, "shots": payload.shots, "name": circuit.name}
            results.append(_mark_precision(entry, target))
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


def _mark_precision(entry: dict[str, Any], target: StatevectorSimulator) -> dict[str, Any]:
    """``entry``, saying ``"simulation_precision": "single"`` if ``target`` sampled it so."""
    if target.precision == "single":
        entry["simulation_precision"] = "single"
    return entry


def _sample_pub(
    sampler: StatevectorSimulator, pub: SamplerPub, rng: np.random.Generator
) -> dict[str, Any]:
    circuit = pub.circuit
    sim = sampler.sampling_simulator(circuit)  # complex64 for wide circuits on "auto"
    compiled = sim.compiled_for(circuit)
    if pub.values.ndim == 1:  # one parameter set (or none): the bits are the registers
        bits = sim.sample_compiled(compiled, pub.shots, _one_row(pub.values), rng)
        return _mark_precision({"registers": _packed(bits), "shots": pub.shots}, sim)
    shape = pub.shape
    data = {
        name: np.zeros((*shape, pub.shots, num_bytes(size)), dtype=np.uint8)
        for name, size in circuit.registers.items()
    }
    for index, row in zip(np.ndindex(*shape), _rows(circuit.parameters, pub.values)):
        bits = sim.sample_compiled(compiled, pub.shots, row, rng)
        for name, arr in bits.items():
            data[name][index] = PackedBits.from_bits(arr).data
    registers = {name: PackedBits(circuit.registers[name], arr) for name, arr in data.items()}
    return _mark_precision({"registers": registers, "shots": pub.shots}, sim)


def _packed(registers: dict[str, np.ndarray]) -> dict[str, PackedBits]:
    """The engine's ``(shots, size)`` uint8 registers, packed."""
    return {name: PackedBits.from_bits(bits) for name, bits in registers.items()}


def _estimate_pub(sim: StatevectorSimulator, pub: EstimatorPub, seed: Any) -> dict[str, Any]:
    circuit = pub.circuit
    compiled = sim.compiled_for(circuit)
    observables = list(pub.observables.ravel())
    if compiled.branching or compiled.has_measurements:
        evaluate = _mixed_evaluator(sim, circuit, compiled, observables)
    else:

        def evaluate(row: np.ndarray) -> np.ndarray:
            return sim.expectations_of_state(compiled, sim.evolve(compiled, row), observables)

    if pub.values.ndim == 1:  # one parameter set: the pub's shape is the observables'
        shape = pub.observables.shape
        evs = evaluate(_one_row(pub.values)).reshape(shape)
    else:
        vshape = pub.values.shape[:-1]
        shape = pub.shape
        per_binding = np.empty((math.prod(vshape), len(observables)))
        for i, row in enumerate(_rows(circuit.parameters, pub.values)):
            per_binding[i] = evaluate(row)
        # Broadcast (parameter sets) x (observables) to the pub shape by index arithmetic.
        vidx = np.broadcast_to(np.arange(per_binding.shape[0]).reshape(vshape), shape)
        oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
        evs = per_binding[vidx, oidx]
    if pub.precision > 0:  # noise from the seed's start for every pub (see execute)
        evs = sim.job_random.generator(seed).normal(evs, pub.precision)
    stds = np.full(shape, pub.precision, dtype=float)
    return {"evs": np.asarray(evs, dtype=float), "stds": stds, "precision": pub.precision}


def _mixed_evaluator(
    sim: StatevectorSimulator,
    circuit: Circuit,
    compiled: CompiledCircuit,
    observables: list[PauliSum],
) -> Callable[[np.ndarray], np.ndarray]:
    """Exact values for a circuit that measures or resets: the mixed state's (see
    :mod:`.branches`), one Pauli table per pub, dephased on the qubits measured at the end."""
    table = dephased(pauli_table(compiled, observables), measured_at_end(circuit, compiled))

    def evaluate(row: np.ndarray) -> np.ndarray:
        return mixed_expectations(compiled, table, row, sim.kernel, sim.memory)

    return evaluate
