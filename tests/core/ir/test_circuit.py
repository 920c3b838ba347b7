"""The neutral IR: construction, validation errors, binding and serialisation."""

from __future__ import annotations

import json

import numpy as np
import pytest

from qsession_provider.core import (
    GATES,
    Barrier,
    Circuit,
    Condition,
    Gate,
    Measure,
    Parameter,
    Reset,
)
from qsession_provider.core.ir.gates import gate_diagonal, gate_matrix
from qsession_provider.errors import InvalidCircuitError, UnboundParameterError


def bell() -> Circuit:
    return Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
        name="bell",
    )


@pytest.mark.parametrize("name", sorted(GATES))
def test_every_library_gate_is_unitary_and_diagonal_agrees(name: str) -> None:
    spec = GATES[name]
    params = np.random.default_rng(7).uniform(-3, 3, spec.num_params)
    m = gate_matrix(name, tuple(params))
    assert m.shape == (2**spec.num_qubits,) * 2
    np.testing.assert_allclose(m.conj().T @ m, np.eye(len(m)), atol=1e-12)
    diag = gate_diagonal(name, tuple(params))
    if diag is not None:
        np.testing.assert_allclose(np.diag(diag), m, atol=1e-14)


def test_qubit_out_of_range_names_the_operation() -> None:
    with pytest.raises(InvalidCircuitError, match=r"operation 1 \(cx\).*qubit 2.*2-qubit"):
        Circuit(2, [Gate("h", (0,)), Gate("x", (2,), controls=(0,), label="cx")])


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "h", "qubits": (0, 1)}, "acts on 1 qubit"),
        ({"name": "rx", "qubits": (0,)}, "takes 1 parameter"),
        ({"name": "nope", "qubits": (0,)}, "unknown gate 'nope'"),
        ({"name": "x", "qubits": (0,), "controls": (0,)}, "uses a qubit twice"),
        ({"name": "x", "qubits": (0,), "controls": (1,), "ctrl_state": 2}, "ctrl_state 2"),
        ({"name": "rx", "qubits": (0,), "params": (float("nan"),)}, "not finite"),
        ({"name": "rx", "qubits": (0,), "params": (float("inf"),)}, "not finite"),
        ({"name": "rx", "qubits": (0,), "params": ("a",)}, "neither a number"),
        ({"name": "h", "qubits": (0.5,)}, "not an integer"),
        ({"name": "unitary", "qubits": (0,)}, "needs a matrix"),
        ({"name": "unitary", "qubits": (0,), "matrix": np.ones((2, 2))}, "not unitary"),
        ({"name": "unitary", "qubits": (0,), "matrix": np.eye(4)}, "shape"),
        ({"name": "unitary", "qubits": (0,), "matrix": np.eye(2) * np.nan}, "NaN"),
        ({"name": "unitary", "qubits": tuple(range(7)), "matrix": np.eye(128)}, "at most 6"),
    ],
)
def test_gate_validation(kwargs: dict, message: str) -> None:
    with pytest.raises(InvalidCircuitError, match=message):
        Gate(**kwargs)


def test_register_and_condition_validation() -> None:
    with pytest.raises(InvalidCircuitError, match="does not declare"):
        Circuit(1, [Measure(0, "m", 0)])
    with pytest.raises(InvalidCircuitError, match="out of range for register 'c'"):
        Circuit(1, [Measure(0, "c", 1)], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="unknown register 'd'"):
        Circuit(1, [Gate("x", (0,), condition=Condition("d", 1))], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="num_qubits must be >= 0"):
        Circuit(-1)


def test_matrix_is_copied_and_frozen() -> None:
    m = np.eye(2, dtype=complex)
    g = Gate("unitary", (0,), matrix=m)
    m[0, 0] = 5
    assert g.matrix is not None and g.matrix[0, 0] == 1
    with pytest.raises(ValueError):
        g.matrix[0, 0] = 2


def test_parameters_bind_and_unbound_error() -> None:
    a, b = Parameter("a"), Parameter("b")
    p = Circuit(
        1, [Gate("rx", (0,), (2 * a + 1,)), Gate("rz", (0,), (b.apply("sin"),))], global_phase=a / 2
    )
    assert p.parameters == ("a", "b")
    with pytest.raises(UnboundParameterError, match="b"):
        p.bind({"a": 1.0})
    with pytest.raises(InvalidCircuitError, match="NaN or infinite"):
        p.bind({"a": 1.0, "b": float("nan")})
    bound = p.bind({"a": 0.25, "b": np.pi / 2})
    assert bound.parameters == ()
    assert bound.operations[0].params == (1.5,)
    assert bound.operations[1].params == pytest.approx((1.0,))
    assert bound.global_phase == 0.125
    # the original is unchanged
    assert p.parameters == ("a", "b")


def test_expression_evaluates_on_arrays() -> None:
    t = Parameter("t")
    expr = (t**2 - 1) / 2
    np.testing.assert_allclose(expr.evaluate({"t": np.array([1.0, 3.0])}), [0.0, 4.0])
    with pytest.raises(InvalidCircuitError, match="non-finite"):
        (1 / t).evaluate({"t": 0.0})


def test_json_round_trip_keeps_structure() -> None:
    t = Parameter("θ[0]")
    p = Circuit(
        3,
        [
            Gate("h", (0,)),
            Gate("rx", (1,), (t * 2,)),
            Gate("unitary", (2, 0), matrix=np.eye(4)),
            Barrier((0, 1)),
            Reset(2),
            Measure(0, "a", 0),
            Gate("x", (1,), condition=Condition("a", 1, 0)),
            Measure(1, "b", 0),
        ],
        {"a": 1, "b": 1},
        name="n",
        metadata={"k": 1},
    )
    again = Circuit.from_json(json.loads(json.dumps(p.to_json())))
    assert again.structure_key() == p.structure_key()
    assert again.metadata == {"k": 1} and again.name == "n"


def test_structure_key_ignores_bound_values_only_via_symbols() -> None:
    t = Parameter("t")
    p1 = Circuit(1, [Gate("rx", (0,), (t,))])
    p2 = Circuit(1, [Gate("rx", (0,), (t,))])
    p3 = Circuit(1, [Gate("rx", (0,), (0.5,))])
    assert p1.structure_key() == p2.structure_key() != p3.structure_key()
    assert bell().has_measurements() and not bell().is_unitary()
