"""The real server (``qsession serve`` in a subprocess) with clients in other processes.

Fair share between two users' processes, a dedicated session holding its device, bad
requests that disturb nobody, tokens made while the server runs, clean stops and kill -9.
Every wait runs on the server's virtual clock (``--virtual-clock``), never by sleeping.
"""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qsession_provider.core.job import JobStatus
from qsession_provider.core.store import SQLiteStore
from qsession_provider.errors import JobNotFoundError

from .conftest import START_TIMEOUT, ServerProcess, job_body, sampler_text

FALCON = "emulated_falcon_27"  # one slot; 1 s + 50 ms per circuit + 250 us per shot
EAGLE = "emulated_eagle_127"  # one slot; 2 s + 80 ms per circuit + 300 us per shot


@pytest.fixture(scope="module")
def server(server_factory: Any) -> ServerProcess:
    """The module's shared server: virtual clock, debug log."""
    return server_factory("--virtual-clock", "--log-level", "debug")


@pytest.fixture(scope="module")
def limited(server_factory: Any) -> ServerProcess:
    """A server with small limits: 64 KiB bodies, 3 unfinished jobs per user."""
    return server_factory("--virtual-clock", "--max-body", "65536", "--max-queued", "3")


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json()) if response.content else {}


def _error(response: httpx.Response, status: int, type_: str) -> str:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["type"] == type_, error
    return str(error["message"])


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    """Long-poll until the job is final (each poll at most the server's real cap)."""
    while True:
        data = _ok(client.post(f"/jobs/{job_id}/wait", json={"timeout": None}))
        if data["job"]["status"] in ("DONE", "ERROR", "CANCELLED"):
            return data


# Submits N jobs to a device as one user, from its own process (into a session if one is
# given); prints the job ids.
_SUBMITTER = """
import json, sys, httpx
url, token, device, count, shots, here, session = sys.argv[1:8]
sys.path.insert(0, here)
from conftest import sampler_text
body = {"program_id": "sampler", "device": device, "payload": sampler_text(int(shots))}
if session:
    body["session_id"] = session
ids = []
with httpx.Client(base_url=url + "/api/v1", headers={"Authorization": "Bearer " + token}) as c:
    for _ in range(int(count)):
        r = c.post("/jobs", json=body)
        r.raise_for_status()
        ids.append(r.json()["job"]["id"])
print(json.dumps(ids))
"""


def _submitters(
    server: ServerProcess, plans: list[tuple[str, str, int, int]], session: str = ""
) -> list[list[str]]:
    """Run one submitting process per ``(user, device, count, shots)``, all at once."""
    here = str(Path(__file__).parent)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", _SUBMITTER, server.url, f"tok-{user}", device, str(n), str(s)]
            + [here, session],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        for user, device, n, s in plans
    ]
    out = []
    for proc in procs:
        stdout, stderr = proc.communicate(timeout=START_TIMEOUT)
        assert proc.returncode == 0, stderr.decode()
        out.append(json.loads(stdout))
    return out


