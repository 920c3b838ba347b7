"""PATCH and DELETE of a job through the API pass the caller's instance and user to the
runtime: a finished job is changed or deleted only by its own instance (issue 20, item 8k)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store import MemoryStore
from qsession_provider.plugins.builtin import statevector_device
from qsession_provider.server import create_app

from .conftest import API, TestClient, add_tokens, auth, bell


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    store = MemoryStore()
    add_tokens(store)
    rt = Runtime(store=store, clock=VirtualClock(), devices=[statevector_device()])
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


def client(runtime: Runtime, user: str) -> TestClient:
    return TestClient(create_app(runtime), base_url="http://test" + API, headers=auth(user))


def finished(runtime: Runtime, instance: str) -> str:
    """A finished job of user alice charged to ``instance`` (e.g. before her token moved)."""
    payload = SamplerPayload((SamplerPub(bell(), None, 8),))
    job = runtime.submit("sampler", "statevector", payload, instance=instance, user="alice")
    job.result()
    return job.id


def refused(response: Any) -> str:
    assert response.status_code == 403, response.text
    error = response.json()["error"]
    assert error["type"] == "ForbiddenError"
    return str(error["message"])


def test_another_instance_cannot_change_or_delete_a_finished_job(runtime: Runtime) -> None:
    alice = client(runtime, "alice")  # instance inst-a
    other = finished(runtime, "inst-old")
    message = refused(alice.patch(f"/jobs/{other}", json={"name": "mine now", "tags": ["x"]}))
    assert "another instance than 'inst-a'" in message and other in message
    assert "another instance" in refused(alice.delete(f"/jobs/{other}"))
    record = runtime.store.get_job(other)  # unchanged, still there
    assert record.name == "" and record.tags == ()
    own = finished(runtime, "inst-a")
    assert alice.patch(f"/jobs/{own}", json={"name": "renamed"}).json()["job"]["name"] == "renamed"
    assert alice.delete(f"/jobs/{own}").status_code == 204


def test_an_administrator_may_change_and_delete_any_job(runtime: Runtime) -> None:
    root = client(runtime, "root")
    other = finished(runtime, "inst-old")
    assert root.patch(f"/jobs/{other}", json={"tags": ["audit"]}).json()["job"]["tags"] == ["audit"]
    assert root.delete(f"/jobs/{other}").status_code == 204
