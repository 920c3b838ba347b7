"""Neutral job payloads: what a face submits for ``sampler``, ``estimator`` and ``run``.

A payload holds IR circuits, parameter values as float arrays whose last axis follows
``circuit.parameters``, observables as :class:`PauliSum` arrays, and shots or precision.
It is validated before a job is created, so a bad input is refused with a clear
message and nothing is queued: among the checks, the memory its shots take to sample and
hold (:data:`BYTES_PER_SHOT` per shot of one execution, :data:`BYTES_PER_RESULT_BIT` per
bit of every shot) must fit in this machine's physical memory.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import numpy as np

from ...errors import InputError
from .circuit import Barrier, Circuit
from .encoding import circuit_text, dumps, pauli_sum_text
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
    "check_hermitian",
    "touched_qubits",
    "shared_texts",
    "SHARED_TEXT_MIN",
    "BYTES_PER_SHOT",
    "BYTES_PER_RESULT_BIT",
    "machine_memory",
]

#: Bytes the engine holds per shot while it samples one execution: the shot's uniform, its
#: sorted copy, the sort order and the basis-state index (8 bytes each).
BYTES_PER_SHOT = 32
#: Shot memory below this fits on any machine (the machine's memory is not looked up).
_FITS_ANYWHERE = 1 << 28
#: Bytes per classical bit of every shot of a job's result: the uint8 bit itself, and its
#: copy and base64 text (bytes, then str) when the result is encoded for the store.
BYTES_PER_RESULT_BIT = 5


def machine_memory() -> int:
    """Bytes of physical memory of this machine (the default limit of a job's
    ``shot_memory``), or a huge number where the OS does not say."""
    try:
        return int(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


def _shot_bytes(executions: list[tuple[int, int, int]]) -> int:
    """Peak bytes of sampling ``(count, shots, clbits)`` executions one after another and
    keeping all their bits (see :data:`BYTES_PER_SHOT`, :data:`BYTES_PER_RESULT_BIT`)."""
    work = max((shots for _, shots, _ in executions), default=0) * BYTES_PER_SHOT
    bits = sum(count * shots * clbits for count, shots, clbits in executions)
    return work + bits * BYTES_PER_RESULT_BIT


def _size(nbytes: float) -> str:
    for unit, scale in (("TiB", 2**40), ("GiB", 2**30), ("MiB", 2**20)):
        if nbytes >= scale:
            return f"{nbytes / scale:.1f} {unit}"
    return f"{nbytes / 2**10:.1f} KiB"


def touched_qubits(circuit: Circuit) -> int:
    """Number of distinct qubits that a gate, reset or measurement of ``circuit`` touches."""
    return int(circuit._memoized("touched_qubits", _touched))


def _touched(operations: tuple[Any, ...]) -> int:
    used: set[int] = set()
    for op in operations:
        if not isinstance(op, Barrier):
            used.update(op.all_qubits)
    return len(used)


#: Encoded circuits at least this long are worth storing once (:func:`shared_texts`).
SHARED_TEXT_MIN = 1024


def shared_texts(payload: Any) -> tuple[str, ...]:
    """The encoded texts of ``payload``'s circuits and observables of at least
    :data:`SHARED_TEXT_MIN` characters, each once: substrings of the payload's encoded
    text, kept on the circuits and Pauli sums (:func:`~.encoding.circuit_text`,
    :func:`~.encoding.pauli_sum_text`); () for a payload of another kind."""
    if not isinstance(payload, _PayloadBase):
        return ()
    # An operation encodes to more than 36 characters, a Pauli term to more than 16: smaller
    # circuits and sums are passed over without looking at their text (a tiny job's).
    texts = [
        circuit_text(circuit)
        for circuit in payload.circuits  # type: ignore[attr-defined]
        if len(circuit.operations) * 36 >= SHARED_TEXT_MIN
    ]
    for pub in getattr(payload, "pubs", ()):
        if isinstance(pub, EstimatorPub):
            texts += [
                pauli_sum_text(item)
                for item in pub.observables.flat
                if len(item.terms) * 16 >= SHARED_TEXT_MIN
            ]
    out: dict[int, str] = {}
    for text in texts:
        if len(text) >= SHARED_TEXT_MIN:
            out.setdefault(id(text), text)
    return tuple(out.values())


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


#: Imaginary parts of combined coefficients below this count as rounding, not as the operator's.
HERMITIAN_ATOL = 1e-10


def check_hermitian(observable: PauliSum, what: str = "observable") -> None:
    """Refuse a non-Hermitian Pauli sum (a complex coefficient that survives combining terms).

    Estimator values are real; an operator ``A + iB`` has the complex value ``<A> + i<B>``,
    which a face that wants it asks for as two Hermitian pubs (the Cirq face does).

    Raises:
        InputError: ``what`` names the observable, the Pauli string and its coefficient.
    """
    if observable.real_coefficients:
        return
    combined: dict[tuple[tuple[int, str], ...], complex] = {}
    for t in observable.terms:
        key = tuple(sorted(zip(t.qubits, t.paulis)))
        combined[key] = combined.get(key, 0j) + t.coeff
    for key, coeff in combined.items():
        if abs(coeff.imag) > HERMITIAN_ATOL * max(1.0, abs(coeff)):
            string = " ".join(f"{p}{q}" for q, p in key) or "I"
            raise InputError(
                f"{what} is not Hermitian: the term {string} has the complex coefficient "
                f"{coeff}; estimator values are real (split it into Hermitian parts A + iB "
                "and estimate A and B)"
            )


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
    """One estimator pub: circuit, parameter sets, observables array and target precision.

    The circuit may reset, measure and condition gates on measured bits (the engine gives
    the exact value in the mixed state it leaves); the observables must be Hermitian
    (:func:`check_hermitian`).
    """

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
        for index, item in enumerate(obs.ravel()):
            if not isinstance(item, PauliSum):
                raise InputError(f"estimator pub: observable {item!r} is not a PauliSum")
            check_hermitian(item, f"estimator pub: observable {index}")
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

    @property
    def shape(self) -> tuple[int, ...]:
        """The pub's broadcast shape (parameter sets against observables)."""
        return np.broadcast_shapes(self.values.shape[:-1], self.observables.shape)


