"""Neutral result dicts → Qiskit result containers.

The input layouts are those of :mod:`qsession_provider.sim.execute`:

- sampler: ``{"pubs": [{"registers": {name: PackedBits (*shape, shots)}, "shots": n}]}``
- estimator: ``{"pubs": [{"evs": (*shape), "stds": (*shape), "precision": p}]}``
- run: ``{"results": [{"registers": {name: PackedBits (shots,)}, "shots": n, "name": str}]}``

Registers are :class:`~qsession_provider.core.ir.bits.PackedBits`, already in the byte
layout of Qiskit's ``BitArray`` (big-endian bytes, the last byte holds bits 0-7), so a
sampler's ``BitArray`` takes their bytes as they are, without a copy. Results stored before
bits were kept packed hold ``(..., size)`` uint8 arrays instead (column ``j`` = bit ``j``);
they are packed on reading. ``backend.run`` results follow Aer and ``BasicSimulator``: hex
counts and memory whose bit ``i`` is clbit ``i`` of ``circuit.clbits``, and the same header
keys; only the distinct outcomes are unpacked.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
from qiskit.circuit import QuantumCircuit
from qiskit.primitives import PrimitiveResult, PubResult, SamplerPubResult
from qiskit.primitives.containers import BitArray, DataBin
from qiskit.primitives.containers import EstimatorPub as QiskitEstimatorPub
from qiskit.primitives.containers import SamplerPub as QiskitSamplerPub
from qiskit.result import Result
from qiskit.result.models import ExperimentResult, ExperimentResultData

from ..core.ir.bits import PackedBits, as_packed
from ..errors import InputError
from ..translate.qiskit.classical import clbit_locations

__all__ = ["estimator_result", "pack_bits", "run_result", "sampler_result"]


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """Pack ``(..., n)`` 0/1 bits (column ``j`` = bit ``j``) into Qiskit's ``BitArray`` bytes.

    Returns:
        A C-contiguous uint8 array ``(..., ceil(n / 8))``, most significant byte first.
    """
    return PackedBits.from_bits(np.asarray(bits, dtype=np.uint8)).data


def _entries(result: Mapping[str, Any], key: str, expected: int, what: str) -> list[Any]:
    """``result[key]`` as a list, checked to have one entry per pub or circuit."""
    try:
        entries = list(result[key])
    except (KeyError, TypeError):
        raise InputError(f"{what} result has no {key!r} list") from None
    if len(entries) != expected:
        raise InputError(f"{what} result has {len(entries)} entries for {expected} inputs")
    return entries


def _register(
    registers: Mapping[str, Any], name: str, shape: tuple[int, ...], size: int, where: str
) -> PackedBits:
    """One register's bits, checked against the expected ``(*, shots)`` shape and size."""
    try:
        value = registers[name]
    except KeyError:
        raise InputError(f"{where}: the result has no register {name!r}") from None
    bits = as_packed(value, where=f"{where}: register {name!r}")
    if bits.shape != shape or bits.num_bits != size:
        raise InputError(
            f"{where}: register {name!r} has shape {(*bits.shape, bits.num_bits)}, "
            f"expected {(*shape, size)}"
        )
    return bits


def sampler_result(
    result: Mapping[str, Any],
    pubs: Sequence[QiskitSamplerPub],
    *,
    metadata: Mapping[str, Any],
) -> PrimitiveResult[SamplerPubResult]:
    """The ``PrimitiveResult`` of a ``sampler`` job.

    Args:
        result: the neutral result dict.
        pubs: the coerced Qiskit pubs the payload was built from, in order.
        metadata: extra ``PrimitiveResult`` metadata (added after ``"version": 2``).

    Returns:
        One ``SamplerPubResult`` per pub: a ``BitArray`` per classical register of the
        circuit (in ``circuit.cregs`` order, named by register; clbits in no register are
        not reported, as in Qiskit's samplers), ``DataBin.shape == pub.shape``, and
        metadata ``{"shots", "circuit_metadata"}``.

    Raises:
        InputError: the result does not match the pubs.
    """
    out = []
    for index, (pub, entry) in enumerate(zip(pubs, _entries(result, "pubs", len(pubs), "sampler"))):
        shape = tuple(pub.shape)
        shots = int(entry["shots"])
        registers = entry["registers"]
        fields = {
            creg.name: BitArray(
                _register(registers, creg.name, (*shape, shots), creg.size, f"pub {index}").data,
                creg.size,
            )
            for creg in pub.circuit.cregs
        }
        out.append(
            SamplerPubResult(
                DataBin(**fields, shape=shape),
                metadata={
                    "shots": shots,
                    "circuit_metadata": pub.circuit.metadata,
                    **_method(entry),  # which simulation method ran (sim/method.py)
                },
            )
        )
    return PrimitiveResult(out, metadata={"version": 2, **metadata})


