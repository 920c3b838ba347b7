"""Sympy-style expression trees -> :class:`ParamExpr`, shared by the Qiskit and Cirq faces.

Duck-typed on sympy's node protocol (``free_symbols``, ``is_Symbol``, ``is_Add``, ``args``,
``evalf``...), so this module never imports sympy: the faces hand it the trees they get
from ``ParameterExpression.sympify()`` or from Cirq gate parameters.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from ...errors import InvalidCircuitError
from .params import Parameter, ParamExpr, ParamValue

__all__ = ["from_sympy", "real_value"]

#: sympy function class name -> ParamExpr function name.
_FUNCTIONS = {
    "sin": "sin",
    "cos": "cos",
    "tan": "tan",
    "asin": "asin",
    "acos": "acos",
    "atan": "atan",
    "exp": "exp",
    "log": "log",
    "Abs": "abs",
    "sign": "sign",
}
_IMAG_TOL = 1e-12


def real_value(value: complex, source: object) -> float:
    """The real part of ``value``; refuses a non-negligible imaginary part or non-finite value."""
    if abs(value.imag) > _IMAG_TOL * max(1.0, abs(value.real)):
        raise InvalidCircuitError(f"parameter expression {source} is complex ({value})")
    if not math.isfinite(value.real):
        raise InvalidCircuitError(f"parameter expression {source} is not finite")
    return float(value.real)


def from_sympy(node: Any, source: object) -> ParamValue:
    """Walk a sympy expression tree into a float or :class:`ParamExpr`.

    Raises:
        InvalidCircuitError: the tree uses an unsupported function or is complex.
    """
    if not node.free_symbols:
        try:
            return real_value(complex(node.evalf()), source)
        except TypeError:
            raise InvalidCircuitError(
                f"parameter expression {source} has no numeric value"
            ) from None
    if node.is_Symbol:
        return Parameter(node.name)
    args = [from_sympy(arg, source) for arg in node.args]
    if node.is_Add:
        return _fold(args, lambda a, b: a + b)
    if node.is_Mul:
        return _fold(args, lambda a, b: a * b)
    if node.is_Pow:
        return args[0] ** args[1]  # type: ignore[operator]
    function = _FUNCTIONS.get(type(node).__name__)
    if function is not None and len(args) == 1 and isinstance(args[0], ParamExpr):
        return args[0].apply(function)
    raise InvalidCircuitError(
        f"parameter expression {source} uses {type(node).__name__}, which is not supported "
        f"(supported: + - * / **, {', '.join(sorted(set(_FUNCTIONS.values())))})"
    )


def _fold(args: list[ParamValue], combine: Callable[[Any, Any], Any]) -> ParamValue:
    """Left fold of ``combine`` over ``args``."""
    total = args[0]
    for arg in args[1:]:
        total = combine(total, arg)
    return total
