"""The Qiskit face over a real ``qsession serve`` (a subprocess), and the same tests embedded.

Behaviour tests (sessions, batches, listings, errors) run twice: on an embedded runtime on
an auto-advancing ``VirtualClock``, and on a server started with ``--virtual-clock`` (the
same kind of clock), where an admin token moves time. Each remote test is a user of its
own, so listings see only its work. Then what only a server has: connecting by URL, token
and environment, another user's jobs, and a session opened in one process and fed from
another.
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import (  # noqa: E402
    IBMInputValueError,
    IBMNotAuthorizedError,
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobNotFound,
)

from qsession_provider.client.remote import RemoteRuntime, connect  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import Server, serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(180)

server = pytest.fixture(scope="module")(serve_module)
CLOSED = "The session is closed."
_USERS = itertools.count()


@dataclass
class Env:
    """A service and how to move its clock."""

    service: QiskitRuntimeService
    advance: Callable[[Any], object]
    remote: bool


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[RemoteRuntime]:
    runtime = connect(server.url, server.token("admin", "ops", admin=True))
    yield runtime
    runtime.shutdown()


def new_user(server: Server) -> str:
    name = f"user{next(_USERS)}"
    return server.token(name, f"inst-{name}")


@pytest.fixture(params=["embedded", "remote"])
def env(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Env]:
    if request.param == "embedded":
        clock = VirtualClock()
        service = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=clock)
        yield Env(service, clock.advance, remote=False)
        service.runtime.shutdown(wait=False, cancel_pending=True)
        return
    served: Server = request.getfixturevalue("server")
    admin: RemoteRuntime = request.getfixturevalue("admin")
    service = QiskitRuntimeService(url=served.url, token=new_user(served))
    yield Env(service, admin.clock.advance, remote=True)
    runtime = service.runtime  # leave the shared server idle for the next test
    for record in runtime.sessions():
        if not record.is_closed:
            runtime.cancel_session(record.id)
    for job in runtime.jobs(pending=True):
        job.cancel()
    runtime.shutdown()


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def isa_for(backend: Any, circuit: QuantumCircuit) -> QuantumCircuit:
    return generate_preset_pass_manager(backend=backend, optimization_level=0).run(circuit)


def long_pub(falcon: Any, executions: int = 2000) -> tuple[QuantumCircuit, np.ndarray, int]:
    """A pub that keeps the Falcon busy for about 1 + 0.05 * executions seconds."""
    theta = Parameter("θ")
    qc = QuantumCircuit(1)
    qc.rx(theta, 0)
    qc.measure_all()
    return isa_for(falcon, qc), np.linspace(0, 1, executions)[:, None], 1


# -- behaviour, embedded and remote -----------------------------------------------------------
def test_sampler_and_estimator_jobs(env: Env) -> None:
    backend = env.service.backend("statevector")
    job = SamplerV2(mode=backend).run([bell()], shots=64)
    counts = job.result()[0].data.meas.get_counts()
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 64
    assert job.status() == "DONE" and job.backend().name == "statevector"
    observable = SparsePauliOp("ZZ")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    est = EstimatorV2(mode=backend).run([(qc, observable)])
    assert est.result()[0].data.evs == pytest.approx(1.0, abs=0.1)
    found = env.service.job(job.job_id())
    assert found.job_id() == job.job_id() and found.result()[0].data.meas.num_shots == 64
    assert [j.job_id() for j in env.service.jobs()] == [est.job_id(), job.job_id()]
    assert [j.job_id() for j in env.service.jobs(program_id="estimator")] == [est.job_id()]
    assert env.service.usage()["usage_consumed_seconds"] == 0.0


def test_backend_run_counts(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    job = falcon.run(isa_for(falcon, bell()), shots=100, seed_simulator=5)
    counts = job.result().get_counts()
    assert sum(counts.values()) == 100 and set(counts) <= {"00", "11"}
    assert job.status().name == "DONE"


def test_session_lifecycle(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    isa = isa_for(falcon, bell())
    with Session(backend=falcon) as session:
        assert session.status() == "Pending"
        sampler = SamplerV2()
        job1 = sampler.run([isa], shots=100)
        job2 = sampler.run([isa], shots=100)
        assert job1.job_id() == session.session_id  # the root job shares the session id
        assert job1.session_id == job2.session_id == session.session_id
        env.advance(0)
        assert session.status() == "In progress, accepting new jobs"
    assert session.status() == "In progress, not accepting new jobs"
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([isa])
    assert err.value.message == CLOSED
    env.advance("1m")
    assert job1.status() == job2.status() == "DONE"
    assert sum(job2.result()[0].data.meas.get_counts().values()) == 100
    assert session.status() == "Closed"
    states = [t["status"] for t in session.details()["timestamps"]]
    assert states == ["open", "active", "pending_closed", "closed"]
    ids = {j.job_id() for j in env.service.jobs(session_id=session.session_id)}
    assert ids == {job1.job_id(), job2.job_id()}


def test_max_time_closes_the_session_and_fails_queued_jobs(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    isa = isa_for(falcon, bell())
    session = Session(backend=falcon, max_time="25m")
    sampler = SamplerV2(mode=session)
    first = sampler.run([isa], shots=10)
    env.advance("10s")
    assert first.status() == "DONE" and session.details()["started_at"] is not None
    env.advance("24m")  # past the interactive window: deactivated, still open
    assert session.details()["state"] == "inactive" and session.status() == "Pending"
    running = sampler.run([long_pub(falcon)])  # ~101 s: still running at the 25-minute mark
    queued = sampler.run([isa], shots=10)
    env.advance("2m")
    assert session.status() == "Closed"
    assert running.status() == "DONE" and queued.status() == "ERROR"
    with pytest.raises(RuntimeJobFailureError, match="Unable to retrieve job result"):
        queued.result()
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([isa])
    assert err.value.message == CLOSED
    assert len(env.service.jobs(session_id=session.session_id)) == 3


def test_interactive_timeout_deactivates_and_a_new_job_reactivates(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    isa = isa_for(falcon, bell())
    session = Session(backend=falcon)
    sampler = SamplerV2(mode=session)
    sampler.run([isa], shots=10)
    env.advance("10s")
    assert session.details()["state"] == "active"
    env.advance("5m")
    assert session.details()["state"] == "inactive" and session.status() == "Pending"
    job = sampler.run([isa], shots=10)
    env.advance("10s")
    assert job.status() == "DONE" and session.details()["state"] == "active"
    session.close()


def test_cancelling_the_root_job_closes_the_session(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    isa = isa_for(falcon, bell())
    session = Session(backend=falcon)
    sampler = SamplerV2(mode=session)
    root = sampler.run([isa], shots=10)
    others = [sampler.run([isa], shots=10) for _ in range(2)]
    env.advance(0)
    assert root.status() == "RUNNING"
    root.cancel()
    assert root.status() == "CANCELLED"
    assert [j.status() for j in others] == ["ERROR", "ERROR"]
    assert session.status() == "Closed"
    with pytest.raises(RuntimeInvalidStateError, match="Job was cancelled"):
        root.result()
    with pytest.raises(RuntimeJobFailureError, match="root job"):
        others[0].result()


def test_batch_and_from_id(env: Env) -> None:
    falcon = env.service.backend("emulated_falcon_27")
    isa = isa_for(falcon, bell())
    with Batch(backend=falcon) as batch:
        jobs = [SamplerV2(mode=batch).run([isa], shots=5) for _ in range(3)]
    assert all(sum(j.result()[0].data.meas.get_counts().values()) == 5 for j in jobs)
    assert batch.details()["mode"] == "batch"
    session = Session(backend=falcon, max_time=900)
    again = Session.from_id(session.session_id, env.service)
    assert again.details() == session.details()
    job = SamplerV2(mode=again).run([isa], shots=5)
    assert job.session_id == session.session_id and job.job_id() == session.session_id
    with pytest.raises(IBMInputValueError, match="Session not found"):
        Session.from_id("no-such-session", env.service)
    with pytest.raises(IBMInputValueError, match="instead of dedicated"):
        Session.from_id(batch.session_id, env.service)
    session.close()
    assert job.result()[0].data.meas.num_shots == 5


def test_errors_and_deleting(env: Env) -> None:
    with pytest.raises(RuntimeJobNotFound, match="Job not found"):
        env.service.job("no-such-job")
    backend = env.service.backend("statevector")
    job = SamplerV2(mode=backend).run([bell()], shots=8)
    job.result()
    env.service.delete_job(job.job_id())
    with pytest.raises(RuntimeJobNotFound):
        env.service.job(job.job_id())
    with pytest.raises(IBMInputValueError):
        SamplerV2(mode=backend).run([bell()], shots=-1)
    assert env.service.jobs() == []


# -- only a server ----------------------------------------------------------------------------
def test_url_and_token_connect_and_the_instance_is_the_tokens(server: Server) -> None:
    token = server.token("carol", "lab-c")
    service = QiskitRuntimeService(url=server.url, token=token)
    assert isinstance(service.runtime, RemoteRuntime)
    assert service.active_instance() == "lab-c" and service.store_location == server.url
    assert QiskitRuntimeService(url=server.url + "/", token=token).runtime is service.runtime
    job = SamplerV2(mode=service.backend("statevector")).run([bell()], shots=4)
    assert job.result() and service.job(job.job_id()).inputs["payload"] is not None
    assert service.runtime.job(job.job_id()).instance == "lab-c"


def test_bad_tokens_and_arguments(server: Server, tmp_path: Path) -> None:
    with pytest.raises(IBMNotAuthorizedError, match="token"):
        QiskitRuntimeService(url=server.url, token="qs_not-a-token")
    # with a store (or clock), url and token stay cloud arguments: the local runtime
    local = QiskitRuntimeService(url=server.url, token="t", store=tmp_path / "s.sqlite3")
    assert not isinstance(local.runtime, RemoteRuntime)
    local.runtime.shutdown()
    with pytest.raises(IBMInputValueError, match="url must be an http"):
        QiskitRuntimeService(url="ftp://example", token="t")
    with pytest.raises(IBMInputValueError, match="cannot reach"):
        QiskitRuntimeService(url="http://127.0.0.1:9", token="t")
    # IBM's own cloud URL stays an ignored cloud argument: the embedded runtime
    local = QiskitRuntimeService(url="https://cloud.ibm.com", token="ibm", store=":memory:")
    assert not isinstance(local.runtime, RemoteRuntime)
    local.runtime.shutdown()


def test_another_users_jobs_are_not_found(server: Server) -> None:
    alice = QiskitRuntimeService(url=server.url, token=server.token("alice", "a"))
    bob = QiskitRuntimeService(url=server.url, token=server.token("bob", "b"))
    job = SamplerV2(mode=alice.backend("statevector")).run([bell()], shots=4)
    with pytest.raises(RuntimeJobNotFound):
        bob.job(job.job_id())
    with pytest.raises(RuntimeJobNotFound):
        bob.delete_job(job.job_id())
    assert bob.jobs() == [] and [j.job_id() for j in alice.jobs()] == [job.job_id()]
    session = Session(backend=alice.backend("emulated_falcon_27"))
    with pytest.raises(IBMInputValueError, match="Session not found"):
        Session.from_id(session.session_id, bob)
    session.close()


def test_a_non_admin_cannot_charge_another_instance(server: Server) -> None:
    service = QiskitRuntimeService(
        url=server.url, token=server.token("dave", "lab-d"), instance="other"
    )
    with pytest.raises(IBMNotAuthorizedError, match="instance"):
        SamplerV2(mode=service.backend("statevector")).run([bell()], shots=4)


def _run(code: str, env: dict[str, str]) -> str:
    full = {k: v for k, v in os.environ.items() if not k.startswith("QSESSION_")}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        env={**full, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    return out.stdout.strip().splitlines()[-1]


def test_environment_makes_a_plain_service_remote(server: Server) -> None:
    token = server.token("erin", "lab-e")
    code = """
        from qiskit import QuantumCircuit
        from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2
        service = QiskitRuntimeService()
        qc = QuantumCircuit(1); qc.x(0); qc.measure_all()
        job = SamplerV2(mode=service.backend("statevector")).run([qc], shots=3)
        assert job.result()[0].data.meas.get_counts() == {"1": 3}
        print(service.store_location, service.active_instance(), job.job_id())
    """
    location, instance, job_id = _run(
        code, {"QSESSION_URL": server.url, "QSESSION_TOKEN": token}
    ).split()
    assert (location, instance) == (server.url, "lab-e")
    here = QiskitRuntimeService(url=server.url, token=token)
    assert here.job(job_id).result()[0].data.meas.get_counts() == {"1": 3}


def test_a_session_opened_in_one_process_is_fed_from_another(server: Server) -> None:
    token = server.token("frank", "lab-f")
    opener = """
        from qsession_provider.qiskit import QiskitRuntimeService, Session
        service = QiskitRuntimeService()
        session = Session(backend=service.backend("emulated_falcon_27"), max_time="1h")
        print(session.session_id)
    """
    session_id = _run(opener, {"QSESSION_URL": server.url, "QSESSION_TOKEN": token})
    service = QiskitRuntimeService(url=server.url, token=token)
    session = Session.from_id(session_id, service)
    falcon = service.backend("emulated_falcon_27")
    job = SamplerV2(mode=session).run([isa_for(falcon, bell())], shots=20)
    assert job.session_id == session_id and job.job_id() == session_id  # the root job
    assert job.result()[0].data.meas.num_shots == 20
    assert session.details()["state"] == "active"
    session.close()
    feeder = f"""
        from qsession_provider.qiskit import QiskitRuntimeService, Session
        service = QiskitRuntimeService()
        print(Session.from_id({session_id!r}, service).status())
    """
    assert _run(feeder, {"QSESSION_URL": server.url, "QSESSION_TOKEN": token}) == "Closed"


@pytest.mark.filterwarnings("ignore:The SamplerV2 class is deprecated:DeprecationWarning")
def test_qiskit_ibm_runtimes_own_session_and_sampler_over_the_server(server: Server) -> None:
    from qiskit_ibm_runtime import SamplerV2 as IBMSampler
    from qiskit_ibm_runtime import Session as IBMSession

    from qsession_provider.qiskit.ibm_compat import IBMCompatibleService

    service = IBMCompatibleService(url=server.url, token=server.token("grace", "lab-g"))
    backend = service.backend("emulated_falcon_27")
    with IBMSession(backend=backend) as session:
        job = IBMSampler(mode=session).run([isa_for(backend, bell())], shots=30)
        assert sum(job.result()[0].data.meas.get_counts().values()) == 30
    assert service.job(job.job_id()).session_id == session.session_id
