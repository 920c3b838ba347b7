"""Binding parameters fast: every expression of a plan at once, every gate of a kind at once.

Compile once, bind many: a compiled plan knows which gates take parameters. At bind time it
evaluates all their parameter expressions in one step (:class:`ExpressionTable`: affine
expressions of the parameters, the common case, as one matrix-vector product; anything else
one expression at a time), builds the matrices of all gates with the same name in one
vectorised call (the gate library's :meth:`~qsession_provider.core.ir.gates.GateSpec.batch`),
and multiplies them into fused blocks with the kernel's ``fuse_blocks``
(:class:`PlanBinder`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from types import ModuleType
from typing import Any

import numpy as np

from ..core.ir.gates import gate_spec
from ..core.ir.params import ParamExpr
from ..errors import InvalidCircuitError
from .steps import GateStep, KernelGate, data_size

__all__ = ["ExpressionTable", "PlanBinder"]

_Linear = dict[str | None, float]
# Gates of one name in a plan: (batch builder, component slots, first expression, gates,
# parameters each).
_Group = tuple[Callable[[np.ndarray], np.ndarray], np.ndarray, int, int, int]


def _linear(expr: Any) -> _Linear | None:
    """``expr`` as {name: coefficient, None: constant} if it is affine, else None."""
    if not isinstance(expr, ParamExpr):
        return {None: float(expr)}
    op, args = expr.op, expr.args
    if op == "sym":
        return {args[0]: 1.0}
    if op == "const":
        value = args[0]
        return {None: float(value)} if isinstance(value, (int, float)) else None
    if op == "add":
        total: _Linear = {}
        for a in args:
            part = _linear(a)
            if part is None:
                return None
            for k, v in part.items():
                total[k] = total.get(k, 0.0) + v
        return total
    if op == "mul":
        scale, rest = 1.0, None
        for a in args:
            part = _linear(a)
            if part is None:
                return None
            if set(part) <= {None}:
                scale *= part.get(None, 0.0)
            elif rest is None:
                rest = part
            else:
                return None  # a product of two non-constant factors
        if rest is None:
            return {None: scale}
        return {k: v * scale for k, v in rest.items()}
    return None


class ExpressionTable:
    """Evaluates a fixed list of parameter expressions (or numbers) for many bindings.

    Affine expressions become rows of a matrix ``A`` and offsets ``b``, so evaluation is
    ``A @ x + b`` for the vector ``x`` of parameter values; other expressions are evaluated
    one by one with :meth:`ParamExpr.evaluate`.
    """

    def __init__(self, exprs: Sequence[Any], parameters: Sequence[str] = ()) -> None:
        self.size = len(exprs)
        names: dict[str, int] = {}
        rows: list[tuple[int, _Linear]] = []
        self._other: list[tuple[int, ParamExpr]] = []
        for i, e in enumerate(exprs):
            lin = _linear(e)
            if lin is None:
                self._other.append((i, e))
                continue
            for k in lin:
                if k is not None and k not in names:
                    names[k] = len(names)
            rows.append((i, lin))
        self.names = tuple(names)
        order = {p: i for i, p in enumerate(parameters)}
        # Where each name sits in a value array ordered like ``parameters`` (-1: not there).
        self._index = np.array([order.get(k, -1) for k in self.names], dtype=np.intp)
        self._parameters = tuple(parameters)
        self._matrix = np.zeros((self.size, len(names)))
        self._offset = np.zeros(self.size)
        for i, lin in rows:
            for k, v in lin.items():
                if k is None:
                    self._offset[i] += v
                else:
                    self._matrix[i, names[k]] += v

    def __call__(self, values: Mapping[str, Any] | np.ndarray) -> np.ndarray:
        """The value of every expression (float64, length ``size``).

        ``values`` maps names to numbers, or is an array ordered like ``parameters``.

        Raises:
            InvalidCircuitError: an expression is not finite at these values.
        """
        if isinstance(values, np.ndarray):
            x = values[self._index] if self.names else values[:0]
            if self._other:
                values = dict(zip(self._parameters, values.tolist()))
        elif self.names:
            x = np.array([float(values[k]) for k in self.names])
        out = self._matrix @ x + self._offset if self.names else self._offset.copy()
        for i, e in self._other:
            out[i] = float(e.evaluate(values))
        if not np.isfinite(out).all():
            raise InvalidCircuitError("a gate parameter evaluates to a non-finite value")
        return out


class PlanBinder:
    """Turns parameter values into the data of a plan's kernel gates.

    Built once per plan: every original gate's constant data is laid out in a component
    template, parameterised gates are grouped by name (one vectorised
    :meth:`~qsession_provider.core.ir.gates.GateSpec.batch` call per group), and the code for
    the kernel's ``fuse_blocks`` multiplies components into fused blocks (constant blocks
    once, at the first bind).
    """

    def __init__(
        self, steps: Sequence[GateStep], blocks: Sequence[KernelGate], parameters: Sequence[str]
    ) -> None:
        # Component data: every original gate's matrix or diagonal, constant ones filled in.
        sizes = [data_size(s.kind, len(s.targets)) for s in steps]
        self.comp_offsets = np.zeros(len(steps) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.comp_offsets[1:])
        self.comp_template = np.zeros(int(self.comp_offsets[-1]), dtype=np.complex128)
        groups: dict[tuple[str, int], list[int]] = {}
        for i, s in enumerate(steps):
            if s.data is not None:
                self.comp_template[self.comp_offsets[i] : self.comp_offsets[i + 1]] = s.data
            else:
                groups.setdefault((s.name, s.kind), []).append(i)
        exprs: list[Any] = []
        self.groups: list[_Group] = []
        for (name, _), members in groups.items():
            nparams = len(steps[members[0]].params)
            first = len(exprs)
            for i in members:
                exprs.extend(steps[i].params)
            size = sizes[members[0]]
            slots = (self.comp_offsets[members][:, None] + np.arange(size)).ravel()
            self.groups.append((gate_spec(name).batch, slots, first, len(members), nparams))
        self.exprs = ExpressionTable(exprs, parameters)
        # Kernel gate data: blocks whose data is a component's own data are copied; fused
        # blocks are products computed by fuse_blocks (constant ones once, at first bind).
        offsets = [0]
        for blk in blocks:
            offsets.append(offsets[-1] + blk.data_size)
        self.matrix_offsets = np.array(offsets, dtype=np.int64)
        self.template = np.zeros(offsets[-1], dtype=np.complex128)
        param = [not all(steps[i].data is not None for i in blk.ops) for blk in blocks]
        src: list[np.ndarray] = []
        dst: list[np.ndarray] = []
        fixed_code: list[int] = [0]
        param_code: list[int] = [0]
        for b, blk in enumerate(blocks):
            start = offsets[b]
            if blk.direct:
                i = blk.ops[0]
                lo, hi = int(self.comp_offsets[i]), int(self.comp_offsets[i + 1])
                if param[b]:
                    src.append(np.arange(lo, hi))
                    dst.append(np.arange(start, start + hi - lo))
                else:
                    self.template[start : start + hi - lo] = self.comp_template[lo:hi]
                continue
            code = param_code if param[b] else fixed_code
            code[0] += 1
            code.extend([start, blk.kind, len(blk.targets), len(blk.ops)])
            position = {q: j for j, q in enumerate(blk.global_targets)}
            for i in blk.ops:
                s = steps[i]
                code.extend([s.kind, len(s.targets), len(s.controls)])
                code.extend(position[q] for q in s.targets)
                code.extend(position[q] for q in s.controls)
                code.extend([s.ctrl_state, int(self.comp_offsets[i])])
        self.copy_src = np.concatenate(src) if src else np.zeros(0, dtype=np.int64)
        self.copy_dst = np.concatenate(dst) if dst else np.zeros(0, dtype=np.int64)
        self.fixed_code = np.array(fixed_code, dtype=np.int64)
        self.param_code = np.array(param_code, dtype=np.int64) if param_code[0] else None
        self.ready = fixed_code[0] == 0
        self._lock = threading.Lock()

    def bind(self, values: Mapping[str, float] | np.ndarray, kernel: ModuleType) -> np.ndarray:
        """The data of every kernel gate at ``values`` (see :meth:`Plan.bind`)."""
        if not self.ready:
            with self._lock:  # constant blocks are multiplied once, by the first caller
                if not self.ready:
                    kernel.fuse_blocks(self.fixed_code, self.comp_template, self.template)
                    self.ready = True
        if not self.groups:
            return self.template
        comp = self.comp_template.copy()
        numbers = self.exprs(values)
        for batch, slots, first, count, nparams in self.groups:
            params = numbers[first : first + count * nparams].reshape(count, nparams)
            comp[slots] = batch(params).ravel()
        matrices = self.template.copy()
        if len(self.copy_src):
            matrices[self.copy_dst] = comp[self.copy_src]
        if self.param_code is not None:
            kernel.fuse_blocks(self.param_code, comp, matrices)
        return matrices
