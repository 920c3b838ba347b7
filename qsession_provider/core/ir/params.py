"""Symbolic real-valued parameters for the neutral circuit IR.

A :class:`ParamExpr` is a small immutable expression tree over named symbols (sums,
products, powers and the usual elementary functions). It is framework-free: the Qiskit
and Cirq faces translate ``ParameterExpression`` and sympy expressions into it. It
evaluates on scalars or on numpy arrays (one value per binding), so a VQE loop binds
many parameter sets in one vectorised call, and serialises to plain JSON.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from ...errors import InvalidCircuitError, UnboundParameterError

__all__ = ["ParamExpr", "Parameter", "ParamValue", "FUNCTIONS", "as_param", "param_symbols"]

#: Elementary functions an expression may call, by name.
FUNCTIONS: dict[str, Callable[[Any], Any]] = {
    "sin": np.sin,
    "cos": np.cos,
    "tan": np.tan,
    "asin": np.arcsin,
    "acos": np.arccos,
    "atan": np.arctan,
    "exp": np.exp,
    "log": np.log,
    "sqrt": np.sqrt,
    "abs": np.abs,
    "sign": np.sign,
}

_NUMBER = (int, float, np.integer, np.floating)


class ParamExpr:
    """An immutable real expression over named parameters.

    Build one with :func:`Parameter` and ordinary arithmetic::

        theta = Parameter("theta")
        expr = 2 * theta + 0.5
        expr.evaluate({"theta": 0.25})  # 1.0
    """

    __slots__ = ("_op", "_args", "_hash", "_symbols")

    def __init__(self, op: str, *args: Any) -> None:
        if op not in ("sym", "const", "add", "mul", "pow", "call"):
            raise InvalidCircuitError(f"unknown parameter-expression node {op!r}")
        self._op = op
        self._args = args
        self._hash: int | None = None
        self._symbols: frozenset[str] | None = None

    # -- structure -------------------------------------------------------------------
    @property
    def op(self) -> str:
        """The node kind: ``sym``, ``const``, ``add``, ``mul``, ``pow`` or ``call``."""
        return self._op

    @property
    def args(self) -> tuple[Any, ...]:
        """The node's children (expressions, a name, a number or a function name)."""
        return self._args

    @property
    def symbols(self) -> frozenset[str]:
        """Names of the free parameters in this expression."""
        if self._symbols is None:
            if self._op == "sym":
                self._symbols = frozenset((self._args[0],))
            else:
                found: set[str] = set()
                for arg in self._args:
                    if isinstance(arg, ParamExpr):
                        found |= arg.symbols
                self._symbols = frozenset(found)
        return self._symbols

    @property
    def name(self) -> str:
        """The symbol name, for a bare parameter."""
        if self._op != "sym":
            raise AttributeError("only a bare parameter has a name")
        return str(self._args[0])

    def _key(self) -> tuple[Any, ...]:
        return (self._op, *(a._key() if isinstance(a, ParamExpr) else a for a in self._args))

    def __hash__(self) -> int:
        if self._hash is None:
            self._hash = hash(self._key())
        return self._hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ParamExpr):
            return NotImplemented
        return self is other or self._key() == other._key()

    def __repr__(self) -> str:
        return f"ParamExpr({self})"

    def __str__(self) -> str:
        op, a = self._op, self._args
        if op == "sym":
            return str(a[0])
        if op == "const":
            return repr(a[0])
        if op == "add":
            return "(" + " + ".join(str(x) for x in a) + ")"
        if op == "mul":
            return "*".join(str(x) for x in a)
        if op == "pow":
            return f"({a[0]})**({a[1]})"
        return f"{a[0]}({a[1]})"

    # -- evaluation ------------------------------------------------------------------
    def evaluate(self, values: Mapping[str, Any]) -> Any:
        """Evaluate with ``values`` (name -> number or numpy array, broadcast together).

        Raises:
            UnboundParameterError: a symbol has no value.
            InvalidCircuitError: the result is not finite.
        """
        missing = self.symbols.difference(values)
        if missing:
            raise UnboundParameterError(
                f"parameter(s) {', '.join(sorted(missing))} have no value bound"
            )
        with np.errstate(all="ignore"):
            result = self._eval(values)
        if not np.all(np.isfinite(result)):
            raise InvalidCircuitError(
                f"parameter expression {self} evaluates to a non-finite value"
            )
        return result

    def _eval(self, values: Mapping[str, Any]) -> Any:
        op, a = self._op, self._args
        if op == "sym":
            return values[a[0]]
        if op == "const":
            return a[0]
        if op == "add":
            total = a[0]._eval(values)
            for x in a[1:]:
                total = total + x._eval(values)
            return total
        if op == "mul":
            total = a[0]._eval(values)
            for x in a[1:]:
                total = total * x._eval(values)
            return total
        if op == "pow":
            return np.power(a[0]._eval(values), a[1]._eval(values))
        return FUNCTIONS[a[0]](a[1]._eval(values))

    def subs(self, values: Mapping[str, Any]) -> ParamValue:
        """Substitute the given symbols (others stay symbolic); folds to a float when closed."""
        if not self.symbols.intersection(values):
            return self
        if self.symbols.issubset(values):
            return float(self.evaluate(values))
        op, a = self._op, self._args
        if op == "call":
            return ParamExpr("call", a[0], _wrap(a[1].subs(values)))
        return ParamExpr(op, *(_wrap(x.subs(values)) if isinstance(x, ParamExpr) else x for x in a))

    # -- arithmetic ------------------------------------------------------------------
    def __add__(self, other: Any) -> ParamExpr:
        return ParamExpr("add", self, _wrap(other))

    def __radd__(self, other: Any) -> ParamExpr:
        return ParamExpr("add", _wrap(other), self)

    def __sub__(self, other: Any) -> ParamExpr:
        return ParamExpr("add", self, -_wrap(other))

    def __rsub__(self, other: Any) -> ParamExpr:
        return ParamExpr("add", _wrap(other), -self)

    def __mul__(self, other: Any) -> ParamExpr:
        return ParamExpr("mul", self, _wrap(other))

    def __rmul__(self, other: Any) -> ParamExpr:
        return ParamExpr("mul", _wrap(other), self)

    def __truediv__(self, other: Any) -> ParamExpr:
        return ParamExpr("mul", self, ParamExpr("pow", _wrap(other), _const(-1.0)))

    def __rtruediv__(self, other: Any) -> ParamExpr:
        return ParamExpr("mul", _wrap(other), ParamExpr("pow", self, _const(-1.0)))

    def __pow__(self, other: Any) -> ParamExpr:
        return ParamExpr("pow", self, _wrap(other))

    def __rpow__(self, other: Any) -> ParamExpr:
        return ParamExpr("pow", _wrap(other), self)

    def __neg__(self) -> ParamExpr:
        return ParamExpr("mul", _const(-1.0), self)

    def apply(self, function: str) -> ParamExpr:
        """``function(self)`` for a name in :data:`FUNCTIONS`."""
        if function not in FUNCTIONS:
            raise InvalidCircuitError(
                f"unsupported function {function!r} in a parameter expression"
            )
        return ParamExpr("call", function, self)

    # -- serialisation -------------------------------------------------------------------
    def to_json(self) -> list[Any]:
        """A JSON-compatible nested list: ``[op, *args]``."""
        return [self._op, *(a.to_json() if isinstance(a, ParamExpr) else a for a in self._args)]

    @classmethod
    def from_json(cls, data: list[Any]) -> ParamExpr:
        """Inverse of :meth:`to_json`."""
        op, *args = data
        if op == "sym":
            return cls("sym", str(args[0]))
        if op == "const":
            return _const(float(args[0]))
        if op == "call":
            return cls("call", str(args[0]), cls.from_json(args[1]))
        return cls(op, *(cls.from_json(a) for a in args))