def estimator_result(
    result: Mapping[str, Any],
    pubs: Sequence[QiskitEstimatorPub],
    *,
    metadata: Mapping[str, Any],
) -> PrimitiveResult[PubResult]:
    """The ``PrimitiveResult`` of an ``estimator`` job.

    Args:
        result: the neutral result dict.
        pubs: the coerced Qiskit pubs the payload was built from, in order.
        metadata: extra ``PrimitiveResult`` metadata (added after ``"version": 2``).

    Returns:
        One ``PubResult`` per pub with ``evs`` and ``stds`` float arrays of the pub's shape
        (0-d for a scalar pub) and metadata ``{"target_precision", "circuit_metadata"}``.

    Raises:
        InputError: the result does not match the pubs.
    """
    out = []
    for index, (pub, entry) in enumerate(
        zip(pubs, _entries(result, "pubs", len(pubs), "estimator"))
    ):
        shape = tuple(pub.shape)
        arrays = {}
        for name in ("evs", "stds"):
            arr = np.asarray(entry[name], dtype=float)
            if arr.shape != shape:
                raise InputError(f"pub {index}: {name} have shape {arr.shape}, expected {shape}")
            arrays[name] = arr
        precision = pub.precision if pub.precision is not None else entry.get("precision")
        out.append(
            PubResult(
                DataBin(evs=arrays["evs"], stds=arrays["stds"], shape=shape),
                metadata={
                    "target_precision": precision,
                    "circuit_metadata": pub.circuit.metadata,
                    **_method(entry),
                },
            )
        )
    return PrimitiveResult(out, metadata={"version": 2, **metadata})


def _hex_outcomes(
    circuit: QuantumCircuit, registers: Mapping[str, Any], shots: int, memory: bool, where: str
) -> tuple[dict[str, int], list[str] | None]:
    """Hex counts (and per-shot hex memory) of the circuit's clbits, bit ``i`` = ``2**i``
    for clbit ``i`` of ``circuit.clbits``.

    The distinct shots are found on the packed registers; only they are unpacked. A clbit in
    several registers reads from the first of them (they all hold the same measurement);
    clbits in no register come from the translator's loose-clbit register.
    """
    sizes, locations = clbit_locations(circuit)
    packed = {
        name: _register(registers, name, (shots,), size, where) for name, size in sizes.items()
    }
    if circuit.num_clbits == 0:  # no clbits: empty counts and memory, as BasicSimulator
        return {}, ([] if memory else None)
    joined = np.concatenate([bits.data for bits in packed.values()], axis=1)
    unique, inverse, counts = np.unique(joined, axis=0, return_inverse=True, return_counts=True)
    arrays, at = {}, 0
    for name, bits in packed.items():
        width = bits.num_bytes
        arrays[name] = PackedBits(bits.num_bits, unique[:, at : at + width]).unpack()
        at += width
    columns = np.zeros((len(unique), circuit.num_clbits), dtype=np.uint8)
    for i, clbit in enumerate(circuit.clbits):
        name, bit = locations[clbit][0]
        columns[:, i] = arrays[name][:, bit]
    rows = np.packbits(columns, axis=1, bitorder="little")  # little-endian bytes per row
    labels = [hex(int.from_bytes(row.tobytes(), "little")) for row in rows]
    hist: dict[str, int] = {}
    for i in np.lexsort(rows.T[::-1]).tolist():  # counts in the order of those bytes
        hist[labels[i]] = hist.get(labels[i], 0) + int(counts[i])
    if not memory:
        return hist, None
    return hist, np.array(labels, dtype=object)[inverse.reshape(-1)].tolist()


