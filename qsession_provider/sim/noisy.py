"""Which noise a job runs with, and running the pubs and circuits that have noise.

A job's noise (:func:`noise_for`): the payload's ``noise`` (``run`` jobs:
``options["noise_model"]``): ``None`` takes the device's model (a fake backend's, from its
calibration; other devices have none), ``False`` runs ideally, a
:class:`~qsession_provider.core.ir.noise.NoiseModel` runs instead of the device's.
:func:`with_noise` inserts the model's channels into every circuit of the payload; channels
the circuits hold themselves (Cirq noise, Aer noise instructions) stay in any case.

:func:`run_noisy` runs a payload with at least one noisy circuit: noisy pubs on the
trajectory engine (:mod:`.trajectories`; estimator pubs of small unconditioned circuits
exactly on a density matrix), wide noisy Clifford sampler pubs and ``run`` circuits on stim
(:func:`_on_stabilizer`: Pauli channels and readout errors exactly, other channels as their
Pauli twirl where no statevector fits), noiseless ones on the normal path. Every entry says
the ``method`` that ran it and the ``noise`` model's name (``"... (Pauli-twirled)"`` when
twirled).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir.bits import PackedBits, num_bytes
from ..core.ir.circuit import Circuit
from ..core.ir.noise import NoiseChannel, NoiseModel, ReadoutError, has_noise
from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    touched_qubits,
)
from ..errors import InputError
from .memory import available_memory
from .stabilizer import StabilizerProgram
from .trajectories import (
    DEFAULT_TRAJECTORIES,
    DENSITY_MATRIX_QUBITS,
    compile_program,
    density_matrix_expectations,
    sample_noisy,
    trajectory_expectations,
)

__all__ = [
    "DENSITY_MATRIX",
    "TRAJECTORIES",
    "ideal",
    "noise_for",
    "payload_noisy",
    "run_noisy",
    "with_noise",
    "without_noise",
]

TRAJECTORIES = "trajectories"
DENSITY_MATRIX = "density_matrix"

#: ``fallback(program_id, payload) -> result``: runs a payload without noise.
Fallback = Callable[[str, Any], dict[str, Any]]


def _choice(payload: Any) -> Any:
    if isinstance(payload, RunPayload):
        return payload.options.get("noise_model")
    return getattr(payload, "noise", None)


def ideal(payload: Any) -> bool:
    """True if ``payload`` asks for an ideal run (``noise=False``)."""
    return _choice(payload) is False


def noise_for(payload: Any, device_noise: Any) -> NoiseModel | None:
    """The model ``payload`` runs with on a device whose own model is ``device_noise``
    (a :class:`NoiseModel`, a function returning one, or None)."""
    choice = _choice(payload)
    if choice is False:
        return None
    if choice is None:
        choice = device_noise() if callable(device_noise) else device_noise
    if choice is None:
        return None
    if not isinstance(choice, NoiseModel):
        raise InputError(f"noise must be None, False or a NoiseModel, got {type(choice).__name__}")
    return None if choice.is_ideal else choice


def _noisy(circuit: Circuit, model: NoiseModel) -> Circuit:
    """``model.apply(circuit)``, kept on the circuit for the last model (a session's jobs
    on one device reuse it; one entry, so users' per-job models do not pile up)."""
    key = "noisy"
    found = circuit._memo.get(key)
    if found is not None and found[0] is circuit.operations and found[1][0] is model:
        return found[1][1]  # type: ignore[no-any-return]
    noisy = model.apply(circuit)
    circuit._memo[key] = (circuit.operations, (model, noisy))
    return noisy  # type: ignore[no-any-return]


def _ideal(circuit: Circuit) -> Circuit:
    """``circuit`` without its noise channels and readout errors."""
    if not has_noise(circuit):
        return circuit
    return Circuit(
        circuit.num_qubits,
        [op for op in circuit.operations if not isinstance(op, (NoiseChannel, ReadoutError))],
        circuit.registers,
        global_phase=circuit.global_phase,
        name=circuit.name,
        metadata=circuit.metadata,
    )


def without_noise(payload: Any) -> Any:
    """``payload`` with every noise channel and readout error taken out of its circuits."""
    if not payload_noisy(payload):
        return payload
    return _map_circuits(payload, _ideal)


def with_noise(payload: Any, model: NoiseModel | None) -> Any:
    """``payload`` with ``model``'s channels in every circuit (itself if none)."""
    if model is None:
        return payload
    return _map_circuits(payload, lambda c: _noisy(c, model))


def _map_circuits(payload: Any, change: Callable[[Circuit], Circuit]) -> Any:
    if isinstance(payload, SamplerPayload):
        pubs = tuple(SamplerPub(change(p.circuit), p.values, p.shots) for p in payload.pubs)
        return SamplerPayload(pubs, payload.seed, payload.method, payload.noise)
    if isinstance(payload, EstimatorPayload):
        epubs = tuple(
            EstimatorPub(change(p.circuit), p.values, p.observables, p.precision)
            for p in payload.pubs
        )
        return EstimatorPayload(epubs, payload.seed, payload.method, payload.noise)
    if isinstance(payload, RunPayload):
        return RunPayload(
            tuple(change(c) for c in payload.circuits),
            payload.shots,
            payload.memory,
            payload.seed,
            payload.options,
        )
    return payload


def payload_noisy(payload: Any) -> bool:
    """True if a circuit of ``payload`` holds noise."""
    return any(has_noise(c) for c in getattr(payload, "circuits", ()))


def _rows(circuit: Circuit, values: np.ndarray) -> list[Circuit]:
    """The circuit bound to each parameter set of a pub (C order)."""
    if not circuit.parameters:
        return [circuit] * max(1, math.prod(values.shape[:-1]) if values.ndim > 1 else 1)
    flat = np.asarray(values, dtype=float).reshape(-1, len(circuit.parameters))
    return [circuit.bind(dict(zip(circuit.parameters, row))) for row in flat]


def run_noisy(
    program_id: str,
    payload: Any,
    simulator: Any,
    requested: str,
    fallback: Fallback,
) -> dict[str, Any]:
    """Run a payload holding noise (see the module docstring).

    Raises:
        InputError: ``method="stabilizer"`` was asked for a noisy circuit.
        ResourceTooLargeError: a noisy circuit's states do not fit in memory.
    """
    tag = {"noise": "circuit"}  # execute names the model when one was applied
    kwargs = {"dtype": simulator.dtype, "max_memory": simulator.memory.max_memory}
    if isinstance(payload, EstimatorPayload):
        out = []
        for pub in payload.pubs:
            if not has_noise(pub.circuit):
                one = EstimatorPayload((pub,), payload.seed, payload.method, False)
                out.append({**fallback(program_id, one)["pubs"][0], **tag})
            else:
                out.append({**_estimate(simulator, pub, payload.seed, kwargs), **tag})
        return {"pubs": out}
    rng = simulator.job_random.generator(payload.seed)
    if isinstance(payload, SamplerPayload):
        out = []
        for pub in payload.pubs:
            program = _on_stabilizer(pub.circuit, simulator, requested)
            if not has_noise(pub.circuit):
                one = SamplerPayload((pub,), _sub_seed(rng), payload.method, False)
                out.append({**fallback(program_id, one)["pubs"][0], **tag})
            elif program is not None:
                entry = _stabilizer_entry(program, pub.shots, rng, simulator)
                out.append({**entry, **tag, **_approximation(program)})
            else:
                out.append({**_sample(pub, rng, kwargs), **tag})
        return {"pubs": out}
    results = []
    for circuit in payload.circuits:
        program = _on_stabilizer(circuit, simulator, requested)
        if not has_noise(circuit):
            one = RunPayload(
                (circuit,), payload.shots, payload.memory, _sub_seed(rng), payload.options
            )
            entry = fallback(program_id, one)["results"][0]
        elif program is not None:
            entry = {
                **_stabilizer_entry(program, payload.shots, rng, simulator),
                "name": circuit.name,
                **_approximation(program),
            }
        else:
            bits = sample_noisy(circuit, payload.shots, rng, **kwargs)
            entry = {
                "registers": {n: PackedBits.from_bits(b) for n, b in bits.items()},
                "shots": payload.shots,
                "name": circuit.name,
                "method": TRAJECTORIES,
            }
        results.append({**entry, **tag})
    return {"results": results}


#: Noisy Clifford circuits touching more qubits than this run on the stabilizer method, as
#: ideal ones do (``method.STABILIZER_FROM_QUBITS``).
STABILIZER_FROM_QUBITS = 16


def _on_stabilizer(circuit: Circuit, simulator: Any, requested: str) -> Any:
    """The stim program a noisy ``circuit`` runs as, or None for the trajectory engine.

    ``automatic``: a Clifford circuit without parameters touching more than
    :data:`STABILIZER_FROM_QUBITS` qubits whose noise channels are Pauli channels (then the
    stim run is exact), or whose statevector would not fit in memory (then other channels
    run as their Pauli twirl, an approximation the result's noise name says).
    ``stabilizer``: any Clifford circuit, twirling as needed.

    Raises:
        InputError: ``method="stabilizer"`` on a circuit that is not Clifford.
    """
    if requested == "statevector" or not has_noise(circuit):
        return None
    if circuit.parameters:
        if requested == "stabilizer":
            raise InputError("method='stabilizer' runs noisy circuits without parameters only")
        return None
    width = touched_qubits(circuit)
    if requested != "stabilizer" and width <= STABILIZER_FROM_QUBITS:
        return None
    from .method import stabilizer_for  # (method imports this module)

    program = stabilizer_for(simulator).program(circuit)
    if not isinstance(program, StabilizerProgram):
        if requested == "stabilizer":
            raise InputError(f"method='stabilizer' cannot run this circuit: {program.reason}")
        return None
    if requested != "stabilizer" and program.approximated and _fits(width, simulator):
        return None  # the trajectory engine runs these channels exactly
    return program


def _fits(width: int, simulator: Any) -> bool:
    """True if a ``width``-qubit state fits in the simulator's memory limit."""
    limit = simulator.memory.max_memory or available_memory()
    return (1 << width) * np.dtype(simulator.dtype).itemsize * 2 <= limit


def _stabilizer_entry(
    program: Any, shots: int, rng: np.random.Generator, simulator: Any
) -> dict[str, Any]:
    from .method import stabilizer_for

    registers = stabilizer_for(simulator).sample(program, shots, rng)
    return {"registers": registers, "shots": shots, "method": "stabilizer"}


def _approximation(program: Any) -> dict[str, Any]:
    return {"noise_approximation": "pauli_twirl"} if program.approximated else {}


def _sub_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63))


