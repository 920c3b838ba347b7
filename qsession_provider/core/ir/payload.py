"""Neutral job payloads: what a face submits for ``sampler``, ``estimator`` and ``run``.

A payload holds IR circuits, parameter values as float arrays whose last axis follows
``circuit.parameters``, observables as :class:`PauliSum` arrays, and shots or precision.
It is validated before a job is created, so a bad input is refused with a clear
message and nothing is queued.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ...errors import InputError
from .circuit import Barrier, Circuit
from .encoding import circuit_text, dumps
from .observables import PauliSum

__all__ = [
    "SamplerPub",
    "EstimatorPub",
    "SamplerPayload",
    "EstimatorPayload",
    "RunPayload",
    "Payload",
    "PROGRAMS",
    "payload_from_json",
    "check_seed",
    "touched_qubits",
]


def touched_qubits(circuit: Circuit) -> int:
    """Number of distinct qubits that a gate, reset or measurement of ``circuit`` touches."""
    return int(circuit._memoized("touched_qubits", _touched))


def _touched(operations: tuple[Any, ...]) -> int:
    used: set[int] = set()
    for op in operations:
        if not isinstance(op, Barrier):
            used.update(op.all_qubits)
    return len(used)


def check_seed(seed: Any, what: str = "seed") -> int | None:
    """``seed`` as an int, or None: the one check of a sampling seed for every face.

    Raises:
        InputError: ``seed`` is not None or an integer >= 0 (``what`` names it).
    """
    if seed is None:
        return None
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)) or seed < 0:
        raise InputError(f"{what} must be None or an integer >= 0, got {seed!r}")
    return int(seed)


def _check_shots(shots: Any, where: str) -> int:
    if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)):
        raise InputError(f"{where}: shots must be a positive integer, got {shots!r}")
    if shots <= 0:
        raise InputError(f"{where}: shots must be a positive integer, got {shots}")
    return int(shots)


def _check_values(circuit: Circuit, values: Any, where: str) -> np.ndarray:
    num = len(circuit.parameters)
    if values is None:
        if num:
            raise InputError(
                f"{where}: circuit has parameters {list(circuit.parameters)} "
                "but no values were given"
            )
        return np.zeros((0,), dtype=float)
    try:
        arr = np.array(values, dtype=float)
    except (TypeError, ValueError):
        raise InputError(f"{where}: parameter values are not real numbers") from None
    if arr.ndim == 0 or arr.shape[-1] != num:
        raise InputError(
            f"{where}: parameter values have shape {arr.shape}; the last axis must have length "
            f"{num} (one entry per parameter: {list(circuit.parameters)})"
        )
    if not np.all(np.isfinite(arr)):
        raise InputError(f"{where}: parameter values contain NaN or infinity")
    arr.setflags(write=False)
    return arr


@dataclass(frozen=True)
class SamplerPub:
    """One sampler pub: a circuit, a (broadcast) array of parameter sets and a shot count."""

    circuit: Circuit
    values: np.ndarray
    shots: int

    def __post_init__(self) -> None:
        if not isinstance(self.circuit, Circuit):
            raise InputError(f"sampler pub: expected a Circuit, got {type(self.circuit).__name__}")
        object.__setattr__(self, "values", _check_values(self.circuit, self.values, "sampler pub"))
        object.__setattr__(self, "shots", _check_shots(self.shots, "sampler pub"))

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's broadcast shape (parameter sets)."""
        return self.values.shape[:-1]

    def to_json_text(self) -> str:
        """``encoding.dumps`` of this pub's entry in :meth:`SamplerPayload.to_json` (the
        values and shots part is kept on the pub: it is immutable)."""
        tail = self.__dict__.get("_encoded_tail")
        if tail is None:
            tail = f',"values":{dumps(self.values)},"shots":{dumps(self.shots)}}}'
            object.__setattr__(self, "_encoded_tail", tail)
        return '{"program":' + circuit_text(self.circuit) + tail