@dataclass(frozen=True)
class _PayloadBase:
    """Shared checks; subclasses define ``circuits`` (their IR circuits, in order)."""

    def validate(
        self, max_qubits: int, *, touched_only: bool = False, max_memory: int | None = None
    ) -> None:
        """Check the payload fits a device with ``max_qubits`` qubits, and that its shots
        fit in memory.

        Args:
            max_qubits: the device's qubit count.
            touched_only: count only the qubits operations touch (simulators), not the
                declared circuit width (QPUs).
            max_memory: bytes the shots may take (:attr:`shot_memory`); default: this
                machine's physical memory (:func:`machine_memory`).

        Raises:
            InputError: a circuit is wider than the device, or the shots need more memory
                than ``max_memory`` (the message names the shots and both sizes).
        """
        for index, circuit in enumerate(self.circuits):  # type: ignore[attr-defined]
            width = touched_qubits(circuit) if touched_only else circuit.num_qubits
            if width > max_qubits:
                what = "uses" if touched_only else "has"
                raise InputError(
                    f"circuit {index} ({circuit.name or 'unnamed'}) {what} {width} qubits, "
                    f"more than the device's {max_qubits}"
                )
        need = self.shot_memory
        if need > (_FITS_ANYWHERE if max_memory is None else max_memory):
            limit = machine_memory() if max_memory is None else max_memory
            if need > limit:
                shots = getattr(self, "total_shots", 0)
                whose = " (this machine's memory)" if max_memory is None else ""
                raise InputError(
                    f"{shots} shots would need about {_size(need)} of memory to sample and "
                    f"hold, more than the limit of {_size(limit)}{whose}; use fewer shots "
                    "or split the job"
                )

    @property
    def shot_memory(self) -> int:
        """Estimated peak bytes of sampling this payload's shots (0: no shots drawn)."""
        return 0

    @cached_property
    def num_qubits(self) -> int:
        """Widest circuit, counting only qubits that operations touch (payloads are
        immutable, so the sizes of a payload are computed once)."""
        return max((touched_qubits(p) for p in self.circuits), default=0)  # type: ignore[attr-defined]


