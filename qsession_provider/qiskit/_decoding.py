"""What a Qiskit job stores so its result can be rebuilt anywhere, and the rebuilding itself.

Two decodings, one per kind of job: :class:`PrimitiveDecoding` (``sampler``/``estimator``
jobs → ``PrimitiveResult``) and :class:`ExecutorDecoding` (``executor`` jobs →
``QuantumProgramResult``, see :mod:`._executor`).

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
circuits. Executor jobs store the register layout, samplex outputs and passthrough data of
their items (:meth:`ExecutorDecoding.describe`).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
from qiskit.circuit import ClassicalRegister, QuantumCircuit
from qiskit_ibm_runtime.decoders.defaults import DEFAULT_DECODERS
from qiskit_ibm_runtime.results import QuantumProgramItemResult, QuantumProgramResult

from ..core.ir.encoding import to_jsonable
from ..errors import StoreError
from ._results import estimator_result, sampler_result

__all__ = [
    "METADATA_KEY",
    "Decoding",
    "ExecutorDecoding",
    "PrimitiveDecoding",
    "decoding_from_metadata",
    "primitive_of",
    "storable",
]

#: Key of the Qiskit description in a core job's ``metadata``.
METADATA_KEY = "qiskit"


def storable(value: Any, default: Any = None) -> Any:
    """``value`` if the store's encoding can hold it, else ``default``."""
    if type(value) is dict and not value:
        return value  # the usual circuit metadata: nothing to encode
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


class ExecutorDecoding:
    """Turns the neutral result of an executor job into a ``QuantumProgramResult``.

    Args:
        items: per item: ``cregs`` (name, size), ``extra`` (samplex outputs),
            ``circuit_metadata``.
        passthrough: the program's passthrough data (read by the post-processors).
        semantic_role: ``"sampler_v2"``, ``"estimator_v2"``, ... or None.
        shots: shots per element.
    """

    primitive = "executor"

    def __init__(
        self, items: list[dict[str, Any]], passthrough: Any, semantic_role: str | None, shots: int
    ) -> None:
        self.items = items
        self.passthrough = passthrough
        self.semantic_role = semantic_role
        self.shots = shots

    def describe(self) -> dict[str, Any]:
        """The description stored in the job's metadata (unstorable passthrough → None)."""
        return {
            "primitive": "executor",
            "items": self.items,
            "passthrough": storable(self.passthrough),
            "semantic_role": self.semantic_role,
            "shots": self.shots,
        }

    @classmethod
    def from_description(cls, data: Mapping[str, Any]) -> ExecutorDecoding:
        """Inverse of :meth:`describe`."""
        return cls(
            list(data["items"]), data.get("passthrough"), data.get("semantic_role"), data["shots"]
        )

    def decode(self, raw: Mapping[str, Any]) -> Any:
        """The ``QuantumProgramResult`` of the neutral result."""
        results = []
        for item, entry in zip(self.items, raw["pubs"]):
            data = dict(item["extra"])
            for name, _size in item["cregs"]:
                data[name] = np.asarray(entry["registers"][name], dtype=bool)
            metadata = {"shots": self.shots, "circuit_metadata": item["circuit_metadata"]}
            results.append(QuantumProgramItemResult(result=data, metadata=metadata))
        out = QuantumProgramResult(data=results, metadata=None, passthrough_data=self.passthrough)
        out._semantic_role = self.semantic_role
        return out

    def default_decoders(self) -> list[Any]:
        """qiskit-ibm-runtime's executor decoders (client-side post-processing)."""
        return list(DEFAULT_DECODERS["executor"])


class CalibrationDecoding:
    """The result of a ``Calibrator`` job: ``{"calibration_id": ..., "device": ...}``."""

    primitive = "calibrate"

    def describe(self) -> dict[str, Any]:
        """The description stored in the job's metadata."""
        return {"primitive": self.primitive}

    def decode(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """The calibration's id and device, as a dict."""
        return dict(raw)

    def default_decoders(self) -> list[Any]:
        """No client-side decoders."""
        return []


#: Any decoding (what ``RuntimeJob`` holds).
Decoding = PrimitiveDecoding | ExecutorDecoding | CalibrationDecoding


def decoding_from_metadata(metadata: Mapping[str, Any]) -> Decoding | None:
    """The decoding for a stored job, or None if the job was not submitted by the Qiskit face."""
    data = metadata.get(METADATA_KEY)
    if not isinstance(data, Mapping) or "primitive" not in data:
        return None
    if data["primitive"] == "executor":
        return ExecutorDecoding.from_description(data)
    if data["primitive"] == CalibrationDecoding.primitive:
        return CalibrationDecoding()
    if data["primitive"] in ("sampler", "estimator"):
        return PrimitiveDecoding.from_description(data)
    return None


def primitive_of(metadata: Mapping[str, Any], program_id: str) -> str:
    """The primitive a stored job was submitted by (``"executor"`` jobs run the ``sampler``
    program), from its metadata; ``program_id`` for jobs of other faces."""
    data = metadata.get(METADATA_KEY)
    if isinstance(data, Mapping) and "primitive" in data:
        return str(data["primitive"])
    return program_id
