"""What client libraries trip over (issue 19): exact defaults, the primitives' default
attributes, per-pub seeded noise, the ``[]`` hint and ``PauliEvolutionGate``; each checked
against qiskit's reference primitives."""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

import scipy.sparse  # noqa: E402
from pydantic import ValidationError  # noqa: E402
from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.circuit.library import PauliEvolutionGate, real_amplitudes  # noqa: E402
from qiskit.primitives import StatevectorEstimator, StatevectorSampler  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMInputValueError  # noqa: E402
from qiskit_ibm_runtime.options import EstimatorOptions as IBMEstimatorOptions  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    VirtualClock,
)
from qsession_provider.qiskit.primitives import EstimatorOptions  # noqa: E402

H = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", -0.3)])


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def sv(service: QiskitRuntimeService) -> object:
    return service.backend("statevector")


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.3, 1)
    return qc


# -- item 2: exact by default where users expect it ------------------------------------------
def test_default_precision_zero_is_accepted_in_every_form(sv: object) -> None:
    pubs = [(bell(), [SparsePauliOp("ZZ"), SparsePauliOp("XX"), H])]
    reference = StatevectorEstimator().run(pubs).result()[0].data.evs
    by_attribute = EstimatorV2(mode=sv)
    by_attribute.options.default_precision = 0
    ibm = IBMEstimatorOptions(default_precision=0.5)  # IBM's class converts to ours
    converted = EstimatorV2(mode=sv, options=ibm)
    converted.options.default_precision = 0.0
    for estimator in (
        by_attribute,
        EstimatorV2(mode=sv, options=EstimatorOptions(default_precision=0)),
        EstimatorV2(mode=sv, options={"default_precision": 0}),
        converted,
    ):
        assert isinstance(estimator.options, EstimatorOptions)
        assert estimator.default_precision == 0.0
        result = estimator.run(pubs).result()[0]  # no precision argument
        np.testing.assert_allclose(result.data.evs, reference, atol=1e-12)
        assert np.all(result.data.stds == 0.0)
    assert ibm.default_precision == 0.5  # the caller's options object is left alone


def test_negative_default_precision_is_refused_naming_it(sv: object) -> None:
    estimator = EstimatorV2(mode=sv)
    with pytest.raises(ValidationError, match="default_precision must be >=0"):
        estimator.options.default_precision = -0.1
    with pytest.raises(ValidationError, match="default_precision"):
        EstimatorV2(mode=sv, options={"default_precision": -1})
    assert estimator.default_precision == 0.015625  # unchanged


def test_default_attributes_mirror_the_options_and_are_read_only(sv: object) -> None:
    estimator, sampler = EstimatorV2(mode=sv), SamplerV2(mode=sv)
    assert estimator.default_precision == 0.015625 and sampler.default_shots == 4096  # IBM's
    estimator.options.default_precision = 0.25
    sampler.options.default_shots = 100
    assert estimator.default_precision == 0.25 and sampler.default_shots == 100
    estimator.options.default_shots = 400  # IBM: default_shots overrides the precision
    assert estimator.default_precision == 0.05
    for primitive, name in ((estimator, "default_precision"), (sampler, "default_shots")):
        with pytest.raises(AttributeError):
            setattr(primitive, name, 1)
    qc = bell()
    qc.measure_all()
    result = sampler.run([qc]).result()[0]
    assert result.data.meas.num_shots == sampler.default_shots == 100


