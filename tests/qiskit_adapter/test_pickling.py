"""Pickling the Qiskit face: service, backends, primitives, sessions and jobs reconnect.

Round trips in this process; a pickled ``SamplerV2`` and backend running jobs in a
``multiprocessing`` worker (spawn: a fresh interpreter) on a store file, the jobs then read
back by id in the parent; session-mode primitives in a worker on a store file refused at
``run()`` with the reason; everything on a real ``qsession serve``, where a session travels.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMRuntimeError  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(240)

server = pytest.fixture(scope="module")(serve_module)
SEEDED = {"default_shots": 20, "simulator": {"seed_simulator": 11}}


def _circuit() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def _counts(job: Any) -> dict[str, int]:
    return job.result()[0].data.meas.get_counts()


def _round_trip(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    service = QiskitRuntimeService(store=str(tmp_path / "store.sqlite3"))
    yield service
    service.runtime.shutdown()


@pytest.fixture(scope="module")
def worker() -> Iterator[Any]:
    """One spawned worker (a fresh interpreter) for the module's tests."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool


# -- in this process ------------------------------------------------------------------------------
def test_service_and_backend_round_trip_onto_the_same_runtime(
    service: QiskitRuntimeService,
) -> None:
    backend = service.backend("statevector", instance="team")
    backend.set_options(shots=17, seed_simulator=4)
    copy = _round_trip(backend)
    assert copy is not backend and copy.runtime is service.runtime
    assert copy.name == "statevector" and copy.instance == "team"
    assert copy.options.shots == 17 and copy.options.seed_simulator == 4
    assert copy.service == service and copy.service.active_instance() == service.active_instance()
    assert _round_trip(service) == service
    assert (
        copy.run(_circuit()).result().get_counts() == backend.run(_circuit()).result().get_counts()
    )


def test_primitives_keep_their_mode_and_options(service: QiskitRuntimeService) -> None:
    backend = service.backend("statevector")
    sampler = SamplerV2(mode=backend, options=SEEDED)
    copy = _round_trip(sampler)
    assert copy.mode is None and copy.backend().runtime is service.runtime
    assert copy.default_shots == 20
    assert _counts(copy.run([_circuit()])) == _counts(sampler.run([_circuit()]))
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    estimator = _round_trip(EstimatorV2(mode=backend, options={"default_precision": 0}))
    assert estimator.default_precision == 0
    evs = estimator.run([(qc, [SparsePauliOp(p) for p in ("ZZ", "XX", "ZI")])]).result()[0].data.evs
    assert evs.tolist() == pytest.approx([1.0, 1.0, 0.0], abs=1e-12)


def test_a_session_reattaches_by_id_without_opening_another(
    service: QiskitRuntimeService,
) -> None:
    backend = service.backend("statevector")
    with Session(backend, max_time="20m") as session:
        first = SamplerV2(mode=session).run([_circuit()], shots=5)
        sampler = _round_trip(SamplerV2(mode=session))
        assert isinstance(sampler.mode, Session) and sampler.mode is not session
        assert sampler.mode.session_id == session.session_id and sampler.mode._max_time == 1200
        second = sampler.run([_circuit()], shots=5)  # joins the same session, not the root
        assert second.session_id == session.session_id and second.job_id() != first.job_id()
    assert [s.id for s in service.runtime.sessions()] == [session.session_id]
    closed = _round_trip(session)
    with pytest.raises(IBMRuntimeError, match="The session is closed"):
        SamplerV2(mode=closed).run([_circuit()])
    batch = _round_trip(Batch(backend))
    assert isinstance(batch, Batch) and batch.details()["mode"] == "batch"
    batch.close()


def test_jobs_are_read_back_by_id(service: QiskitRuntimeService) -> None:
    backend = service.backend("statevector")
    job = SamplerV2(mode=backend, options=SEEDED).run([_circuit()])
    copy = _round_trip(job)
    assert copy.job_id() == job.job_id() and copy.primitive_id == "sampler"
    assert _counts(copy) == _counts(job) and sum(_counts(copy).values()) == 20
    run_job = backend.run(_circuit(), shots=9, seed_simulator=2)
    run_copy = _round_trip(run_job)
    assert run_copy.job_id() == run_job.job_id()
    assert run_copy.result().get_counts() == run_job.result().get_counts()


