"""Classical bits of a Qiskit circuit: registers, bit locations, variables and expressions.

Clbits keep their register names (see :data:`LOOSE_CLBITS_REGISTER` for bits in no
register). What the translation adds lives in one hidden register
(:data:`HIDDEN_REGISTER`): the bits of ``expr.Var`` variables and the scratch bits that hold
evaluated conditions and loop state. Results list the circuit's own registers only, so the
hidden one never reaches a user. Classical expressions
(:mod:`qiskit.circuit.classical.expr`) become IR :class:`~qsession_provider.core.ir.classical.Expr`
trees over those bits.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qiskit.circuit import ClassicalRegister, Clbit, QuantumCircuit
from qiskit.circuit.classical import expr, types

from ...core.ir.circuit import Condition
from ...core.ir.classical import Bit, Expr
from ...errors import InvalidCircuitError

__all__ = [
    "HIDDEN_REGISTER",
    "LOOSE_CLBITS_REGISTER",
    "ClassicalBits",
    "Locations",
    "clbit_locations",
    "condition_expr",
    "condition_for",
]

#: Name of the synthetic register holding, in circuit order, the clbits that belong to no
#: ``ClassicalRegister`` (underscores are appended while it clashes with a circuit register).
LOOSE_CLBITS_REGISTER = "__loose_clbits__"
#: Name of the hidden register of variables and scratch bits (underscores appended likewise).
HIDDEN_REGISTER = "__classical__"

#: Every (register name, index) a clbit belongs to; registers may overlap, so there can be several.
Locations = tuple[tuple[str, int], ...]

_BINARY_NAMES = {
    expr.Binary.Op.BIT_AND: "bit_and",
    expr.Binary.Op.BIT_OR: "bit_or",
    expr.Binary.Op.BIT_XOR: "bit_xor",
    expr.Binary.Op.LOGIC_AND: "logic_and",
    expr.Binary.Op.LOGIC_OR: "logic_or",
    expr.Binary.Op.EQUAL: "equal",
    expr.Binary.Op.NOT_EQUAL: "not_equal",
    expr.Binary.Op.LESS: "less",
    expr.Binary.Op.LESS_EQUAL: "less_equal",
    expr.Binary.Op.GREATER: "greater",
    expr.Binary.Op.GREATER_EQUAL: "greater_equal",
    expr.Binary.Op.SHIFT_LEFT: "shift_left",
    expr.Binary.Op.SHIFT_RIGHT: "shift_right",
    expr.Binary.Op.ADD: "add",
    expr.Binary.Op.SUB: "sub",
    expr.Binary.Op.MUL: "mul",
    expr.Binary.Op.DIV: "div",
}
_UNARY_NAMES = {
    expr.Unary.Op.BIT_NOT: "bit_not",
    expr.Unary.Op.LOGIC_NOT: "logic_not",
    expr.Unary.Op.NEGATE: "negate",
}


def clbit_locations(circuit: QuantumCircuit) -> tuple[dict[str, int], dict[Any, Locations]]:
    """Registers ``{name: size}`` of ``circuit`` and the locations of each of its clbits."""
    registers: dict[str, int] = {}
    locs: dict[Any, list[tuple[str, int]]] = {}
    for creg in circuit.cregs:
        registers[creg.name] = len(creg)
        for i, bit in enumerate(creg):
            locs.setdefault(bit, []).append((creg.name, i))
    loose = [bit for bit in circuit.clbits if bit not in locs]
    if loose:
        name = _free_name(LOOSE_CLBITS_REGISTER, registers)
        registers[name] = len(loose)
        for i, bit in enumerate(loose):
            locs[bit] = [(name, i)]
    return registers, {bit: tuple(where) for bit, where in locs.items()}


def _free_name(name: str, taken: Mapping[str, int]) -> str:
    while name in taken:
        name += "_"
    return name


def condition_for(
    target: Any, value: Any, cmap: Mapping[Any, Locations], registers: Mapping[str, int]
) -> Condition:
    """The IR condition for an ``if_else`` condition ``(Clbit | ClassicalRegister, value)``."""
    if isinstance(target, Clbit):
        register, bit = cmap[target][0]
        return Condition(register, int(value), bit)
    if isinstance(target, ClassicalRegister):
        locs = [cmap[b] for b in target]
        # The register as seen from the top-level circuit: a whole program register, in order.
        for register, _ in locs[0] if locs else ():
            if registers.get(register) == len(locs) and all(
                (register, i) in loc for i, loc in enumerate(locs)
            ):
                return Condition(register, int(value))
        if len(locs) == 1:
            register, bit = locs[0][0]
            return Condition(register, int(value), bit)
    raise InvalidCircuitError(f"unsupported 'if_else' condition on {target!r}")


def condition_expr(condition: Condition, registers: Mapping[str, int]) -> Expr:
    """An IR condition as a one-bit expression."""
    if condition.bit is not None:
        read = Expr.read([(condition.register, condition.bit)])
        return read if condition.value else Expr.unary("logic_not", read)
    n = registers[condition.register]
    if n == 0:
        return Expr.const(int(condition.value == 0))
    bits = Expr.read([(condition.register, i) for i in range(n)])
    return Expr.binary("equal", bits, Expr.const(condition.value, n))


class ClassicalBits:
    """The classical bits of one translation: the program's registers and the hidden one.

    Args:
        registers: the program's registers ``{name: size}`` (:func:`clbit_locations`).
    """

    def __init__(self, registers: Mapping[str, int]) -> None:
        self.program_registers = dict(registers)
        self.hidden = _free_name(HIDDEN_REGISTER, registers)
        self._size = 0
        self._free: list[int] = []
        self._vars: dict[Any, tuple[Bit, ...]] = {}

    @property
    def registers(self) -> dict[str, int]:
        """The program's registers, and the hidden one if anything was put in it."""
        if not self._size:
            return dict(self.program_registers)
        return {**self.program_registers, self.hidden: self._size}

    def alloc(self) -> Bit:
        """A scratch bit of the hidden register (give it back with :meth:`release`)."""
        if self._free:
            return (self.hidden, self._free.pop())
        self._size += 1
        return (self.hidden, self._size - 1)

    def release(self, bit: Bit) -> None:
        """Give back a scratch bit from :meth:`alloc`."""
        self._free.append(bit[1])
        self._free.sort(reverse=True)

    def flag(self, bit: Bit) -> Condition:
        """The condition "``bit`` (a hidden bit) reads 1"."""
        return Condition(bit[0], 1, bit[1])

    # -- variables ----------------------------------------------------------------------------
    def var_bits(self, var: expr.Var, cmap: Mapping[Any, Locations]) -> tuple[Bit, ...]:
        """The bits holding ``var`` (a standalone variable, or a wrapped clbit or register),
        least significant first; a standalone variable gets hidden bits on first use."""
        inner = var.var
        if isinstance(inner, Clbit):
            return (_location(inner, cmap)[0],)
        if isinstance(inner, ClassicalRegister):
            return tuple(_location(b, cmap)[0] for b in inner)
        found = self._vars.get(var)
        if found is None:
            width = _width(var.type, f"variable {var.name!r}")
            found = tuple(self.alloc() for _ in range(width))
            self._vars[var] = found
        return found

    def lvalue_targets(
        self, target: expr.Expr, cmap: Mapping[Any, Locations]
    ) -> list[tuple[Bit, ...]]:
        """Where a store into ``target`` writes: for each bit of the value, every location
        it has (a clbit in overlapping registers has several)."""
        if isinstance(target, expr.Var):
            inner = target.var
            if isinstance(inner, Clbit):
                return [_location(inner, cmap)]
            if isinstance(inner, ClassicalRegister):
                return [_location(b, cmap) for b in inner]
            return [(b,) for b in self.var_bits(target, cmap)]
        if isinstance(target, expr.Index) and isinstance(target.index, expr.Value):
            whole = self.lvalue_targets(target.target, cmap)
            index = int(target.index.value)
            if not 0 <= index < len(whole):
                raise InvalidCircuitError(f"store into bit {index} of a {len(whole)}-bit value")
            return [whole[index]]
        raise InvalidCircuitError(f"unsupported target of a classical 'store': {target!r}")

    # -- expressions ----------------------------------------------------------------------------
    def expression(self, node: Any, cmap: Mapping[Any, Locations]) -> Expr:
        """A Qiskit classical expression (or a bare Clbit / ClassicalRegister) as IR.

        Raises:
            InvalidCircuitError: a type or operation the engine cannot evaluate (floats,
                durations, stretches), named.
        """
        if isinstance(node, Clbit):
            return Expr.read([_location(node, cmap)[0]])
        if isinstance(node, ClassicalRegister):
            return Expr.read([_location(b, cmap)[0] for b in node])
        if not isinstance(node, expr.Expr):
            raise InvalidCircuitError(f"unsupported classical value {node!r}")
        width = _width(node.type, f"expression {node}")
        if isinstance(node, expr.Var):
            return Expr.read(self.var_bits(node, cmap))
        if isinstance(node, expr.Value):
            return Expr.const(int(node.value), width)
        if isinstance(node, expr.Cast):
            inner = self.expression(node.operand, cmap)
            if isinstance(node.type, types.Bool):
                return Expr.unary("bool", inner)
            return Expr.unary("resize", inner, width)
        if isinstance(node, expr.Unary):
            name = _UNARY_NAMES.get(node.op)
            if name is None:
                raise InvalidCircuitError(f"unsupported classical operation {node.op.name}")
            return Expr.unary(name, self.expression(node.operand, cmap), width)
        if isinstance(node, expr.Binary):
            name = _BINARY_NAMES.get(node.op)
            if name is None:
                raise InvalidCircuitError(f"unsupported classical operation {node.op.name}")
            left = self.expression(node.left, cmap)
            right = self.expression(node.right, cmap)
            return Expr(name, width, (left, right))
        if isinstance(node, expr.Index):
            return Expr(
                "index",
                1,
                (self.expression(node.target, cmap), self.expression(node.index, cmap)),
            )
        raise InvalidCircuitError(f"unsupported classical expression {type(node).__name__}")

    def condition(self, condition: Any, cmap: Mapping[Any, Locations]) -> Expr:
        """A control-flow condition (``(Clbit | ClassicalRegister, value)`` or a Bool
        expression) as a one-bit IR expression."""
        if isinstance(condition, tuple):
            target, value = condition
            read = self.expression(target, cmap)
            if not 0 <= int(value) < 1 << read.width:
                return Expr.const(0)  # a value the bits cannot hold: never equal
            if read.width == 1:
                return read if int(value) else Expr.unary("logic_not", read)
            return Expr.binary("equal", read, Expr.const(int(value), read.width))
        return Expr.unary("bool", self.expression(condition, cmap))


def _location(bit: Clbit, cmap: Mapping[Any, Locations]) -> Locations:
    found = cmap.get(bit)
    if not found:
        raise InvalidCircuitError(f"classical bit {bit!r} is not in the circuit")
    return found


def _width(kind: Any, what: str) -> int:
    if isinstance(kind, types.Bool):
        return 1
    if isinstance(kind, types.Uint):
        return int(kind.width)
    raise InvalidCircuitError(
        f"unsupported classical type {kind} in {what}: only Bool and Uint values can be "
        "evaluated on this service"
    )
