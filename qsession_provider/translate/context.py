"""What every framework translator shares: the context passed down, and where ops go.

A translator walks a framework circuit top-down. Wrappers (controlled gates, control
modifiers, classically conditioned blocks) do not become operations themselves: they
add to a :class:`Context` that every operation below them inherits. A
:class:`CircuitBuilder` collects the resulting IR operations and the global phase; a
phase met under controls becomes a phase gate on those controls.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from ..core.ir import circuit as ir
from ..core.ir.circuit import Condition
from ..core.ir.params import ParamValue

__all__ = ["TOP", "CircuitBuilder", "Context"]


class Context:
    """Controls and classical condition inherited from enclosing instructions.

    Attributes:
        controls: control qubits, outermost first.
        ctrl_state: bit ``i`` is the value ``controls[i]`` must have.
        condition: the classical condition, or None.
    """

    __slots__ = ("controls", "ctrl_state", "condition")

    def __init__(
        self,
        controls: tuple[int, ...] = (),
        ctrl_state: int = 0,
        condition: Condition | None = None,
    ) -> None:
        self.controls = controls
        self.ctrl_state = ctrl_state
        self.condition = condition

    def add_controls(self, controls: Sequence[int], state: int) -> Context:
        """This context with more controls; bit ``i`` of ``state`` is ``controls[i]``'s value."""
        merged = self.ctrl_state | (state << len(self.controls))
        return Context(self.controls + tuple(controls), merged, self.condition)

    def with_condition(self, condition: Condition) -> Context:
        """This context under a classical condition."""
        return Context(self.controls, self.ctrl_state, condition)


#: The context of a circuit's top level: no controls, no condition.
TOP = Context()


class CircuitBuilder:
    """The operations and global phase of one translation, in IR terms.

    Attributes:
        ops: the IR operations so far, in circuit order.
        global_phase: the circuit's global phase so far.
    """

    def __init__(self) -> None:
        self.ops: list[ir.Operation] = []
        self.global_phase: ParamValue = 0.0

    def gate(
        self,
        name: str,
        qubits: tuple[int, ...],
        params: tuple[ParamValue, ...],
        ctx: Context,
        label: str,
        matrix: Any = None,
    ) -> None:
        """Append a library gate (or, with ``matrix``, a ``"unitary"`` gate) under ``ctx``."""
        self.ops.append(
            ir.Gate(
                name,
                qubits,
                params,
                ctx.controls,
                ctx.ctrl_state if ctx.controls else None,
                matrix,
                ctx.condition,
                label,
            )
        )

    def phase(self, value: ParamValue, ctx: Context, label: str) -> None:
        """A global phase: global at the top, a phase gate on the controls when controlled."""
        if isinstance(value, float) and value == 0.0:
            return
        if not ctx.controls:
            # Under a classical condition the phase multiplies one measured branch only,
            # which no measurement can observe, so it is dropped.
            if ctx.condition is None:
                self.global_phase = self.global_phase + value
            return
        target, rest = ctx.controls[0], ctx.controls[1:]
        inner = Context(rest, ctx.ctrl_state >> 1, ctx.condition)
        if ctx.ctrl_state & 1:
            self.gate("p", (target,), (value,), inner, label)
        else:  # zpow(-phi/pi, -1) = diag(e^{i phi}, 1): the phase applies when the control is 0
            self.gate("zpow", (target,), (value * (-1.0 / math.pi), -1.0), inner, label)
