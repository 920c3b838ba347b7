"""The framework-free parts every translator shares: context, builder, parameters."""

from __future__ import annotations

import math
import subprocess
import sys
from typing import Any

import pytest

from qsession_provider.core.ir.circuit import Condition
from qsession_provider.core.ir.params import Parameter, ParamValue, as_param
from qsession_provider.translate.context import TOP, CircuitBuilder, Context
from qsession_provider.translate.params import ParamConverter


def test_controls_accumulate_outermost_first() -> None:
    ctx = TOP.add_controls([4], 1).add_controls([2, 7], 0b10)
    assert ctx.controls == (4, 2, 7)
    assert ctx.ctrl_state == 0b101  # control 4 on 1, control 2 on 0, control 7 on 1
    assert ctx.condition is None
    cond = Condition("c", 1, 0)
    under = ctx.with_condition(cond)
    assert (under.controls, under.ctrl_state, under.condition) == (ctx.controls, 0b101, cond)
    assert TOP.controls == () and TOP.condition is None  # contexts are never changed


def test_gate_carries_the_context() -> None:
    builder = CircuitBuilder()
    builder.gate("x", (0,), (), TOP, "x")
    cond = Condition("c", 3)
    builder.gate("rz", (1,), (0.5,), Context((2,), 0, cond), "crz")
    plain, controlled = builder.ops
    assert plain.controls == () and plain.ctrl_state is None and plain.condition is None
    assert controlled.controls == (2,) and controlled.ctrl_state == 0
    assert controlled.condition == cond and controlled.label == "crz"


def test_phase_is_global_at_the_top_and_dropped_under_a_condition() -> None:
    builder = CircuitBuilder()
    builder.phase(0.25, TOP, "gp")
    builder.phase(0.5, TOP, "gp")
    builder.phase(0.0, TOP, "gp")
    builder.phase(1.0, TOP.with_condition(Condition("c", 1)), "gp")
    assert builder.ops == [] and builder.global_phase == pytest.approx(0.75)


def test_phase_under_controls_becomes_a_phase_gate() -> None:
    builder = CircuitBuilder()
    builder.phase(0.3, Context((5, 6), 0b10), "on-one")  # control 5 on 0, control 6 on 1
    builder.phase(0.3, Context((5, 6), 0b01), "on-zero")
    zero, one = builder.ops
    assert (zero.name, zero.qubits, zero.controls, zero.ctrl_state) == ("zpow", (5,), (6,), 1)
    assert zero.params == pytest.approx((-0.3 / math.pi, -1.0))
    assert (one.name, one.qubits, one.controls, one.ctrl_state) == ("p", (5,), (6,), 0)
    assert builder.global_phase == 0.0


class _Strings(ParamConverter):
    """A toy framework whose compound expressions are strings, sympified on demand."""

    __slots__ = ("calls",)

    def __init__(self) -> None:
        super().__init__()
        self.calls = 0

    def __call__(self, value: Any) -> ParamValue:
        if not isinstance(value, str):
            return as_param(value)
        if value.isidentifier():
            return Parameter(value)
        return self.compound(value, self._sympify)

    def _sympify(self, text: str) -> Any:
        sympy = pytest.importorskip("sympy")
        self.calls += 1
        return sympy.sympify(text)


def test_compound_expressions_convert_once_per_translation() -> None:
    convert = _Strings()
    first, second = convert.all(["2*a + b", "2*a + b"])
    assert first is second and convert.calls == 1
    assert convert("a") == Parameter("a") and convert(0.5) == 0.5
    assert first.evaluate({"a": 1.0, "b": 0.5}) == pytest.approx(2.5)
    assert _Strings()("2*a + b") is not first  # a new translation starts afresh


@pytest.mark.parametrize("framework", ["qiskit", "cirq"])
def test_translator_without_its_framework_names_the_extra(framework: str) -> None:
    code = (
        f"import sys; sys.modules[{framework!r}] = None\n"
        "try:\n"
        f"    import qsession_provider.translate.{framework}\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert f"pip install 'qsession-provider[{framework}]'" in out.stdout
