"""The HTTP API in process (``TestClient(create_app(runtime))``): routes, users, bad input."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.clock import RealClock, VirtualClock
from qsession_provider.core.ir.bits import PackedBits
from qsession_provider.core.ir.encoding import loads
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store import MemoryStore
from qsession_provider.core.user import TokenRecord, hash_token
from qsession_provider.plugins.builtin import falcon_27_device, statevector_device
from qsession_provider.server import create_app

from .conftest import API, TestClient, add_tokens, auth, job_body, sampler_text


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    store = MemoryStore()
    add_tokens(store)
    rt = Runtime(
        store=store, clock=VirtualClock(), devices=[statevector_device(), falcon_27_device()]
    )
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


def _client(runtime: Runtime, user: str | None = None, **options: Any) -> TestClient:
    headers = auth(user) if user else {}
    return TestClient(create_app(runtime, **options), base_url="http://test" + API, headers=headers)


@pytest.fixture
def alice(runtime: Runtime) -> TestClient:
    return _client(runtime, "alice")


@pytest.fixture
def bob(runtime: Runtime) -> TestClient:
    return _client(runtime, "bob")


@pytest.fixture
def root(runtime: Runtime) -> TestClient:
    return _client(runtime, "root")


def _error(response: Any, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_, error
    return str(error["message"])


def _submit(client: TestClient, **extra: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body(**extra))
    assert response.status_code == 201, response.text
    return dict(response.json())


# -- authentication ------------------------------------------------------------------------------
def test_requests_without_a_known_token_are_refused(runtime: Runtime) -> None:
    anonymous = _client(runtime)
    assert "missing Authorization" in _error(anonymous.get("/whoami"), 401, "NotAuthorizedError")
    bad_scheme = anonymous.get("/whoami", headers={"Authorization": "Basic abc"})
    assert "Bearer" in _error(bad_scheme, 401, "NotAuthorizedError")
    unknown = anonymous.get("/whoami", headers={"Authorization": "Bearer nope"})
    assert "unknown" in _error(unknown, 401, "NotAuthorizedError")
    # Unknown routes too: nothing about the API is told before authentication.
    _error(anonymous.get("/nowhere"), 401, "NotAuthorizedError")
    _error(anonymous.post("/jobs", json=job_body()), 401, "NotAuthorizedError")
    assert runtime.jobs() == []


def test_whoami(alice: TestClient, root: TestClient) -> None:
    assert alice.get("/whoami").json() == {"user": "alice", "instance": "inst-a", "admin": False}
    assert root.get("/whoami").json()["admin"] is True


def test_unknown_routes_and_methods(alice: TestClient) -> None:
    assert "/api/v1" in _error(alice.get("/nowhere"), 404, "NotFound")
    _error(alice.get("http://test/elsewhere"), 404, "NotFound")
    _error(alice.put("/jobs"), 405, "MethodNotAllowed")


def test_a_revoked_token_stops_working_and_new_tokens_apply_their_share(
    runtime: Runtime,
) -> None:
    app = create_app(runtime)
    runtime.store.add_token(TokenRecord("carol", hash_token("tok-carol"), "inst-c", 3.0))
    client = TestClient(app, base_url="http://test" + API)
    headers = {"Authorization": "Bearer tok-carol"}
    assert client.get("/whoami", headers=headers).json()["user"] == "carol"
    assert runtime.policy.shares["inst-c"] == 3.0
    runtime.store.remove_token("carol")
    app.state.qsession.auth._cache.clear()  # past the cache's few seconds
    _error(client.get("/whoami", headers=headers), 401, "NotAuthorizedError")


def test_shares_of_the_stored_tokens_are_applied_at_start() -> None:
    store = MemoryStore()
    store.add_token(TokenRecord("dave", hash_token("t"), "inst-d", 2.5))
    with Runtime(store=store, clock=VirtualClock(), devices=[statevector_device()]) as rt:
        create_app(rt)
        assert rt.policy.shares["inst-d"] == 2.5


# -- jobs ------------------------------------------------------------------------------------------
def test_a_tiny_job_comes_back_with_its_result(alice: TestClient, runtime: Runtime) -> None:
    data = _submit(alice, name="bell", tags=["t1"], metadata={"k": [1, 2]})
    job = data["job"]
    assert job["status"] == "DONE" and job["user"] == "alice" and job["instance"] == "inst-a"
    assert job["name"] == "bell" and job["tags"] == ["t1"] and job["metadata"] == {"k": [1, 2]}
    assert job["owner"] == runtime.process_id
    result = loads(data["result"])
    assert result is not None
    assert alice.get(f"/jobs/{job['id']}").json() == {"job": job}
    assert alice.get(f"/jobs/{job['id']}/payload").json() == {"payload": sampler_text()}
    waited = alice.post(f"/jobs/{job['id']}/wait", json={"timeout": None}).json()
    assert waited["job"]["status"] == "DONE" and waited["result"] == data["result"]


def test_long_poll_waits_on_the_runtime_clock(alice: TestClient, runtime: Runtime) -> None:
    job = _submit(alice, device="emulated_falcon_27")["job"]
    assert job["status"] in ("QUEUED", "RUNNING")
    t0 = runtime.clock.now()
    # Timeout 0: answers at once with the job as it is.
    early = alice.post(f"/jobs/{job['id']}/wait", json={"timeout": 0}).json()
    assert early["job"]["status"] in ("QUEUED", "RUNNING") and early["result"] is None
    # No timeout: the virtual clock moves to the job's modelled end, as an embedded wait does.
    done = alice.post(f"/jobs/{job['id']}/wait", json={}).json()
    assert done["job"]["status"] == "DONE" and done["result"] is not None
    assert runtime.clock.now() - t0 == pytest.approx(1.0 + 0.05 + 16 * 250e-6)


def test_passive_waits_never_move_the_virtual_clock(alice: TestClient, runtime: Runtime) -> None:
    job = _submit(alice, device="emulated_falcon_27")["job"]
    t0 = runtime.clock.now()
    # A background watcher's poll: real time only (here 0.05 s), the clock stays.
    polled = alice.post(f"/jobs/{job['id']}/wait", json={"timeout": 0.05, "passive": True})
    assert polled.json()["job"]["status"] in ("QUEUED", "RUNNING")
    assert runtime.clock.now() == t0
    runtime.clock.advance(2)  # someone else moves time: the passive poll sees the end
    done = alice.post(f"/jobs/{job['id']}/wait", json={"passive": True}).json()
    assert done["job"]["status"] == "DONE" and done["result"] is not None
    msg = _error(alice.post(f"/jobs/{job['id']}/wait", json={"timeout": -1}), 400, "InputError")
    assert "'timeout'" in msg


def test_system_jobs_are_for_administrators_and_fail_with_is_recorded(
    alice: TestClient, root: TestClient
) -> None:
    msg = _error(alice.post("/jobs", json=job_body(system=True)), 403, "ForbiddenError")
    assert "system" in msg
    assert _submit(root, system=True)["job"]["system"] is True
    failed = _submit(alice, fail_with="this input cannot run here")["job"]
    assert failed["status"] == "ERROR" and "cannot run here" in failed["error_message"]


def test_cancel_update_delete(alice: TestClient, runtime: Runtime) -> None:
    first = _submit(alice, device="emulated_falcon_27")["job"]  # runs (modelled time)
    queued = _submit(alice, device="emulated_falcon_27")["job"]
    assert queued["status"] == "QUEUED"
    msg = _error(alice.delete(f"/jobs/{queued['id']}"), 409, "InvalidJobStateError")
    assert "QUEUED" in msg
    patched = alice.patch(f"/jobs/{queued['id']}", json={"name": "renamed", "tags": ["x"]})
    assert patched.json()["job"]["name"] == "renamed" and patched.json()["job"]["tags"] == ["x"]
    cancel = alice.post(f"/jobs/{queued['id']}/cancel").json()
    assert cancel["cancelled"] is True and cancel["job"]["status"] == "CANCELLED"
    again = alice.post(f"/jobs/{queued['id']}/cancel").json()
    assert again["cancelled"] is False
    assert alice.delete(f"/jobs/{queued['id']}").status_code == 204
    _error(alice.get(f"/jobs/{queued['id']}"), 404, "JobNotFoundError")
    assert alice.post(f"/jobs/{first['id']}/wait", json={}).json()["job"]["status"] == "DONE"


def test_listing_filters(alice: TestClient, runtime: Runtime) -> None:
    a = _submit(alice, name="alpha-1", tags=["x", "y"])["job"]
    b = _submit(alice, name="beta-1", tags=["x"])["job"]
    c = _submit(alice, device="emulated_falcon_27", name="alpha-2")["job"]

    def ids(**params: Any) -> list[str]:
        response = alice.get("/jobs", params=params)
        assert response.status_code == 200, response.text
        return [j["id"] for j in response.json()["jobs"]]

    assert ids() == [c["id"], b["id"], a["id"]]
    assert ids(descending="false") == [a["id"], b["id"], c["id"]]
    assert ids(name_prefix="alpha") == [c["id"], a["id"]]
    assert ids(tags=["x", "y"]) == [a["id"]]
    assert ids(status=["QUEUED", "RUNNING"]) == [c["id"]]
    assert ids(pending="false", limit=1) == [b["id"]]
    assert ids(pending="false", limit=1, skip=1) == [a["id"]]
    assert ids(device="emulated_falcon_27") == [c["id"]]
    assert len(ids(created_after=c["created_at"], created_before=c["created_at"])) == 3
    assert ids(created_after=c["created_at"] + 1) == []
    assert "'bogus'" in _error(alice.get("/jobs", params={"bogus": 1}), 400, "InputError")
    assert "'limit'" in _error(alice.get("/jobs", params={"limit": "x"}), 400, "InputError")
    assert "'pending'" in _error(alice.get("/jobs", params={"pending": "yes"}), 400, "InputError")
    _error(alice.get("/jobs", params={"status": "LOST"}), 400, "InputError")


def test_an_admin_may_charge_another_instance(
    alice: TestClient, root: TestClient, runtime: Runtime
) -> None:
    msg = _error(alice.post("/jobs", json=job_body(instance="x")), 403, "ForbiddenError")
    assert "administrator" in msg
    assert _submit(root, instance="special")["job"]["instance"] == "special"
    assert [j.record.user for j in runtime.jobs()] == ["root"]


# -- users see only their own work -----------------------------------------------------------------
def test_users_reach_only_their_own_jobs_and_sessions(
    alice: TestClient, bob: TestClient, root: TestClient, runtime: Runtime
) -> None:
    done = _submit(alice)["job"]
    session = alice.post("/sessions", json={"device": "emulated_falcon_27"}).json()["session"]
    in_session = _submit(alice, device="emulated_falcon_27", session_id=session["id"])["job"]
    bobs = _submit(bob)["job"]

    def same_as_unknown(response: Any, kind: str, ident: str, type_: str) -> None:
        message = _error(response, 404, type_)
        assert message == f"no {kind} with id {ident!r}"

    for job_id in (done["id"], in_session["id"]):
        same_as_unknown(bob.get(f"/jobs/{job_id}"), "job", job_id, "JobNotFoundError")
        same_as_unknown(bob.get(f"/jobs/{job_id}/payload"), "job", job_id, "JobNotFoundError")
        same_as_unknown(
            bob.post(f"/jobs/{job_id}/wait", json={}), "job", job_id, "JobNotFoundError"
        )
        same_as_unknown(bob.post(f"/jobs/{job_id}/cancel"), "job", job_id, "JobNotFoundError")
        same_as_unknown(
            bob.patch(f"/jobs/{job_id}", json={"name": "x"}), "job", job_id, "JobNotFoundError"
        )
        same_as_unknown(bob.delete(f"/jobs/{job_id}"), "job", job_id, "JobNotFoundError")
    same_as_unknown(bob.get("/jobs/nope"), "job", "nope", "JobNotFoundError")
    sid = session["id"]
    for response in (
        bob.get(f"/sessions/{sid}"),
        bob.post(f"/sessions/{sid}/close"),
        bob.post(f"/sessions/{sid}/cancel"),
    ):
        same_as_unknown(response, "session", sid, "SessionNotFoundError")
    # Feeding another user's session is refused as for an unknown session.
    _error(
        bob.post("/jobs", json=job_body(device="emulated_falcon_27", session_id=sid)),
        404,
        "SessionNotFoundError",
    )
    assert [j["id"] for j in bob.get("/jobs").json()["jobs"]] == [bobs["id"]]
    assert bob.get("/sessions").json()["sessions"] == []
    assert bob.get("/jobs", params={"user": "alice"}).json()["jobs"] == []
    # Nothing of alice's changed.
    assert alice.get(f"/jobs/{done['id']}").json()["job"] == done
    assert alice.get(f"/sessions/{sid}").json()["session"]["accepting_jobs"] is True
    assert runtime.job(in_session["id"]).status.value in ("QUEUED", "RUNNING")
    # An administrator sees everyone's.
    every = {j["id"] for j in root.get("/jobs").json()["jobs"]}
    assert every == {done["id"], in_session["id"], bobs["id"]}
    assert [j["id"] for j in root.get("/jobs", params={"user": "bob"}).json()["jobs"]] == [
        bobs["id"]
    ]
    assert root.get(f"/sessions/{sid}").json()["session"]["user"] == "alice"


# -- sessions --------------------------------------------------------------------------------------
def test_session_lifecycle(alice: TestClient, runtime: Runtime) -> None:
    opened = alice.post(
        "/sessions",
        json={
            "device": "emulated_falcon_27",
            "mode": "batch",
            "max_ttl": "1h",
            "idle_timeout": None,
            "name": "s1",
            "tags": ["a"],
            "metadata": {"m": 1},
        },
    )
    assert opened.status_code == 201, opened.text
    session = opened.json()["session"]
    assert session["mode"] == "batch" and session["user"] == "alice" and session["max_ttl"] == 3600
    assert session["idle_timeout"] is None and session["instance"] == "inst-a"
    job = _submit(alice, device="emulated_falcon_27", session_id=session["id"])["job"]
    assert job["session_id"] == session["id"]
    closed = alice.post(f"/sessions/{session['id']}/close").json()["session"]
    assert closed["accepting_jobs"] is False
    _error(
        alice.post("/jobs", json=job_body(device="emulated_falcon_27", session_id=session["id"])),
        409,
        "SessionClosedError",
    )
    alice.post(f"/jobs/{job['id']}/wait", json={})
    assert alice.get(f"/sessions/{session['id']}").json()["session"]["state"] == "closed"
    other = alice.post("/sessions", json={"device": "statevector"}).json()["session"]
    cancelled = alice.post(f"/sessions/{other['id']}/cancel").json()["session"]
    assert cancelled["state"] == "closed"
    listed = alice.get("/sessions", params={"state": "closed", "mode": "batch"}).json()
    assert [s["id"] for s in listed["sessions"]] == [session["id"]]
    _error(alice.get("/sessions", params={"mode": "weird"}), 400, "InputError")


def test_session_options_are_checked(alice: TestClient, runtime: Runtime) -> None:
    assert "'ttl'" in _error(
        alice.post("/sessions", json={"device": "statevector", "ttl": 5}), 400, "InputError"
    )
    assert "'device'" in _error(alice.post("/sessions", json={}), 400, "InputError")
    _error(alice.post("/sessions", json={"device": "nope"}), 404, "DeviceNotFoundError")
    _error(alice.post("/sessions", json={"device": "statevector", "mode": "x"}), 400, "InputError")
    assert "max_ttl" in _error(
        alice.post("/sessions", json={"device": "statevector", "max_ttl": -1}), 400, "InputError"
    )
    assert runtime.sessions() == []


# -- bad requests ----------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("body", "names"),
    [
        (b"{not json", "not valid JSON"),
        (b"[1, 2]", "JSON object"),
        (b"", "empty"),
        (b'{"program_id": "sampler", "device": "statevector"}', "'payload'"),
        (
            b'{"program_id": "sampler", "device": "statevector", "payload": "{}", "color": 1}',
            "'color'",
        ),
        (b'{"program_id": 3, "device": "statevector", "payload": "{}"}', "'program_id'"),
        (b'{"program_id": "sampler", "device": "statevector", "payload": "{nope"}', "'payload'"),
        (
            b'{"program_id": "sampler", "device": "statevector", "payload": "{\\"pubs\\": []}"}',
            "'payload'",
        ),
    ],
)
def test_bad_job_bodies_are_400_naming_the_problem(
    alice: TestClient, runtime: Runtime, body: bytes, names: str
) -> None:
    response = alice.post("/jobs", content=body, headers={"Content-Type": "application/json"})
    assert names in _error(response, 400, "InputError")
    assert runtime.jobs() == []


def test_a_payload_the_device_refuses_is_400_naming_the_payload(
    alice: TestClient, runtime: Runtime
) -> None:
    too_wide = job_body(device="emulated_falcon_27", payload=sampler_text(qubits=30))
    response = alice.post("/jobs", json=too_wide)
    assert response.status_code == 400, response.text
    assert "payload" in response.json()["error"]["message"]
    more = job_body(priority="high")
    assert "'priority'" in _error(alice.post("/jobs", json=more), 400, "InputError")
    _error(alice.post("/jobs", json=job_body(device="nope")), 404, "DeviceNotFoundError")
    wrong_program = job_body(program_id="estimator")
    _error(alice.post("/jobs", json=wrong_program), 400, "InputError")
    dup = _submit(alice, job_id="fixed-id")["job"]
    _error(alice.post("/jobs", json=job_body(job_id="fixed-id")), 409, "AlreadyExistsError")
    assert [j.id for j in runtime.jobs()] == [dup["id"]]


def test_bodies_over_the_limit_are_413_naming_it(runtime: Runtime) -> None:
    client = _client(runtime, "alice", max_body=1000)
    big = job_body(name="x" * 2000)
    message = _error(client.post("/jobs", json=big), 413, "RequestTooLargeError")
    assert "1000 bytes" in message

    def chunks() -> Iterator[bytes]:  # no Content-Length: counted while streaming
        yield b'{"program_id": "sampler", "name": "'
        for _ in range(10):
            yield b"x" * 200
        yield b'"}'

    streamed = client.post("/jobs", content=chunks(), headers={"Content-Type": "application/json"})
    assert "1000 bytes" in _error(streamed, 413, "RequestTooLargeError")
    assert client.post("/jobs", json=job_body()).status_code == 201
    assert len(runtime.jobs()) == 1


def test_more_unfinished_jobs_than_allowed_is_429(runtime: Runtime) -> None:
    app = create_app(runtime, max_queued_per_user=2)
    alice = TestClient(app, base_url="http://test" + API, headers=auth("alice"))
    bob = TestClient(app, base_url="http://test" + API, headers=auth("bob"))
    first = _submit(alice, device="emulated_falcon_27")["job"]
    _submit(alice, device="emulated_falcon_27")
    message = _error(
        alice.post("/jobs", json=job_body(device="emulated_falcon_27")), 429, "TooManyJobsError"
    )
    assert "--max-queued 2" in message
    _submit(bob, device="emulated_falcon_27")  # other users are not limited by alice's jobs
    # Tiny jobs that end at once still count while they are unfinished only.
    _error(alice.post("/jobs", json=job_body()), 429, "TooManyJobsError")
    assert alice.post(f"/jobs/{first['id']}/wait", json={}).json()["job"]["status"] == "DONE"
    _submit(alice, device="emulated_falcon_27")
    assert app.state.qsession.queued.count("alice") == 2


# -- devices and the clock -------------------------------------------------------------------------
def test_devices(alice: TestClient) -> None:
    devices = {d["name"]: d for d in alice.get("/devices").json()["devices"]}
    falcon = devices["emulated_falcon_27"]
    assert falcon["slots"] == 1 and falcon["simulator"] is False and falcon["num_qubits"] == 27
    assert falcon["timing"] == {"per_job": 1.0, "per_circuit": 0.05, "per_shot": 250e-6}
    assert [0, 1] in falcon["coupling_map"] and "sampler" in falcon["programs"]
    assert devices["statevector"]["coupling_map"] is None
    one = alice.get("/devices/emulated_falcon_27").json()
    assert one == {"device": falcon, "pending_jobs": 0, "holder": None}
    _error(alice.get("/devices/nope"), 404, "DeviceNotFoundError")


def test_clock_advance_is_for_administrators_of_a_virtual_clock(
    alice: TestClient, root: TestClient, runtime: Runtime
) -> None:
    now = runtime.clock.now()
    assert alice.get("/clock").json() == {"now": now, "virtual": True}
    _error(alice.post("/clock/advance", json={"seconds": 5}), 403, "ForbiddenError")
    assert root.post("/clock/advance", json={"seconds": "10m"}).json() == {"now": now + 600}
    assert root.post("/clock/advance", json={"seconds": 1.5}).json() == {"now": now + 601.5}
    _error(root.post("/clock/advance", json={"seconds": -1}), 400, "InputError")
    assert "'seconds'" in _error(root.post("/clock/advance", json={}), 400, "InputError")
    assert "'seconds'" in _error(
        root.post("/clock/advance", json={"seconds": "soon"}), 400, "InputError"
    )
    store = MemoryStore()
    add_tokens(store)
    with Runtime(store=store, clock=RealClock(), devices=[statevector_device()]) as real:
        client = _client(real, "root")
        assert client.get("/clock").json()["virtual"] is False
        _error(client.post("/clock/advance", json={"seconds": 1}), 409, "QSessionError")


# -- logs ------------------------------------------------------------------------------------------
def test_one_debug_line_per_request(alice: TestClient, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.DEBUG, logger="qsession_provider.server"):
        alice.get("/whoami")
        alice.get("/nowhere")
        alice.post("/jobs", content=b"{")
    lines = [r.getMessage() for r in caplog.records if r.name == "qsession_provider.server"]
    assert len(lines) == 3
    assert lines[0].startswith("GET /api/v1/whoami 200") and lines[0].endswith("user=alice")
    assert lines[1].startswith("GET /api/v1/nowhere 404")
    assert lines[2].startswith("POST /api/v1/jobs 400")


def test_results_round_trip_numpy_arrays(alice: TestClient) -> None:
    data = _submit(alice, payload=sampler_text(shots=64, seed=7))
    result = loads(data["result"])
    bits = [v for v in _walk(result) if isinstance(v, PackedBits)]
    assert len(bits) == 1 and bits[0].shape == (64,) and bits[0].num_bits == 2, result
    assert isinstance(bits[0].data, np.ndarray) and bits[0].unpack().shape == (64, 2)


def _walk(value: Any) -> Iterator[Any]:
    yield value
    if isinstance(value, dict):
        for v in value.values():
            yield from _walk(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _walk(v)
