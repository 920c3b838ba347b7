"""Binding: the expression table of a plan, and the gate data it builds for many parameter
values at once (the gate library's ``GateSpec.batch``)."""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import GATES, Parameter
from qsession_provider.core.ir.params import ParamExpr
from qsession_provider.errors import InvalidCircuitError
from qsession_provider.sim.binding import ExpressionTable

_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)


def _exp_pauli(pauli: np.ndarray) -> Callable[[float], np.ndarray]:
    return lambda th: math.cos(th / 2) * np.eye(len(pauli)) - 1j * math.sin(th / 2) * pauli


def _u(theta: float, phi: float, lam: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [
            [c, -cmath.exp(1j * lam) * s],
            [cmath.exp(1j * phi) * s, cmath.exp(1j * (phi + lam)) * c],
        ]
    )


def _r(theta: float, phi: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array([[c, -1j * cmath.exp(-1j * phi) * s], [-1j * cmath.exp(1j * phi) * s, c]])


def _zpow(t: float, s: float) -> np.ndarray:
    g = cmath.exp(1j * math.pi * t * s)
    return np.array([g, g * cmath.exp(1j * math.pi * t)])


#: One-value formulas of the vectorised gates, written independently of the library
#: (diagonals for the diagonal gates).
REFERENCE: dict[str, Callable[..., np.ndarray]] = {
    "rx": _exp_pauli(_X),
    "ry": _exp_pauli(_Y),
    "rz": lambda th: np.array([cmath.exp(-0.5j * th), cmath.exp(0.5j * th)]),
    "p": lambda lam: np.array([1.0, cmath.exp(1j * lam)]),
    "u1": lambda lam: np.array([1.0, cmath.exp(1j * lam)]),
    "u": _u,
    "u3": _u,
    "u2": lambda phi, lam: _u(math.pi / 2, phi, lam),
    "r": _r,
    "rzz": lambda th: np.array(
        [cmath.exp(-0.5j * th), cmath.exp(0.5j * th), cmath.exp(0.5j * th), cmath.exp(-0.5j * th)]
    ),
    # Qiskit's R_{PQ}(theta) on qargs (q0, q1) is exp(-i theta/2 Q(q1) P(q0)) = kron(Q, P).
    "rxx": _exp_pauli(np.kron(_X, _X)),
    "ryy": _exp_pauli(np.kron(_Y, _Y)),
    "rzx": _exp_pauli(np.kron(_X, _Z)),
    "zpow": _zpow,
}


def test_expression_table_matches_evaluate() -> None:
    a, b = Parameter("a"), Parameter("b")
    exprs = [a, 2 * a - b + 1, 3.5, b * a, (a + 1).apply("sin"), -(b * 2), 0.5 * (a + b)]
    table = ExpressionTable(exprs, ("a", "b"))
    values = {"a": 0.3, "b": -1.2}
    expected = [float(e.evaluate(values)) if isinstance(e, ParamExpr) else e for e in exprs]
    np.testing.assert_allclose(table(values), expected, atol=1e-15)
    np.testing.assert_allclose(table(np.array([0.3, -1.2])), expected, atol=1e-15)
    bad = ExpressionTable([a.apply("log")], ("a",))
    with pytest.raises(InvalidCircuitError, match="non-finite"):
        bad({"a": -1.0})


def test_the_gates_sweeps_bind_most_are_vectorised() -> None:
    vectorised = {name for name, spec in GATES.items() if spec.vectorised is not None}
    assert vectorised == set(REFERENCE)
    # the others are built row by row from their one-value form
    assert [n for n, s in GATES.items() if s.num_params and n not in vectorised]


@pytest.mark.parametrize("name", sorted(REFERENCE))
def test_batched_gate_data_matches_the_reference_formulas(name: str) -> None:
    spec = GATES[name]
    params = np.random.default_rng(3).uniform(-4, 4, (5, spec.num_params))
    got = spec.batch(params)
    for row, data in zip(params, got):
        np.testing.assert_allclose(data, REFERENCE[name](*row).ravel(), atol=1e-14)


@pytest.mark.parametrize("name", sorted(GATES))
def test_batched_gate_data_matches_one_gate_at_a_time(name: str) -> None:
    spec = GATES[name]
    params = np.random.default_rng(1).uniform(-2, 2, (3, spec.num_params))
    diagonal = spec.diagonal is not None
    got = spec.batch(params)
    k = spec.num_qubits
    assert got.dtype == np.complex128 and got.shape == (3, 2**k if diagonal else 4**k)
    for row, data in zip(params, got):
        want = spec.diagonal(*row) if spec.diagonal is not None else spec.matrix(*row)
        np.testing.assert_allclose(data, np.asarray(want).ravel(), atol=1e-14)
        if spec.diagonal is not None:
            np.testing.assert_allclose(spec.matrix(*row), np.diag(want), atol=1e-14)
