"""Which simulation method runs each circuit of a job, as Aer's ``method="automatic"`` does.

Methods (:data:`METHODS`):

- ``"automatic"`` (default): a Clifford circuit (:mod:`.stabilizer`) touching more than
  :data:`STABILIZER_FROM_QUBITS` qubits runs on the stabilizer method, whatever its width;
  a narrower one, and every other circuit, on the statevector when the state fits in
  memory. A circuit that fits neither is refused, naming its width, its non-Clifford gate
  count and the memory the statevector would need.
- ``"statevector"``: always the statevector (the memory guard still applies).
- ``"stabilizer"``: always the stabilizer; a circuit it cannot run is refused, naming the
  first operation that is not a Clifford.

A job asks for one with ``method`` (a payload attribute, or ``options["method"]`` of a
``run`` payload). The choice is made per circuit and, for parameter sweeps, holds for every
parameter set (translations are kept per circuit structure and bound values). Each pub or
``run`` result carries ``"method"``: the one that ran it. A payload whose circuits hold
noise channels or readout errors goes to :mod:`.noisy` first (``"trajectories"``, or
``"density_matrix"`` for small estimator circuits; ``"stabilizer"`` for wide noisy Clifford
circuits, see :func:`.noisy.run_noisy`).
"""

from __future__ import annotations

import math
import weakref
from collections.abc import Callable
from typing import Any

import numpy as np

from ..core.ir.bits import PackedBits, num_bytes
from ..core.ir.circuit import Circuit
from ..core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    touched_qubits,
)
from ..errors import InputError, ResourceTooLargeError
from .noisy import payload_noisy, run_noisy
from .stabilizer import NotClifford, StabilizerProgram, StabilizerSimulator

__all__ = [
    "AUTOMATIC",
    "METHODS",
    "STABILIZER",
    "STABILIZER_FROM_QUBITS",
    "STATEVECTOR",
    "choose_method",
    "requested_method",
    "run_by_method",
    "stabilizer_for",
]

AUTOMATIC = "automatic"
STATEVECTOR = "statevector"
STABILIZER = "stabilizer"
#: The methods a job may ask for.
METHODS = (AUTOMATIC, STATEVECTOR, STABILIZER)
#: ``automatic`` sends Clifford circuits touching more qubits than this to the stabilizer
#: method; below, the statevector's small-state paths are faster than building a stim
#: circuit and sampler.
STABILIZER_FROM_QUBITS = 16

#: ``statevector(program_id, payload, simulator) -> result``: the statevector engine.
StatevectorRun = Callable[[str, Any, Any], dict[str, Any]]

_PAYLOADS: dict[str, type] = {
    "sampler": SamplerPayload,
    "estimator": EstimatorPayload,
    "run": RunPayload,
}
_STABILIZERS: weakref.WeakKeyDictionary[Any, StabilizerSimulator] = weakref.WeakKeyDictionary()


def stabilizer_for(simulator: Any) -> StabilizerSimulator:
    """The stabilizer simulator that goes with a statevector ``simulator`` (one each)."""
    found = _STABILIZERS.get(simulator)
    if found is None:
        found = _STABILIZERS.setdefault(simulator, StabilizerSimulator())
    return found


def requested_method(payload: Any) -> str:
    """The method ``payload`` asks for (``automatic`` if none).

    Raises:
        InputError: not one of :data:`METHODS`.
    """
    method = getattr(payload, "method", None)
    if method is None and isinstance(payload, RunPayload):
        method = payload.options.get("method")
    if method is None:
        return AUTOMATIC
    if method not in METHODS:
        raise InputError(f"unknown simulation method {method!r}; choose one of {list(METHODS)}")
    return str(method)


def _rows(circuit: Circuit, values: np.ndarray | None) -> np.ndarray:
    """The parameter sets of a pub, one per row (one empty row without parameters)."""
    if not circuit.parameters or values is None:
        return np.zeros((1, 0))
    return np.asarray(values, dtype=float).reshape(-1, len(circuit.parameters))


def _label(circuit: Circuit, index: int) -> str:
    return f"circuit {index} ({circuit.name or 'unnamed'})"