# -- fair share ----------------------------------------------------------------------------------
def test_fair_share_between_two_users_processes(server: ServerProcess) -> None:
    """Two users with equal shares keep a one-slot QPU busy from their own processes; bob's
    jobs are twice as long, and each user still gets 40-60% of the device time."""
    alice_ids, bob_ids = _submitters(server, [("alice", FALCON, 30, 16), ("bob", FALCON, 30, 4000)])
    with server.client("root") as root:
        records = [_wait(root, job_id)["job"] for job_id in alice_ids + bob_ids]
    assert all(r["status"] == "DONE" for r in records)
    first = sorted(records, key=lambda r: r["started_at"])[:40]
    time_of: dict[str, float] = {"alice": 0.0, "bob": 0.0}
    for r in first:
        time_of[r["user"]] += r["finished_at"] - r["started_at"]
    share = time_of["alice"] / (time_of["alice"] + time_of["bob"])
    assert 0.4 <= share <= 0.6, (share, [r["user"] for r in first])
    # One job at a time: the device was never shared.
    ordered = sorted(records, key=lambda r: r["started_at"])
    assert all(a["finished_at"] <= b["started_at"] for a, b in zip(ordered, ordered[1:]))
    # Each user reaches only their own jobs; another user's id is "not found".
    with server.client("alice") as alice, server.client("bob") as bob:
        assert {j["id"] for j in _ok(alice.get("/jobs"))["jobs"]} == set(alice_ids)
        assert {j["id"] for j in _ok(bob.get("/jobs"))["jobs"]} == set(bob_ids)
        theirs = bob_ids[0]
        _error(alice.get(f"/jobs/{theirs}"), 404, "JobNotFoundError")
        _error(alice.post(f"/jobs/{theirs}/cancel"), 404, "JobNotFoundError")
        _error(alice.delete(f"/jobs/{theirs}"), 404, "JobNotFoundError")
        _error(bob.delete(f"/jobs/{alice_ids[0]}"), 404, "JobNotFoundError")
        assert _ok(bob.get(f"/jobs/{theirs}"))["job"]["status"] == "DONE"


def test_a_session_opened_in_one_process_is_fed_from_another(server: ServerProcess) -> None:
    with server.client("alice") as alice, server.client("bob") as bob:
        session = _ok(alice.post("/sessions", json={"device": "statevector"}), 201)["session"]
        (ids,) = _submitters(server, [("alice", "statevector", 3, 16)], session=session["id"])
        jobs = _ok(alice.get("/jobs", params={"session_id": session["id"]}))["jobs"]
        assert {j["id"] for j in jobs} == set(ids)
        assert all(j["status"] == "DONE" for j in jobs)
        # Another user's process cannot feed it: the session is "not found" for them.
        fed = bob.post("/jobs", json=job_body(session_id=session["id"]))
        _error(fed, 404, "SessionNotFoundError")
        _ok(alice.post(f"/sessions/{session['id']}/close"))


# -- dedicated sessions ----------------------------------------------------------------------------
def test_a_dedicated_session_holds_its_device_within_the_interactive_window(
    server: ServerProcess,
) -> None:
    with server.client("alice") as alice, server.client("bob") as bob:
        opened = alice.post("/sessions", json={"device": EAGLE, "interactive_ttl": 60})
        session = _ok(opened, 201)["session"]
        a1 = _ok(alice.post("/jobs", json=job_body(EAGLE, session_id=session["id"])), 201)["job"]
        a1 = _wait(alice, a1["id"])["job"]
        b1 = _ok(bob.post("/jobs", json=job_body(EAGLE)), 201)["job"]
        device = _ok(bob.get(f"/devices/{EAGLE}"))
        assert device["holder"] == session["id"] and device["pending_jobs"] == 1
        assert _ok(bob.get(f"/jobs/{b1['id']}"))["job"]["status"] == "QUEUED"
        # Within the window alice's next job goes first, though bob's was queued earlier.
        a2 = _ok(alice.post("/jobs", json=job_body(EAGLE, session_id=session["id"])), 201)["job"]
        a2 = _wait(alice, a2["id"])["job"]
        assert _ok(bob.get(f"/jobs/{b1['id']}"))["job"]["status"] == "QUEUED"
        # Bob's job starts when the window closes: the device goes back to fair share.
        b1 = _wait(bob, b1["id"])["job"]
        assert a2["started_at"] >= a1["finished_at"]
        assert b1["started_at"] == pytest.approx(a2["finished_at"] + 60)
        assert _ok(bob.get(f"/devices/{EAGLE}"))["holder"] is None
        _ok(alice.post(f"/sessions/{session['id']}/close"))


