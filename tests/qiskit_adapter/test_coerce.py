"""The fast ``EstimatorPub`` coercion gives the same pubs and errors as qiskit's own."""

from __future__ import annotations

import warnings
from functools import partial
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit.circuit.library import efficient_su2  # noqa: E402
from qiskit.primitives.containers import BindingsArray, EstimatorPub  # noqa: E402
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp  # noqa: E402

from qsession_provider.qiskit._coerce import coerce_estimator_pub  # noqa: E402
from qsession_provider.qiskit._translations import CoercedObservableCache  # noqa: E402

ANSATZ = efficient_su2(3, reps=1)
P = ANSATZ.num_parameters


def _pub_cases() -> list[Any]:
    rng = np.random.default_rng(3)
    return [
        (ANSATZ, SparsePauliOp("XYZ"), rng.random(P)),
        (ANSATZ, SparsePauliOp(["XYZ", "ZZI", "XYZ"], [1, 2, 3])),  # no values for parameters
        (ANSATZ, SparsePauliOp(["XYZ", "ZZI"], [1, 2j]), rng.random(P)),  # not Hermitian
        (ANSATZ, SparsePauliOp(["XYZ", "XYZ"], [1, -1]), rng.random(P)),  # zero
        (ANSATZ, SparsePauliOp("XY"), rng.random(P)),  # qubit count
        (ANSATZ, SparsePauliOp("XYZ"), rng.random((4, P))),
        (ANSATZ, SparsePauliOp("XYZ"), rng.random((4, P)), 0.1),
        (ANSATZ, SparsePauliOp("XYZ"), rng.random((4, P)), -0.1),
        (ANSATZ, SparsePauliOp("XYZ"), rng.random((4, P)), "x"),
        (ANSATZ, SparsePauliOp("XYZ"), rng.random(P + 1)),
        (ANSATZ, SparsePauliOp("XYZ"), None),
        [ANSATZ, SparseObservable("XYZ"), rng.random(P)],
        (ANSATZ, SparseObservable.from_list([("XYZ", 1.0), ("XYZ", 1.0)]), rng.random(P)),
        (ANSATZ, SparsePauliOp("XYZ"), {tuple(ANSATZ.parameters): rng.random(P)}),
        (ANSATZ, SparsePauliOp("XYZ"), BindingsArray({tuple(ANSATZ.parameters): rng.random(P)})),
        (ANSATZ, SparsePauliOp("XYZ"), rng.random(P), None),
        (ANSATZ, SparsePauliOp("XYZ"), [[1, 2]]),
        (ANSATZ, SparsePauliOp(Pauli("-iXYZ")), rng.random(P)),
        (ANSATZ, SparsePauliOp(Pauli("-XYZ")), rng.random(P)),
        (ANSATZ, SparsePauliOp(["XYZ"]), rng.random(P), 0, 5),
        (ANSATZ,),
        "abc",
        (ANSATZ, ["XYZ", "ZZZ"], rng.random(P)),
    ]


def _outcome(coerce: Any, pub: Any, precision: Any) -> tuple[Any, Any]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return coerce(pub, precision), None
        except Exception as exc:  # the error itself is what is compared
            return None, exc


def _same_pub(a: EstimatorPub, b: EstimatorPub) -> None:
    assert type(a) is type(b) and a.circuit is b.circuit
    assert a.shape == b.shape and a.precision == b.precision
    assert type(a.precision) is type(b.precision)
    assert a.observables.shape == b.observables.shape
    assert a.observables.num_qubits == b.observables.num_qubits
    for x, y in zip(a.observables._array.ravel(), b.observables._array.ravel()):
        assert x == y and x is not y  # equal, and each pub has its own
    assert a.parameter_values.shape == b.parameter_values.shape
    assert a.parameter_values.data.keys() == b.parameter_values.data.keys()
    for key, value in a.parameter_values.data.items():
        np.testing.assert_array_equal(value, b.parameter_values.data[key])


@pytest.mark.parametrize("precision", [None, 0.0, 0.5, 1, -1, "a"])
def test_fast_coercion_matches_qiskit_pub_for_pub_and_error_for_error(precision: Any) -> None:
    cache = CoercedObservableCache()
    fast = partial(coerce_estimator_pub, cache=cache)
    for pub in _pub_cases():
        ref, ref_error = _outcome(EstimatorPub.coerce, pub, precision)
        for coerce in (fast, fast, coerce_estimator_pub):  # a miss, a hit, and no cache
            got, error = _outcome(coerce, pub, precision)
            if ref_error is not None or error is not None:
                assert type(error) is type(ref_error) and str(error) == str(ref_error), pub
            else:
                _same_pub(got, ref)
