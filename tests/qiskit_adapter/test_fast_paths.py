"""The Qiskit face's hot path: the fast ``EstimatorPub`` coercion and the runtime's fast
paths give the same pubs, errors, results and stored jobs as the general path."""

from __future__ import annotations

import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit.library import efficient_su2  # noqa: E402
from qiskit.primitives import StatevectorEstimator  # noqa: E402
from qiskit.primitives.containers import (  # noqa: E402
    BindingsArray,
    EstimatorPub,
    ObservablesArray,
)
from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp  # noqa: E402

from qsession_provider.core.ir.encoding import loads  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
)
from qsession_provider.qiskit._coerce import (  # noqa: E402
    CoercedObservableCache,
    coerce_estimator_pub,
)
from qsession_provider.qiskit._jobdata import decoding_from_metadata  # noqa: E402

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
    for pub in _pub_cases():
        ref, ref_error = _outcome(EstimatorPub.coerce, pub, precision)
        for _ in range(2):  # a miss, then a hit of the observable cache
            got, error = _outcome(coerce_estimator_pub, pub, precision)
            if ref_error is not None or error is not None:
                assert type(error) is type(ref_error) and str(error) == str(ref_error), pub
            else:
                _same_pub(got, ref)


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


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3")
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def test_an_iterative_estimator_loop_is_exact_and_follows_edited_observables(
    service: QiskitRuntimeService,
) -> None:
    rng = np.random.default_rng(1)
    circuit = efficient_su2(4, reps=2)
    hamiltonian = SparsePauliOp(["XXYZ", "ZIIZ", "YYII"], [0.5, -1.0, 0.25])
    reference = StatevectorEstimator()
    with Session(backend=service.backend("statevector")) as session:
        estimator = EstimatorV2(mode=session)
        for k in range(6):
            if k == 3:
                hamiltonian.coeffs[0] = 2.0  # edited in place between jobs
            values = rng.uniform(-np.pi, np.pi, circuit.num_parameters)
            ours = estimator.run([(circuit, hamiltonian, values)], precision=0).result()
            ref = reference.run([(circuit, hamiltonian, values)], precision=0).result()
            np.testing.assert_allclose(ours[0].data.evs, ref[0].data.evs, atol=1e-10)


def _bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_tiny_sampler_jobs_match_with_and_without_the_fast_paths(
    service: QiskitRuntimeService,
) -> None:
    scheduler = service.runtime._scheduler
    counts = {}
    for fast in (True, False):
        scheduler.inline_max_work = 1 << 10 if fast else 0
        scheduler.small_job_work = 1 << 14 if fast else 0
        with Session(backend=service.backend("statevector")) as session:
            sampler = SamplerV2(mode=session, options={"simulator": {"seed_simulator": 11}})
            job = sampler.run([_bell()], shots=64)
            if fast:
                assert job.status() == "DONE"  # ran at submission
            counts[fast] = job.result()[0].data.meas.get_counts()
            store = service.runtime.store
            stored = store.get_job(job.job_id())
            assert stored.status.value == "DONE" and stored.started_at is not None
        # The stored job decodes to the same result (as another process would read it).
        raw = loads(store.get_result(job.job_id()) or "null")
        decoded = decoding_from_metadata(stored.metadata).decode(raw)
        assert decoded[0].data.meas.get_counts() == counts[fast]
    assert counts[True] == counts[False]


def test_a_parameter_free_pub_is_built_once_and_rebuilt_after_an_edit() -> None:
    from qiskit.primitives.containers import SamplerPub as QiskitSamplerPub

    from qsession_provider.qiskit._programs import ProgramCache
    from qsession_provider.qiskit._pubs import sampler_payload

    cache = ProgramCache()
    circuit = _bell()

    def neutral(shots: int) -> Any:
        pub = QiskitSamplerPub.coerce(circuit, shots)
        return sampler_payload([pub], seed=None, cache=cache).pubs[0]

    first = neutral(16)
    assert neutral(16) is first  # the same immutable pub, and its encoded text, job after job
    other = neutral(32)
    assert other is not first and other.shots == 32 and first.shots == 16
    circuit.x(0)  # an edited circuit is a new program, so a new pub
    edited = neutral(16)
    assert edited is not first
    assert len(edited.program.operations) == len(first.program.operations) + 1
    batched = QiskitSamplerPub.coerce((circuit, np.zeros((2, 0))), 8)
    pub = sampler_payload([batched], seed=None, cache=cache).pubs[0]
    assert pub.shape == (2,) and pub.values.shape == (2, 0)
