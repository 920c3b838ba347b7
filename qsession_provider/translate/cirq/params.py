"""Sympy expressions (Cirq's symbolic parameters) → neutral :class:`ParamExpr`."""

from __future__ import annotations

from typing import Any

import sympy

from ...core.ir.params import Parameter, ParamValue, as_param
from .. import params

__all__ = ["ParamConverter"]


class ParamConverter(params.ParamConverter):
    """Converts gate parameters, each sympy expression once per translation."""

    __slots__ = ()

    def __call__(self, value: Any) -> ParamValue:
        """A float or ParamExpr for a number or sympy expression (``sympy.pi`` is a number)."""
        if not isinstance(value, sympy.Basic):
            return as_param(value)
        if isinstance(value, sympy.Symbol):
            return Parameter(value.name)
        return self.compound(value)