def choose_method(
    circuit: Circuit,
    values: np.ndarray | None,
    requested: str,
    simulator: Any,
    index: int = 0,
) -> tuple[str, list[StabilizerProgram] | None]:
    """The method that runs ``circuit`` for every parameter set in ``values`` (a pub's
    values, last axis the parameters), and the stim translations (one per parameter set, in
    C order) when it is the stabilizer.

    Raises:
        InputError: ``stabilizer`` was asked for a circuit it cannot run.
        ResourceTooLargeError: ``automatic`` found neither method able to run it.
    """
    if requested == STATEVECTOR:
        return STATEVECTOR, None
    width = touched_qubits(circuit)
    if requested == AUTOMATIC and width <= STABILIZER_FROM_QUBITS:
        return STATEVECTOR, None
    stabilizer = stabilizer_for(simulator)
    programs: list[StabilizerProgram] = []
    refused: NotClifford | None = None
    for row in _rows(circuit, values):
        program = stabilizer.program(circuit, row)
        if isinstance(program, NotClifford):
            refused = program
            break
        programs.append(program)
    if refused is None:
        return STABILIZER, programs
    if requested == STABILIZER:
        raise InputError(
            f"method='stabilizer' cannot run {_label(circuit, index)}: {refused.reason}; it has "
            f"{refused.non_clifford_gates} non-Clifford gate(s). Use method='automatic' or "
            "'statevector' for circuits that are not Clifford"
        )
    try:
        simulator.memory.check(width, "this circuit")
    except ResourceTooLargeError:
        need = (2**width) * simulator.dtype.itemsize
        raise ResourceTooLargeError(
            f"{_label(circuit, index)} touches {width} qubits and has "
            f"{refused.non_clifford_gates} non-Clifford gate(s) ({refused.reason}): the "
            f"stabilizer method runs only Clifford circuits, and the statevector method would "
            f"need {_size(need)} of memory ({_size(_limit(simulator))} available)"
        ) from None
    return STATEVECTOR, None


def _limit(simulator: Any) -> int:
    from .memory import available_memory

    limit = simulator.memory.max_memory
    return int(limit) if limit is not None else available_memory()


def _size(nbytes: float) -> str:
    units = ("bytes", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB")
    power = min(int(math.log(max(nbytes, 1), 1024)), len(units) - 1)
    if power == len(units) - 1 and nbytes >= 1024**power * 1024:
        return f"2**{int(math.log2(nbytes))} bytes"
    return f"{nbytes / 1024**power:.1f} {units[power]}"


# -- running a payload -----------------------------------------------------------------------------


def run_by_method(
    program_id: str, payload: Any, simulator: Any, statevector: StatevectorRun
) -> dict[str, Any]:
    """Run ``payload`` with each circuit on its method; ``statevector`` runs the rest.

    A payload whose circuits all run on the statevector goes to ``statevector`` whole
    (the engine's fast paths unchanged); otherwise each pub or circuit runs on its own
    method, the statevector ones as one-pub payloads seeded from the job's generator.

    Raises:
        InputError, ResourceTooLargeError: see :func:`choose_method`.
    """
    requested = requested_method(payload)
    if not isinstance(payload, _PAYLOADS.get(program_id, ())):
        return statevector(program_id, payload, simulator)  # which refuses the mismatch
    if payload_noisy(payload):  # noise channels: the trajectory engine (sim/noisy.py)
        return run_noisy(
            program_id,
            payload,
            simulator,
            requested,
            lambda pid, one: run_by_method(pid, one, simulator, statevector),
        )
    if requested == STATEVECTOR or (
        requested == AUTOMATIC and payload.num_qubits <= STABILIZER_FROM_QUBITS
    ):  # the common case, decided from the payload's cached width
        return _tagged(statevector(program_id, payload, simulator), STATEVECTOR)
    if isinstance(payload, RunPayload):
        items: list[Any] = list(payload.circuits)
        values: list[Any] = [None] * len(items)
    else:
        items = list(payload.pubs)
        values = [p.values for p in items]
    circuits = [getattr(item, "circuit", item) for item in items]
    estimating = isinstance(payload, EstimatorPayload)
    choices = [
        _estimator_method(c, requested, i)
        if estimating and not c.is_unitary()
        else choose_method(c, r, requested, simulator, i)
        for i, (c, r) in enumerate(zip(circuits, values))
    ]
    if all(method == STATEVECTOR for method, _ in choices):
        return _tagged(statevector(program_id, payload, simulator), STATEVECTOR)
    stabilizer = stabilizer_for(simulator)
    if isinstance(payload, EstimatorPayload):
        pubs = []
        for pub, (method, programs) in zip(payload.pubs, choices):
            if programs is None:
                one = statevector(program_id, EstimatorPayload((pub,), payload.seed), simulator)
                pubs.append({**one["pubs"][0], "method": method})
            else:
                pubs.append(_estimate(stabilizer, simulator, pub, programs, payload.seed))
        return {"pubs": pubs}
    rng = np.random.default_rng(payload.seed)  # not the per-thread one: sub-jobs reset that
    if isinstance(payload, SamplerPayload):
        pubs = []
        for pub, (method, programs) in zip(payload.pubs, choices):
            if programs is None:
                one = SamplerPayload((pub,), _sub_seed(rng))
                pubs.append(
                    {**statevector(program_id, one, simulator)["pubs"][0], "method": method}
                )
            else:
                pubs.append(_sample(stabilizer, pub, programs, rng))
        return {"pubs": pubs}
    results = []
    for circuit, (method, programs) in zip(payload.circuits, choices):
        if programs is None:
            one = RunPayload(
                (circuit,), payload.shots, payload.memory, _sub_seed(rng), payload.options
            )
            entry = statevector(program_id, one, simulator)["results"][0]
        else:
            registers = stabilizer.sample(programs[0], payload.shots, rng)
            entry = {"registers": registers, "shots": payload.shots, "name": circuit.name}
        results.append({**entry, "method": method})
    return {"results": results}


def _estimator_method(circuit: Circuit, requested: str, index: int) -> tuple[str, None]:
    """Estimator circuits that measure or reset take the statevector's mixed-state values."""
    if requested == STABILIZER:
        raise InputError(
            f"method='stabilizer' cannot estimate {_label(circuit, index)}: it measures, resets "
            "or is classically conditioned, and the stabilizer estimator takes unitary circuits"
        )
    return STATEVECTOR, None


def _sub_seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63))


