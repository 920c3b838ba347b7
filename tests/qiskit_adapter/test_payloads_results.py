"""Qiskit pubs → neutral payloads → simulator → Qiskit results, checked against Qiskit's own."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit")
pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import CircuitInstruction, Clbit, Parameter, ParameterVector  # noqa: E402
from qiskit.circuit.library import RXGate, efficient_su2  # noqa: E402
from qiskit.primitives import (  # noqa: E402
    BackendEstimatorV2,
    BackendSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.primitives.containers import (  # noqa: E402
    BindingsArray,
    BitArray,
    EstimatorPub,
    SamplerPub,
)
from qiskit.providers import BackendV2, Options  # noqa: E402
from qiskit.providers.basic_provider import BasicSimulator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.result import Result  # noqa: E402
from qiskit.transpiler import Target  # noqa: E402

from qsession_provider.errors import InputError, UnboundParameterError  # noqa: E402
from qsession_provider.qiskit._payloads import (  # noqa: E402
    estimator_payload,
    run_payload,
    sampler_payload,
)
from qsession_provider.qiskit._results import (  # noqa: E402
    estimator_result,
    pack_bits,
    run_result,
    sampler_result,
)
from qsession_provider.qiskit._translations import TranslationCache  # noqa: E402
from qsession_provider.sim import StatevectorSimulator  # noqa: E402
from qsession_provider.sim.execute import execute  # noqa: E402

SIM = StatevectorSimulator()


@pytest.fixture
def cache() -> TranslationCache:
    return TranslationCache()


def run_sampler(pubs: list[Any], shots: int, cache: TranslationCache, seed: int = 7) -> Any:
    coerced = [SamplerPub.coerce(p, shots) for p in pubs]
    payload = sampler_payload(coerced, seed=seed, cache=cache)
    return sampler_result(execute("sampler", payload, SIM), coerced, metadata={"job": "x"})


def run_estimator(pubs: list[Any], precision: float, cache: TranslationCache, seed: int = 7) -> Any:
    coerced = [EstimatorPub.coerce(p, precision) for p in pubs]
    payload = estimator_payload(coerced, seed=seed, cache=cache)
    return estimator_result(execute("estimator", payload, SIM), coerced, metadata={})


def run_circuits(
    circuits: list[QuantumCircuit], shots: int, memory: bool, cache: TranslationCache, seed: int = 7
) -> Result:
    payload = run_payload(circuits, shots=shots, memory=memory, seed=seed, cache=cache)
    return run_result(
        execute("run", payload, SIM),
        circuits,
        backend_name="qsession_statevector",
        backend_version="0.1",
        job_id="job-1",
        memory=memory,
        shots=shots,
        seed=seed,
        status="COMPLETED",
    )


def tvd(a: Mapping[str, int], b: Mapping[str, int]) -> float:
    """Total variation distance between two count dicts."""
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a.get(k, 0) / na - b.get(k, 0) / nb) for k in set(a) | set(b))


def deterministic_registers(empty: bool = True) -> QuantumCircuit:
    """Registers declared out of alphabetical order, one of 10 bits, one empty."""
    beta, alpha, wide = (
        ClassicalRegister(1, "beta"),
        ClassicalRegister(2, "alpha"),
        ClassicalRegister(10, "wide"),
    )
    extra = [ClassicalRegister(0, "empty")] if empty else []
    qc = QuantumCircuit(QuantumRegister(4), beta, *extra, alpha, wide, metadata={"tag": 3})
    qc.x([0, 3])
    qc.measure(0, alpha[1])
    qc.measure(1, alpha[0])
    qc.measure(3, beta[0])
    for j in range(10):
        qc.measure(j % 4, wide[j])
    return qc


# -- sampler ---------------------------------------------------------------------------------


def test_pack_bits_matches_bitarray_from_bool_array() -> None:
    rng = np.random.default_rng(0)
    for n in (0, 1, 7, 8, 9, 17):
        bits = rng.integers(0, 2, size=(2, 3, 5, n), dtype=np.uint8)
        expected = BitArray.from_bool_array(bits.astype(bool), order="little")
        np.testing.assert_array_equal(pack_bits(bits), expected.array)


def test_sampler_deterministic_registers_equal_statevector_sampler(cache: TranslationCache) -> None:
    qc = deterministic_registers()
    ours = run_sampler([qc], 64, cache)
    ref = StatevectorSampler(seed=1).run([qc], shots=64).result()
    assert list(ours[0].data) == ["beta", "empty", "alpha", "wide"] == list(ref[0].data)
    for name in ("beta", "empty", "alpha", "wide"):
        mine, theirs = getattr(ours[0].data, name), getattr(ref[0].data, name)
        assert mine.num_bits == theirs.num_bits and mine.num_shots == 64
        np.testing.assert_array_equal(mine.array, theirs.array)
        if mine.num_bits:  # Qiskit's own get_counts fails on a 0-bit BitArray
            assert mine.get_counts() == theirs.get_counts()
    assert ours[0].data.alpha.get_counts() == {"10": 64}
    assert ours[0].join_data().get_counts() == ref[0].join_data().get_counts()
    assert ours[0].metadata == {"shots": 64, "circuit_metadata": {"tag": 3}}
    assert ours.metadata == {"version": 2, "job": "x"}


def test_sampler_broadcast_matches_statevector_sampler(cache: TranslationCache) -> None:
    theta = ParameterVector("θ", 2)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.rx(theta[1], 1)
    qc.cx(0, 1)
    qc.measure_all()
    values = np.random.default_rng(3).uniform(0, np.pi, (2, 3, 2))
    shots = 20_000
    ours = run_sampler([(qc, values)], shots, cache)
    ref = StatevectorSampler(seed=2).run([(qc, values)], shots=shots).result()
    meas = ours[0].data.meas
    assert ours[0].data.shape == meas.shape == (2, 3)
    assert meas.num_shots == shots and meas.num_bits == 2
    for index in np.ndindex(2, 3):
        assert tvd(meas.get_counts(index), ref[0].data.meas.get_counts(index)) < 0.03


def test_sampler_several_pubs_and_parameter_order(cache: TranslationCache) -> None:
    # 12 parameters: program.parameters sorts 'θ[10]' before 'θ[2]', Qiskit does not.
    theta = ParameterVector("θ", 12)
    qc = QuantumCircuit(3)
    for i, t in enumerate(theta):
        qc.ry(t, i % 3)
        qc.cx(i % 3, (i + 1) % 3)
    qc.measure_all()
    values = np.random.default_rng(5).uniform(0, np.pi, (4, 12))
    bell = QuantumCircuit(2, 2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure([0, 1], [0, 1])
    ours = run_sampler([(qc, values), bell], 20_000, cache)
    ref = StatevectorSampler(seed=4).run([(qc, values), bell], shots=20_000).result()
    for i in range(4):
        assert tvd(ours[0].data.meas.get_counts(i), ref[0].data.meas.get_counts(i)) < 0.04
    assert ours[1].data.c.shape == ()
    assert set(ours[1].data.c.get_counts()) == {"00", "11"}


def test_sampler_metadata_and_same_circuit_reused(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1, 1, metadata={"iteration": 1})
    qc.h(0)
    qc.measure(0, 0)
    first = sampler_payload([SamplerPub.coerce(qc, 10)], seed=1, cache=cache)
    second = sampler_payload([SamplerPub.coerce(qc, 10)], seed=1, cache=cache)
    assert first.pubs[0].circuit is second.pubs[0].circuit
    assert cache.circuits.stats().hits == 1 and cache.circuits.stats().misses == 1


# -- estimator -------------------------------------------------------------------------------


def test_estimator_broadcast_matches_statevector_estimator(cache: TranslationCache) -> None:
    qc = efficient_su2(3, reps=2)  # 18 parameters, named θ[0]..θ[17]
    values = np.random.default_rng(1).uniform(-np.pi, np.pi, (3, 1, qc.num_parameters))
    observables = [
        [
            SparsePauliOp.from_list([("ZZI", 1.0), ("XIX", 0.5), ("III", -0.25)]),
            "IYZ",
            {"XXX": 0.3, "ZIZ": -1.0},
            SparsePauliOp.from_list([("YYI", 2.0)]),
        ]
    ]
    ours = run_estimator([(qc, observables, values)], 0.0, cache)
    ref = StatevectorEstimator().run([(qc, observables, values)]).result()
    assert ours[0].data.shape == ours[0].data.evs.shape == (3, 4)
    np.testing.assert_allclose(ours[0].data.evs, ref[0].data.evs, atol=1e-10)
    np.testing.assert_array_equal(ours[0].data.stds, np.zeros((3, 4)))
    assert ours[0].metadata == ref[0].metadata == {"target_precision": 0.0, "circuit_metadata": {}}
    assert ours.metadata == {"version": 2}


def test_estimator_scalar_pub_and_precision(cache: TranslationCache) -> None:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    exact = run_estimator([(qc, "ZZ")], 0.0, cache)
    assert exact[0].data.evs.shape == () and float(exact[0].data.evs) == pytest.approx(1.0)
    noisy = run_estimator([(qc, ["ZZ"] * 200)], 0.01, cache, seed=3)
    assert np.all(noisy[0].data.stds == 0.01)
    assert abs(float(np.mean(noisy[0].data.evs)) - 1.0) < 0.005
    assert noisy[0].metadata["target_precision"] == 0.01


def test_estimator_observables_converted_once(cache: TranslationCache) -> None:
    qc = efficient_su2(2, reps=1)
    hamiltonian = SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5), ("IY", 0.25)])
    payloads = []
    for seed in range(3):
        values = np.random.default_rng(seed).uniform(0, 1, qc.num_parameters)
        pub = EstimatorPub.coerce((qc, hamiltonian, values), 0.0)
        payloads.append(estimator_payload([pub], seed=None, cache=cache))
    assert len(cache.observables) == 1
    first = payloads[0].pubs[0]
    assert all(p.pubs[0].observables[()] is first.observables[()] for p in payloads)
    assert all(p.pubs[0].circuit is first.circuit for p in payloads)


# -- backend.run -----------------------------------------------------------------------------


def run_cases() -> list[QuantumCircuit]:
    """Deterministic circuits whose clbit order is not register by register."""
    cases = [deterministic_registers()]
    a, b = ClassicalRegister(2, "a"), ClassicalRegister(1, "b")
    loose = QuantumCircuit(QuantumRegister(3), b, a, name="loose")
    loose.add_bits([Clbit()])
    loose.x([0, 2])
    loose.measure(0, a[1])
    loose.measure(1, b[0])
    loose.measure(2, 3)
    cases.append(loose)
    overlap = QuantumCircuit(2, 3, name="overlap")
    overlap.add_register(ClassicalRegister(name="x", bits=[overlap.clbits[2], overlap.clbits[0]]))
    overlap.x(1)
    overlap.measure([0, 1], [0, 2])
    cases.append(overlap)
    reverse = QuantumCircuit(3, name="reverse")
    bits = [Clbit() for _ in range(3)]
    reverse.add_bits(bits)
    reverse.add_register(ClassicalRegister(name="r", bits=bits[::-1]))
    reverse.x(0)
    reverse.measure([0, 1, 2], bits)
    cases.append(reverse)
    measured = QuantumCircuit(3, name="all")
    measured.x(1)
    measured.measure_all()
    cases.append(measured)
    empty = QuantumCircuit(1, name="nothing")
    empty.x(0)
    cases.append(empty)
    return cases


def test_run_counts_and_memory_equal_basic_simulator(cache: TranslationCache) -> None:
    circuits = run_cases()
    ours = run_circuits(circuits, 16, True, cache)
    ref = BasicSimulator().run(circuits, shots=16, memory=True, seed_simulator=7).result()
    assert ours.success and ours.job_id == "job-1" and ours.backend_name == "qsession_statevector"
    for i, circuit in enumerate(circuits):
        assert ours.get_counts(i) == ref.get_counts(i), circuit.name
        assert ours.get_memory(i) == ref.get_memory(i), circuit.name
        assert ours.results[i].data.counts == ref.results[i].data.counts, circuit.name
        assert ours.results[i].header == ref.results[i].header
        assert ours.results[i].shots == 16 and ours.results[i].meas_level == 2


def test_run_random_circuit_statistics_and_no_memory(cache: TranslationCache) -> None:
    qc = QuantumCircuit(3, 3)
    qc.h(0)
    qc.ry(0.7, 1)
    qc.cx(0, 2)
    qc.measure([2, 0, 1], [0, 1, 2])
    ours = run_circuits([qc], 20_000, False, cache)
    ref = BasicSimulator().run(qc, shots=20_000, seed_simulator=3).result()
    assert tvd(ours.get_counts(), ref.get_counts()) < 0.03
    assert not hasattr(ours.results[0].data, "memory")


class PipelineBackend(BackendV2):
    """A BackendV2 whose run goes through run_payload → execute → run_result."""

    def __init__(self) -> None:
        super().__init__(name="pipeline", backend_version="0.1")
        self._target = Target.from_configuration(
            ["x", "h", "s", "sdg", "rx", "ry", "rz", "cx", "measure"], num_qubits=4
        )
        self.cache = TranslationCache()

    @property
    def target(self) -> Target:
        return self._target

    @property
    def max_circuits(self) -> int:
        return 3  # force chunking

    @classmethod
    def _default_options(cls) -> Options:
        return Options(shots=1024, memory=False, seed_simulator=None)

    def run(self, run_input: Any, **options: Any) -> Any:
        opts = {**self.options.__dict__, **options}
        circuits = [run_input] if isinstance(run_input, QuantumCircuit) else list(run_input)
        result = run_circuits(circuits, opts["shots"], opts["memory"], self.cache, seed=None)

        class _Done:
            def result(self) -> Result:
                return result

        return _Done()


def test_backend_sampler_v2_reads_run_results() -> None:
    backend = PipelineBackend()
    theta = Parameter("t")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.measure_all()
    values = np.linspace(0, np.pi, 5)
    # BackendSamplerV2 itself cannot handle 0-bit registers (whatever the backend).
    fixed = deterministic_registers(empty=False)
    sampler = BackendSamplerV2(backend=backend, options={"default_shots": 8000})
    ours = sampler.run([(qc, values), fixed]).result()
    ref = StatevectorSampler(seed=3).run([(qc, values), fixed], shots=8000).result()
    for i in range(5):
        assert tvd(ours[0].data.meas.get_counts(i), ref[0].data.meas.get_counts(i)) < 0.04
    for name in ("beta", "alpha", "wide"):
        assert getattr(ours[1].data, name).get_counts() == getattr(ref[1].data, name).get_counts()


def test_backend_estimator_v2_reads_run_results() -> None:
    backend = PipelineBackend()
    qc = QuantumCircuit(2)
    qc.ry(0.4, 0)
    qc.rx(1.1, 1)
    qc.cx(0, 1)
    observables = [SparsePauliOp.from_list([("ZZ", 1.0), ("XI", 0.5)]), "YY", "IZ"]
    estimator = BackendEstimatorV2(backend=backend, options={"default_precision": 0.005})
    ours = estimator.run([(qc, observables)]).result()
    ref = StatevectorEstimator().run([(qc, observables)]).result()
    np.testing.assert_allclose(ours[0].data.evs, ref[0].data.evs, atol=0.03)


def test_cache_mutation_between_jobs_changes_results(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    first = run_sampler([qc], 50, cache)
    assert first[0].data.c.get_counts() == {"0": 50}
    qc.data.insert(0, CircuitInstruction(RXGate(np.pi), [qc.qubits[0]]))
    second = run_sampler([qc], 50, cache)
    assert second[0].data.c.get_counts() == {"1": 50}


# -- bad input -------------------------------------------------------------------------------


def test_run_unbound_parameters_named(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1, 1, name="ansatz")
    qc.rx(Parameter("phi"), 0)
    qc.measure(0, 0)
    ok = QuantumCircuit(1, 1)
    with pytest.raises(UnboundParameterError, match=r"circuit 1: circuit 'ansatz'.*\['phi'\]"):
        run_payload([ok, qc], shots=10, memory=False, seed=None, cache=cache)
    with pytest.raises(InputError, match="circuit 0: expected a QuantumCircuit"):
        run_payload(["x"], shots=10, memory=False, seed=None, cache=cache)  # type: ignore[list-item]
    with pytest.raises(InputError, match="shots"):
        run_payload(ok, shots=0, memory=False, seed=None, cache=cache)


def test_wrong_bindings_array(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1, 1)
    qc.rx(Parameter("a"), 0)
    qc.measure(0, 0)
    wrong = SamplerPub(qc, BindingsArray({"b": [0.1, 0.2]}), shots=10, validate=False)
    with pytest.raises(InputError, match=r"pub 0: .*no value for \['a'\]"):
        sampler_payload([wrong], seed=None, cache=cache)
    extra = SamplerPub(qc, BindingsArray({("a", "b"): [0.1, 0.2]}), shots=10, validate=False)
    with pytest.raises(InputError, match=r"bind \['a', 'b'\] but circuit .* \['a'\]"):
        sampler_payload([extra], seed=None, cache=cache)


def test_missing_shots_precision_measurements(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1)
    qc.h(0)
    with pytest.raises(InputError, match="shots are not set"):
        sampler_payload([SamplerPub(qc)], seed=None, cache=cache)
    # no measurements is allowed, as in Qiskit's samplers: the result has no registers
    payload = sampler_payload([SamplerPub(qc, shots=5)], seed=None, cache=cache)
    assert execute("sampler", payload, SIM)["pubs"][0]["registers"] == {}
    with pytest.raises(InputError, match="precision is not set"):
        estimator_payload([EstimatorPub.coerce((qc, "Z"))], seed=None, cache=cache)
    with pytest.raises(InputError, match="seed"):
        sampler_payload([SamplerPub(qc, shots=5)], seed=-1, cache=cache)


def test_result_mismatch_is_refused(cache: TranslationCache) -> None:
    qc = QuantumCircuit(1, 1)
    qc.measure(0, 0)
    pub = SamplerPub.coerce(qc, 4)
    result = execute("sampler", sampler_payload([pub], seed=1, cache=cache), SIM)
    with pytest.raises(InputError, match="1 entries for 2 inputs"):
        sampler_result(result, [pub, pub], metadata={})
    with pytest.raises(InputError, match="no register 'c'"):
        sampler_result({"pubs": [{"registers": {}, "shots": 4}]}, [pub], metadata={})
