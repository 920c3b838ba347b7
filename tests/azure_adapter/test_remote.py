"""The Azure workspace dialect over a real ``qsession serve``, and the same tests embedded.

Behaviour tests (session rules, failure policies, listings, job management) run on an
embedded runtime and on a ``--virtual-clock`` server (one user per test, an admin token
moving time); then what only a server has: connection strings and keywords with a
``QuantumEndpoint``/``ApiKey``, ``$QSESSION_URL``, and a session fed from another process.
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

import pytest

pytest.importorskip("qsession_provider.sim.execute")
pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from qsession_provider.azure import (  # noqa: E402
    ItemType,
    JobStatus,
    SessionJobFailurePolicy,
    SessionStatus,
    Workspace,
)
from qsession_provider.client.remote import RemoteRuntime, connect  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.errors import (  # noqa: E402
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
BELL = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[2];\ncreg c[2];\nh q[0];\ncx q[0], q[1];\nmeasure q -> c;\n'  # noqa: E501
WAITING, FAILED = SessionStatus.WAITING, SessionStatus.FAILED


@dataclass
class Env:
    """A workspace and how to move its clock."""

    workspace: Workspace
    advance: Callable[[Any], object]
    remote: bool


@pytest.fixture(scope="module")
def admin(server: Server) -> Iterator[RemoteRuntime]:
    runtime = connect(server.url, server.token("admin", "ops", admin=True))
    yield runtime
    runtime.shutdown()


def connection_string(server: Server, token: str) -> str:
    return f"SubscriptionId=s;WorkspaceName=w;ApiKey={token};QuantumEndpoint={server.url}"


@pytest.fixture(params=["embedded", "remote"])
def env(request: pytest.FixtureRequest) -> Iterator[Env]:
    if request.param == "embedded":
        clock = VirtualClock()
        workspace = Workspace(clock=clock)
        yield Env(workspace, clock.advance, remote=False)
        workspace.runtime.shutdown(wait=False, cancel_pending=True)
        return
    served: Server = request.getfixturevalue("server")
    admin: RemoteRuntime = request.getfixturevalue("admin")
    name = f"user{next(_USERS)}"
    token = served.token(name, f"inst-{name}")
    workspace = Workspace.from_connection_string(connection_string(served, token))
    yield Env(workspace, admin.clock.advance, remote=True)
    runtime = workspace.runtime  # leave the shared server idle for the next test
    for record in runtime.sessions():
        if not record.is_closed:
            runtime.cancel_session(record.id)
    for job in runtime.jobs(pending=True):
        job.cancel()
    runtime.shutdown()


def done(*jobs: Any) -> None:
    for job in jobs:
        job.wait_until_completed(print_progress=False)


# -- behaviour, embedded and remote -----------------------------------------------------------
def test_jobs_results_and_listing(env: Env) -> None:
    sv = env.workspace.get_targets("statevector")
    job = sv.submit(BELL, name="bell", shots=100, input_params={"seed": 1})
    done(job)
    assert job.has_succeeded() and job.details.status is JobStatus.SUCCEEDED
    shots = job.get_results_shots()
    assert len(shots) == 100 and all(s in ([0, 0], [1, 1]) for s in shots)
    assert job.get_results()["[1, 1]"] == shots.count([1, 1]) / 100
    again = env.workspace.get_job(job.id)
    assert again.details.name == "bell" and again.get_results() == job.get_results()
    assert [j.id for j in env.workspace.list_jobs()] == [job.id]
    assert [i.item_type for i in env.workspace.list_top_level_items()] == [ItemType.JOB]
    with pytest.raises(JobNotFoundError):
        env.workspace.get_job("no-such-job")


def test_closed_normally_succeeds_after_its_jobs_drain(env: Env) -> None:
    qpu = env.workspace.get_targets("emulated_falcon_27")
    session = qpu.open_session(name="drain")
    jobs = [qpu.submit(BELL, shots=10) for _ in range(3)]
    session.close()
    assert session.details.status is WAITING  # draining: jobs still run
    done(*jobs)
    assert session.refresh().details.status is SessionStatus.SUCCEEDED
    assert [j.id for j in session.list_jobs()] == [j.id for j in jobs]
    listed = env.workspace.list_sessions()
    assert [s.id for s in listed] == [session.id]
    assert env.workspace.get_session(session.id).details.status is SessionStatus.SUCCEEDED
    with pytest.raises(SessionNotFoundError):
        env.workspace.get_session("no-such-session")


def test_no_new_job_for_10_minutes_times_the_session_out(env: Env) -> None:
    sv = env.workspace.get_targets("statevector")
    session = sv.open_session(name="idle")
    done(sv.submit(BELL, name="Job 1", shots=10))
    env.advance("9m59s")
    assert session.refresh().details.status is WAITING
    env.advance("1s")
    assert session.refresh().details.status is SessionStatus.TIMED_OUT
    with pytest.raises(SessionClosedError, match="timed out: no job was submitted for 600 s"):
        sv.submit(BELL, name="Job 2")


def test_abort_on_a_one_slot_qpu(env: Env) -> None:
    qpu = env.workspace.get_targets("emulated_falcon_27")
    with qpu.open_session() as session:
        first = qpu.submit(BELL, name="first", shots=10)
        bad = qpu.submit("garbage", name="bad")
        after = qpu.submit(BELL, name="after", shots=10)
    done(first, bad, after)
    assert [j.details.status for j in (first, bad, after)] == [
        JobStatus.SUCCEEDED,
        JobStatus.FAILED,
        JobStatus.CANCELLED,
    ]
    assert session.refresh().details.status is FAILED


def test_continue_keeps_accepting_then_failed_once_closed(env: Env) -> None:
    sv = env.workspace.get_targets("statevector")
    with sv.open_session(job_failure_policy=SessionJobFailurePolicy.CONTINUE) as session:
        bad = sv.submit("garbage", name="Job 1")
        good = [sv.submit(BELL, name=f"Job {i}", shots=10) for i in (2, 3)]
        done(bad, *good)
        assert session.refresh().details.status is SessionStatus.FAILURE_S_
        late = sv.submit(BELL, name="Job 4", shots=10)
    done(late)
    assert session.refresh().details.status is FAILED


def test_get_cancel_delete_and_update_jobs(env: Env) -> None:
    qpu = env.workspace.get_targets("emulated_falcon_27")
    first = qpu.submit(BELL, name="first", shots=10)
    second = qpu.submit(BELL, name="second", shots=10)
    cancelled = env.workspace.cancel_job(second)
    assert cancelled.details.status is JobStatus.CANCELLED
    updated = env.workspace.update_job(first, name="renamed", priority="High", tags=["t"])
    assert (updated.details.name, updated.details.priority, updated.details.tags) == (
        "renamed",
        "High",
        ["t"],
    )
    done(first)
    env.workspace.delete_job(first)
    with pytest.raises(JobNotFoundError):
        env.workspace.get_job(first.id)
    second.delete()
    assert env.workspace.list_jobs() == []


def test_wait_timeout_is_clock_time(env: Env) -> None:
    qpu = env.workspace.get_targets("emulated_falcon_27")
    job = qpu.submit(BELL, shots=4000)  # 1 + 0.05 + 1 s on the device
    with pytest.raises(TimeoutError, match="^The wait time has exceeded 1 seconds.$"):
        job.wait_until_completed(timeout_secs=1, print_progress=False)
    done(job)
    assert job.has_succeeded()


# -- only a server ----------------------------------------------------------------------------
def test_connection_string_and_keywords_reach_the_server(server: Server) -> None:
    token = server.token("carol", "lab-c")
    ws = Workspace.from_connection_string(connection_string(server, token))
    assert isinstance(ws.runtime, RemoteRuntime) and ws.store == server.url
    assert (ws.subscription_id, ws.name, ws.endpoint) == ("s", "w", server.url)
    assert Workspace(connection_string=connection_string(server, token)).runtime is ws.runtime
    assert Workspace(endpoint=server.url, api_key=token).runtime is ws.runtime

    class KeyCredential:  # azure.core.credentials.AzureKeyCredential's shape
        key = token

    assert Workspace(endpoint=server.url, credential=KeyCredential()).runtime is ws.runtime
    assert ws.get_targets("statevector").name == "statevector"
    with pytest.raises(NotAuthorizedError):
        Workspace(endpoint=server.url, api_key="qs_wrong")
    with pytest.raises(ValueError, match="not both"):
        Workspace(endpoint=server.url, api_key=token, store=":memory:")
    cloud = Workspace.from_connection_string(
        "SubscriptionId=s;ResourceGroupName=g;WorkspaceName=w;ApiKey=k;"
        "QuantumEndpoint=https://eastus.quantum.azure.com/",
        store=":memory:",
    )
    assert not isinstance(cloud.runtime, RemoteRuntime) and cloud.location == "eastus"
    cloud.runtime.shutdown()


def test_environment_makes_a_plain_workspace_remote(
    server: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = server.token("dave", "lab-d")
    monkeypatch.setenv("QSESSION_URL", server.url)
    monkeypatch.setenv("QSESSION_TOKEN", token)
    ws = Workspace()
    assert isinstance(ws.runtime, RemoteRuntime) and ws.runtime.user == "dave"
    monkeypatch.delenv("QSESSION_TOKEN")
    ws.runtime.shutdown()
    with pytest.raises(ValueError, match="QSESSION_TOKEN"):
        Workspace()


def test_a_session_opened_in_one_process_is_fed_from_another(server: Server) -> None:
    token = server.token("erin", "lab-e")
    opener = f"""
        from qsession_provider.azure import Workspace
        ws = Workspace.from_connection_string(
            "QuantumEndpoint={server.url};ApiKey={token}")
        session = ws.get_targets("statevector").open_session(name="shared")
        print(session.id)
    """
    env = {k: v for k, v in os.environ.items() if not k.startswith("QSESSION_")}
    out = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(opener)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    session_id = out.stdout.strip().splitlines()[-1]
    ws = Workspace(endpoint=server.url, api_key=token)
    session = ws.get_session(session_id)
    assert session.details.name == "shared" and session.details.status is WAITING
    target = ws.get_targets("statevector")
    target.latest_session = session
    job = target.submit(BELL, name="from B", shots=10)
    done(job)
    assert job.details.session_id == session_id and job.has_succeeded()
    assert [j.details.name for j in ws.list_session_jobs(session_id)] == ["from B"]
    other = Workspace(endpoint=server.url, api_key=server.token("frank", "lab-f"))
    with pytest.raises(SessionNotFoundError):
        other.get_session(session_id)