@dataclass(frozen=True)
class SamplerPayload(_PayloadBase):
    """Payload of the ``sampler`` program (``method``: the simulation method asked for, None
    for the engine's choice)."""

    pubs: tuple[SamplerPub, ...]
    seed: int | None = None
    method: str | None = None
    #: None: the device's noise; False: none (ideal); a NoiseModel: that one instead.
    noise: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pubs", tuple(self.pubs))
        if not self.pubs:
            raise InputError("sampler job: no pubs given")
        _check_noise(self.noise, "sampler job")

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

    @cached_property
    def shot_memory(self) -> int:
        """Estimated peak bytes of sampling every pub's shots and holding their bits."""
        return _shot_bytes([(math.prod(p.shape), p.shots, p.circuit.num_clbits) for p in self.pubs])

    def to_json(self) -> dict[str, Any]:
        """Data for :mod:`encoding`."""
        return {
            "seed": self.seed,
            "pubs": [
                {"program": p.circuit, "values": p.values, "shots": p.shots} for p in self.pubs
            ],
            **_method_json(self.method),
            **_noise_json(self.noise),
        }

    def to_json_text(self) -> str:
        """``encoding.dumps(self.to_json())``, from text kept on the pubs (a session loop
        resubmits the same pubs)."""
        pubs = ",".join([p.to_json_text() for p in self.pubs])
        method = "" if self.method is None else f',"method":{dumps(self.method)}'
        noise = "" if self.noise is None else f',"noise":{dumps(self.noise)}'
        return f'{{"seed":{dumps(self.seed)},"pubs":[{pubs}]{method}{noise}}}'


@dataclass(frozen=True)
class EstimatorPayload(_PayloadBase):
    """Payload of the ``estimator`` program (``shots_per_precision``: see :attr:`total_shots`;
    ``method`` as for :class:`SamplerPayload`)."""

    pubs: tuple[EstimatorPub, ...]
    seed: int | None = None
    method: str | None = None
    #: None: the device's noise; False: none (ideal); a NoiseModel: that one instead.
    noise: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "pubs", tuple(self.pubs))
        if not self.pubs:
            raise InputError("estimator job: no pubs given")
        _check_noise(self.noise, "estimator job")

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
            **_method_json(self.method),
            **_noise_json(self.noise),
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

    @cached_property
    def shot_memory(self) -> int:
        """Estimated peak bytes of sampling every circuit's shots and holding their bits."""
        return _shot_bytes([(1, self.shots, c.num_clbits) for c in self.circuits])

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


def _method_json(method: str | None) -> dict[str, Any]:
    """The ``"method"`` entry of a payload's JSON: only when one was asked for (older stored
    payloads have none)."""
    return {} if method is None else {"method": method}


def _check_noise(noise: Any, where: str) -> None:
    """Refuse a ``noise`` that is not None, False or a :class:`NoiseModel`."""
    if noise is None or noise is False:  # the usual case, without the import below
        return
    from .noise import NoiseModel

    if not isinstance(noise, NoiseModel):
        raise InputError(
            f"{where}: noise must be None (the device's), False (ideal) or a NoiseModel, "
            f"got {type(noise).__name__}"
        )


def _noise_json(noise: Any) -> dict[str, Any]:
    """The ``"noise"`` entry of a payload's JSON: only when the device's default is not used."""
    return {} if noise is None else {"noise": noise}


def payload_from_json(program_id: str, data: dict[str, Any]) -> Payload:
    """Rebuild a payload from the data of its ``to_json`` (after :func:`encoding.loads`)."""
    if program_id == "sampler":
        return SamplerPayload(
            tuple(SamplerPub(p["program"], p["values"], p["shots"]) for p in data["pubs"]),
            data.get("seed"),
            data.get("method"),
            data.get("noise"),
        )
    if program_id == "estimator":
        return EstimatorPayload(
            tuple(
                EstimatorPub(p["program"], p["values"], p["observables"], p["precision"])
                for p in data["pubs"]
            ),
            data.get("seed"),
            data.get("method"),
            data.get("noise"),
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