def _tagged(result: dict[str, Any], method: str) -> dict[str, Any]:
    for entry in result.get("pubs", result.get("results", ())):
        entry["method"] = method
    return result


def _sample(
    stabilizer: StabilizerSimulator,
    pub: SamplerPub,
    programs: list[StabilizerProgram],
    rng: np.random.Generator,
) -> dict[str, Any]:
    if pub.values.ndim <= 1:
        registers = stabilizer.sample(programs[0], pub.shots, rng)
        return {"registers": registers, "shots": pub.shots, "method": STABILIZER}
    shape = pub.shape
    sizes = pub.circuit.registers
    data = {
        name: np.zeros((*shape, pub.shots, num_bytes(size)), dtype=np.uint8)
        for name, size in sizes.items()
    }
    for index, program in zip(np.ndindex(*shape), programs):
        for name, bits in stabilizer.sample(program, pub.shots, rng).items():
            data[name][index] = bits.data
    registers = {name: PackedBits(sizes[name], arr) for name, arr in data.items()}
    return {"registers": registers, "shots": pub.shots, "method": STABILIZER}


def _estimate(
    stabilizer: StabilizerSimulator,
    simulator: Any,
    pub: EstimatorPub,
    programs: list[StabilizerProgram],
    seed: Any,
) -> dict[str, Any]:
    observables = list(pub.observables.ravel())
    per_binding = np.array([stabilizer.expectation_values(p, observables) for p in programs])
    if pub.values.ndim <= 1:
        shape = pub.observables.shape
        evs = per_binding[0].reshape(shape)
    else:  # broadcast (parameter sets) x (observables) to the pub's shape, as execute does
        vshape = pub.values.shape[:-1]
        shape = pub.shape
        vidx = np.broadcast_to(np.arange(per_binding.shape[0]).reshape(vshape), shape)
        oidx = np.broadcast_to(np.arange(len(observables)).reshape(pub.observables.shape), shape)
        evs = per_binding[vidx, oidx]
    if pub.precision > 0:  # the statevector's rule: noise from the seed's start for every pub
        evs = simulator.job_random.generator(seed).normal(evs, pub.precision)
    stds = np.full(shape, pub.precision, dtype=float)
    return {
        "evs": np.asarray(evs, dtype=float),
        "stds": stds,
        "precision": pub.precision,
        "method": STABILIZER,
    }
