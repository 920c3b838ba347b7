"""The translation cache parts: observables followed by content, pubs of fixed circuits."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.primitives.containers import ObservablesArray  # noqa: E402
from qiskit.primitives.containers import SamplerPub as QiskitSamplerPub  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402

from qsession_provider.qiskit._payloads import sampler_payload  # noqa: E402
from qsession_provider.qiskit._translations import (  # noqa: E402
    CoercedObservableCache,
    TranslationCache,
)


def test_the_observable_cache_follows_in_place_edits() -> None:
    cache = CoercedObservableCache(maxsize=2)
    op = SparsePauliOp(["XX", "ZZ"], [1.0, 2.0])
    first = cache.coerce(op)
    op.coeffs[1] = 5.0  # an in-place edit changes the content key
    assert cache.coerce(op) == ObservablesArray.coerce_observable(op) != first
    for label in ("XI", "IX", "YY"):
        cache.coerce(SparsePauliOp(label))
    assert len(cache) == 2
    assert CoercedObservableCache(maxsize=0).coerce(op) == cache.coerce(op)


def _bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_a_parameter_free_pub_is_built_once_and_rebuilt_after_an_edit() -> None:
    cache = TranslationCache()
    circuit = _bell()

    def neutral(shots: int) -> Any:
        pub = QiskitSamplerPub.coerce(circuit, shots)
        return sampler_payload([pub], seed=None, cache=cache).pubs[0]

    first = neutral(16)
    assert neutral(16) is first  # the same immutable pub, and its encoded text, job after job
    other = neutral(32)
    assert other is not first and other.shots == 32 and first.shots == 16
    circuit.x(0)  # an edited circuit is a new IR circuit, so a new pub
    edited = neutral(16)
    assert edited is not first
    assert len(edited.circuit.operations) == len(first.circuit.operations) + 1
    batched = QiskitSamplerPub.coerce((circuit, np.zeros((2, 0))), 8)
    pub = sampler_payload([batched], seed=None, cache=cache).pubs[0]
    assert pub.shape == (2,) and pub.values.shape == (2, 0)
