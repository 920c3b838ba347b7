"""Framework gate parameters → neutral values (floats and :class:`ParamExpr`).

Each framework's converter (Qiskit ``ParameterExpression``, Cirq's sympy expressions) says
what a number, a bare symbol and a compound expression look like; this base converts each
compound expression through sympy once per translation, however many gates share it.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Iterable
from typing import Any

from ..core.ir.params import ParamValue
from ..core.ir.symbolic import from_sympy

__all__ = ["ParamConverter"]


class ParamConverter(ABC):
    """Converts the gate parameters of one translation, caching compound expressions."""

    __slots__ = ("_cache",)

    def __init__(self) -> None:
        self._cache: dict[Any, ParamValue] = {}

    @abstractmethod
    def __call__(self, value: Any) -> ParamValue:
        """A float or ParamExpr for one framework parameter (number, symbol or expression).

        Raises:
            InvalidCircuitError: the value is complex, not finite, or uses an unsupported
                function.
        """

    def all(self, values: Iterable[Any]) -> tuple[ParamValue, ...]:
        """Every value of ``values``, converted."""
        return tuple(map(self, values))

    def compound(self, expr: Any, to_sympy: Callable[[Any], Any] | None = None) -> ParamValue:
        """The IR value of a compound expression, converted on its first use only.

        Args:
            expr: the framework's expression (the cache key, and what errors name).
            to_sympy: gives ``expr``'s sympy form, called only on a miss (None: ``expr``
                is a sympy expression already).

        Raises:
            InvalidCircuitError: the expression uses an unsupported function or is complex.
        """
        try:
            return self._cache[expr]
        except KeyError:
            pass
        except TypeError:  # unhashable: convert without caching
            return _convert(expr, to_sympy)
        result = self._cache[expr] = _convert(expr, to_sympy)
        return result


def _convert(expr: Any, to_sympy: Callable[[Any], Any] | None) -> ParamValue:
    """``expr`` through sympy into the IR."""
    return from_sympy(expr if to_sympy is None else to_sympy(expr), expr)
