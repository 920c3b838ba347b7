"""The Cirq face over a real ``qsession serve``, and the same tests embedded.

Behaviour tests (runs, sweeps and batches in sessions, listings, failures) run on an
embedded runtime and on a ``--virtual-clock`` server, one user per test; then
``Service(url=..., token=...)``, ``$QSESSION_URL`` and a session fed from another process.
A batch's jobs are all queued before virtual time moves, embedded or remote: a remote
job's done-callback waits passively (it never moves the server's clock).
"""

from __future__ import annotations

import itertools
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from qsession_provider.cirq import Sampler, Service, UnsuccessfulJobError  # noqa: E402
from qsession_provider.client.remote import RemoteRuntime, connect  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.errors import (  # noqa: E402
    InputError,
    JobNotFoundError,
    NotAuthorizedError,
    SessionClosedError,
    SessionNotFoundError,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import Server, serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(180)

server = pytest.fixture(scope="module")(serve_module)
_USERS = itertools.count()
Q = cirq.LineQubit.range(2)
T = sympy.Symbol("t")
FLIP = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
BELL = cirq.Circuit(cirq.H(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.measure(*Q, key="bell"))


@dataclass
class Env:
    """A service on one runtime or the other."""

    service: Service
    remote: bool


@pytest.fixture(params=["embedded", "remote"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    if request.param == "embedded":
        service = Service(clock=VirtualClock(), default_target="emulated_falcon_27")
        yield Env(service, remote=False)
        service.runtime.shutdown(wait=False, cancel_pending=True)
        return
    served: Server = request.getfixturevalue("server")
    name = f"user{next(_USERS)}"
    token = served.token(name, f"inst-{name}")
    service = Service(url=served.url, token=token, default_target="emulated_falcon_27")
    yield Env(service, remote=True)
    runtime = service.runtime  # leave the shared server idle for the next test
    for record in runtime.sessions():
        if not record.is_closed:
            runtime.cancel_session(record.id)
    for job in runtime.jobs(pending=True):
        job.cancel()
    runtime.shutdown()


# -- behaviour, embedded and remote -----------------------------------------------------------
def test_run_create_job_and_listing(env: Env) -> None:
    service = env.service
    result = service.run(BELL, 200, target="statevector", seed=4)
    assert set(result.histogram(key="bell")) <= {0, 3} and result.repetitions == 200
    job = service.create_job(FLIP, 20, name="flip-1", target="statevector", param_resolver={"t": 1})
    assert job.results(timeout_seconds=30).histogram(key="m")[1] == 20
    assert job.status() == "completed" and job.target() == "statevector"
    found = service.get_job(job.job_id())
    assert found.status() == "completed" and found.results().histogram(key="m")[1] == 20
    assert [j.name() for j in service.list_jobs()] == ["flip-1", "cirq-job"]
    assert [j.job_id() for j in service.list_jobs(name_prefix="flip")] == [job.job_id()]
    assert service.list_jobs(status=["ready", "running"]) == []
    with pytest.raises(ValueError, match="unknown job status"):
        service.list_jobs(status="succeeded")
    with pytest.raises(LookupError):
        service.get_job("no-such-job")


def test_a_sweep_in_a_session_queues_together_and_carries_the_session(env: Env) -> None:
    target = env.service.get_target()
    with target.open_session(name="sweep") as session:
        sampler = target.sampler(seed=1)
        results = sampler.run_batch(
            [FLIP, FLIP, FLIP], [{"t": 1}, {"t": 0}, {"t": 1}], repetitions=10
        )
        assert [r[0].histogram(key="m").get(1, 0) for r in results] == [10, 0, 10]
        assert session.status() in ("active", "inactive")
    jobs = env.service.list_jobs(session_id=session.id)
    assert len(jobs) == 3 and all(j.session_id == session.id for j in jobs)
    records = [env.service.runtime.job(j.job_id()).record for j in jobs]
    assert len({r.created_at for r in records}) == 1  # queued before virtual time moved
    starts = sorted(r.started_at for r in records)
    assert starts[0] < starts[1] < starts[2]  # one slot: one after the other
    assert session.status() == "closed" and not session.accepting_jobs


def test_closed_session_rejects_new_jobs_and_nothing_else_breaks(env: Env) -> None:
    runtime = env.service.runtime
    target = env.service.get_target()
    session = target.open_session()
    bound = Sampler(runtime=runtime, session=session)
    assert bound.run(FLIP, {"t": 1}, repetitions=3).histogram(key="m")[1] == 3
    session.close()
    with pytest.raises(SessionClosedError, match=f"session {session.id} is closed"):
        bound.run(FLIP, {"t": 1})
    assert Sampler("emulated_falcon_27", runtime=runtime).run(FLIP, {"t": 1}).repetitions == 1
    assert len(session.list_jobs()) == 1
    assert env.service.get_session(session.id).status() == "closed"
    with pytest.raises(SessionNotFoundError):
        env.service.get_session("no-such-session")


def test_failed_cancelled_and_deleted_jobs(env: Env) -> None:
    falcon = env.service.get_target("emulated_falcon_27")
    first = falcon.submit(BELL, repetitions=1000)
    queued = falcon.submit(BELL)
    assert queued.status() == "ready"
    assert queued.cancel() and queued.status() == "canceled"
    with pytest.raises(UnsuccessfulJobError, match="canceled"):
        queued.results()
    with pytest.raises(TimeoutError):
        first.results(timeout_seconds=0.5)
    assert first.results().repetitions == 1000
    first.delete()
    assert first.status() == "deleted"
    with pytest.raises(JobNotFoundError):
        env.service.get_job(first.job_id())
    with pytest.raises(ValueError, match="no measurements"):
        env.service.run(cirq.Circuit(cirq.X(Q[0])), 5)
    assert [j.job_id() for j in env.service.list_jobs()] == [queued.job_id()]


# -- only a server ----------------------------------------------------------------------------
def test_url_and_token_and_their_errors(server: Server, tmp_path: Path) -> None:
    token = server.token("carol", "lab-c")
    service = Service(url=server.url, token=token)
    assert isinstance(service.runtime, RemoteRuntime) and server.url in repr(service)
    assert [t.name for t in service.targets()] == [d.name for d in service.runtime.devices()]
    assert service.get_target("statevector").name == "statevector"
    with pytest.raises(NotAuthorizedError):
        Service(url=server.url, token="qs_wrong")
    with pytest.raises(InputError, match="not both"):
        Service(url=server.url, token=token, store=str(tmp_path / "s.sqlite3"))
    with pytest.raises(InputError, match="not both"):
        Service(url=server.url, runtime=service.runtime)
    with pytest.raises(ValueError, match="nope"):
        Service(url=server.url, token=token, default_target="nope")


def test_environment_makes_a_plain_service_remote(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = server.token("dave", "lab-d")
    monkeypatch.setenv("QSESSION_URL", server.url)
    monkeypatch.setenv("QSESSION_TOKEN", token)
    service = Service()
    assert isinstance(service.runtime, RemoteRuntime) and service.runtime.user == "dave"
    result = service.run(FLIP, 4, target="statevector", param_resolver={"t": 1})
    assert result.histogram(key="m")[1] == 4
    assert not isinstance(Service(clock=VirtualClock()).runtime, RemoteRuntime)  # explicit wins


def test_a_session_opened_in_one_process_is_fed_from_another(server: Server) -> None:
    token = server.token("erin", "lab-e")
    opener = """
        from qsession_provider.cirq import Service
        session = Service().get_target("emulated_falcon_27").open_session(name="shared")
        print(session.id)
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSESSION_")}
    env |= {"QSESSION_URL": server.url, "QSESSION_TOKEN": token}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(opener)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    session_id = out.stdout.strip().splitlines()[-1]
    service = Service(url=server.url, token=token)
    session = service.get_session(session_id)
    assert session.name == "shared" and session.status() == "open"
    sampler = Sampler(runtime=service.runtime, session=session_id)
    assert sampler.run(FLIP, {"t": 1}, repetitions=5).histogram(key="m")[1] == 5
    assert [j.session_id for j in session.list_jobs()] == [session_id]
    session.close()
    admin = connect(server.url, server.token("admin", "ops", admin=True))
    try:
        assert admin.session(session_id).user == "erin"
    finally:
        admin.shutdown()
