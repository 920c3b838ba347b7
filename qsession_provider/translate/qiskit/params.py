"""Qiskit ``ParameterExpression`` → neutral :class:`~qsession_provider.core.ir.params.ParamExpr`.

Qiskit 2.x keeps expressions in Rust; the public way to look inside one is
``ParameterExpression.sympify()``, so non-trivial expressions go through sympy (an optional
dependency of Qiskit, needed only when a circuit holds compound expressions). Bare parameters,
the common case, never touch sympy.
"""

from __future__ import annotations

from typing import Any

from qiskit.circuit import ParameterExpression

from ...core.ir.params import Parameter, ParamValue, as_param
from ...core.ir.symbolic import real_value
from .. import params

__all__ = ["ParamConverter"]


class ParamConverter(params.ParamConverter):
    """Converts gate parameters, each compound expression once per translation."""

    __slots__ = ()

    def __call__(self, value: Any) -> ParamValue:
        """A float or ParamExpr for one Qiskit gate parameter (number or expression)."""
        if not isinstance(value, ParameterExpression):
            return as_param(value)
        if value.is_symbol():
            return Parameter(value.name)
        if not value.parameters:
            return real_value(complex(value.numeric()), value)
        return self.compound(value, _sympify)


def _sympify(expr: ParameterExpression) -> Any:
    """``expr.sympify()`` with a clear error when sympy is missing."""
    try:
        return expr.sympify()
    except ImportError as exc:  # pragma: no cover - sympy ships with the test environment
        raise ImportError(
            f"translating the parameter expression {expr} needs sympy: pip install sympy"
        ) from exc