def test_qiskit_algorithms_vqe_and_gradient_are_exact_with_no_precision(sv: object) -> None:
    algorithms = pytest.importorskip("qiskit_algorithms")
    from qiskit_algorithms.gradients import LinCombEstimatorGradient
    from qiskit_algorithms.optimizers import SLSQP

    estimator = EstimatorV2(mode=sv, options={"default_precision": 0})
    ansatz = real_amplitudes(2, reps=1)
    x0 = np.linspace(0.1, 0.9, ansatz.num_parameters)
    ours, reference = (
        algorithms.VQE(e, ansatz, SLSQP(maxiter=50), initial_point=x0).compute_minimum_eigenvalue(H)
        for e in (estimator, StatevectorEstimator())
    )
    assert ours.eigenvalue == pytest.approx(reference.eigenvalue, abs=1e-9)
    assert ours.cost_function_evals == reference.cost_function_evals  # the same path
    got, want = (
        LinCombEstimatorGradient(e).run([ansatz], [H], [x0]).result().gradients[0]
        for e in (estimator, StatevectorEstimator())
    )
    np.testing.assert_allclose(got, want, atol=1e-12)


# -- item 6: per-pub noise streams -----------------------------------------------------------
def test_seeded_noise_restarts_per_pub_as_in_the_reference(sv: object) -> None:
    observables = [[SparsePauliOp("ZZ")], [SparsePauliOp("XX")], [SparsePauliOp("IZ")]]
    pubs = [(bell(), observables), (bell(), observables), (bell(), SparsePauliOp("ZZ"), None, 0.1)]
    reference = StatevectorEstimator(seed=5).run(pubs, precision=0.05).result()
    ours = EstimatorV2(mode=sv, options={"seed_estimator": 5}).run(pubs, precision=0.05).result()
    for got, want in zip(ours, reference, strict=True):
        np.testing.assert_allclose(got.data.evs, want.data.evs, atol=1e-12)
    np.testing.assert_array_equal(ours[0].data.evs, ours[1].data.evs)  # identical pubs
    again = EstimatorV2(mode=sv, options={"simulator": {"seed_simulator": 5}})
    np.testing.assert_allclose(
        again.run(pubs, precision=0.05).result()[2].data.evs, ours[2].data.evs
    )


# -- item 7: the "wrap it in []" hint ----------------------------------------------------------
def _without_type(message: str) -> str:
    return re.sub(r"\(<class '[^']*'>\)", "(...)", message)


def test_a_bare_circuit_gets_qiskits_wrap_it_hint(sv: object) -> None:
    qc = bell()
    qc.measure_all()
    with pytest.raises(ValueError) as reference:
        StatevectorSampler().run(qc)
    with pytest.raises(IBMInputValueError) as ours:
        SamplerV2(mode=sv).run(qc)
    message = ours.value.message
    assert _without_type(message) == _without_type(str(reference.value))
    assert "QuantumCircuit" in message and "sampler.run([circuit])" in message
    with pytest.raises(IBMInputValueError, match=r"Estimator pub-like.*wrap it with `\[\]`"):
        EstimatorV2(mode=sv).run(bell())
    with pytest.raises(IBMInputValueError, match=r"pub 0: An invalid Estimator pub-like"):
        EstimatorV2(mode=sv).run((bell(), SparsePauliOp("ZZ")))  # a pub, not a list of pubs
    counts = SamplerV2(mode=sv).run([qc], shots=10).result()[0].data.meas.get_counts()
    assert sum(counts.values()) == 10  # nothing else disturbed


# -- item 8: PauliEvolutionGate ----------------------------------------------------------------
def test_pauli_evolution_matches_the_reference_estimator(sv: object) -> None:
    t = Parameter("t")
    hamiltonian = SparsePauliOp(["XX", "ZI", "IY"], [0.7, -0.4, 0.3])  # terms do not commute
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.append(PauliEvolutionGate(hamiltonian, t), [0, 1])
    pubs = [(qc, [[SparsePauliOp("ZZ")], [SparsePauliOp("XI")]], [[0.4], [1.3], [2.2]])]
    with warnings.catch_warnings():  # qiskit's to_matrix() warns about scipy's formats
        warnings.simplefilter("ignore", scipy.sparse.SparseEfficiencyWarning)
        reference = StatevectorEstimator().run(pubs).result()[0].data.evs
    ours = EstimatorV2(mode=sv).run(pubs, precision=0).result()[0].data.evs
    np.testing.assert_allclose(ours, reference, atol=1e-12)
