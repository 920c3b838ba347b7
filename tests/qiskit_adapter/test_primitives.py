"""SamplerV2 / EstimatorV2: PUB semantics, options, modes, errors, agreement with Statevector*."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister  # noqa: E402
from qiskit.circuit import Parameter, ParameterVector  # noqa: E402
from qiskit.circuit.library import real_amplitudes  # noqa: E402
from qiskit.primitives import (  # noqa: E402
    BaseEstimatorV2,
    BaseSamplerV2,
    StatevectorEstimator,
    StatevectorSampler,
)
from qiskit.providers.basic_provider import BasicSimulator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMInputValueError,
    RuntimeJobMaxTimeoutError,
)
from qiskit_ibm_runtime.options import SamplerOptions  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    Estimator,
    EstimatorV2,
    QiskitRuntimeService,
    Sampler,
    SamplerV2,
    Session,
    VirtualClock,
)


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def sv(service: QiskitRuntimeService) -> object:
    return service.backend("statevector")


def ghz(n: int = 3) -> QuantumCircuit:
    qc = QuantumCircuit(n)
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    return qc


def test_aliases_and_interfaces(sv: object) -> None:
    assert Sampler is SamplerV2 and Estimator is EstimatorV2
    assert isinstance(SamplerV2(mode=sv), BaseSamplerV2)
    assert isinstance(EstimatorV2(mode=sv), BaseEstimatorV2)


def test_sampler_registers_shapes_metadata(sv: object) -> None:
    alpha, beta = ClassicalRegister(2, "alpha"), ClassicalRegister(1, "beta")
    qc = QuantumCircuit(QuantumRegister(3), alpha, beta, metadata={"name": "mine"})
    theta = Parameter("θ")
    qc.rx(theta, 0)
    qc.x(2)
    qc.measure([0, 1], alpha)
    qc.measure(2, beta)
    values = np.array([[0.0], [np.pi]] * 3).reshape(3, 2, 1)
    result = SamplerV2(mode=sv).run([(qc, values, 50), (qc, [np.pi])], shots=20).result()
    assert result.metadata.keys() == {"version", "execution"} and result.metadata["version"] == 2
    first, second = result
    assert first.data.shape == (3, 2) and first.data.alpha.shape == (3, 2)
    assert first.data.alpha.num_shots == 50 and first.data.alpha.num_bits == 2
    assert first.data.alpha.get_counts((0, 0)) == {"00": 50}
    assert first.data.alpha.get_counts((0, 1)) == {"01": 50}
    assert first.data.beta.get_counts() == {"1": 300}
    assert first.metadata == {"shots": 50, "circuit_metadata": {"name": "mine"}}
    assert second.data.shape == () and second.data.alpha.num_shots == 20
    assert second.join_data().get_counts() == {"101": 20}


def test_sampler_agrees_statistically_with_statevector_sampler(sv: object) -> None:
    qc = real_amplitudes(3, reps=1)
    qc.measure_all()
    params = np.random.default_rng(1).uniform(0, np.pi, qc.num_parameters)
    shots = 20_000
    ours = SamplerV2(mode=sv).run([(qc, params)], shots=shots).result()[0].data.meas
    ref = StatevectorSampler(seed=3).run([(qc, params)], shots=shots).result()[0].data.meas
    a, b = ours.get_counts(), ref.get_counts()
    for key in set(a) | set(b):
        pa, pb = a.get(key, 0) / shots, b.get(key, 0) / shots
        assert abs(pa - pb) < 5 * np.sqrt(max(pa, pb, 1e-3) / shots) + 1e-3, key


def test_default_shots_options_and_seeds(sv: object) -> None:
    qc = ghz(2)
    qc.measure_all()
    assert SamplerV2(mode=sv).run([qc]).result()[0].data.meas.num_shots == 4096
    sampler = SamplerV2(mode=sv, options={"default_shots": 123})
    assert sampler.run([qc]).result()[0].data.meas.num_shots == 123
    sampler.options.default_shots = 77
    assert sampler.run([qc]).result()[0].data.meas.num_shots == 77
    assert sampler.run([qc], shots=5).result()[0].data.meas.num_shots == 5
    assert sampler.run([(qc, None, 9)], shots=5).result()[0].data.meas.num_shots == 9
    options = SamplerOptions(default_shots=11)
    copy = SamplerV2(mode=sv, options=options)
    options.default_shots = 12
    assert copy.options.default_shots == 11  # options objects are copied, as IBM does

    seeded = SamplerV2(mode=sv, options={"simulator": {"seed_simulator": 42}})
    a = seeded.run([qc], shots=200).result()[0].data.meas.get_bitstrings()
    b = seeded.run([qc], shots=200).result()[0].data.meas.get_bitstrings()
    seeded.options.simulator.seed_simulator = 43
    c = seeded.run([qc], shots=200).result()[0].data.meas.get_bitstrings()
    assert a == b and a != c
    with pytest.raises(TypeError, match="Invalid 'options' type"):
        SamplerV2(mode=sv, options=3)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        SamplerV2(mode=sv, options={"default_shots": "many"})


def test_estimator_broadcasting_matches_statevector_estimator(sv: object) -> None:
    qc = real_amplitudes(2, reps=2)
    rng = np.random.default_rng(7)
    values = rng.uniform(-np.pi, np.pi, (3, 1, qc.num_parameters))
    observables = [[SparsePauliOp(["ZZ", "XI"], [1.0, -0.5]), SparsePauliOp("YY")]]  # (1, 2)
    pub = (qc, observables, values)
    ours = EstimatorV2(mode=sv).run([pub, (ghz(2), "ZZ")], precision=0).result()
    ref = StatevectorEstimator().run([pub, (ghz(2), "ZZ")]).result()
    assert ours[0].data.evs.shape == (3, 2)
    np.testing.assert_allclose(ours[0].data.evs, ref[0].data.evs, atol=1e-10)
    np.testing.assert_array_equal(ours[0].data.stds, np.zeros((3, 2)))
    assert float(ours[1].data.evs) == pytest.approx(1.0)
    assert ours[0].metadata == {"target_precision": 0.0, "circuit_metadata": {}}
    assert ours.metadata["version"] == 2 and "execution_spans" in ours.metadata["execution"]


def test_estimator_precision_noise_seed_and_options(sv: object) -> None:
    pub = (ghz(2), [SparsePauliOp("ZZ")] * 2000)
    estimator = EstimatorV2(mode=sv, options={"seed_estimator": 5})
    res = estimator.run([pub]).result()[0]
    assert res.metadata["target_precision"] == 0.015625
    np.testing.assert_allclose(res.data.stds, 0.015625)
    assert np.std(res.data.evs) == pytest.approx(0.015625, rel=0.1)
    assert np.mean(res.data.evs) == pytest.approx(1.0, abs=0.003)
    again = estimator.run([pub]).result()[0]
    np.testing.assert_array_equal(res.data.evs, again.data.evs)
    estimator.options.default_precision = 0.1
    assert estimator.run([pub]).result()[0].metadata["target_precision"] == 0.1
    estimator = EstimatorV2(mode=sv, options={"default_shots": 400, "default_precision": 0.3})
    assert estimator.run([pub]).result()[0].metadata["target_precision"] == pytest.approx(0.05)
    assert estimator.run([(ghz(2), "ZZ", None, 0.2)]).result()[0].data.stds == 0.2


def test_modes(service: QiskitRuntimeService, sv: object, caplog: pytest.LogCaptureFixture) -> None:
    qc = ghz(2)
    qc.measure_all()
    assert SamplerV2(mode=sv).run([qc], shots=5).session_id is None  # job mode
    with pytest.raises(ValueError, match="A backend or session must be specified"):
        SamplerV2()
    with pytest.raises(ValueError, match="mode must be"):
        SamplerV2(mode=BasicSimulator())
    other = service.backend("emulated_falcon_27")
    with Session(backend=sv) as session:
        assert SamplerV2().mode is session
        with caplog.at_level(logging.WARNING):
            assert SamplerV2(mode=sv).mode is session
        assert "session context manager is open" in caplog.text
        with pytest.raises(ValueError, match="different from the session backend"):
            SamplerV2(mode=other)
        job = EstimatorV2(mode=session).run([(ghz(2), "ZZ")])
        assert job.session_id == session.session_id
        assert EstimatorV2(mode=session).backend() is sv


def test_tags_and_max_execution_time(service: QiskitRuntimeService) -> None:
    falcon = service.backend("emulated_falcon_27")
    qc = ghz(2)
    qc.measure_all()
    isa = generate_preset_pass_manager(backend=falcon, optimization_level=0).run(qc)
    sampler = SamplerV2(mode=falcon)
    sampler.options.environment.job_tags = ["exp1", "run2"]
    job = sampler.run([isa], shots=10)
    assert job.tags == ["exp1", "run2"]
    assert [j.job_id() for j in service.jobs(job_tags=["exp1"])] == [job.job_id()]
    sampler.options.max_execution_time = 2
    sampler.run([isa], shots=10).result()  # ~1.05 s: fine
    slow = sampler.run([isa], shots=8000)  # 1 + 0.05 + 2 s > 2 s
    with pytest.raises(RuntimeJobMaxTimeoutError, match="ran longer than maximum execution"):
        slow.result()
    assert slow.status() == "ERROR"
    sampler.options.environment.job_tags = ["ok", 3]  # type: ignore[list-item]
    with pytest.raises(IBMInputValueError, match="job_tags needs to be a list of strings"):
        sampler.run([isa])


def test_bad_pubs_change_nothing(service: QiskitRuntimeService, sv: object) -> None:
    falcon = service.backend("emulated_falcon_27")
    session = Session(backend=sv)
    sampler, estimator = SamplerV2(mode=session), EstimatorV2(mode=session)
    bad_register = QuantumCircuit(QuantumRegister(1), ClassicalRegister(1, "my reg"))
    theta = Parameter("θ")
    param = QuantumCircuit(1)
    param.rx(theta, 0)
    param.measure_all()
    two = QuantumCircuit(2)
    two.rx(Parameter("a"), 0)
    two.rx(Parameter("b"), 1)
    two.measure_all()
    cases = [
        (lambda: sampler.run([param]), "parameter"),
        (lambda: sampler.run([(two, [1.0, 2.0, 3.0])]), "pub 0"),
        (lambda: sampler.run([bad_register]), "valid identifiers"),
        (lambda: sampler.run([]), "No pubs"),
        (lambda: sampler.run([param], shots=-1), "shots must be positive"),
        (lambda: estimator.run([(ghz(2), "ZZZ")]), "pub 0"),
        (lambda: estimator.run([(ghz(2), "ZZ")], precision=-1), "non-negative"),
        (lambda: SamplerV2(mode=falcon).run([(param, [0.5])]), "not supported by the target"),
    ]
    for call, message in cases:
        with pytest.raises(IBMInputValueError, match=message):
            call()
    assert service.jobs(limit=None) == []
    assert session.status() == "Pending"  # still open and usable
    with pytest.warns(UserWarning, match="no output classical registers"):
        empty = sampler.run([ghz(2)], shots=3)  # accepted, as by IBM and qiskit: empty data
    assert empty.job_id() == session.session_id and list(empty.result()[0].data) == []
    good = SamplerV2(mode=session).run([(param, [0.0])], shots=5)
    assert good.result()[0].data.meas.get_counts() == {"0": 5}


def test_primitives_from_threads_share_one_session(sv: object) -> None:
    theta = ParameterVector("θ", 2)
    qc = QuantumCircuit(2)
    qc.ry(theta[0], 0)
    qc.ry(theta[1], 1)
    measured = qc.measure_all(inplace=False)

    def work(sampler: SamplerV2, estimator: EstimatorV2, seed: int) -> list[str]:
        ids = []
        for k in range(4):
            x = np.array([seed, k], dtype=float)
            ev = estimator.run([(qc, "ZI", x)], precision=0).result()[0].data.evs
            assert float(ev) == pytest.approx(np.cos(x[1]))
            job = sampler.run([(measured, x)], shots=10)
            assert job.result()[0].data.meas.num_shots == 10
            ids.append(job.job_id())
        return ids

    with Session(backend=sv) as session, ThreadPoolExecutor(6) as pool:
        # As with qiskit-ibm-runtime, the `with` session is a context variable: primitives are
        # created in this thread (worker threads do not inherit it) and used from the pool.
        futures = [pool.submit(work, SamplerV2(), EstimatorV2(), seed) for seed in range(6)]
        ids = [i for future in futures for i in future.result()]
        with pytest.raises(ValueError, match="A backend or session must be specified"):
            pool.submit(SamplerV2).result()
    assert len(set(ids)) == 24
    assert session.details()["state"] == "closed"
    jobs = session.service.jobs(session_id=session.session_id, limit=None)
    assert len(jobs) == 48 and all(j.status() == "DONE" for j in jobs)
