"""Classical computation in the IR: expressions over bits, and the operations that use them.

A dynamic circuit computes on its classical bits between quantum operations: conditions
that are expressions (``c[0] & ~c[1]``, ``reg < 3``), stores into bits, and the guards of
unrolled loops. The IR keeps this small and exact:

- :class:`Expr` is an expression tree over classical bits. Every value is an unsigned
  integer ``width`` bits wide (a boolean is width 1); the arithmetic is modulo ``2**width``.
- :class:`ClassicalStore` evaluates an expression and writes its bits into classical bits
  (bit ``i`` of the value into ``targets[i]``). Translators compute a condition once, into a
  hidden bit, and condition the operations of a branch on that bit, so operations inside the
  branch that write the bits the condition read do not change which branch runs.
- :class:`LoopStart` / :class:`LoopEnd` mark a loop run per shot: at the end, the shots
  whose record satisfies the end's condition go back to the start, the others go on; a shot
  that would start more iterations than the end's ``limit`` stops the run with an error
  naming it.

They act on no qubit and are run by the engine once per branch of shots that share a
classical record.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidCircuitError

__all__ = [
    "BINARY_OPS",
    "CLASSICAL_OPERATIONS",
    "UNARY_OPS",
    "Bit",
    "ClassicalStore",
    "Expr",
    "LoopEnd",
    "LoopStart",
    "check_loops",
    "classical_from_json",
    "evaluate",
]

#: A classical bit: (register name, index in the register).
Bit = tuple[str, int]

#: Unary operations: bitwise not (within the width), logical not, two's-complement negation.
UNARY_OPS = frozenset({"bit_not", "logic_not", "negate", "bool", "resize"})
#: Binary operations (comparisons and logic give width-1 results).
BINARY_OPS = frozenset(
    {
        "bit_and",
        "bit_or",
        "bit_xor",
        "logic_and",
        "logic_or",
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "shift_left",
        "shift_right",
        "add",
        "sub",
        "mul",
        "div",
        "index",
    }
)
_LEAVES = frozenset({"bits", "const"})


@dataclass(frozen=True)
class Expr:
    """An expression over classical bits, valued as an unsigned ``width``-bit integer.

    Attributes:
        op: ``"bits"`` (read ``bits``, the first least significant), ``"const"`` (``value``),
            a name from :data:`UNARY_OPS` (one argument; ``"bool"`` is ``x != 0`` and
            ``"resize"`` truncates or zero-extends to ``width``) or :data:`BINARY_OPS`
            (two arguments; ``"index"`` is bit ``args[1]`` of ``args[0]``).
        width: bits of the value (1 for booleans).
        args: sub-expressions.
        value: the constant of ``"const"``.
        bits: the bits read by ``"bits"``.
    """

    op: str
    width: int
    args: tuple[Expr, ...] = ()
    value: int = 0
    bits: tuple[Bit, ...] = ()

    def __post_init__(self) -> None:
        if self.op not in _LEAVES | UNARY_OPS | BINARY_OPS:
            raise InvalidCircuitError(f"unknown classical expression operation {self.op!r}")
        arity = 0 if self.op in _LEAVES else 1 if self.op in UNARY_OPS else 2
        if len(self.args) != arity:
            raise InvalidCircuitError(
                f"classical expression {self.op!r} takes {arity} argument(s), got {len(self.args)}"
            )
        if isinstance(self.width, bool) or not isinstance(self.width, int) or self.width < 1:
            raise InvalidCircuitError(
                f"classical expression {self.op!r} has invalid width {self.width!r}"
            )
        if self.op == "bits" and len(self.bits) != self.width:
            raise InvalidCircuitError(
                f"classical expression reads {len(self.bits)} bit(s) but is {self.width} wide"
            )
        if self.op == "const" and not 0 <= self.value < 1 << self.width:
            raise InvalidCircuitError(
                f"classical constant {self.value} does not fit {self.width} unsigned bit(s)"
            )

    # -- constructors ---------------------------------------------------------------------
    @classmethod
    def read(cls, bits: tuple[Bit, ...] | list[Bit]) -> Expr:
        """The unsigned integer held by ``bits`` (``bits[0]`` least significant)."""
        bits = tuple((str(r), int(b)) for r, b in bits)
        return cls("bits", len(bits), bits=bits)

    @classmethod
    def const(cls, value: int, width: int = 1) -> Expr:
        """A constant (``value`` modulo ``2**width``)."""
        return cls("const", width, value=int(value) % (1 << width))

    @classmethod
    def unary(cls, op: str, arg: Expr, width: int | None = None) -> Expr:
        """``op(arg)``; logic results are one bit wide, others keep ``arg``'s width."""
        if width is None:
            width = 1 if op in ("logic_not", "bool") else arg.width
        return cls(op, width, (arg,))

    @classmethod
    def binary(cls, op: str, left: Expr, right: Expr) -> Expr:
        """``op(left, right)``; comparisons and logic are one bit wide, the rest take the
        wider operand's width (the left one's for shifts)."""
        if op in _BOOLEAN_RESULTS:
            width = 1
        elif op in ("shift_left", "shift_right"):
            width = left.width
        else:
            width = max(left.width, right.width)
        return cls(op, width, (left, right))

    # -- queries ----------------------------------------------------------------------------
    def read_bits(self) -> set[Bit]:
        """Every bit the expression reads."""
        out: set[Bit] = set(self.bits)
        for arg in self.args:
            out |= arg.read_bits()
        return out

    def to_json(self) -> list[Any]:
        """``["bits", [[reg, bit], ...]]``, ``["const", width, value]`` or
        ``[op, width, arg, ...]``."""
        if self.op == "bits":
            return ["bits", [[r, b] for r, b in self.bits]]
        if self.op == "const":
            return ["const", self.width, self.value]
        return [self.op, self.width, *(a.to_json() for a in self.args)]

    @classmethod
    def from_json(cls, data: Any) -> Expr:
        """Inverse of :meth:`to_json`."""
        try:
            op = data[0]
            if op == "bits":
                return cls.read([(r, b) for r, b in data[1]])
            if op == "const":
                return cls("const", int(data[1]), value=int(data[2]))
            return cls(op, int(data[1]), tuple(cls.from_json(a) for a in data[2:]))
        except (TypeError, ValueError, IndexError, KeyError) as exc:
            raise InvalidCircuitError(f"malformed classical expression {data!r}: {exc}") from None