# -- bad requests ----------------------------------------------------------------------------------
def test_bad_requests_over_the_wire_disturb_nobody(limited: ServerProcess) -> None:
    with limited.client("alice") as alice, limited.client("bob") as bob:
        session = _ok(bob.post("/sessions", json={"device": FALCON}), 201)["session"]
        running = _ok(bob.post("/jobs", json=job_body(FALCON, session_id=session["id"])), 201)
        queued = _ok(bob.post("/jobs", json=job_body(FALCON, session_id=session["id"])), 201)

        big = json.dumps(job_body(name="x" * 70_000))
        msg = _error(alice.post("/jobs", content=big), 413, "RequestTooLargeError")
        assert "65536 bytes" in msg

        def chunks() -> Iterator[bytes]:  # chunked: no Content-Length to look at
            yield big.encode()

        msg = _error(alice.post("/jobs", content=chunks()), 413, "RequestTooLargeError")
        assert "65536 bytes" in msg
        assert "not valid JSON" in _error(alice.post("/jobs", content=b"{"), 400, "InputError")
        unknown = {**job_body(), "shots": 5}
        assert "'shots'" in _error(alice.post("/jobs", json=unknown), 400, "InputError")
        missing = {"program_id": "sampler", "device": FALCON}
        assert "'payload'" in _error(alice.post("/jobs", json=missing), 400, "InputError")
        invalid = job_body(FALCON, payload='{"pubs": [{"program": 1}]}')
        assert "'payload'" in _error(alice.post("/jobs", json=invalid), 400, "InputError")
        _error(alice.get("/no/such/route"), 404, "NotFound")
        for _ in range(3):
            _ok(alice.post("/jobs", json=job_body(FALCON)), 201)
        assert "--max-queued 3" in _error(
            alice.post("/jobs", json=job_body(FALCON)), 429, "TooManyJobsError"
        )
        assert len(_ok(alice.get("/jobs"))["jobs"]) == 3  # no bad request made a job

        # Bob's session and jobs went on as if nothing happened.
        record = _ok(bob.get(f"/sessions/{session['id']}"))["session"]
        assert record["accepting_jobs"] is True and record["state"] in ("open", "active")
        more = _ok(bob.post("/jobs", json=job_body(FALCON, session_id=session["id"])), 201)
        for job in (running, queued, more):
            assert _wait(bob, job["job"]["id"])["job"]["status"] == "DONE"


def test_a_token_made_while_the_server_runs_works_at_once(server: ServerProcess) -> None:
    out = subprocess.run(
        [sys.executable, "-m", "qsession_provider.cli", "token", "create", "carol"]
        + ["--instance", "inst-c", "--share", "2", "--store", str(server.store)],
        capture_output=True,
        text=True,
        check=True,
    )
    token = out.stdout.strip()
    assert token.startswith("qs_")
    headers = {"Authorization": f"Bearer {token}"}
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers) as carol:
        assert _ok(carol.get("/whoami")) == {"user": "carol", "instance": "inst-c", "admin": False}


def test_one_debug_log_line_per_request(server: ServerProcess) -> None:
    with server.client("alice") as alice:
        _ok(alice.get("/whoami"))
        _error(alice.get("/nowhere"), 404, "NotFound")
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:  # the log is written by another process
        text = server.log.read_text()
        if "GET /api/v1/nowhere 404" in text:
            break
        time.sleep(0.05)
    assert "GET /api/v1/whoami 200" in text and "user=alice" in text
    assert "GET /api/v1/nowhere 404" in text


# -- stopping and restarting -----------------------------------------------------------------------
def _stored(store: Any, job_id: str) -> JobStatus | None:
    db = SQLiteStore(str(store))
    try:
        return db.get_job(job_id).status
    except JobNotFoundError:  # not written yet
        return None
    finally:
        db.close()


def _until_stored(store: Any, wanted: dict[str, JobStatus]) -> None:
    """Wait (real time, bounded) until the server's write-behind has stored these states."""
    deadline = time.monotonic() + 30
    while True:
        got = {job_id: _stored(store, job_id) for job_id in wanted}
        if got == wanted:
            return
        assert time.monotonic() < deadline, got
        time.sleep(0.05)


