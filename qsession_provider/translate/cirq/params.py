"""Sympy expressions (Cirq's symbolic parameters) → neutral :class:`ParamExpr`."""

from __future__ import annotations

from typing import Any

import sympy

from ...core.ir.params import Parameter, ParamValue, as_param
from ...core.ir.symbolic import from_sympy

__all__ = ["ParamConverter"]


class ParamConverter:
    """Converts gate parameters, caching sympy expressions for the life of one translation."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[Any, ParamValue] = {}

    def __call__(self, value: Any) -> ParamValue:
        """A float or ParamExpr for a number or sympy expression (``sympy.pi`` is a number)."""
        if not isinstance(value, sympy.Basic):
            return as_param(value)
        if isinstance(value, sympy.Symbol):
            return Parameter(value.name)
        cached = self._cache.get(value)
        if cached is None:
            cached = self._cache[value] = from_sympy(value, value)
        return cached