def _sample(pub: SamplerPub, rng: np.random.Generator, kwargs: dict[str, Any]) -> dict[str, Any]:
    circuit = pub.circuit
    bound = _rows(circuit, pub.values)
    if pub.values.ndim <= 1:
        bits = sample_noisy(bound[0], pub.shots, rng, **kwargs)
        registers = {n: PackedBits.from_bits(b) for n, b in bits.items()}
        return {"registers": registers, "shots": pub.shots, "method": TRAJECTORIES}
    shape = pub.shape
    data = {
        name: np.zeros((*shape, pub.shots, num_bytes(size)), dtype=np.uint8)
        for name, size in circuit.registers.items()
    }
    for index, one in zip(np.ndindex(*shape), bound):
        for name, b in sample_noisy(one, pub.shots, rng, **kwargs).items():
            data[name][index] = PackedBits.from_bits(b).data
    registers = {name: PackedBits(circuit.registers[name], arr) for name, arr in data.items()}
    return {"registers": registers, "shots": pub.shots, "method": TRAJECTORIES}


def _exact(circuit: Circuit) -> bool:
    return (
        touched_qubits(circuit) <= DENSITY_MATRIX_QUBITS
        and not compile_program(circuit, estimator=True).conditioned
    )


def _estimate(
    simulator: Any, pub: EstimatorPub, seed: Any, kwargs: dict[str, Any]
) -> dict[str, Any]:
    observables = list(pub.observables.ravel())
    bound = _rows(pub.circuit, pub.values)
    exact = all(_exact(c) for c in bound)
    rng = simulator.job_random.generator(seed)
    evs_rows, std_rows = [], []
    for circuit in bound:
        if exact:
            evs_rows.append(density_matrix_expectations(circuit, observables, simulator.kernel))
            std_rows.append(np.zeros(len(observables)))
        else:
            count = math.ceil(1 / pub.precision**2) if pub.precision > 0 else DEFAULT_TRAJECTORIES
            evs, stds = trajectory_expectations(circuit, observables, count, rng, **kwargs)
            evs_rows.append(evs)
            std_rows.append(stds)
    per_binding, per_std = np.array(evs_rows), np.array(std_rows)
    if pub.values.ndim <= 1:
        shape = pub.observables.shape
        evs, stds = per_binding[0].reshape(shape), per_std[0].reshape(shape)
    else:
        shape = pub.shape
        vidx = np.broadcast_to(
            np.arange(per_binding.shape[0]).reshape(pub.values.shape[:-1]), shape
        )
        oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
        evs, stds = per_binding[vidx, oidx], per_std[vidx, oidx]
    if exact and pub.precision > 0:  # the statevector's rule for exact values
        evs = simulator.job_random.generator(seed).normal(evs, pub.precision)
        stds = np.full(shape, pub.precision, dtype=float)
    return {
        "evs": np.asarray(evs, dtype=float),
        "stds": np.asarray(stds, dtype=float),
        "precision": pub.precision,
        "method": DENSITY_MATRIX if exact else TRAJECTORIES,
    }
