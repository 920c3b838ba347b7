"""Pickling the Azure dialect: workspaces, targets and jobs reconnect to their runtime.

Round trips on a store file (the cloud coordinates travel, the credential does not); a
target submitting from a spawned worker, its job read back in the parent; an in-memory
store refused with the reason; a workspace on a real ``qsession serve`` by connection string.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.azure import Workspace

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(240)

server = pytest.fixture(scope="module")(serve_module)
RESOURCE_ID = "/subscriptions/sub/resourceGroups/rg/providers/Microsoft.Quantum/Workspaces/ws"
ONES_QASM = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
x q[0];
x q[1];
measure q -> c;
"""


class Credential:
    """A credential that cannot be pickled, as a real Azure credential may not be."""

    key = "unused"

    def __reduce__(self) -> Any:
        raise TypeError("credentials never travel")


def _round_trip(obj: Any) -> Any:
    return pickle.loads(pickle.dumps(obj))


@pytest.fixture
def workspace(tmp_path: Path) -> Iterator[Workspace]:
    workspace = Workspace(
        resource_id=RESOURCE_ID,
        location="westeurope",
        credential=Credential(),
        store=str(tmp_path / "store.sqlite3"),
        region_hint="eu",
    )
    yield workspace
    workspace.runtime.shutdown()


def test_a_workspace_keeps_its_coordinates_but_not_its_credential(workspace: Workspace) -> None:
    copy = _round_trip(workspace)
    assert copy.runtime is workspace.runtime and copy.store == workspace.store
    assert (copy.subscription_id, copy.resource_group, copy.name) == ("sub", "rg", "ws")
    assert copy.location == "westeurope" and copy.options == {"region_hint": "eu"}
    assert copy.credential is None


def test_targets_and_jobs_round_trip(workspace: Workspace) -> None:
    target = _round_trip(workspace.get_targets("statevector"))
    assert target.name == "statevector" and target.workspace.runtime is workspace.runtime
    job = target.submit(ONES_QASM, name="ones", shots=10)
    copy = _round_trip(job)
    assert copy.id == job.id and copy.details.name == "ones"
    assert copy.get_results() == job.get_results() == {"[1, 1]": 1.0}


def test_a_target_keeps_its_latest_session(workspace: Workspace) -> None:
    target = workspace.get_targets("statevector")
    with target.open_session(name="pickled") as session:
        copy = _round_trip(target)
        assert copy.get_latest_session_id() == session.id
        job = copy.submit(ONES_QASM, shots=2)
        assert job.details.session_id == session.id and job.get_results() == {"[1, 1]": 1.0}


def test_an_in_memory_store_is_refused_and_the_workspace_goes_on() -> None:
    workspace = Workspace(store=":memory:")
    target = workspace.get_targets("statevector")
    job = target.submit(ONES_QASM, shots=3)
    for obj in (workspace, target, job):
        with pytest.raises(TypeError, match=r"Workspace cannot be pickled: .*':memory:'") as info:
            pickle.dumps(obj)
        assert isinstance(info.value, pickle.PicklingError)
    assert job.get_results() == {"[1, 1]": 1.0}
    assert target.submit(ONES_QASM, shots=3).get_results() == {"[1, 1]": 1.0}


def _submit(target: Any) -> Any:
    job = target.submit(ONES_QASM, name="from-a-worker", shots=5)
    job.wait_until_completed()
    return job


def test_a_target_submits_from_a_spawned_worker(workspace: Workspace) -> None:
    target = workspace.get_targets("statevector")
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        job = pool.apply(_submit, (target,))
    found = workspace.get_job(job.id)
    assert found.details.name == "from-a-worker" and found.details.status == "Succeeded"
    assert found.get_results() == {"[1, 1]": 1.0}


def test_a_workspace_on_a_server_round_trips(server: Any) -> None:
    token = server.token("azure-pickler")
    workspace = Workspace.from_connection_string(
        f"SubscriptionId=sub;ResourceGroupName=rg;WorkspaceName=ws;"
        f"ApiKey={token};QuantumEndpoint={server.url}"
    )
    copy = _round_trip(workspace)
    assert copy.runtime is workspace.runtime and copy.name == "ws"
    job = copy.get_targets("statevector").submit(ONES_QASM, shots=4)
    assert _round_trip(job).get_results() == {"[1, 1]": 1.0}
