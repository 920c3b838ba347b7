"""Resets, mid-circuit measurements and ``initialize`` through the Qiskit face (issue 19,
items 3 and 4), against qiskit's references: ``StatevectorEstimator`` and ``Statevector``
where they are exact, ``DensityMatrix`` where the reference is a random trajectory.

``StatevectorEstimator`` applies a reset of part of the state with ``Statevector.reset``,
which samples one measurement outcome: for a qubit entangled with others its value is one
random branch's, not the expectation value. Ours is the exact mixed-state value.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.circuit.library import real_amplitudes  # noqa: E402
from qiskit.primitives import StatevectorEstimator  # noqa: E402
from qiskit.quantum_info import DensityMatrix, SparsePauliOp, Statevector  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMBackendValueError, IBMInputValueError  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

OBSERVABLES = [
    SparsePauliOp.from_list([("ZZI", 1.0), ("XIX", 0.5), ("IYY", -0.3)]),
    SparsePauliOp("XXX"),
    SparsePauliOp("IZI"),
    SparsePauliOp.from_list([("YZX", 0.7), ("ZIZ", 0.2)]),
]


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def sv(service: QiskitRuntimeService) -> object:
    return service.backend("statevector")


@pytest.fixture
def exact(sv: object) -> EstimatorV2:
    return EstimatorV2(mode=sv, options={"default_precision": 0})


def _evs(estimator: object, circuit: QuantumCircuit, observables: list) -> np.ndarray:
    return estimator.run([(circuit, observables)]).result()[0].data.evs


def _mixed(circuit: QuantumCircuit, observables: list) -> np.ndarray:
    rho = DensityMatrix(circuit)
    return np.array([rho.expectation_value(o).real for o in observables])


# -- item 3: resets and measurements in the estimator ----------------------------------------
def test_reset_of_an_unentangled_qubit_matches_the_reference(exact: EstimatorV2) -> None:
    qc = QuantumCircuit(3)
    qc.ry(0.4, 0)
    qc.h(1)
    qc.cx(1, 2)
    qc.reset(0)  # qubit 0 is not entangled: the reference's sampled reset is exact here
    qc.rx(0.9, 0)
    qc.cx(0, 1)
    reference = StatevectorEstimator(seed=3).run([(qc, OBSERVABLES)]).result()[0].data.evs
    np.testing.assert_allclose(_evs(exact, qc, OBSERVABLES), reference, atol=1e-12)
    np.testing.assert_allclose(reference, _mixed(qc, OBSERVABLES), atol=1e-12)


def test_reset_of_an_entangled_qubit_is_the_mixed_state_value(exact: EstimatorV2) -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.7, 2)
    qc.cx(2, 0)
    qc.reset(1)
    qc.h(1)
    qc.cx(1, 2)
    qc.reset(0)
    qc.rx(0.3, 0)
    qc.cx(0, 1)
    expected = _mixed(qc, OBSERVABLES)
    np.testing.assert_allclose(_evs(exact, qc, OBSERVABLES), expected, atol=1e-12)
    # The reference draws one branch per run: after resetting half of a Bell pair, the other
    # half reads +1 or -1 by the seed; the expectation value is 0.
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.reset(0)
    z1 = SparsePauliOp("ZI")
    drawn = {
        float(StatevectorEstimator(seed=s).run([(bell, z1)]).result()[0].data.evs) for s in range(8)
    }
    assert drawn == {-1.0, 1.0}
    assert _evs(exact, bell, [z1]) == pytest.approx([0.0], abs=1e-12)


def _dynamic() -> tuple[QuantumCircuit, QuantumCircuit]:
    """A circuit with feed-forward, and its deferred-measurement twin (an ancilla for the bit)."""
    qr, cr = QuantumRegister(3, "q"), ClassicalRegister(1, "c")
    qc = QuantumCircuit(qr, cr)
    twin = QuantumCircuit(4)
    for circuit in (qc, twin):
        circuit.ry(1.1, 0)
        circuit.cx(0, 1)
        circuit.h(2)
    qc.measure(0, cr[0])
    with qc.if_test((cr[0], 1)):
        qc.rx(0.4, 1)
    twin.cx(0, 3)
    twin.crx(0.4, 3, 1)
    for circuit in (qc, twin):
        circuit.ry(0.5, 0)  # the measured qubit is used again
        circuit.cx(2, 1)
        circuit.h(1)
    return qc, twin


def test_mid_circuit_measurement_with_feed_forward(exact: EstimatorV2) -> None:
    qc, twin = _dynamic()
    got = _evs(exact, qc, OBSERVABLES)
    expected = _mixed(twin, [SparsePauliOp("I") ^ o for o in OBSERVABLES])  # ancilla on top
    np.testing.assert_allclose(got, expected, atol=1e-12)


def test_final_measurements_dephase_the_measured_qubits(exact: EstimatorV2) -> None:
    qc = QuantumCircuit(3, 2)
    qc.h(0)
    qc.cx(0, 1)
    qc.ry(0.5, 2)
    qc.measure([0, 1], [0, 1])
    got = _evs(exact, qc, [SparsePauliOp("IZZ"), SparsePauliOp("IXX"), SparsePauliOp("XII")])
    np.testing.assert_allclose(got, [1.0, 0.0, np.sin(0.5)], atol=1e-12)


def test_noise_on_top_of_the_exact_value(sv: object, exact: EstimatorV2) -> None:
    qc, _ = _dynamic()
    value = _evs(exact, qc, OBSERVABLES)
    noisy = EstimatorV2(mode=sv, options={"default_precision": 0, "seed_estimator": 12})
    result = noisy.run([(qc, OBSERVABLES)], precision=0.02).result()[0]
    np.testing.assert_allclose(
        result.data.evs, np.random.default_rng(12).normal(value, 0.02), atol=1e-12
    )
    assert np.all(result.data.stds == 0.02)


# -- item 4: initialize and prepare_state ----------------------------------------------------
def _state(num_qubits: int, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    psi = rng.normal(size=2**num_qubits) + 1j * rng.normal(size=2**num_qubits)
    return psi / np.linalg.norm(psi)


@pytest.mark.parametrize(
    "params",
    [_state(3, 1), "01+-rl"[:3], "r-1", 5, [0, 0, 0, 0, 0, 0, 0, 1]],
    ids=["vector", "label", "label2", "int", "basis vector"],
)
def test_initialize_matches_the_reference_in_the_estimator(
    exact: EstimatorV2, params: object
) -> None:
    qc = QuantumCircuit(4)
    qc.h(3)
    qc.initialize(params, [0, 1, 2])
    qc.cx(3, 0)
    observables = [o ^ SparsePauliOp("Z") for o in OBSERVABLES] + [SparsePauliOp("IXYZ")]
    reference = StatevectorEstimator().run([(qc, observables)]).result()[0].data.evs
    np.testing.assert_allclose(_evs(exact, qc, observables), reference, atol=1e-12)


def test_initialize_in_the_sampler_and_backend_run(sv: object) -> None:
    psi = _state(2, 4)
    qc = QuantumCircuit(3)
    qc.initialize(psi, [0, 2])
    qc.initialize("1", 1)
    qc.measure_all()
    probabilities = Statevector(qc.remove_final_measurements(inplace=False)).probabilities_dict()
    sampled = SamplerV2(
        mode=sv, options={"default_shots": 20000, "simulator": {"seed_simulator": 2}}
    ).run([qc])
    counts = sampled.result()[0].data.meas.get_counts()
    ran = sv.run(qc, shots=20000, seed_simulator=2).result().get_counts()
    for got in (counts, ran):
        assert set(got) <= {k for k, p in probabilities.items() if p > 1e-12}
        for key, p in probabilities.items():
            assert got.get(key, 0) / 20000 == pytest.approx(p, abs=0.015)


def test_initialize_a_qubit_in_use_resets_it_first(exact: EstimatorV2) -> None:
    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    qc.initialize([0.6, 0.8j], 1)  # entangled: the reset mixes the other two
    qc.cx(1, 0)
    np.testing.assert_allclose(
        _evs(exact, qc, OBSERVABLES),
        _mixed(qc.decompose(reps=1), OBSERVABLES),  # reset + StatePreparation, exactly
        atol=1e-12,
    )


def test_prepare_state_as_a_gate_keeps_its_whole_unitary(exact: EstimatorV2) -> None:
    psi = _state(2, 8)
    fresh = QuantumCircuit(3)
    fresh.prepare_state(psi, [0, 2])
    fresh.cx(2, 1)
    used = QuantumCircuit(3)  # on qubits not in |0>: qiskit's definition, as the reference
    used.h([0, 1, 2])
    used.prepare_state(psi, [0, 2])
    used.prepare_state(psi, [1, 2]).inverse()
    used.cx(2, 1)
    for qc in (fresh, used):
        reference = StatevectorEstimator().run([(qc, OBSERVABLES)]).result()[0].data.evs
        np.testing.assert_allclose(_evs(exact, qc, OBSERVABLES), reference, atol=1e-10)


def test_an_eight_qubit_initialize_matches_the_reference(exact: EstimatorV2) -> None:
    psi = _state(8, 5)
    qc = QuantumCircuit(8)
    qc.initialize(psi)
    observables = [SparsePauliOp("XYZIIZYX"), SparsePauliOp("ZZZZZZZZ"), SparsePauliOp("IXIIIIII")]
    expected = [Statevector(psi).expectation_value(o).real for o in observables]
    np.testing.assert_allclose(_evs(exact, qc, observables), expected, atol=1e-9)


def test_initialize_in_a_vqe_loop_equals_the_reference(exact: EstimatorV2) -> None:
    algorithms = pytest.importorskip("qiskit_algorithms")
    from qiskit_algorithms.optimizers import SLSQP

    hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IX", -0.3), ("YY", 0.2)])
    ansatz = QuantumCircuit(2)
    ansatz.initialize(_state(2, 6), [0, 1])
    ansatz.compose(real_amplitudes(2, reps=1), inplace=True)
    x0 = np.linspace(0.1, 0.9, ansatz.num_parameters)
    ours, reference = (
        algorithms.VQE(e, ansatz, SLSQP(maxiter=40), initial_point=x0).compute_minimum_eigenvalue(
            hamiltonian
        )
        for e in (exact, StatevectorEstimator())
    )
    assert ours.eigenvalue == pytest.approx(reference.eigenvalue, abs=1e-9)
    assert ours.cost_function_evals == reference.cost_function_evals  # the same path
    # The same loop by hand: one job per parameter set, each equal to the reference.
    theta = Parameter("t")
    loop = QuantumCircuit(2)
    loop.initialize([0.6, 0.0, 0.0, 0.8], [0, 1])
    loop.ry(theta, 0)
    loop.cx(0, 1)
    for value in np.linspace(0, np.pi, 5):
        pub = (loop, hamiltonian, [value])
        want = StatevectorEstimator().run([pub]).result()[0].data.evs
        np.testing.assert_allclose(exact.run([pub]).result()[0].data.evs, want, atol=1e-12)


def test_bad_initialize_input_is_refused_and_the_session_goes_on(sv: object) -> None:
    def circuit(amplitudes: list[float] | None = None) -> QuantumCircuit:
        qc = QuantumCircuit(2)
        qc.initialize([0.6, 0.8], 0)
        qc.cx(0, 1)
        if amplitudes is not None:  # past qiskit's check at construction
            qc.data[0].operation.params = amplitudes
        return qc

    good, unnormalised, too_long = circuit(), circuit([0.6, 0.6]), circuit([0.6, 0.8, 0, 0])
    with Session(sv) as session:
        estimator = EstimatorV2(mode=session, options={"default_precision": 0})
        sampler = SamplerV2(mode=session)
        first = estimator.run([(good, SparsePauliOp("ZZ"))]).result()[0].data.evs
        with pytest.raises(IBMInputValueError, match=r"norm 0\.848.*not 1"):
            estimator.run([(unnormalised, SparsePauliOp("ZZ"))])
        with pytest.raises(IBMInputValueError, match="4 amplitudes for 1 qubit"):
            sampler.run([too_long.measure_all(inplace=False)])
        with pytest.raises(IBMBackendValueError, match=r"norm 0\.848"):
            sv.run(unnormalised.measure_all(inplace=False))
        again = estimator.run([(good, SparsePauliOp("ZZ"))]).result()[0].data.evs
        bits = sampler.run([good.measure_all(inplace=False)]).result()[0].data.meas
    assert first == again == pytest.approx(1.0)
    assert set(bits.get_counts()) == {"00", "11"}


@pytest.mark.filterwarnings("ignore:The EstimatorV2 class is deprecated:DeprecationWarning")
def test_ibm_runtimes_own_estimator_in_our_session(sv: object) -> None:
    from qiskit_ibm_runtime import EstimatorV2 as IBMEstimatorV2

    qc = QuantumCircuit(3)
    qc.h(0)
    qc.cx(0, 1)
    qc.initialize([0.6, 0.8j], 1)
    qc.cx(1, 2)
    qc.reset(0)
    qc.h(0)
    with Session(sv) as session:
        estimator = IBMEstimatorV2(mode=session)
        estimator.options.seed_estimator = 4
        result = estimator.run([(qc, OBSERVABLES)], precision=0.001).result()[0]
    exact = _mixed(qc.decompose(reps=1), OBSERVABLES)
    np.testing.assert_allclose(
        result.data.evs, np.random.default_rng(4).normal(exact, 0.001), atol=1e-12
    )