# -- what cannot travel ---------------------------------------------------------------------------
def test_an_in_memory_store_is_refused_and_everything_goes_on() -> None:
    service = QiskitRuntimeService(store=":memory:")
    backend = service.backend("statevector")
    session = Session(backend)
    job = SamplerV2(mode=session).run([_circuit()], shots=4)
    for obj in (service, backend, SamplerV2(mode=backend), session, job):
        with pytest.raises(TypeError, match=r"in-memory store \(':memory:'\)") as info:
            pickle.dumps(obj)
        assert isinstance(info.value, pickle.PicklingError)
        assert f"{type(obj).__name__} cannot be pickled" in str(info.value)
    assert sum(_counts(SamplerV2(mode=session).run([_circuit()], shots=4)).values()) == 4
    assert sum(_counts(job).values()) == 4
    session.close()


def test_a_private_virtual_clock_is_refused(tmp_path: Path) -> None:
    timeline = QiskitRuntimeService(clock=VirtualClock())  # its own in-memory timeline
    with pytest.raises(TypeError, match=r"':memory:'\) on a virtual clock"):
        pickle.dumps(SamplerV2(mode=timeline.backend("statevector")))
    service = QiskitRuntimeService(store=str(tmp_path / "v.sqlite3"), clock=VirtualClock())
    try:
        with pytest.raises(TypeError, match="runs on a virtual clock, a timeline of this"):
            pickle.dumps(service.backend("statevector"))
    finally:
        service.runtime.shutdown()


# -- in a spawned worker --------------------------------------------------------------------------
def _sample(sampler: SamplerV2) -> tuple[Any, dict[str, int]]:
    job = sampler.run([_circuit()])
    return job, _counts(job)


def _run_on(backend: Any) -> tuple[str, Any]:
    job = backend.run(_circuit())
    job.result()
    return job.job_id(), job


def _sample_in_session(sampler: SamplerV2) -> str:
    assert sampler.mode.details()["id"] == sampler.mode.session_id  # reading works anywhere
    try:
        sampler.run([_circuit()])
    except IBMRuntimeError as exc:
        return str(exc)
    return "submitted"


def test_a_sampler_and_a_backend_run_in_a_spawned_worker(
    service: QiskitRuntimeService, worker: Any
) -> None:
    backend = service.backend("statevector")
    backend.set_options(shots=33, seed_simulator=8)
    sampler = SamplerV2(mode=backend, options=SEEDED)
    job, counts = worker.apply(_sample, (sampler,))
    assert counts == _counts(sampler.run([_circuit()]))  # the options travelled
    by_id = service.job(job.job_id())
    assert _counts(by_id) == counts and by_id.status() == "DONE"
    job_id, run_job = worker.apply(_run_on, (backend,))
    assert run_job.job_id() == job_id
    assert service.runtime.job(job_id).status.value == "DONE"
    assert run_job.result().get_counts() == backend.run(_circuit()).result().get_counts()
    assert sum(run_job.result().get_counts().values()) == 33


def test_a_session_or_batch_on_a_store_file_refuses_jobs_from_another_process(
    service: QiskitRuntimeService, worker: Any
) -> None:
    backend = service.backend("statevector")
    for kind in (Session, Batch):  # one after the other: a session holds its device
        with kind(backend) as mode:
            answer = worker.apply(_sample_in_session, (SamplerV2(mode=mode),))
            assert f"session {mode.session_id} belongs to another process" in answer
            # the session, and this process's jobs in it, are untouched
            assert sum(_counts(SamplerV2(mode=mode).run([_circuit()], shots=3)).values()) == 3
            assert mode.status() != "Closed"
    job_ids = [j.job_id() for j in service.jobs(limit=None)]
    assert len(job_ids) == 2


# -- on a server ----------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def remote(server: Any) -> QiskitRuntimeService:
    return QiskitRuntimeService(url=server.url, token=server.token("qiskit-pickler"))


def _feed_session(sampler: SamplerV2) -> tuple[str | None, dict[str, int]]:
    job = sampler.run([_circuit()], shots=6)
    return job.session_id, _counts(job)


def test_remote_handles_round_trip_and_a_session_is_fed_from_a_worker(
    remote: QiskitRuntimeService, worker: Any
) -> None:
    assert _round_trip(remote) == remote
    backend = remote.backend("statevector")
    assert _round_trip(backend).runtime is remote.runtime
    with Session(backend) as session:
        sampler = SamplerV2(mode=session, options=SEEDED)
        copy = _round_trip(sampler)
        assert copy.mode.session_id == session.session_id
        assert _counts(copy.run([_circuit()])) == _counts(sampler.run([_circuit()]))
        session_id, counts = worker.apply(_feed_session, (sampler,))
        assert session_id == session.session_id and sum(counts.values()) == 6
    jobs = remote.jobs(session_id=session.session_id, limit=None)
    assert len(jobs) == 3 and {j.status() for j in jobs} == {"DONE"}