def test_sigterm_stops_cleanly_and_a_restart_runs_the_queued_jobs(server_factory: Any) -> None:
    first = server_factory("--virtual-clock")
    with first.client("alice") as alice:
        ids = [_ok(alice.post("/jobs", json=job_body(FALCON)), 201)["job"]["id"] for _ in range(4)]
    _until_stored(first.store, {i: JobStatus.QUEUED for i in ids[1:]})
    assert first.terminate() == 0
    assert "Traceback" not in first.log.read_text()
    db = SQLiteStore(str(first.store))
    try:
        statuses = [db.get_job(i).status for i in ids]
        assert db.processes() == []  # unregistered: its kept work is for the next server
    finally:
        db.close()
    assert statuses[0] is JobStatus.DONE  # the running job was waited for
    assert statuses[1:] == [JobStatus.QUEUED] * 3

    second = server_factory("--virtual-clock", store=first.store)
    with second.client("alice") as alice:
        assert [_wait(alice, i)["job"]["status"] for i in ids] == ["DONE"] * 4


def test_sigint_stops_cleanly_even_during_a_long_poll(server_factory: Any) -> None:
    """On a real clock: a stop ends the long-polls in progress instead of waiting for them."""
    real = server_factory()
    with real.client("alice") as alice:
        ids = [_ok(alice.post("/jobs", json=job_body(FALCON)), 201)["job"]["id"] for _ in range(6)]
    outcome: list[Any] = []

    def poll() -> None:
        with real.client("alice") as client:
            try:
                outcome.append(client.post(f"/jobs/{ids[-1]}/wait", json={"timeout": None}))
            except httpx.HTTPError as exc:  # the stop came first: no answer
                outcome.append(exc)

    waiter = threading.Thread(target=poll)
    waiter.start()
    time.sleep(0.3)  # only to let the poll begin; nothing here is timed by it
    assert real.proc is not None
    started = time.monotonic()
    real.proc.send_signal(signal.SIGINT)
    assert real.proc.wait(START_TIMEOUT) == 0
    waiter.join(START_TIMEOUT)
    assert time.monotonic() - started < 10  # not the 25 s long-poll cap, nor the queue's time
    if isinstance(outcome[0], httpx.Response):
        assert outcome[0].json()["job"]["status"] == "QUEUED"
    assert _stored(real.store, ids[-1]) is JobStatus.QUEUED


def test_kill_9_mid_run_then_restart_loses_nothing(server_factory: Any) -> None:
    first = server_factory("--virtual-clock")
    with first.client("alice") as alice:

        def submit(device: str, **extra: Any) -> str:
            return str(_ok(alice.post("/jobs", json=job_body(device, **extra)), 201)["job"]["id"])

        seeded = submit(FALCON, payload=sampler_text(64, seed=11))  # runs (modelled time)
        queued = [submit(FALCON) for _ in range(2)]
        unseeded = submit(EAGLE, payload=sampler_text(64))  # runs on the other QPU
    _until_stored(
        first.store,
        {
            seeded: JobStatus.RUNNING,
            unseeded: JobStatus.RUNNING,
            **{q: JobStatus.QUEUED for q in queued},
        },
    )
    first.kill()

    second = server_factory("--virtual-clock", store=first.store)
    with second.client("alice") as alice:
        rerun = _wait(alice, seeded)
        assert rerun["job"]["status"] == "DONE" and rerun["job"]["metadata"]["rerun"] == 1
        assert rerun["result"] is not None
        for job_id in queued:
            assert _wait(alice, job_id)["job"]["status"] == "DONE"
        orphan = _ok(alice.get(f"/jobs/{unseeded}"))["job"]
        assert orphan["status"] == "ERROR" and orphan["error_code"] == "orphaned"
        assert "process" in orphan["error_message"]
        listed = {j["id"] for j in _ok(alice.get("/jobs"))["jobs"]}
        assert listed == {seeded, unseeded, *queued}
