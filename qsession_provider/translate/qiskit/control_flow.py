"""Qiskit control flow and classical instructions → IR operations.

Every construct is flattened into the IR's straight line of operations:

- ``if_else`` and ``switch_case``: each branch's condition is evaluated once, where the
  instruction is, into a hidden bit (a :class:`~qsession_provider.core.ir.classical.ClassicalStore`
  of the condition, and of the enclosing branch's bit), and the branch's operations are
  conditioned on that bit, so operations inside a branch that write the bits the condition
  read do not change which branch runs. A top-level ``if`` on one clbit or register whose
  branches do not write it keeps the plain condition on the program's bits.
- ``for_loop``: unrolled, its parameter bound per iteration.
- ``while_loop``: its body once, between a
  :class:`~qsession_provider.core.ir.classical.LoopStart` and a
  :class:`~qsession_provider.core.ir.classical.LoopEnd` that the engine runs per shot: the
  condition is evaluated where the loop is and again at the end of each iteration, into the
  loop's bit; shots whose bit holds go back. A shot that would start more than
  :data:`MAX_WHILE_ITERATIONS` iterations stops the run with an error naming the limit.
- ``break_loop`` / ``continue_loop``: clear the loop's and the iteration's bits; branches
  enclosing them are re-guarded after the instruction.
- ``store``: a classical store into clbits, registers or variables.

Scratch bits are given back when their construct ends, so the hidden register stays as
small as the deepest nesting needs.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import (
    CASE_DEFAULT,
    BoxOp,
    BreakLoopOp,
    ContinueLoopOp,
    ControlFlowOp,
    ForLoopOp,
    IfElseOp,
    QuantumCircuit,
    Store,
    SwitchCaseOp,
    WhileLoopOp,
)

from ...core.ir import circuit as ir
from ...core.ir.circuit import Condition
from ...core.ir.classical import Bit, ClassicalStore, Expr, LoopEnd, LoopStart
from ...errors import InvalidCircuitError
from ..context import TOP, Context
from .classical import ClassicalBits, Locations, condition_expr, condition_for

__all__ = ["MAX_OPERATIONS", "MAX_WHILE_ITERATIONS", "ControlFlow"]

#: Iterations a ``while_loop`` may run per shot; a shot needing more fails the job.
MAX_WHILE_ITERATIONS = 1000
#: Most IR operations a translation may produce (an unrolled ``for_loop`` counts each iteration).
MAX_OPERATIONS = 500_000


@dataclass
class _Loop:
    """The bits of the innermost loop being translated."""

    live: Bit | None  # 1 while the loop has not ended (broken, or its condition false)
    iteration: Bit | None  # 1 while this iteration runs (cleared by break/continue)
    jumps: int = 0  # break/continue instructions met so far


class ControlFlow:
    """What a Qiskit translator does with control flow and classical instructions.

    Mixed into the translator, which provides ``ops``, ``walk_block`` and ``param``.
    """

    ops: list[ir.Operation]
    classical: ClassicalBits

    def __init__(self) -> None:
        self._loops: list[_Loop] = []
        self._next_loop = 0  # id of the next while loop's markers
        #: True after a break/continue: the rest of the block is never reached.
        self.block_ended = False

    # -- entry -------------------------------------------------------------------------------
    def control_flow(
        self,
        op: ControlFlowOp | BreakLoopOp | ContinueLoopOp,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """Translate one control-flow instruction (``cmap``: the enclosing circuit's bits)."""
        if ctx.controls:
            raise InvalidCircuitError(
                f"control-flow instruction {op.name!r} cannot be quantum-controlled"
            )
        if isinstance(op, BoxOp):  # always runs: a break inside it ends the enclosing block
            self.walk_block(op.blocks[0], qubits, clbits, ctx, depth)  # type: ignore[attr-defined]
        elif isinstance(op, IfElseOp):
            self.if_else(op, qubits, clbits, cmap, ctx, depth)
        elif isinstance(op, SwitchCaseOp):
            self.switch_case(op, qubits, clbits, cmap, ctx, depth)
        elif isinstance(op, ForLoopOp):
            self.for_loop(op, qubits, clbits, ctx, depth)
        elif isinstance(op, WhileLoopOp):
            self.while_loop(op, qubits, clbits, cmap, ctx, depth)
        elif isinstance(op, (BreakLoopOp, ContinueLoopOp)):
            self.jump(isinstance(op, BreakLoopOp), ctx)
        else:
            raise InvalidCircuitError(f"unsupported control-flow instruction {op.name!r}")

    def store(self, op: Store, cmap: Mapping[Any, Locations], ctx: Context) -> None:
        """A classical ``store``: the value's bits into every location of the target."""
        targets = self.classical.lvalue_targets(op.lvalue, cmap)
        value = self.classical.expression(op.rvalue, cmap)
        first = tuple(where[0] for where in targets)
        self.ops.append(ClassicalStore(first, value, ctx.condition))
        for where in targets:  # a clbit in several registers: copy into the others
            for other in where[1:]:
                self.ops.append(ClassicalStore((other,), Expr.read([where[0]]), ctx.condition))

    # -- blocks ------------------------------------------------------------------------------
    def flow_block(
        self,
        block: QuantumCircuit,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        ctx: Context,
        depth: int,
    ) -> None:
        """Translate a control-flow block; a break/continue ends only that block."""
        self.walk_block(block, qubits, clbits, ctx, depth)  # type: ignore[attr-defined]
        self.block_ended = False
        if len(self.ops) > MAX_OPERATIONS:
            raise InvalidCircuitError(
                f"the circuit's loops unroll into more than {MAX_OPERATIONS} operations; "
                "use fewer iterations or a smaller loop body"
            )

    def guarded(self, ctx: Context, condition: Expr | None) -> tuple[Bit, Context]:
        """A scratch bit set now to (``ctx``'s condition and ``condition``), and the context
        of operations guarded by it."""
        bit = self.classical.alloc()
        self.ops.append(ClassicalStore((bit,), self._and(ctx, condition)))
        return bit, ctx.with_condition(self.classical.flag(bit))

    def _and(self, ctx: Context, condition: Expr | None) -> Expr:
        parent = (
            None
            if ctx.condition is None
            else condition_expr(ctx.condition, self.classical.registers)
        )
        if parent is None:
            return condition if condition is not None else Expr.const(1)
        if condition is None:
            return parent
        return Expr.binary("logic_and", parent, condition)

    def _branches(
        self,
        bodies: list[QuantumCircuit],
        conditions: list[Expr],
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        ctx: Context,
        depth: int,
    ) -> None:
        """Run ``bodies[i]`` under ``conditions[i]``, all evaluated before any body runs."""
        guards = [self.guarded(ctx, c) for c in conditions]
        jumps = self._loops[-1].jumps if self._loops else 0
        for body, (_, inner) in zip(bodies, guards):
            self.flow_block(body, qubits, clbits, inner, depth)
        for bit, _ in guards:
            self.classical.release(bit)
        if self._loops and self._loops[-1].jumps != jumps:
            self._reguard(ctx)

    def _reguard(self, ctx: Context) -> None:
        """After a break/continue inside a branch: the enclosing block's guard bit is and-ed
        with the loop's iteration bit, so the rest of the block stops where it jumped."""
        loop = self._loops[-1]
        cond = ctx.condition
        if loop.iteration is None or cond is None:
            return
        own = (cond.register, cond.bit)
        if cond.register != self.classical.hidden or own == loop.iteration:
            return
        both = Expr.binary("logic_and", Expr.read([own]), Expr.read([loop.iteration]))
        self.ops.append(ClassicalStore((own,), both))  # type: ignore[arg-type]

    # -- if / switch -----------------------------------------------------------------------------
    def if_else(
        self,
        op: IfElseOp,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """``if_else``, with or without an else branch, nested or not."""
        bodies = [b for b in op.blocks if b is not None]
        plain = self._plain_condition(op.condition, bodies, clbits, cmap, ctx)
        if plain is not None:
            conditions = [plain] + ([_negated(plain)] if len(bodies) > 1 else [])
            for body, cond in zip(bodies, conditions):
                if cond is not None:
                    self.flow_block(body, qubits, clbits, TOP.with_condition(cond), depth)
            return
        test = self.classical.condition(op.condition, cmap)
        conditions = [test, Expr.unary("logic_not", test)][: len(bodies)]
        self._branches(bodies, conditions, qubits, clbits, ctx, depth)

    def _plain_condition(
        self,
        condition: Any,
        bodies: list[QuantumCircuit],
        clbits: tuple[Locations, ...],
        cmap: Mapping[Any, Locations],
        ctx: Context,
    ) -> Condition | None:
        """The program-bit condition of a top-level ``if`` on a clbit or register that its
        branches do not write, or None (then the condition goes through a hidden bit)."""
        if ctx.condition is not None or self._loops or not isinstance(condition, tuple):
            return None
        try:
            cond = condition_for(*condition, cmap, self.classical.program_registers)
        except InvalidCircuitError:
            return None
        if len(bodies) > 1 and (cond.bit is None or cond.value not in (0, 1)):
            return None
        read = _condition_bits(cond, self.classical.program_registers)
        for body in bodies:
            if _writes(body, read, dict(zip(body.clbits, clbits, strict=True))):
                return None
        return cond

    def switch_case(
        self,
        op: SwitchCaseOp,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """``switch_case``: each case's test on the target, evaluated before any case runs."""
        target = self.classical.expression(op.target, cmap)
        cases = list(op.cases_specifier())
        explicit = [v for values, _ in cases for v in values if v is not CASE_DEFAULT]
        conditions: list[Expr] = []
        for values, _ in cases:
            if any(v is CASE_DEFAULT for v in values):
                others = _any_equal(target, explicit)
                conditions.append(Expr.unary("logic_not", others))
            else:
                conditions.append(_any_equal(target, list(values)))
        self._branches([b for _, b in cases], conditions, qubits, clbits, ctx, depth)

    # -- loops ---------------------------------------------------------------------------------
    def for_loop(
        self,
        op: ForLoopOp,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        ctx: Context,
        depth: int,
    ) -> None:
        """``for_loop``: unrolled; the loop parameter takes each value of the index set."""
        indexset, parameter, body = op.params
        values = list(indexset)
        if not _has_jump(body):
            for value in values:
                self.flow_block(_bound(body, parameter, value), qubits, clbits, ctx, depth)
            return
        live, _ = self.guarded(ctx, None)
        iteration = self.classical.alloc()
        self._loops.append(_Loop(live, iteration))
        try:
            inner = ctx.with_condition(self.classical.flag(iteration))
            for value in values:
                self.ops.append(ClassicalStore((iteration,), Expr.read([live])))
                self.flow_block(_bound(body, parameter, value), qubits, clbits, inner, depth)
        finally:
            self._loops.pop()
        self.classical.release(iteration)
        self.classical.release(live)

    def while_loop(
        self,
        op: WhileLoopOp,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """``while_loop``: its body once, between loop markers the engine runs per shot (at
        most :data:`MAX_WHILE_ITERATIONS` iterations; a shot needing more fails the run)."""
        body = op.blocks[0]
        test = self.classical.condition(op.condition, cmap)
        live, _ = self.guarded(ctx, test)  # the first test, where the loop is
        iteration = self.classical.alloc() if _has_jump(body) else None
        loop = self._next_loop
        self._next_loop += 1
        self.ops.append(LoopStart(loop))
        if iteration is not None:
            self.ops.append(ClassicalStore((iteration,), Expr.read([live])))
        self._loops.append(_Loop(live, iteration))
        try:
            inner = ctx.with_condition(self.classical.flag(iteration or live))
            self.flow_block(body, qubits, clbits, inner, depth)
        finally:
            self._loops.pop()
        again = Expr.binary("logic_and", Expr.read([live]), test)
        self.ops.append(ClassicalStore((live,), again))  # the next test, at the body's end
        self.ops.append(LoopEnd(loop, MAX_WHILE_ITERATIONS, self.classical.flag(live)))
        if iteration is not None:
            self.classical.release(iteration)
        self.classical.release(live)

    def jump(self, is_break: bool, ctx: Context) -> None:
        """``break_loop`` / ``continue_loop``."""
        name = "break_loop" if is_break else "continue_loop"
        if not self._loops or self._loops[-1].iteration is None:
            raise InvalidCircuitError(f"{name!r} outside a loop")
        loop = self._loops[-1]
        loop.jumps += 1
        cleared = ([loop.live] if is_break else []) + [loop.iteration]
        for bit in cleared:  # the loop's bit first: the condition may be the iteration's bit
            self.ops.append(ClassicalStore((bit,), Expr.const(0), ctx.condition))  # type: ignore[arg-type]
        self.block_ended = True


def _negated(cond: Condition) -> Condition:
    return Condition(cond.register, 1 - cond.value, cond.bit)


def _condition_bits(cond: Condition, registers: Mapping[str, int]) -> set[Bit]:
    if cond.bit is not None:
        return {(cond.register, cond.bit)}
    return {(cond.register, i) for i in range(registers[cond.register])}


def _writes(block: QuantumCircuit, read: set[Bit], cmap: Mapping[Any, Locations]) -> bool:
    """Whether anything in ``block`` (nested blocks included) may write a bit of ``read``."""
    for inst in block.data:
        op = inst.operation
        if isinstance(op, Store):
            return True
        if isinstance(op, ControlFlowOp):
            for inner in op.blocks:
                sub = {b: cmap.get(o, ()) for b, o in zip(inner.clbits, inst.clbits)}
                if _writes(inner, read, sub):
                    return True
            continue
        for clbit in inst.clbits:
            if any(loc in read for loc in cmap.get(clbit, ())):
                return True
    return False


def _has_jump(block: QuantumCircuit) -> bool:
    """Whether ``block`` breaks or continues its own loop (nested loops' jumps excluded)."""
    return any(_jumps(block))


def _jumps(block: QuantumCircuit) -> Iterator[bool]:
    for inst in block.data:
        op = inst.operation
        if isinstance(op, (BreakLoopOp, ContinueLoopOp)):
            yield True
        elif isinstance(op, (IfElseOp, SwitchCaseOp, BoxOp)):
            for inner in op.blocks:
                yield from _jumps(inner)


def _any_equal(target: Expr, values: list[Any]) -> Expr:
    """``target == v`` for some ``v`` of ``values`` (False for none)."""
    out: Expr | None = None
    for v in values:
        v = int(v)
        if not 0 <= v < 1 << target.width:
            continue
        test = Expr.binary("equal", target, Expr.const(v, target.width))
        out = test if out is None else Expr.binary("logic_or", out, test)
    return out if out is not None else Expr.const(0)


def _bound(body: QuantumCircuit, parameter: Any, value: Any) -> QuantumCircuit:
    if parameter is None or parameter not in body.parameters:
        return body
    return body.assign_parameters({parameter: value}, inplace=False)
