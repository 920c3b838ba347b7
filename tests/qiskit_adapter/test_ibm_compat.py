"""Unchanged ``from qiskit_ibm_runtime import Session, SamplerV2`` code on IBMCompatibleService."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime import Batch, IBMBackend, QiskitRuntimeService, Session  # noqa: E402
from qiskit_ibm_runtime import EstimatorV2 as Estimator  # noqa: E402
from qiskit_ibm_runtime import SamplerV2 as Sampler  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMBackendError,
    IBMInputValueError,
    IBMRuntimeError,
)
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler  # noqa: E402

from qsession_provider.qiskit import VirtualClock  # noqa: E402
from qsession_provider.qiskit.ibm_compat import IBMCompatibleService  # noqa: E402

pytestmark = [
    pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning"),
    pytest.mark.filterwarnings("ignore:The EstimatorV2 class is deprecated:DeprecationWarning"),
]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock(auto_advance=False, stall_timeout=10)


@pytest.fixture
def service(tmp_path: Path, clock: VirtualClock) -> Iterator[IBMCompatibleService]:
    svc = IBMCompatibleService(channel="local", store=tmp_path / "s.sqlite3", clock=clock)
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def isa_bell(backend: Any, measure: bool = True) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    return generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)


def test_it_is_the_ibm_service_with_ibm_backends(service: IBMCompatibleService) -> None:
    assert isinstance(service, QiskitRuntimeService) and not service.is_local
    backend = service.least_busy(operational=True, simulator=False)
    assert isinstance(backend, IBMBackend) and backend.name == "emulated_eagle_127"
    assert service.backend("emulated_eagle_127") is backend
    assert backend.configuration().simulator is False and backend.num_qubits == 127
    assert [b.name for b in service.backends(simulator=True)] == ["statevector"]
    with pytest.raises(IBMBackendError, match="backend.run"):
        backend.run(QuantumCircuit(1))


def test_unchanged_session_code_gets_a_real_session(
    service: IBMCompatibleService, clock: VirtualClock
) -> None:
    backend = service.backend("emulated_falcon_27")
    isa = isa_bell(backend)
    with Session(backend=backend, max_time="25m") as session:
        assert session.session_id is not None and session.status() == "Pending"
        assert session.details()["max_time"] == 1500
        sampler = Sampler()
        first, second = sampler.run([isa], shots=50), sampler.run([isa], shots=50)
        clock.advance(0)
        assert first.job_id() == session.session_id  # the root job
        assert session.status() == "In progress, accepting new jobs"
    assert session.status() == "In progress, not accepting new jobs"
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([isa])
    assert err.value.message == "The session is closed."
    clock.advance("1m")
    assert session.status() == "Closed" and second.status() == "DONE"
    assert sum(first.result()[0].data.meas.get_counts().values()) == 50
    assert [j.job_id() for j in service.jobs(session_id=session.session_id)] == [
        second.job_id(),
        first.job_id(),
    ]


def test_runtime_side_closure_and_from_id(
    service: IBMCompatibleService, clock: VirtualClock
) -> None:
    backend = service.backend("emulated_falcon_27")
    session = Session(backend=backend, max_time=60)
    estimator = Estimator(mode=session)
    estimator.run(
        [
            (
                isa_bell(backend, False),
                SparsePauliOp("ZZ").apply_layout(isa_bell(backend, False).layout),
            )
        ]
    )
    clock.advance("2m")  # past max_time: closed by the runtime, not by the client
    assert session.status() == "Closed"
    with pytest.raises(IBMRuntimeError, match="Failed to run program: The session is closed"):
        estimator.run([(isa_bell(backend, False), "ZZ" + "I" * 25)])
    again = Session.from_id(session.session_id, service)
    assert again.status() == "Closed" and again.details()["mode"] == "dedicated"
    with pytest.raises(IBMInputValueError, match="has execution mode dedicated instead of batch"):
        Batch.from_id(session.session_id, service)
    with pytest.raises(IBMInputValueError, match="Session not found"):
        Session.from_id("no-such-session", service)
    batch = Batch(backend=backend)
    assert batch.details()["mode"] == "batch"


def test_simulators_get_no_session_and_executor_primitives_run(
    service: IBMCompatibleService, clock: VirtualClock
) -> None:
    sv = service.backend("statevector")
    with Session(backend=sv) as session:  # IBM creates no session on simulators
        assert session.session_id is None
        job = ExecutorSampler().run([isa_bell(sv)], shots=20)
        clock.advance(0)
        assert job.primitive_id == "executor" and job.session_id is None
        assert sum(job.result()[0].data.meas.get_counts().values()) == 20
    falcon = service.backend("emulated_falcon_27")
    with Batch(backend=falcon) as batch:
        job = ExecutorSampler().run([isa_bell(falcon)], shots=20)
        clock.advance("10s")
        assert job.session_id == batch.session_id
        assert job.result()[0].data.meas.num_shots == 20
