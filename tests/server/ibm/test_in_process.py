"""The IBM API in process: the IAM exchange, access tokens, and a server without qiskit.

These drive ``create_app`` with Starlette's test client (no subprocess): the shapes of the
IAM answers, the access token's checks (signature, expiry, the ``apikey`` fallback), and
that without qiskit a job submission is answered 501 naming the extra while every other
route (backends, sessions, jobs already stored) keeps working.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Iterator
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.runtime.checks import decode_payload
from qsession_provider.core.store import MemoryStore
from qsession_provider.errors import ForbiddenError, InputError, NotAuthorizedError
from qsession_provider.plugins.builtin import falcon_27_device, statevector_device
from qsession_provider.server import create_app
from qsession_provider.server.ibm import identity
from qsession_provider.server.ibm.urls import IAM_PATH, RUNTIME_PATH, client_endpoints

from ..conftest import TestClient, add_tokens, sampler_text, token_of

_GRANT = "urn:ibm:params:oauth:grant-type:apikey"
QPU = "emulated_falcon_27"


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    store = MemoryStore()
    add_tokens(store)
    rt = Runtime(
        store=store,
        clock=VirtualClock(auto_advance=False, stall_timeout=5.0),
        devices=[statevector_device(), falcon_27_device()],
    )
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def client(runtime: Runtime) -> TestClient:
    return TestClient(create_app(runtime))


def _access(client: TestClient, user: str = "alice") -> dict[str, str]:
    answer = client.post(
        IAM_PATH + "/identity/token", data={"grant_type": _GRANT, "apikey": token_of(user)}
    )
    assert answer.status_code == 200, answer.text
    crn = identity.instance_crn(identity_instance(user))
    return {"Authorization": f"Bearer {answer.json()['access_token']}", "Service-CRN": crn}


def identity_instance(user: str) -> str:
    return {"alice": "inst-a", "bob": "inst-b", "root": "ops"}[user]


def test_iam_exchange_answers_as_ibm_cloud(client: TestClient) -> None:
    answer = client.post(
        IAM_PATH + "/identity/token", data={"grant_type": _GRANT, "apikey": token_of("alice")}
    )
    body = answer.json()
    assert answer.status_code == 200
    assert body["token_type"] == "Bearer"
    assert body["expires_in"] == identity.ACCESS_TOKEN_SECONDS
    assert body["expiration"] > time.time()
    assert identity.service_token(body["access_token"]) == token_of("alice")

    bad = client.post(IAM_PATH + "/identity/token", data={"grant_type": _GRANT, "apikey": "x"})
    assert bad.status_code == 400
    assert bad.json()["errorMessage"] == "Provided API key could not be found."
    grant = client.post(IAM_PATH + "/identity/token", data={"grant_type": "password"})
    assert grant.status_code == 400 and "grant_type" in grant.json()["errorMessage"]
    empty = client.post(IAM_PATH + "/identity/token", data={"grant_type": _GRANT})
    assert empty.status_code == 400 and "no apikey" in empty.json()["errorMessage"]


def test_access_tokens_are_checked() -> None:
    access, expires = identity.mint_access_token("tok-alice", "alice", now=1000.0)
    assert expires == 1000 + identity.ACCESS_TOKEN_SECONDS
    assert identity.service_token(access, now=1001.0) == "tok-alice"
    with pytest.raises(NotAuthorizedError, match="expired"):
        identity.service_token(access, now=expires + 1.0)
    header, payload, signature = access.split(".")
    forged, _ = identity.mint_access_token("tok-bob", "bob", now=1000.0)
    with pytest.raises(NotAuthorizedError, match="signature"):
        identity.service_token(f"{forged.split('.')[0]}.{forged.split('.')[1]}.{signature}")
    with pytest.raises(NotAuthorizedError, match="not an access token"):
        identity.service_token("tok-alice")
    with pytest.raises(NotAuthorizedError, match="not an access token"):
        identity.service_token(f"{header}.!!!.{signature}")


def test_crns_name_instances() -> None:
    crn = identity.instance_crn("inst-a")
    assert identity.instance_of_crn(crn) == "inst-a"
    for bad in ("inst-a", "crn:v1:bluemix:public:quantum-computing:us-east:a/x:y::", ""):
        with pytest.raises(InputError, match="not an instance CRN of this server"):
            identity.instance_of_crn(bad)


async def _authenticate(runtime: Runtime, headers: dict[str, str]) -> Any:
    from qsession_provider.server.auth import Authenticator

    return await identity.authenticate(Authenticator(runtime.store, runtime.policy), headers)


def test_authentication_schemes_and_instances(runtime: Runtime) -> None:
    import asyncio

    crn_b = identity.instance_crn("inst-b")
    principal, instance = asyncio.run(_authenticate(runtime, {"authorization": "apikey tok-alice"}))
    assert (principal.user, instance) == ("alice", "inst-a")
    with pytest.raises(ForbiddenError, match="belongs to instance 'inst-a'"):
        asyncio.run(
            _authenticate(runtime, {"authorization": "apikey tok-alice", "service-crn": crn_b})
        )
    principal, instance = asyncio.run(
        _authenticate(runtime, {"authorization": "apikey tok-root", "service-crn": crn_b})
    )
    assert (principal.user, instance) == ("root", "inst-b")  # an administrator may
    with pytest.raises(NotAuthorizedError, match="missing Authorization"):
        asyncio.run(_authenticate(runtime, {}))
    with pytest.raises(NotAuthorizedError, match="must be 'Bearer"):
        asyncio.run(_authenticate(runtime, {"authorization": "Basic abc"}))


def test_errors_have_the_shape_the_client_reads(client: TestClient) -> None:
    headers = _access(client)
    unknown = client.get(RUNTIME_PATH + "/jobs/nope", headers=headers)
    assert unknown.status_code == 404
    error = unknown.json()["error"]
    assert error == {"message": "Job not found: no job with id 'nope'", "code": 404}
    assert client.get(RUNTIME_PATH + "/jobs").status_code == 401
    other = {**headers, "Service-CRN": identity.instance_crn("inst-b")}
    assert client.get(RUNTIME_PATH + "/jobs", headers=other).status_code == 403


def test_without_qiskit_submissions_are_501_and_the_rest_works(
    runtime: Runtime, client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    headers = _access(client)
    done = runtime.submit(
        "sampler", "statevector", decode_payload("sampler", sampler_text(8, seed=1)), user="alice"
    )
    done.result(timeout=30)
    monkeypatch.delitem(sys.modules, "qsession_provider.server.ibm.codec", raising=False)
    monkeypatch.setitem(sys.modules, "qsession_provider.server.ibm.codec", None)

    submit = client.post(
        RUNTIME_PATH + "/jobs",
        headers=headers,
        json={"program_id": "sampler", "backend": QPU, "params": {"pubs": [], "version": 2}},
    )
    assert submit.status_code == 501
    message = submit.json()["error"]["message"]
    assert "pip install 'qsession-provider[qiskit]'" in message
    result = client.get(RUNTIME_PATH + f"/jobs/{done.id}/results", headers=headers)
    assert result.status_code == 501

    assert client.get(RUNTIME_PATH + f"/jobs/{done.id}", headers=headers).json()["status"] == (
        "Completed"
    )
    assert client.get(RUNTIME_PATH + "/backends", headers=headers).status_code == 200
    session = client.post(RUNTIME_PATH + "/sessions", headers=headers, json={"backend": QPU})
    assert session.status_code == 200 and session.json()["state"] == "open"
    session_path = RUNTIME_PATH + f"/sessions/{session.json()['id']}"
    closed = client.delete(session_path + "/close", headers=headers)
    assert closed.status_code == 204


def test_session_requests_name_their_problem(client: TestClient) -> None:
    headers = _access(client)
    path = RUNTIME_PATH + "/sessions"
    cases = [
        ({"backend": QPU, "mode": "solo"}, "field 'mode'"),
        ({}, "field 'backend'"),
        ({"backend": QPU, "max_ttl": -1}, "field 'max_ttl'"),
        ({"backend": QPU, "instance": identity.instance_crn("inst-b")}, "field 'instance'"),
    ]
    for body, named in cases:
        answer = client.post(path, headers=headers, json=body)
        assert answer.status_code == 400, body
        assert named in answer.json()["error"]["message"]
    assert client.post(path, headers=headers, json={"backend": "nope"}).status_code == 404
    opened = client.post(path, headers=headers, json={"backend": QPU}).json()
    patch = client.patch(path + f"/{opened['id']}", headers=headers, json={"max_ttl": 5})
    assert patch.status_code == 400 and "accepting_jobs" in patch.json()["error"]["message"]
    assert (
        client.patch(
            path + f"/{opened['id']}", headers=headers, json={"accepting_jobs": False}
        ).status_code
        == 204
    )


def test_endpoints_of_a_server_url() -> None:
    assert client_endpoints("http://127.0.0.1:8765/") == {
        "url": "http://127.0.0.1:8765/ibm/experimental/api/v1",
        "IAM_URL": "http://127.0.0.1:8765/ibm/iam",
        "GLOBAL_SEARCH_URL": "http://127.0.0.1:8765/ibm/global-search",
        "GLOBAL_CATALOG_URL": "http://127.0.0.1:8765/ibm/global-catalog",
    }
