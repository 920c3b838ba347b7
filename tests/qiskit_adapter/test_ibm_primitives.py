"""qiskit-ibm-runtime's own primitives inside our sessions: SamplerV2/EstimatorV2 and the
executor-based Sampler/Estimator/Executor, by ``mode=session`` and inside ``with Session``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.primitives import StatevectorEstimator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime import EstimatorV2 as IBMEstimatorV2  # noqa: E402
from qiskit_ibm_runtime import Executor, QuantumProgram  # noqa: E402
from qiskit_ibm_runtime import SamplerV2 as IBMSamplerV2  # noqa: E402
from qiskit_ibm_runtime import Session as IBMSession  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMRuntimeError  # noqa: E402
from qiskit_ibm_runtime.executor_estimator import Estimator as ExecutorEstimator  # noqa: E402
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    QiskitRuntimeService,
    RuntimeJob,
    SamplerV2,
    Session,
    VirtualClock,
)

# qiskit-ibm-runtime deprecates its SamplerV2/EstimatorV2 (0.50); using them is the point here.
pytestmark = [
    pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The EstimatorV2 class is deprecated:DeprecationWarning"),
]
CLOSED = "The session is closed."


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def sv(service: QiskitRuntimeService) -> Any:
    return service.backend("statevector")


def bell(measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    return qc


def test_ibm_sampler_and_estimator_in_our_session(sv: Any, service: QiskitRuntimeService) -> None:
    with Session(backend=sv) as session:
        sampler = IBMSamplerV2()  # joins the `with` session, as on IBM
        sampler.options.default_shots = 300
        sampler.options.environment.job_tags = ["ibm"]
        sampler.options.simulator.seed_simulator = 5
        estimator = IBMEstimatorV2(mode=session)
        job = sampler.run([bell()])
        assert isinstance(job, RuntimeJob)
        assert job.job_id() == session.session_id and job.tags == ["ibm"]
        counts = job.result()[0].data.meas.get_counts()
        assert sum(counts.values()) == 300 and set(counts) == {"00", "11"}
        assert sampler.run([bell()]).result()[0].data.meas.get_counts() == counts  # seeded
        obs = [SparsePauliOp("ZZ"), SparsePauliOp("XI")]
        result = estimator.run([(bell(False), obs)], precision=0.01).result()[0]
        assert result.metadata["target_precision"] == 0.01
        np.testing.assert_allclose(result.data.evs, [1.0, 0.0], atol=0.06)
        assert session.status() == "In progress, accepting new jobs"
    assert [j.job_id() for j in service.jobs(job_tags=["ibm"])][-1] == session.session_id
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([bell()])
    assert err.value.message == CLOSED
    with pytest.raises(IBMRuntimeError) as err:
        estimator.run([(bell(False), "ZZ")])
    assert err.value.message == CLOSED


def test_ibm_primitives_check_isa_circuits_on_emulated_qpus(service: QiskitRuntimeService) -> None:
    falcon = service.backend("emulated_falcon_27")
    with Batch(backend=falcon) as batch:
        sampler = IBMSamplerV2(mode=batch)
        with pytest.raises(Exception, match="not supported by the target system"):
            sampler.run([bell()])
        isa = generate_preset_pass_manager(backend=falcon, optimization_level=1).run(bell())
        jobs = [sampler.run([isa], shots=50) for _ in range(3)]
    assert all(j.session_id == batch.session_id for j in jobs)
    assert all(sum(j.result()[0].data.meas.get_counts().values()) == 50 for j in jobs)
    assert batch.status() == "Closed" and batch.details()["mode"] == "batch"


def test_executor_sampler_and_estimator_in_our_session(
    sv: Any, service: QiskitRuntimeService
) -> None:
    with Session(backend=sv) as session:
        sampler = ExecutorSampler()
        sampler.options.environment.job_tags = ["exec"]
        sampler.options.simulator.seed_simulator = 3
        job = sampler.run([bell()], shots=200)
        assert isinstance(job, RuntimeJob) and job.primitive_id == "executor"
        assert job.session_id == session.session_id and job.tags == ["exec"]
        counts = job.result()[0].data.meas.get_counts()
        assert sum(counts.values()) == 200 and set(counts) == {"00", "11"}
        again = sampler.run([bell()], shots=200).result()[0].data.meas.get_counts()
        assert again == counts  # seeded
        qc = QuantumCircuit(2)
        qc.ry(0.7, 0)
        qc.cx(0, 1)
        observables = [SparsePauliOp("ZZ"), SparsePauliOp("ZI"), SparsePauliOp("XX")]
        estimator = ExecutorEstimator(mode=session)
        evs = estimator.run([(qc, observables)]).result()[0].data.evs
        ref = StatevectorEstimator().run([(qc, observables)]).result()[0].data.evs
        np.testing.assert_allclose(evs, ref, atol=0.1)
    # Unlike qiskit-ibm-runtime's local mode, a closed session refuses executor jobs too.
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([bell()], shots=10)
    assert err.value.message == CLOSED
    assert {j.primitive_id for j in service.jobs(session_id=session.session_id)} == {"executor"}


def test_executor_with_a_quantum_program(sv: Any) -> None:
    theta = QuantumCircuit(1)
    from qiskit.circuit import Parameter

    p = Parameter("p")
    theta.rx(p, 0)
    theta.measure_all()
    program = QuantumProgram(shots=20)
    program.append_circuit_item(theta, circuit_arguments=np.array([[0.0], [np.pi]]))
    with Batch(backend=sv) as batch:
        job = Executor(mode=batch).run(program)
    result = job.result()
    bits = result[0]["meas"]
    assert bits.shape == (2, 20, 1) and not bits[0].any() and bits[1].all()
    assert job.session_id == batch.session_id


def test_qiskit_ibm_runtime_session_around_our_backend_is_no_session(
    sv: Any, caplog: pytest.LogCaptureFixture
) -> None:
    """qiskit-ibm-runtime's own Session over a non-IBMBackend is its local no-op session."""
    session = IBMSession(backend=sv)
    assert session.session_id is None and session.status() is None
    with session, caplog.at_level(logging.WARNING):
        job = SamplerV2().run([bell()], shots=10)  # ours: job mode, with a warning
    assert "runs in job mode" in caplog.text
    assert job.session_id is None and job.result()[0].data.meas.num_shots == 10