_BOOLEAN_RESULTS = frozenset(
    {
        "logic_and",
        "logic_or",
        "logic_not",
        "equal",
        "not_equal",
        "less",
        "less_equal",
        "greater",
        "greater_equal",
        "index",
        "bool",
    }
)

_BINARY: dict[str, Callable[[int, int], int]] = {
    "bit_and": lambda a, b: a & b,
    "bit_or": lambda a, b: a | b,
    "bit_xor": lambda a, b: a ^ b,
    "logic_and": lambda a, b: int(bool(a) and bool(b)),
    "logic_or": lambda a, b: int(bool(a) or bool(b)),
    "equal": lambda a, b: int(a == b),
    "not_equal": lambda a, b: int(a != b),
    "less": lambda a, b: int(a < b),
    "less_equal": lambda a, b: int(a <= b),
    "greater": lambda a, b: int(a > b),
    "greater_equal": lambda a, b: int(a >= b),
    "shift_left": lambda a, b: a << b,
    "shift_right": lambda a, b: a >> b,
    "add": lambda a, b: a + b,
    "sub": lambda a, b: a - b,
    "mul": lambda a, b: a * b,
    "index": lambda a, b: (a >> b) & 1,
}


def evaluate(expr: Expr, bits: Mapping[Bit, int]) -> int:
    """The value of ``expr`` when the classical record is ``bits`` (unset bits read 0).

    Raises:
        InvalidCircuitError: a division by zero.
    """
    op = expr.op
    mask = (1 << expr.width) - 1
    if op == "bits":
        value = 0
        for i, bit in enumerate(expr.bits):
            value |= (bits.get(bit, 0) & 1) << i
        return value
    if op == "const":
        return expr.value
    if len(expr.args) == 1:
        x = evaluate(expr.args[0], bits)
        if op == "bit_not":
            return ~x & mask
        if op in ("logic_not",):
            return int(x == 0)
        if op == "bool":
            return int(x != 0)
        if op == "negate":
            return -x & mask
        return x & mask  # resize
    a = evaluate(expr.args[0], bits)
    b = evaluate(expr.args[1], bits)
    if op == "div":
        if b == 0:
            raise InvalidCircuitError("classical expression divides by zero")
        return (a // b) & mask
    if op == "shift_left" and b >= expr.width:
        return 0
    return _BINARY[op](a, b) & mask


def _check_bits(bits: tuple[Bit, ...] | set[Bit], registers: Mapping[str, int], what: str) -> None:
    for register, bit in sorted(bits):
        size = registers.get(register)
        if size is None:
            raise InvalidCircuitError(
                f"{what} refers to classical register {register!r}, which the circuit does not "
                f"declare (registers: {sorted(registers)})"
            )
        if not 0 <= bit < size:
            raise InvalidCircuitError(
                f"{what}: bit {bit} is out of range for register {register!r} of size {size}"
            )


@dataclass(frozen=True)
class ClassicalStore:
    """Write the value of ``expression`` into ``targets`` (bit ``i`` into ``targets[i]``;
    the value is truncated or zero-extended to ``len(targets)`` bits)."""

    targets: tuple[Bit, ...]
    expression: Expr
    condition: Any = None  # Condition | None (circuit.py imports this module)

    def __post_init__(self) -> None:
        targets = tuple((str(r), int(b)) for r, b in self.targets)
        if not targets:
            raise InvalidCircuitError("a classical store needs at least one target bit")
        if len(set(targets)) != len(targets):
            raise InvalidCircuitError(f"a classical store writes a bit twice: {targets}")
        object.__setattr__(self, "targets", targets)
        if not isinstance(self.expression, Expr):
            raise InvalidCircuitError(
                f"a classical store needs an Expr, got {type(self.expression).__name__}"
            )

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """No qubits."""
        return ()

    def check(self, registers: Mapping[str, int], where: str) -> None:
        """Raise :class:`InvalidCircuitError` if a bit read or written is not in ``registers``."""
        _check_bits(self.targets, registers, f"{where} (classical store)")
        _check_bits(self.expression.read_bits(), registers, f"{where} (classical expression)")

    def run(self, bits: dict[Bit, int]) -> None:
        """Evaluate on the record ``bits`` and write the result into it."""
        value = evaluate(self.expression, bits)
        for i, target in enumerate(self.targets):
            bits[target] = (value >> i) & 1

    def key(self) -> tuple[Any, ...]:
        """Hashable identity for the circuit's structure key."""
        return ("store", self.targets, self.expression, self.condition)

    def to_json(self) -> dict[str, Any]:
        """``{"op": "store", ...}`` (the condition is encoded by the circuit)."""
        return {
            "op": "store",
            "targets": [[r, b] for r, b in self.targets],
            "expr": self.expression.to_json(),
        }


@dataclass(frozen=True)
class LoopStart:
    """Where loop ``loop`` begins: the target of its :class:`LoopEnd`'s jump back."""

    loop: int
    condition: None = None

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """No qubits."""
        return ()

    def key(self) -> tuple[Any, ...]:
        """Hashable identity for the circuit's structure key."""
        return ("loop_start", self.loop)

    def to_json(self) -> dict[str, Any]:
        """``{"op": "loop_start", "loop": id}``."""
        return {"op": "loop_start", "loop": self.loop}


@dataclass(frozen=True)
class LoopEnd:
    """The end of loop ``loop``: shots whose record satisfies ``condition`` go back to its
    :class:`LoopStart`, the others go on. A shot that would go back a ``limit``-th time
    (start iteration ``limit + 1``) stops the run with an error naming the limit."""

    loop: int
    limit: int
    condition: Any  # Condition: go back while it holds

    def __post_init__(self) -> None:
        if self.condition is None:
            raise InvalidCircuitError(f"loop {self.loop}: its end needs a condition")
        if isinstance(self.limit, bool) or not isinstance(self.limit, int) or self.limit < 1:
            raise InvalidCircuitError(f"loop {self.loop}: invalid iteration limit {self.limit!r}")

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """No qubits."""
        return ()

    @property
    def message(self) -> str:
        """The error of a shot over the limit."""
        return (
            f"while_loop exceeded its limit of {self.limit} iterations per shot (its condition "
            "still held after the last one)"
        )

    def key(self) -> tuple[Any, ...]:
        """Hashable identity for the circuit's structure key."""
        return ("loop_end", self.loop, self.limit, self.condition)

    def to_json(self) -> dict[str, Any]:
        """``{"op": "loop_end", ...}`` (the condition is encoded by the circuit)."""
        return {"op": "loop_end", "loop": self.loop, "limit": self.limit}


#: The IR's classical operations (no qubits; run on each branch's classical record).
CLASSICAL_OPERATIONS = (ClassicalStore, LoopStart, LoopEnd)


def check_loops(operations: Sequence[Any]) -> None:
    """Raise :class:`InvalidCircuitError` unless the loop markers of ``operations`` pair up:
    each id starts once, ends once after its start, and loops nest."""
    open_loops: list[int] = []
    seen: set[int] = set()
    for index, op in enumerate(operations):
        if isinstance(op, LoopStart):
            if op.loop in seen:
                raise InvalidCircuitError(f"operation {index}: loop {op.loop} starts twice")
            seen.add(op.loop)
            open_loops.append(op.loop)
        elif isinstance(op, LoopEnd):
            if not open_loops or open_loops[-1] != op.loop:
                raise InvalidCircuitError(
                    f"operation {index}: the end of loop {op.loop} does not close the innermost "
                    f"open loop ({open_loops[-1] if open_loops else 'none is open'})"
                )
            open_loops.pop()
    if open_loops:
        raise InvalidCircuitError(f"loop {open_loops[-1]} starts but never ends")


def classical_from_json(data: Mapping[str, Any], condition: Any) -> Any:
    """A classical operation from its ``to_json`` form (``condition`` decoded by the circuit)."""
    kind = data["op"]
    if kind == "store":
        return ClassicalStore(
            tuple((r, b) for r, b in data["targets"]),
            Expr.from_json(data["expr"]),
            condition,
        )
    if kind == "loop_start":
        return LoopStart(int(data["loop"]))
    return LoopEnd(int(data["loop"]), int(data["limit"]), condition)
