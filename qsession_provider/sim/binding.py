"""Binding parameters fast: every expression of a plan at once, every gate of a kind at once.

Compile once, bind many: a compiled plan knows which gates take parameters. At bind time it
evaluates all their parameter expressions in one step (affine expressions of the parameters,
the common case, as one matrix-vector product; anything else one expression at a time) and
builds the matrices of all gates with the same name in one vectorised numpy call.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import numpy as np

from ..core.ir.gates import gate_spec
from ..core.ir.params import ParamExpr
from ..errors import InvalidProgramError

__all__ = ["ExpressionTable", "batch_data", "BATCH_BUILDERS"]

_Linear = dict[str | None, float]


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
            InvalidProgramError: an expression is not finite at these values.
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
            raise InvalidProgramError("a gate parameter evaluates to a non-finite value")
        return out


# -- gate matrices for many parameter values at once ---------------------------------------
# Each builder takes the parameters as arrays of shape (G,) and returns (G, 4**k) for dense
# gates or (G, 2**k) for diagonal ones, row-major, exactly as core.gates defines them.

_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)


def _exp_pauli(pauli: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    eye = np.eye(len(pauli)).ravel()
    p = pauli.ravel()

    def build(theta: np.ndarray) -> np.ndarray:
        c, s = np.cos(theta / 2), np.sin(theta / 2)
        return c[:, None] * eye - 1j * s[:, None] * p

    return build


def _u(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((len(theta), 4), dtype=complex)
    out[:, 0] = c
    out[:, 1] = -np.exp(1j * lam) * s
    out[:, 2] = np.exp(1j * phi) * s
    out[:, 3] = np.exp(1j * (phi + lam)) * c
    return out


def _r(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((len(theta), 4), dtype=complex)
    out[:, 0] = c
    out[:, 1] = -1j * np.exp(-1j * phi) * s
    out[:, 2] = -1j * np.exp(1j * phi) * s
    out[:, 3] = c
    return out


def _columns(*columns: np.ndarray | complex) -> np.ndarray:
    """``np.stack(columns, axis=1)`` as complex128, without ``np.stack``'s overhead."""
    first = next(c for c in columns if isinstance(c, np.ndarray))
    out = np.empty((len(first), len(columns)), dtype=np.complex128)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _rz(theta: np.ndarray) -> np.ndarray:
    return _columns(np.exp(-0.5j * theta), np.exp(0.5j * theta))


def _p(lam: np.ndarray) -> np.ndarray:
    return _columns(1.0, np.exp(1j * lam))


def _rzz(theta: np.ndarray) -> np.ndarray:
    a, b = np.exp(-0.5j * theta), np.exp(0.5j * theta)
    return _columns(a, b, b, a)


def _zpow(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    g = np.exp(1j * math.pi * t * s)
    return _columns(g, g * np.exp(1j * math.pi * t))


BATCH_BUILDERS: dict[str, Callable[..., np.ndarray]] = {
    "rx": _exp_pauli(_X),
    "ry": _exp_pauli(_Y),
    "rz": _rz,
    "p": _p,
    "u1": _p,
    "u": _u,
    "u3": _u,
    "u2": lambda phi, lam: _u(np.full_like(phi, math.pi / 2), phi, lam),
    "r": _r,
    "rzz": _rzz,
    "rxx": _exp_pauli(np.kron(_X, _X)),
    "ryy": _exp_pauli(np.kron(_Y, _Y)),
    "rzx": _exp_pauli(np.kron(_X, _Z)),
    "zpow": _zpow,
}


def batch_data(name: str, diagonal: bool, params: np.ndarray) -> np.ndarray:
    """Flattened matrices (or diagonals) of gate ``name`` for each row of ``params`` (G, p)."""
    builder = BATCH_BUILDERS.get(name)
    if builder is not None:
        return np.asarray(builder(*params.T), dtype=np.complex128)
    spec = gate_spec(name)
    make = spec.diagonal if diagonal else spec.matrix
    assert make is not None
    return np.array([np.asarray(make(*row), dtype=np.complex128).ravel() for row in params])