ParamValue = float | ParamExpr


def Parameter(name: str) -> ParamExpr:  # noqa: N802 - reads like the class users know
    """A free parameter named ``name``."""
    if not isinstance(name, str) or not name:
        raise InvalidCircuitError("a parameter needs a non-empty string name")
    return ParamExpr("sym", name)


def _const(value: float) -> ParamExpr:
    return ParamExpr("const", float(value))


def _wrap(value: Any) -> ParamExpr:
    if isinstance(value, ParamExpr):
        return value
    if isinstance(value, _NUMBER):
        return _const(float(value))
    raise InvalidCircuitError(f"cannot use {value!r} in a parameter expression")


def as_param(value: Any) -> ParamValue:
    """Normalise a gate parameter: a finite float, or a symbolic expression.

    Raises:
        InvalidCircuitError: NaN, infinity, a complex number or an unknown type.
    """
    if isinstance(value, ParamExpr):
        if not value.symbols:
            return as_param(value.evaluate({}))
        return value
    if isinstance(value, (complex, np.complexfloating)):
        if value.imag != 0:
            raise InvalidCircuitError(
                f"gate parameter {value!r} is complex; gates take real angles"
            )
        value = value.real
    if isinstance(value, _NUMBER) or (isinstance(value, np.ndarray) and value.shape == ()):
        number = float(value)
        if not math.isfinite(number):
            raise InvalidCircuitError(f"gate parameter value {number!r} is not finite")
        return number
    raise InvalidCircuitError(f"gate parameter {value!r} is neither a number nor an expression")


def param_symbols(values: tuple[ParamValue, ...]) -> frozenset[str]:
    """All symbol names used by a tuple of parameter values."""
    found: frozenset[str] = frozenset()
    for v in values:
        if isinstance(v, ParamExpr):
            found = found | v.symbols
    return found