def _header(circuit: QuantumCircuit) -> dict[str, Any]:
    """The experiment header Aer and ``BasicSimulator`` write (read by ``Result.get_counts``)."""
    return {
        "name": circuit.name,
        "n_qubits": circuit.num_qubits,
        "qreg_sizes": [[qreg.name, qreg.size] for qreg in circuit.qregs],
        "creg_sizes": [[creg.name, creg.size] for creg in circuit.cregs],
        "qubit_labels": [[qreg.name, j] for qreg in circuit.qregs for j in range(qreg.size)],
        "clbit_labels": [[creg.name, j] for creg in circuit.cregs for j in range(creg.size)],
        "memory_slots": circuit.num_clbits,
        "global_phase": float(circuit.global_phase),
        "metadata": circuit.metadata if circuit.metadata is not None else {},
    }


def run_result(
    result: Mapping[str, Any],
    circuits: QuantumCircuit | Sequence[QuantumCircuit],
    *,
    backend_name: str,
    backend_version: str,
    job_id: str,
    memory: bool,
    shots: int,
    seed: int | None,
    status: str,
    date: Any = None,
) -> Result:
    """The ``qiskit.result.Result`` of a ``run`` job (``backend.run``).

    Args:
        result: the neutral result dict.
        circuits: the circuits the payload was built from, in order.
        backend_name, backend_version, job_id, status, date: ``Result`` fields.
        memory: include per-shot hex memory (``BackendSamplerV2`` asks for it).
        shots: the shots requested (each experiment reports the shots it ran).
        seed: ``seed_simulator``, reported per experiment.

    Returns:
        A successful ``Result`` with one experiment per circuit: ``data.counts`` with hex keys,
        ``data.memory`` when ``memory`` is true, ``meas_level=2`` and a header with ``name``,
        ``creg_sizes``, ``memory_slots``, ``clbit_labels``, ``metadata`` and the rest of
        Aer's keys, so ``get_counts()``, ``get_memory()``, ``BackendSamplerV2`` and
        ``BackendEstimatorV2`` read it as they read Aer's.

    Raises:
        InputError: the result does not match the circuits.
    """
    if isinstance(circuits, QuantumCircuit):
        circuits = [circuits]
    experiments = []
    for index, (circuit, entry) in enumerate(
        zip(circuits, _entries(result, "results", len(circuits), "run"))
    ):
        ran = int(entry.get("shots", shots))
        counts, mem = _hex_outcomes(circuit, entry["registers"], ran, memory, f"circuit {index}")
        experiments.append(
            ExperimentResult(
                shots=ran,
                success=True,
                data=ExperimentResultData(counts=counts, memory=mem),
                meas_level=2,
                status="DONE",
                header=_header(circuit),
                name=circuit.name,
                seed_simulator=seed,
                metadata={
                    k: entry[k]
                    for k in ("method", "noise", "simulation_precision")  # as Aer's, + ours
                    if k in entry
                },
            )
        )
    return Result(
        backend_name=backend_name,
        backend_version=backend_version,
        job_id=job_id,
        success=True,
        results=experiments,
        date=date,
        status=status,
    )


def _method(entry: Mapping[str, Any]) -> dict[str, Any]:
    """``{"simulator_metadata": {"method": ...}}`` when a method other than the statevector
    ran, or the statevector sampled in single precision (``"simulation_precision":
    "single"``); a complex128 statevector pub's metadata stays exactly that of Qiskit's
    reference primitives."""
    method = entry.get("method")
    single = entry.get("simulation_precision")
    if not single and (method is None or method == "statevector" and "noise" not in entry):
        return {}
    found = {"method": str(method or "statevector")}
    if "noise" in entry:
        found["noise_model"] = str(entry["noise"])
    if single:
        found["simulation_precision"] = str(single)
    return {"simulator_metadata": found}