@dataclass(frozen=True)
class EstimatorPub:
    """One estimator pub: circuit, parameter sets, observables array and target precision."""

    circuit: Circuit
    values: np.ndarray
    observables: np.ndarray
    precision: float = 0.0

    def __post_init__(self) -> None:
        if not isinstance(self.circuit, Circuit):
            raise InputError(
                f"estimator pub: expected a Circuit, got {type(self.circuit).__name__}"
            )
        object.__setattr__(
            self, "values", _check_values(self.circuit, self.values, "estimator pub")
        )
        obs = self.observables
        if isinstance(obs, PauliSum):
            arr = np.empty((), dtype=object)
            arr[()] = obs
            obs = arr
        obs = np.asarray(obs, dtype=object)
        for item in obs.ravel():
            if not isinstance(item, PauliSum):
                raise InputError(f"estimator pub: observable {item!r} is not a PauliSum")
            if item.max_qubit >= self.circuit.num_qubits:
                raise InputError(
                    f"estimator pub: an observable acts on qubit {item.max_qubit} "
                    "but the circuit has "
                    f"{self.circuit.num_qubits} qubits"
                )
        object.__setattr__(self, "observables", obs)
        try:
            precision = float(self.precision)
        except (TypeError, ValueError):
            raise InputError(
                f"estimator pub: precision {self.precision!r} is not a number"
            ) from None
        if not np.isfinite(precision) or precision < 0:
            raise InputError(
                f"estimator pub: precision must be a finite number >= 0, got {precision}"
            )
        object.__setattr__(self, "precision", precision)
        try:
            np.broadcast_shapes(self.values.shape[:-1], obs.shape)
        except ValueError:
            raise InputError(
                f"estimator pub: parameter values of shape {self.values.shape[:-1]} "
                f"and observables "
                f"of shape {obs.shape} do not broadcast"
            ) from None
        if not self.circuit.is_unitary():
            raise InputError(
                "estimator pub: the circuit contains measurements, resets or classical conditions; "
                "the estimator needs a unitary circuit"
            )

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's broadcast shape (parameter sets against observables)."""
        return np.broadcast_shapes(self.values.shape[:-1], self.observables.shape)


