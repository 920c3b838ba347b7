"""The ``Workspace``: construction, targets, listing with filters, job management, sharing."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

import pytest

from qsession_provider.azure import (
    ItemType,
    Job,
    JobStatus,
    Session,
    SessionDetails,
    SessionStatus,
    Target,
    Workspace,
)
from qsession_provider.client import open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.errors import JobNotFoundError, SessionNotFoundError

pytestmark = pytest.mark.timeout(60)


def finish(jobs: list[Job]) -> None:
    for job in jobs:
        job.wait_until_completed(print_progress=False)


# -- construction -------------------------------------------------------------------------------
def test_cloud_arguments_are_kept_for_display(runtime: Any) -> None:
    ws = Workspace(
        resource_id="/subscriptions/sub-1/resourceGroups/rg-1/providers/Microsoft.Quantum/"
        "Workspaces/ws-1",
        location="westeurope",
        credential="token",
        runtime=runtime,
        api_version="x",
    )
    assert (ws.subscription_id, ws.resource_group, ws.name) == ("sub-1", "rg-1", "ws-1")
    assert ws.location == "westeurope" and ws.credential == "token"
    assert ws.options == {"api_version": "x"} and ws.runtime is runtime
    with ws as entered:
        assert entered is ws
    with pytest.raises(ValueError, match="Invalid resource id"):
        Workspace(resource_id="nonsense", runtime=runtime)
    with pytest.raises(ValueError, match="either runtime or store/clock"):
        Workspace(runtime=runtime, store=":memory:")


def test_from_connection_string(runtime: Any) -> None:
    ws = Workspace.from_connection_string(
        "SubscriptionId=s;ResourceGroupName=g;WorkspaceName=w;ApiKey=k;"
        "QuantumEndpoint=https://eastus.quantum.azure.com/",
        runtime=runtime,
    )
    assert (ws.subscription_id, ws.resource_group, ws.name, ws.location) == (
        "s",
        "g",
        "w",
        "eastus",
    )


def test_two_workspaces_on_one_store_share_its_runtime(tmp_path: Any, bell: str) -> None:
    store = str(tmp_path / "store.sqlite3")
    first = Workspace(store=store, clock=VirtualClock())
    try:
        second = Workspace(store=store)
        assert second.runtime is first.runtime is open_runtime(store)
        target = first.get_targets("statevector")
        with target.open_session(name="shared") as session:
            job = target.submit(bell, shots=10)
        finish([job])
        assert [s.id for s in second.list_sessions()] == [session.id]
        assert [j.id for j in second.list_session_jobs(session.id)] == [job.id]
        assert second.get_job(job.id).get_results() == job.get_results()
        assert first.runtime.session(session.id).name == "shared"
    finally:
        first.runtime.shutdown()


def test_workspace_second_workspace_and_runtime_see_the_same_things(
    workspace: Workspace, runtime: Any, sv: Any, bell: str
) -> None:
    other = Workspace(runtime=runtime)
    session = sv.open_session(name="azure")
    job = sv.submit(bell, shots=10)
    ibm_style = runtime.open_session("statevector", name="from the core")
    assert {s.id for s in other.list_sessions()} == {session.id, ibm_style.id}
    assert other.get_session(ibm_style.id).details.status is SessionStatus.WAITING
    assert runtime.session(session.id).name == "azure"
    assert [j.id for j in runtime.jobs(session_id=session.id)] == [job.id]
    assert other.get_job(job.id).details.session_id == session.id


# -- targets ------------------------------------------------------------------------------------
def test_get_targets(workspace: Workspace) -> None:
    targets = workspace.get_targets()
    assert [t.name for t in targets] == [
        "emulated_eagle_127",
        "emulated_falcon_27",
        "slow_2",
        "statevector",
    ]
    single = workspace.get_targets("StateVector")
    assert isinstance(single, Target) and single.name == "statevector"
    assert single.provider_id == "qsession" and single.workspace is workspace
    assert workspace.get_targets("ionq.simulator") == []  # azure returns a list here
    assert workspace.get_targets(provider_id="ionq") == []
    assert len(workspace.get_targets(provider_id="QSession")) == 4
    assert workspace.get_quotas() == []


# -- listing ------------------------------------------------------------------------------------
@pytest.fixture
def populated(workspace: Workspace, sv: Any, qpu: Any, clock: Any, bell: str) -> dict[str, Any]:
    """Two sessions and a job outside any session, created one virtual minute apart."""
    with sv.open_session(name="alpha") as alpha:
        a = [sv.submit(bell, name=f"alpha {i}", shots=10) for i in range(3)]
    finish(a)
    clock.advance("1m")
    beta = qpu.open_session(name="beta", job_failure_policy="Continue")
    b = [qpu.submit(bell, name="beta ok", shots=10), qpu.submit("garbage", name="beta bad")]
    finish(b)
    clock.advance("1m")
    sv.latest_session = None  # else the job would go to the closed session "alpha"
    lone = sv.submit(bell, name="lone", shots=10)
    finish([lone])
    return {"alpha": alpha, "beta": beta, "a": a, "b": b, "lone": lone}


def test_list_sessions_and_filters(workspace: Workspace, populated: dict[str, Any]) -> None:
    alpha, beta = populated["alpha"], populated["beta"]
    listed = workspace.list_sessions()
    assert [s.id for s in listed] == [alpha.id, beta.id]
    assert all(isinstance(s, Session) and s.target is None for s in listed)
    assert [s.details.status for s in listed] == [SessionStatus.SUCCEEDED, SessionStatus.FAILURE_S_]
    assert [s.id for s in workspace.list_sessions(status="Failure(s)")] == [beta.id]
    assert [s.id for s in workspace.list_sessions(target=["emulated_falcon_27"])] == [beta.id]
    assert workspace.list_sessions(provider="ionq") == []
    after = alpha.details.creation_time.timestamp() + 1
    created = datetime.fromtimestamp(after, tz=timezone.utc)
    assert [s.id for s in workspace.list_sessions(created_after=created)] == [beta.id]
    assert [s.id for s in workspace.list_sessions(created_before=created)] == [alpha.id]
    names = workspace.list_sessions(orderby_property="Name", is_asc=False)
    assert [s.details.name for s in names] == ["beta", "alpha"]


def test_get_session(workspace: Workspace, populated: dict[str, Any]) -> None:
    beta = populated["beta"]
    again = workspace.get_session(beta.id)
    assert again.details == beta.refresh().details
    with pytest.raises(SessionNotFoundError):
        workspace.get_session("no-such-session")


def test_list_session_jobs(workspace: Workspace, populated: dict[str, Any]) -> None:
    beta = populated["beta"]
    jobs = workspace.list_session_jobs(beta.id)
    assert [j.details.name for j in jobs] == ["beta ok", "beta bad"]
    assert [j.details.name for j in workspace.list_session_jobs(beta.id, status="Failed")] == [
        "beta bad"
    ]
    assert [j.details.name for j in workspace.list_session_jobs(beta.id, name_match="beta o")] == [
        "beta ok"
    ]
    by_name = workspace.list_session_jobs(beta.id, orderby_property="Name")
    assert [j.details.name for j in by_name] == ["beta bad", "beta ok"]
    assert workspace.list_session_jobs("no-such-session") == []


def test_the_seeds_session_helpers_are_on_the_session_too(
    workspace: Workspace, populated: dict[str, Any]
) -> None:
    alpha, beta = populated["alpha"], populated["beta"]
    assert [s.id for s in beta.list_sessions()] == [alpha.id, beta.id]
    assert [s.id for s in beta.list_sessions(status="Failure(s)")] == [beta.id]
    assert alpha.get_session(beta.id).details == beta.refresh().details
    assert [j.details.name for j in alpha.list_session_jobs(beta.id)] == ["beta ok", "beta bad"]
    assert [j.details.name for j in alpha.list_session_jobs(beta.id, status="Failed")] == [
        "beta bad"
    ]
    with pytest.raises(SessionNotFoundError):
        alpha.get_session("no-such-session")


def test_sessions_and_session_jobs_page_like_the_job_listing(
    workspace: Workspace, populated: dict[str, Any]
) -> None:
    alpha, beta = populated["alpha"], populated["beta"]
    pages = [workspace.list_sessions_paginated(skip=k, top=1) for k in range(3)]
    assert [[d.id for d in page] for page in pages] == [[alpha.id], [beta.id], []]
    assert all(isinstance(d, SessionDetails) for d in pages[0])
    jobs = workspace.list_session_jobs_paginated(alpha.id, skip=1, top=5)
    assert [d.name for d in jobs] == ["alpha 1", "alpha 2"]
    failed = workspace.list_session_jobs_paginated(beta.id, status="Failed", top=1)
    assert [d.name for d in failed] == ["beta bad"]
    for bad in ({"skip": -1}, {"top": 0}, {"top": "10"}):
        with pytest.raises(ValueError, match="skip|top"):
            workspace.list_sessions_paginated(**bad)
        with pytest.raises(ValueError, match="skip|top"):
            workspace.list_jobs_paginated(**bad)
    assert [s.id for s in workspace.list_sessions()] == [alpha.id, beta.id]  # nothing changed


def test_list_jobs_and_filters(workspace: Workspace, populated: dict[str, Any]) -> None:
    everything = workspace.list_jobs()
    assert [j.details.name for j in everything] == [
        "alpha 0",
        "alpha 1",
        "alpha 2",
        "beta ok",
        "beta bad",
        "lone",
    ]
    assert len(workspace.list_jobs(name_match="alpha")) == 3
    assert [j.details.name for j in workspace.list_jobs(status=JobStatus.FAILED)] == ["beta bad"]
    assert len(workspace.list_jobs(status=["Completed", "Failed"])) == 6  # v2 names too
    assert workspace.list_jobs(status="Cancelling") == []
    assert len(workspace.list_jobs(target="emulated_falcon_27")) == 2
    assert len(workspace.list_jobs(target=["statevector", "emulated_falcon_27"])) == 6
    assert len(workspace.list_jobs(provider="qsession", job_type="QuantumComputing")) == 6
    assert workspace.list_jobs(job_type="Optimization") == []
    lone = populated["lone"]
    assert [j.id for j in workspace.list_jobs(created_after=lone.details.creation_time)] == [
        lone.id
    ]
    newest = workspace.list_jobs(orderby_property="CreationTime", is_asc=False)
    assert newest[0].id == lone.id
    states = [j.details.status for j in workspace.list_jobs(orderby_property="State")]
    assert states == [JobStatus.FAILED] + [JobStatus.SUCCEEDED] * 5
    page = workspace.list_jobs_paginated(skip=1, top=2)
    assert [d.name for d in page] == ["alpha 1", "alpha 2"]
    with pytest.raises(ValueError, match="'Sometimes'"):
        workspace.list_jobs(status="Sometimes")


@pytest.mark.parametrize("method", ["list_jobs", "list_sessions", "list_top_level_items"])
def test_invalid_orderby_property(workspace: Workspace, method: str) -> None:
    with pytest.raises(ValueError) as info:
        getattr(workspace, method)(orderby_property="Colour")
    assert str(info.value) == "Invalid orderby property: Colour"
    with pytest.raises(ValueError, match="^Invalid orderby property: name$"):
        workspace.list_session_jobs("s", orderby_property="name")


def test_list_top_level_items(workspace: Workspace, populated: dict[str, Any]) -> None:
    items = workspace.list_top_level_items()
    assert [(i.item_type, i.id) for i in items] == [
        (ItemType.SESSION, populated["alpha"].id),
        (ItemType.SESSION, populated["beta"].id),
        (ItemType.JOB, populated["lone"].id),
    ]
    assert [i.id for i in workspace.list_top_level_items(item_type="Job")] == [populated["lone"].id]


# -- job management ------------------------------------------------------------------------------
def test_get_cancel_delete_and_update_jobs(workspace: Workspace, qpu: Any, bell: str) -> None:
    first = qpu.submit(bell, name="first", shots=10)
    second = qpu.submit(bell, name="second", shots=10)
    cancelled = workspace.cancel_job(second)
    assert cancelled.details.status is JobStatus.CANCELLED
    updated = workspace.update_job(first, name="renamed", priority="High", tags=["t"])
    assert (updated.details.name, updated.details.priority, updated.details.tags) == (
        "renamed",
        "High",
        ["t"],
    )
    first.refresh()
    assert first.details.name == "renamed"
    workspace.delete_job(first)  # still running: cancelled, then deleted
    with pytest.raises(JobNotFoundError):
        workspace.get_job(first.id)
    second.delete()
    assert workspace.list_jobs() == []
