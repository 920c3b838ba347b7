"""What a job's stored payload and result say, in a form the job page shows.

Payloads and results are decoded from the store's text with the stable encoding
(:mod:`qsession_provider.core.ir.encoding`). Counts are read from the bits the engine
returns per register (shots x bits, bit 0 first): an outcome is written most significant
bit first, as Qiskit writes it; registers are joined with a space, the last register
first (Qiskit's order).
"""

from __future__ import annotations

from collections import Counter
from typing import Any

import numpy as np

from ...core.ir.payload import EstimatorPayload, RunPayload, SamplerPayload
from ...core.runtime.checks import decode_payload, decode_result

__all__ = ["input_summary", "result_summary", "counts_of", "MAX_EV_ROWS"]

#: Most expectation values listed per pub.
MAX_EV_ROWS = 256


def _circuit_row(circuit: Any) -> dict[str, Any]:
    return {
        "name": circuit.name or "(unnamed)",
        "qubits": circuit.num_qubits,
        "clbits": circuit.num_clbits,
        "operations": len(circuit.operations),
        "parameters": len(circuit.parameters),
    }


def input_summary(program_id: str, text: str) -> dict[str, Any]:
    """Circuits, qubits, shots and pubs of an encoded payload.

    Returns:
        ``{"program", "qubits", "shots", "executions", "pubs": [...], "circuits": [...]}``;
        ``{"error": message}`` if the payload cannot be decoded.
    """
    try:
        payload = decode_payload(program_id, text)
    except Exception as exc:  # a payload of a plugin's program, or damaged text
        return {"error": f"the payload could not be read: {type(exc).__name__}: {exc}"}
    summary: dict[str, Any] = {"program": program_id, "pubs": [], "circuits": []}
    if isinstance(payload, SamplerPayload):
        for k, pub in enumerate(payload.pubs):
            summary["pubs"].append(
                {
                    "index": k,
                    **_circuit_row(pub.circuit),
                    "shape": "×".join(map(str, pub.shape)) or "scalar",
                    "shots": pub.shots,
                    "observables": None,
                }
            )
        summary["shots"] = payload.total_shots
    elif isinstance(payload, EstimatorPayload):
        for k, pub in enumerate(payload.pubs):
            summary["pubs"].append(
                {
                    "index": k,
                    **_circuit_row(pub.circuit),
                    "shape": "×".join(map(str, pub.shape)) or "scalar",
                    "shots": f"precision {pub.precision:g}" if pub.precision else "exact",
                    "observables": int(pub.observables.size),
                }
            )
        summary["shots"] = payload.total_shots
    elif isinstance(payload, RunPayload):
        summary["circuits"] = [_circuit_row(c) for c in payload.circuits]
        summary["shots"] = payload.shots * len(payload.circuits)
    else:
        return {"error": f"no summary for a payload of type {type(payload).__name__}"}
    summary["qubits"] = payload.num_qubits
    summary["executions"] = payload.num_executions if hasattr(payload, "num_executions") else None
    return summary


def counts_of(registers: dict[str, Any]) -> dict[str, int]:
    """Outcome -> count of one execution's (or several executions') register bits."""
    if not registers:
        return {}
    widths, packed = [], []
    for name in registers:
        bits = np.asarray(registers[name], dtype=np.uint8)  # PackedBits unpack here
        bits = bits.reshape(-1, bits.shape[-1])
        widths.append(bits.shape[-1])
        packed.append(np.packbits(bits, axis=-1, bitorder="little"))
    rows = np.concatenate(packed, axis=-1)
    if rows.shape[1] == 0:  # no classical bits: every shot is the empty outcome
        return {"": int(rows.shape[0])}
    unique, counts = np.unique(rows, axis=0, return_counts=True)  # outcomes, not shots
    out: Counter[str] = Counter()
    for row, count in zip(unique, counts.tolist()):
        words, start = [], 0
        for width, block in zip(widths, packed):
            size = block.shape[-1]
            bits = np.unpackbits(row[start : start + size], count=width, bitorder="little")
            words.append("".join(map(str, bits[::-1].tolist())))
            start += size
        out[" ".join(reversed(words))] += count  # first register rightmost, as Qiskit
    return dict(out)


def _evs_rows(pub: dict[str, Any]) -> tuple[list[dict[str, Any]], int]:
    evs = np.atleast_1d(np.asarray(pub.get("evs"), dtype=float))
    stds = np.broadcast_to(np.asarray(pub.get("stds", 0.0), dtype=float), np.shape(evs))
    rows = []
    for index in list(np.ndindex(*evs.shape))[:MAX_EV_ROWS]:
        rows.append({"index": index, "ev": float(evs[index]), "std": float(stds[index])})
    return rows, int(evs.size)


def result_summary(program_id: str, text: str | None) -> dict[str, Any] | None:
    """Counts (sampler, run) or expectation values with stds (estimator) of a result.

    Returns:
        None without a result; else ``{"counts": [(label, counts), ...]}`` or
        ``{"evs": [(label, rows, total), ...]}``; ``{"error": message}`` if unreadable.
    """
    if text is None:
        return None
    try:
        result = decode_result(text)
        if program_id == "estimator":
            evs = []
            for k, pub in enumerate(result["pubs"]):
                rows, total = _evs_rows(pub)
                evs.append((f"pub {k}", rows, total))
            return {"evs": evs}
        if program_id == "sampler":
            return {
                "counts": [
                    (f"pub {k}", counts_of(pub["registers"]))
                    for k, pub in enumerate(result["pubs"])
                ]
            }
        if program_id == "run":
            return {
                "counts": [
                    (item.get("name") or f"circuit {k}", counts_of(item["registers"]))
                    for k, item in enumerate(result["results"])
                ]
            }
    except Exception as exc:  # a plugin's result, or damaged text
        return {"error": f"the result could not be read: {type(exc).__name__}: {exc}"}
    return {"error": f"no summary for results of program {program_id!r}"}
