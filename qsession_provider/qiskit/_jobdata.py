"""What a Qiskit job stores so its result can be rebuilt anywhere, and the rebuilding itself.

The core keeps a job's neutral payload and neutral result; turning the result back into
``PrimitiveResult`` needs a little of the Qiskit pubs: for each pub its broadcast shape, its
classical registers (names and sizes, in ``circuit.cregs`` order), its circuit metadata and,
for the estimator, its precision. At submission that description goes into the job's
``metadata`` under the key ``"qiskit"``::

    {"primitive": "sampler", "pubs": [{"shape": [2, 3], "cregs": [["meas", 2]],
                                      "circuit_metadata": {...}}, ...]}
    {"primitive": "estimator", "pubs": [{"shape": [4], "precision": 0.0,
                                        "circuit_metadata": {...}}, ...]}

so a job fetched by id - in this process or another one sharing the store - decodes into the
same containers. Circuit metadata that the store cannot encode (arbitrary Python objects) is
replaced by ``{}`` in the stored description; the submitting process still uses the real
circuits. Executor jobs store their own description (see :mod:`._executor`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import ClassicalRegister, QuantumCircuit

from ..core.ir.encoding import to_jsonable
from ..errors import StoreError
from ._results import estimator_result, sampler_result

__all__ = ["METADATA_KEY", "PrimitiveDecoding", "decoding_from_metadata", "storable"]

#: Key of the Qiskit description in a core job's ``metadata``.
METADATA_KEY = "qiskit"


def storable(value: Any, default: Any = None) -> Any:
    """``value`` if the store's encoding can hold it, else ``default``."""
    try:
        to_jsonable(value)
    except StoreError:
        return default
    return value


@dataclass(frozen=True)
class _StoredPub:
    """Enough of a pub for :mod:`._results`: shape, registers, metadata, precision."""

    shape: tuple[int, ...]
    circuit: QuantumCircuit
    precision: float | None = None


def _circuit(cregs: Sequence[Sequence[Any]], metadata: Any) -> QuantumCircuit:
    registers = [ClassicalRegister(int(size), str(name)) for name, size in cregs]
    circuit = QuantumCircuit(*registers)
    circuit.metadata = dict(metadata) if isinstance(metadata, Mapping) else {}
    return circuit


class PrimitiveDecoding:
    """Turns the neutral result of a ``sampler``/``estimator`` job into a ``PrimitiveResult``.

    Args:
        primitive: ``"sampler"`` or ``"estimator"``.
        pubs: the coerced Qiskit pubs (or stand-ins rebuilt from metadata).
    """

    def __init__(self, primitive: str, pubs: Sequence[Any]) -> None:
        self.primitive = primitive
        self.pubs = list(pubs)

    def describe(self) -> dict[str, Any]:
        """The JSON-like description stored in the job's metadata."""
        pubs = []
        for pub in self.pubs:
            item: dict[str, Any] = {
                "shape": [int(n) for n in pub.shape],
                "circuit_metadata": storable(pub.circuit.metadata, {}),
            }
            if self.primitive == "sampler":
                item["cregs"] = [[creg.name, creg.size] for creg in pub.circuit.cregs]
            else:
                item["precision"] = pub.precision
            pubs.append(item)
        return {"primitive": self.primitive, "pubs": pubs}

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> PrimitiveDecoding:
        """Inverse of :meth:`describe`."""
        pubs = [
            _StoredPub(
                tuple(int(n) for n in item["shape"]),
                _circuit(item.get("cregs", ()), item.get("circuit_metadata")),
                item.get("precision"),
            )
            for item in data["pubs"]
        ]
        return cls(data["primitive"], pubs)

    def decode(self, raw: Mapping[str, Any]) -> Any:
        """The ``PrimitiveResult`` of a neutral result."""
        if self.primitive == "sampler":
            return sampler_result(raw, self.pubs, metadata={})
        return estimator_result(raw, self.pubs, metadata={})

    def default_decoders(self) -> list[Any]:
        """Decoders ``RuntimeJob.result`` applies after :meth:`decode` (none)."""
        return []


def decoding_from_metadata(metadata: Mapping[str, Any]) -> Any:
    """The decoding for a stored job, or None if the job was not submitted by the Qiskit face."""
    data = metadata.get(METADATA_KEY)
    if not isinstance(data, Mapping) or "primitive" not in data:
        return None
    if data["primitive"] == "executor":
        from ._executor import ExecutorDecoding

        return ExecutorDecoding.from_description(data)
    if data["primitive"] in ("sampler", "estimator"):
        return PrimitiveDecoding.from_description(data)
    return None