@dataclass(frozen=True)
class _PayloadBase:
    """Shared checks; subclasses define ``circuits`` (their IR circuits, in order)."""

    def validate(self, max_qubits: int, *, touched_only: bool = False) -> None:
        """Check the payload fits a device with ``max_qubits`` qubits.

        Args:
            max_qubits: the device's qubit count.
            touched_only: count only the qubits operations touch (simulators), not the
                declared circuit width (QPUs).

        Raises:
            InputError: a circuit is wider than the device.
        """
        for index, circuit in enumerate(self.circuits):  # type: ignore[attr-defined]
            width = touched_qubits(circuit) if touched_only else circuit.num_qubits
            if width > max_qubits:
                what = "uses" if touched_only else "has"
                raise InputError(
                    f"circuit {index} ({circuit.name or 'unnamed'}) {what} {width} qubits, "
                    f"more than the device's {max_qubits}"
                )

    @cached_property
    def num_qubits(self) -> int:
        """Widest circuit, counting only qubits that operations touch (payloads are
        immutable, so the sizes of a payload are computed once)."""
        return max((touched_qubits(p) for p in self.circuits), default=0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SamplerPayload(_PayloadBase):
    """Payload of the ``sampler`` program."""

    pubs: tuple[SamplerPub, ...]
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pubs", tuple(self.pubs))
        if not self.pubs:
            raise InputError("sampler job: no pubs given")

    @property
    def circuits(self) -> list[Circuit]:
        return [p.circuit for p in self.pubs]

    @cached_property
    def num_executions(self) -> int:
        """Number of circuit executions (parameter sets over all pubs)."""
        return sum(math.prod(p.shape) for p in self.pubs)

    @cached_property
    def total_shots(self) -> int:
        """Total shots over every execution."""
        return sum(math.prod(p.shape) * p.shots for p in self.pubs)

    def to_json(self) -> dict[str, Any]:
        """Data for :mod:`encoding`."""
        return {
            "seed": self.seed,
            "pubs": [
                {"program": p.circuit, "values": p.values, "shots": p.shots} for p in self.pubs
            ],
        }

    def to_json_text(self) -> str:
        """``encoding.dumps(self.to_json())``, from text kept on the pubs (a session loop
        resubmits the same pubs)."""
        pubs = ",".join([p.to_json_text() for p in self.pubs])
        return f'{{"seed":{dumps(self.seed)},"pubs":[{pubs}]}}'


@dataclass(frozen=True)
class EstimatorPayload(_PayloadBase):
    """Payload of the ``estimator`` program (``shots_per_precision``: see :attr:`total_shots`)."""

    pubs: tuple[EstimatorPub, ...]
    seed: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pubs", tuple(self.pubs))
        if not self.pubs:
            raise InputError("estimator job: no pubs given")

    @property
    def circuits(self) -> list[Circuit]:
        return [p.circuit for p in self.pubs]

    @cached_property
    def num_executions(self) -> int:
        """Number of circuit executions (parameter sets over all pubs)."""
        return sum(math.prod(p.values.shape[:-1]) for p in self.pubs)

    @cached_property
    def total_shots(self) -> int:
        """Shots a QPU would spend: ``1/precision**2`` per execution (4096 for exact pubs)."""
        total = 0
        for p in self.pubs:
            per = 4096 if p.precision == 0 else int(np.ceil(1.0 / p.precision**2))
            total += math.prod(p.values.shape[:-1]) * per
        return total

    def to_json(self) -> dict[str, Any]:
        """Data for :mod:`encoding`."""
        return {
            "seed": self.seed,
            "pubs": [
                {
                    "program": p.circuit,
                    "values": p.values,
                    "observables": p.observables,
                    "precision": p.precision,
                }
                for p in self.pubs
            ],
        }


@dataclass(frozen=True)
class RunPayload(_PayloadBase):
    """Payload of the ``run`` program (``backend.run``): circuits, shots, per-shot memory."""

    circuits: tuple[Circuit, ...]
    shots: int = 1024
    memory: bool = False
    seed: int | None = None
    options: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        object.__setattr__(self, "circuits", tuple(self.circuits))
        if not self.circuits:
            raise InputError("run job: no circuits given")
        for c in self.circuits:
            if not isinstance(c, Circuit):
                raise InputError(f"run job: expected Circuit objects, got {type(c).__name__}")
            if c.parameters:
                raise InputError(
                    f"run job: circuit {c.name or '<unnamed>'!r} has unbound parameters "
                    f"{list(c.parameters)}"
                )
        object.__setattr__(self, "shots", _check_shots(self.shots, "run job"))

    @property
    def num_executions(self) -> int:
        """Number of circuits."""
        return len(self.circuits)

    @property
    def total_shots(self) -> int:
        """Shots over all circuits."""
        return len(self.circuits) * self.shots

    def to_json(self) -> dict[str, Any]:
        """Data for :mod:`encoding`."""
        return {
            "circuits": list(self.circuits),
            "shots": self.shots,
            "memory": self.memory,
            "seed": self.seed,
            "options": self.options,
        }


Payload = SamplerPayload | EstimatorPayload | RunPayload

#: Circuit ids and their payload classes.
PROGRAMS: dict[str, type] = {
    "sampler": SamplerPayload,
    "estimator": EstimatorPayload,
    "run": RunPayload,
}


def payload_from_json(program_id: str, data: dict[str, Any]) -> Payload:
    """Rebuild a payload from the data of its ``to_json`` (after :func:`encoding.loads`)."""
    if program_id == "sampler":
        return SamplerPayload(
            tuple(SamplerPub(p["program"], p["values"], p["shots"]) for p in data["pubs"]),
            data.get("seed"),
        )
    if program_id == "estimator":
        return EstimatorPayload(
            tuple(
                EstimatorPub(p["program"], p["values"], p["observables"], p["precision"])
                for p in data["pubs"]
            ),
            data.get("seed"),
        )
    if program_id == "run":
        return RunPayload(
            tuple(data["circuits"]),
            data["shots"],
            data.get("memory", False),
            data.get("seed"),
            dict(data.get("options") or {}),
        )
    raise InputError(f"unknown program {program_id!r}; known programs: {sorted(PROGRAMS)}")
