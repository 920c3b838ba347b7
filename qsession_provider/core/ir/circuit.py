"""The neutral circuit IR: a flat, validated list of operations on numbered qubits.

A :class:`Circuit` is what crosses from a face (Qiskit, Cirq, OpenQASM) into the core and
the engine. It holds gates (named, with parameters that may stay symbolic until bound, or
given as a matrix), measurements into named classical registers, resets and barriers.
Everything is checked on construction, so a malformed circuit is refused with a message
that names the operation and the problem before it reaches a scheduler or a kernel.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidCircuitError, UnboundParameterError
from .classical import (
    CLASSICAL_OPERATIONS,
    ClassicalStore,
    LoopEnd,
    LoopStart,
    check_loops,
    classical_from_json,
)
from .gates import gate_spec
from .noise import NoiseChannel, ReadoutError
from .params import ParamExpr, ParamValue, as_param, param_symbols

__all__ = ["Gate", "Measure", "Reset", "Barrier", "Condition", "Operation", "Circuit"]

#: Largest number of target qubits a matrix gate may have.
MAX_MATRIX_QUBITS = 6
_UNITARY_ATOL = 1e-8


@dataclass(frozen=True)
class Condition:
    """Classical condition: the operation runs only when ``register`` reads ``value``.

    ``bit`` selects one bit of the register (then ``value`` is 0 or 1); ``None`` compares
    the whole register, read as an integer with bit 0 least significant.
    """

    register: str
    value: int
    bit: int | None = None


@dataclass(frozen=True, eq=False)
class Gate:
    """A unitary operation.

    Attributes:
        name: a name from :data:`qsession_provider.core.ir.gates.GATES`, or ``"unitary"``.
        qubits: target qubits; bit ``j`` of the matrix index is ``qubits[j]``.
        params: real parameters, floats or :class:`ParamExpr` (bound at run time).
        controls: control qubits (the gate acts where they match ``ctrl_state``).
        ctrl_state: bit ``i`` is the required value of ``controls[i]``; None means all ones.
        matrix: the ``2**k x 2**k`` unitary when ``name == "unitary"``.
        condition: optional classical condition.
        label: optional free text (the source framework's instruction name).
    """

    name: str
    qubits: tuple[int, ...]
    params: tuple[ParamValue, ...] = ()
    controls: tuple[int, ...] = ()
    ctrl_state: int | None = None
    matrix: np.ndarray | None = field(default=None, repr=False)
    condition: Condition | None = None
    label: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "qubits", _qubit_tuple(self.qubits, self))
        object.__setattr__(self, "controls", _qubit_tuple(self.controls, self))
        try:
            object.__setattr__(self, "params", tuple(as_param(p) for p in self.params))
        except InvalidCircuitError as exc:
            raise InvalidCircuitError(f"{self._describe()}: {exc}") from None
        k = len(self.qubits)
        if k == 0:
            raise InvalidCircuitError(f"{self._describe()} acts on no qubits")
        if len(set(self.qubits + self.controls)) != k + len(self.controls):
            raise InvalidCircuitError(f"{self._describe()} uses a qubit twice")
        if self.ctrl_state is not None and not 0 <= self.ctrl_state < 2 ** len(self.controls):
            raise InvalidCircuitError(
                f"{self._describe()}: ctrl_state {self.ctrl_state} does not fit "
                f"{len(self.controls)} control qubit(s)"
            )
        if self.name == "unitary":
            self._check_matrix(k)
        else:
            if self.matrix is not None:
                raise InvalidCircuitError(f"{self._describe()}: only 'unitary' gates take a matrix")
            spec = gate_spec(self.name)
            if spec.num_qubits != k:
                raise InvalidCircuitError(
                    f"{self._describe()}: gate {self.name!r} acts on "
                    f"{spec.num_qubits} qubit(s), got {k}"
                )
            if spec.num_params != len(self.params):
                raise InvalidCircuitError(
                    f"{self._describe()}: gate {self.name!r} takes {spec.num_params} parameter(s), "
                    f"got {len(self.params)}"
                )

    def _check_matrix(self, k: int) -> None:
        if self.matrix is None:
            raise InvalidCircuitError(f"{self._describe()}: a 'unitary' gate needs a matrix")
        if self.params:
            raise InvalidCircuitError(f"{self._describe()}: a 'unitary' gate takes no parameters")
        if k > MAX_MATRIX_QUBITS:
            raise InvalidCircuitError(
                f"{self._describe()}: matrices act on at most {MAX_MATRIX_QUBITS} qubits, got {k}"
            )
        try:
            m = np.array(self.matrix, dtype=np.complex128, copy=True)
        except (TypeError, ValueError) as exc:
            raise InvalidCircuitError(
                f"{self._describe()}: matrix is not numeric ({exc})"
            ) from None
        dim = 2**k
        if m.shape != (dim, dim):
            raise InvalidCircuitError(
                f"{self._describe()}: matrix has shape {m.shape}, "
                f"expected {(dim, dim)} for {k} qubit(s)"
            )
        if not np.all(np.isfinite(m)):
            raise InvalidCircuitError(f"{self._describe()}: matrix has NaN or infinite entries")
        if not np.allclose(m.conj().T @ m, np.eye(dim), atol=_UNITARY_ATOL):
            raise InvalidCircuitError(f"{self._describe()}: matrix is not unitary")
        m.setflags(write=False)
        object.__setattr__(self, "matrix", m)

    def _describe(self) -> str:
        return f"gate {self.label or self.name!r} on qubits {tuple(self.qubits)}"

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """Controls followed by targets."""
        return self.controls + self.qubits

    @property
    def is_parameterized(self) -> bool:
        """True if any parameter is still symbolic."""
        return any(isinstance(p, ParamExpr) for p in self.params)

    def bound_params(self, values: Mapping[str, float]) -> tuple[float, ...]:
        """The numeric parameters under ``values``."""
        return tuple(
            float(p.evaluate(values)) if isinstance(p, ParamExpr) else p for p in self.params
        )


class _OnOneQubit:
    """What :class:`Measure` and :class:`Reset` share: a checked ``qubit`` field."""

    qubit: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "qubit", _qubit_tuple((self.qubit,), self)[0])

    @property
    def all_qubits(self) -> tuple[int, ...]:
        return (self.qubit,)


@dataclass(frozen=True)
class Measure(_OnOneQubit):
    """Measure ``qubit`` in the Z basis into bit ``bit`` of classical register ``register``."""

    qubit: int
    register: str
    bit: int = 0
    condition: Condition | None = None


@dataclass(frozen=True)
class Reset(_OnOneQubit):
    """Reset ``qubit`` to |0>."""

    qubit: int
    condition: Condition | None = None


@dataclass(frozen=True)
class Barrier:
    """A scheduling hint with no effect on the state."""

    qubits: tuple[int, ...] = ()
    condition: None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "qubits", _qubit_tuple(self.qubits, self))

    @property
    def all_qubits(self) -> tuple[int, ...]:
        return self.qubits


Operation = (
    Gate
    | Measure
    | Reset
    | Barrier
    | NoiseChannel
    | ReadoutError
    | ClassicalStore
    | LoopStart
    | LoopEnd
)

_OPERATION_TYPES = (
    Gate,
    Measure,
    Reset,
    Barrier,
    NoiseChannel,
    ReadoutError,
    *CLASSICAL_OPERATIONS,
)


def _qubit_tuple(qubits: Iterable[Any], owner: object) -> tuple[int, ...]:
    out = []
    for q in qubits:
        if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, np.integer)):
            raise InvalidCircuitError(f"{type(owner).__name__}: qubit {q!r} is not an integer")
        out.append(int(q))
    return tuple(out)


class Circuit:
    """A validated circuit in the neutral IR.

    Args:
        num_qubits: width of the register the qubit indices refer to.
        operations: gates, measurements, resets and barriers, in order.
        registers: classical registers as ``{name: size}`` (order is kept).
        global_phase: a float or parameter expression.
        name: free text, kept for results and logs.
        metadata: JSON-compatible data carried with the circuit (circuit metadata).

    Raises:
        InvalidCircuitError: a qubit is out of range, a register or bit is unknown, or a
            classical condition refers to something that does not exist.
    """

    __slots__ = (
        "num_qubits",
        "operations",
        "registers",
        "global_phase",
        "name",
        "metadata",
        "_parameters",
        "_key",
        "_memo",
    )

    def __init__(
        self,
        num_qubits: int,
        operations: Iterable[Operation] = (),
        registers: Mapping[str, int] | None = None,
        *,
        global_phase: ParamValue = 0.0,
        name: str = "",
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if isinstance(num_qubits, bool) or not isinstance(num_qubits, (int, np.integer)):
            raise InvalidCircuitError(f"num_qubits must be an integer, got {num_qubits!r}")
        if num_qubits < 0:
            raise InvalidCircuitError(f"num_qubits must be >= 0, got {num_qubits}")
        self.num_qubits = int(num_qubits)
        self.operations: tuple[Operation, ...] = tuple(operations)
        self.registers: dict[str, int] = dict(registers or {})
        self.global_phase = as_param(global_phase)
        self.name = name
        self.metadata: dict[str, Any] = dict(metadata or {})
        self._key: tuple[Any, ...] | None = None
        # Facts derived from the operations (see ``_memoized``).
        self._memo: dict[str, tuple[tuple[Operation, ...], Any]] = {}
        self._validate()
        symbols = param_symbols((self.global_phase,))
        for op in self.operations:
            if isinstance(op, Gate):
                symbols = symbols | param_symbols(op.params)
        self._parameters: tuple[str, ...] = tuple(sorted(symbols))

    def _validate(self) -> None:
        for name, size in self.registers.items():
            if not isinstance(name, str) or not name:
                raise InvalidCircuitError(
                    f"classical register name {name!r} is not a non-empty string"
                )
            if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
                raise InvalidCircuitError(f"classical register {name!r} has invalid size {size!r}")
        for index, op in enumerate(self.operations):
            if not isinstance(op, _OPERATION_TYPES):
                raise InvalidCircuitError(
                    f"operation {index} is {op!r}, not a Gate/Measure/Reset/Barrier, noise "
                    "or classical operation"
                )
            if isinstance(op, ClassicalStore):
                op.check(self.registers, f"operation {index}")
            for q in op.all_qubits:
                if not 0 <= q < self.num_qubits:
                    raise InvalidCircuitError(
                        f"operation {index} ({_op_name(op)}) uses qubit {q}, "
                        f"out of range for a {self.num_qubits}-qubit circuit"
                    )
            if isinstance(op, (Measure, ReadoutError)):
                self._check_clbit(index, op.register, op.bit)
            if op.condition is not None:
                cond = op.condition
                if cond.register not in self.registers:
                    raise InvalidCircuitError(
                        f"operation {index} ({_op_name(op)}) is conditioned on unknown register "
                        f"{cond.register!r}"
                    )
                if cond.bit is not None:
                    self._check_clbit(index, cond.register, cond.bit)
        check_loops(self.operations)

    def _check_clbit(self, index: int, register: str, bit: int) -> None:
        size = self.registers.get(register)
        if size is None:
            raise InvalidCircuitError(
                f"operation {index} refers to classical register {register!r}, which the circuit "
                f"does not declare (registers: {sorted(self.registers)})"
            )
        if not 0 <= bit < size:
            raise InvalidCircuitError(
                f"operation {index}: bit {bit} is out of range for register "
                f"{register!r} of size {size}"
            )

    # -- queries ----------------------------------------------------------------------
    @property
    def parameters(self) -> tuple[str, ...]:
        """Sorted names of the free parameters."""
        return self._parameters

    @property
    def num_clbits(self) -> int:
        """Total number of classical bits over all registers."""
        return sum(self.registers.values())

    def has_measurements(self) -> bool:
        """True if the circuit measures anything."""
        return any(isinstance(op, Measure) for op in self.operations)

    def is_unitary(self) -> bool:
        """True if the circuit is only gates and barriers, with no classical conditions."""
        return bool(
            self._memoized(
                "is_unitary",
                lambda ops: all(
                    isinstance(op, Barrier) or (isinstance(op, Gate) and op.condition is None)
                    for op in ops
                ),
            )
        )

    def _memoized(self, key: str, compute: Callable[[tuple[Operation, ...]], Any]) -> Any:
        """``compute(self.operations)``, kept while ``operations`` is the same tuple.

        A circuit is an immutable value (the engine's compile cache relies on it too), so
        facts derived from its operations - unitarity, touched qubits, the encoded text -
        are computed once per circuit, not once per job.
        """
        ops = self.operations
        found = self._memo.get(key)
        if found is not None and found[0] is ops:
            return found[1]
        value = compute(ops)
        self._memo[key] = (ops, value)
        return value

    def structure_key(self) -> tuple[Any, ...]:
        """A hashable key equal for circuits that compile identically (cache key)."""
        if self._key is None:
            parts: list[Any] = [self.num_qubits, tuple(self.registers.items()), self.global_phase]
            for op in self.operations:
                if isinstance(op, Gate):
                    mat = None if op.matrix is None else op.matrix.tobytes()
                    parts.append(
                        (
                            "g",
                            op.name,
                            op.qubits,
                            op.params,
                            op.controls,
                            op.ctrl_state,
                            mat,
                            op.condition,
                        )
                    )
                elif isinstance(op, Measure):
                    parts.append(("m", op.qubit, op.register, op.bit, op.condition))
                elif isinstance(op, Reset):
                    parts.append(("r", op.qubit, op.condition))
                elif isinstance(op, (NoiseChannel, ReadoutError, *CLASSICAL_OPERATIONS)):
                    parts.append(op.key())
            self._key = tuple(parts)
        return self._key

    def check_bindings(self, values: Mapping[str, Any]) -> None:
        """Check that ``values`` binds every parameter with finite numbers.

        Raises:
            UnboundParameterError: a parameter has no value.
            InvalidCircuitError: a value is NaN, infinite or not numeric.
        """
        missing = [p for p in self._parameters if p not in values]
        if missing:
            raise UnboundParameterError(
                f"circuit {self.name or '<unnamed>'!r} has unbound "
                f"parameter(s): {', '.join(missing)}"
            )
        for p in self._parameters:
            try:
                arr = np.asarray(values[p], dtype=float)
            except (TypeError, ValueError):
                raise InvalidCircuitError(
                    f"value for parameter {p!r} is not a real number"
                ) from None
            if not np.all(np.isfinite(arr)):
                raise InvalidCircuitError(f"value for parameter {p!r} is NaN or infinite")

    def bind(self, values: Mapping[str, float]) -> Circuit:
        """A copy with every parameter replaced by its value.

        Raises:
            UnboundParameterError: a parameter has no value.
            InvalidCircuitError: a value is NaN or infinite.
        """
        self.check_bindings(values)
        ops: list[Operation] = []
        for op in self.operations:
            if isinstance(op, Gate) and op.is_parameterized:
                op = Gate(
                    op.name,
                    op.qubits,
                    op.bound_params(values),
                    op.controls,
                    op.ctrl_state,
                    op.matrix,
                    op.condition,
                    op.label,
                )
            ops.append(op)
        phase = self.global_phase
        if isinstance(phase, ParamExpr):
            phase = float(phase.evaluate(values))
        return Circuit(
            self.num_qubits,
            ops,
            self.registers,
            global_phase=phase,
            name=self.name,
            metadata=self.metadata,
        )

    def __len__(self) -> int:
        return len(self.operations)

    def __repr__(self) -> str:
        return (
            f"Circuit(num_qubits={self.num_qubits}, operations={len(self.operations)}, "
            f"registers={self.registers}, parameters={list(self._parameters)})"
        )

    # -- serialisation -------------------------------------------------------------------
    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (complex matrices as [re, im] pairs)."""
        data = self._json_head()
        data["operations"] = self._operations_json()
        return data

    def _json_head(self) -> dict[str, Any]:
        """:meth:`to_json` without its last key, ``operations``."""
        return {
            "num_qubits": self.num_qubits,
            "registers": list(self.registers.items()),
            "global_phase": _param_json(self.global_phase),
            "name": self.name,
            "metadata": self.metadata,
        }

    def _operations_json(self) -> list[dict[str, Any]]:
        """The ``operations`` entry of :meth:`to_json`."""
        return [_op_json(op) for op in self.operations]

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Circuit:
        """Inverse of :meth:`to_json`."""
        try:
            ops = [_op_from_json(o) for o in data["operations"]]
            return cls(
                data["num_qubits"],
                ops,
                dict(data.get("registers", [])),
                global_phase=_param_from_json(data.get("global_phase", 0.0)),
                name=data.get("name", ""),
                metadata=data.get("metadata"),
            )
        except (KeyError, TypeError, IndexError) as exc:
            raise InvalidCircuitError(f"malformed circuit document: {exc!r}") from None


def _op_name(op: Operation) -> str:
    return (op.label or op.name) if isinstance(op, Gate) else type(op).__name__.lower()


def _param_json(p: ParamValue) -> Any:
    return p.to_json() if isinstance(p, ParamExpr) else p


def _param_from_json(p: Any) -> ParamValue:
    return ParamExpr.from_json(p) if isinstance(p, list) else float(p)


def _cond_json(c: Condition | None) -> Any:
    return None if c is None else [c.register, c.value, c.bit]


def _cond_from_json(c: Any) -> Condition | None:
    return None if c is None else Condition(c[0], int(c[1]), None if c[2] is None else int(c[2]))


def _op_json(op: Operation) -> dict[str, Any]:
    if isinstance(op, Gate):
        out: dict[str, Any] = {"op": "gate", "name": op.name, "qubits": list(op.qubits)}
        if op.params:
            out["params"] = [_param_json(p) for p in op.params]
        if op.controls:
            out["controls"] = list(op.controls)
            out["ctrl_state"] = op.ctrl_state
        if op.matrix is not None:
            out["matrix"] = [[[z.real, z.imag] for z in row] for row in op.matrix.tolist()]
        if op.condition is not None:
            out["condition"] = _cond_json(op.condition)
        if op.label is not None:
            out["label"] = op.label
        return out
    if isinstance(op, Measure):
        return {
            "op": "measure",
            "qubit": op.qubit,
            "register": op.register,
            "bit": op.bit,
            "condition": _cond_json(op.condition),
        }
    if isinstance(op, Reset):
        return {"op": "reset", "qubit": op.qubit, "condition": _cond_json(op.condition)}
    if isinstance(op, (NoiseChannel, ReadoutError)):
        return op.to_json()
    if isinstance(op, CLASSICAL_OPERATIONS):
        out = op.to_json()
        if op.condition is not None:
            out["condition"] = _cond_json(op.condition)
        return out
    return {"op": "barrier", "qubits": list(op.qubits)}


def _op_from_json(d: Mapping[str, Any]) -> Operation:
    kind = d["op"]
    if kind == "gate":
        matrix = d.get("matrix")
        if matrix is not None:
            matrix = np.array([[complex(re, im) for re, im in row] for row in matrix])
        return Gate(
            d["name"],
            tuple(d["qubits"]),
            tuple(_param_from_json(p) for p in d.get("params", [])),
            tuple(d.get("controls", [])),
            d.get("ctrl_state"),
            matrix,
            _cond_from_json(d.get("condition")),
            d.get("label"),
        )
    if kind == "measure":
        return Measure(d["qubit"], d["register"], d["bit"], _cond_from_json(d.get("condition")))
    if kind == "reset":
        return Reset(d["qubit"], _cond_from_json(d.get("condition")))
    if kind == "barrier":
        return Barrier(tuple(d["qubits"]))
    if kind == "noise":
        return NoiseChannel.from_json(d)
    if kind == "readout":
        return ReadoutError.from_json(d)
    if kind in ("store", "loop_start", "loop_end"):
        return classical_from_json(d, _cond_from_json(d.get("condition")))
    raise InvalidCircuitError(f"unknown operation kind {kind!r}")
