"""Every ``qsession`` command against a real ``qsession serve`` on 127.0.0.1, with refusals.

The server runs on a virtual clock that only its admin moves, so a job on the emulated QPU
stays RUNNING and the next one QUEUED for as long as a test needs. Alice and Bob submit
through the remote client; the commands run as Alice (``--url``/``--token`` or the
environment variables). Bob's ids are answered as unknown ones: exit 3.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.cli import EXIT_FAILED, EXIT_NOT_AUTHORIZED, EXIT_NOT_FOUND
from qsession_provider.client.choose import connect
from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.ir.encoding import from_jsonable
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.job import JobStatus

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import Server, free_port, serve_module  # noqa: E402

pytest.importorskip("httpx", reason="the remote client needs the server extra")
pytestmark = pytest.mark.timeout(180)

server = pytest.fixture(scope="module")(serve_module)

QPU = "emulated_falcon_27"


def payload(shots: int = 50) -> SamplerPayload:
    circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
    return SamplerPayload((SamplerPub(circuit, None, shots),), seed=1)


@pytest.fixture(scope="module")
def work(server: Server) -> Iterator[dict[str, Any]]:
    """Alice: session ``s`` on the simulator (2 jobs, done), ``running`` and ``queued`` on
    the QPU; Bob: a session with one job."""
    alice = connect(server.url, server.token("alice", "inst-a"))
    bob = connect(server.url, server.token("bob", "inst-b"))
    try:
        s = alice.open_session("statevector", name="alice-s")
        done = [
            alice.submit("sampler", "statevector", payload(), session_id=s.id) for _ in range(2)
        ]
        for job in done:
            job.result()
        b = bob.open_session("statevector", name="bob-s")
        theirs = bob.submit("sampler", "statevector", payload(), session_id=b.id)
        theirs.result()
        # last: waiting (above) moves the virtual clock, which would let these run
        running = alice.submit("sampler", QPU, payload())
        queued = alice.submit("sampler", QPU, payload())
        yield {
            "alice": alice,
            "bob": bob,
            "s": s,
            "done": done,
            "running": running,
            "queued": queued,
            "b": b,
            "theirs": theirs,
        }
    finally:
        alice.shutdown()
        bob.shutdown()


@pytest.fixture
def as_alice(
    server: Server, qsession: Callable[..., Any], monkeypatch: pytest.MonkeyPatch
) -> Callable[..., Any]:
    """``as_alice(*argv)``: run qsession against the server as Alice (through the env vars)."""
    monkeypatch.delenv("QSESSION_STORE", raising=False)
    monkeypatch.setenv("QSESSION_URL", server.url)
    monkeypatch.setenv("QSESSION_TOKEN", server.token("alice", "inst-a"))
    return qsession


def test_jobs_and_sessions_list_only_the_users_own(
    work: dict[str, Any], server: Server, qsession: Callable[..., Any]
) -> None:
    token = server.token("alice", "inst-a")
    run = qsession("--url", server.url, "--token", token, "jobs")
    assert run.code == 0
    for job in [*work["done"], work["running"], work["queued"]]:
        assert job.id in run.out
    assert work["theirs"].id not in run.out and "alice" in run.out
    pending = qsession("jobs", "--pending", "--url", server.url, "--token", token).out
    assert work["queued"].id in pending and work["done"][0].id not in pending
    mine = qsession("--url", server.url, "--token", token, "jobs", "--session", work["s"].id)
    assert work["done"][0].id in mine.out and work["queued"].id not in mine.out
    sessions = qsession("--url", server.url, "--token", token, "sessions")
    assert sessions.code == 0 and work["s"].id in sessions.out and "2 done" in sessions.out
    assert work["b"].id not in sessions.out


def test_devices_show_the_servers_queues(
    work: dict[str, Any], as_alice: Callable[..., Any]
) -> None:
    run = as_alice("devices")
    line = next(x for x in run.out.splitlines() if x.startswith(QPU))
    assert run.code == 0 and " 2 " in line  # running + queued
    assert "statevector" in run.out


def test_show_a_job_and_a_session(work: dict[str, Any], as_alice: Callable[..., Any]) -> None:
    job = as_alice("show", work["done"][0].id)
    assert job.code == 0 and "DONE" in job.out and "alice" in job.out
    session = as_alice("show", work["s"].id)
    assert session.code == 0 and "alice-s" in session.out
    assert all(j.id in session.out for j in work["done"])


def test_another_users_ids_are_unknown_ids(
    work: dict[str, Any], as_alice: Callable[..., Any], tmp_path: Path
) -> None:
    theirs, b = work["theirs"].id, work["b"].id
    for argv, name in (
        (["show", theirs], theirs),
        (["show", b], b),
        (["cancel", theirs], theirs),
        (["close", b], b),
        (["close", b, "--cancel"], b),
        (["export", "--session", b, "-o", str(tmp_path / "e.json")], b),
        (["timeline", b, "-o", str(tmp_path / "t.png")], b),
        (["show", "no-such-id"], "no-such-id"),
    ):
        if argv[0] == "timeline":
            pytest.importorskip("matplotlib", reason="the timeline needs the plot extra")
        run = as_alice(*argv)
        assert run.code == EXIT_NOT_FOUND, argv
        assert name in run.err and "Traceback" not in run.err
        assert len(run.err.strip().splitlines()) == 1
    assert not (tmp_path / "e.json").exists()
    bob = work["bob"]  # Bob's work is untouched
    assert bob.session(b).accepting_jobs and bob.job(theirs).status is JobStatus.DONE


def test_a_bad_token_and_an_unreachable_server(
    qsession: Callable[..., Any], server: Server
) -> None:
    run = qsession("--url", server.url, "--token", "qs_wrong", "jobs")
    assert run.code == EXIT_NOT_AUTHORIZED and "Traceback" not in run.err
    nobody = f"http://127.0.0.1:{free_port()}"
    run = qsession("--url", nobody, "--token", "qs_x", "sessions")
    assert run.code == EXIT_FAILED and "127.0.0.1" in run.err and "Traceback" not in run.err


def test_cancel_a_queued_job_and_refuse_a_final_one(
    work: dict[str, Any], as_alice: Callable[..., Any]
) -> None:
    queued = work["queued"]
    run = as_alice("cancel", queued.id)
    assert run.code == 0 and f"cancelled job {queued.id}" in run.out
    assert work["alice"].job(queued.id).refresh().status is JobStatus.CANCELLED
    again = as_alice("cancel", queued.id)
    assert again.code == EXIT_FAILED and "already CANCELLED" in again.err


def test_acting_on_the_servers_store_directly_is_refused(
    work: dict[str, Any], server: Server, qsession: Callable[..., Any]
) -> None:
    """The server's process runs the store: a runtime of this process refuses to act on it
    (here because the server's clock is virtual; on real time: "run by another process")."""
    run = qsession("--store", str(server.store), "cancel", work["running"].id)
    assert run.code == EXIT_FAILED and "in use by process" in run.err
    assert "Traceback" not in run.err
    assert work["alice"].job(work["running"].id).refresh().status is JobStatus.RUNNING
    listing = qsession("--store", str(server.store), "jobs")  # reading the live store is fine
    assert listing.code == 0 and work["running"].id in listing.out


def test_export_and_timeline(
    work: dict[str, Any], as_alice: Callable[..., Any], tmp_path: Path
) -> None:
    out = tmp_path / "e.json"
    run = as_alice("export", "--session", work["s"].id, "-o", str(out))
    assert run.code == 0 and "2 jobs" in run.out
    doc = json.loads(out.read_text())
    assert doc["source"].startswith("http://127.0.0.1")
    results = [from_jsonable(j["result"]) for j in doc["jobs"]]
    assert results == [job.result() for job in work["done"]]
    assert all(j["timings"]["execution_time"] is not None for j in doc["jobs"])
    pytest.importorskip("matplotlib", reason="the timeline needs the plot extra")
    png = tmp_path / "t.png"
    run = as_alice("timeline", work["s"].id, "-o", str(png))
    assert run.code == 0 and png.read_bytes()[:4] == b"\x89PNG"


def test_close_a_session(work: dict[str, Any], as_alice: Callable[..., Any]) -> None:
    run = as_alice("close", work["s"].id)
    assert run.code == 0 and "now closed" in run.out
    assert work["alice"].session(work["s"].id).state.value == "closed"
    fresh = work["alice"].open_session("statevector")
    run = as_alice("close", fresh.id, "--cancel")
    assert run.code == 0 and "cancelled session" in run.out


def test_a_job_a_real_time_server_runs_is_refused_through_its_store(
    tmp_path: Path, qsession: Callable[..., Any]
) -> None:
    """On real time both processes share the store's timeline, so this process's runtime
    opens it, and refuses to cancel a job the server runs: "cancel it there"."""
    served = Server(tmp_path / "store.sqlite3", virtual_clock=False).start()
    try:
        alice = connect(served.url, served.token("alice", "inst-a"))
        try:
            long = alice.submit("sampler", QPU, payload(shots=100_000))  # ~26 s on real time
            queued = alice.submit("sampler", QPU, payload())
            run = qsession("--store", str(served.store), "cancel", queued.id)
            assert run.code == EXIT_FAILED, run.err
            assert f"job {queued.id} is run by another process; cancel it there" in run.err
            assert queued.refresh().status is JobStatus.QUEUED  # untouched
            listing = qsession("--store", str(served.store), "jobs", "--pending")
            assert queued.id in listing.out and long.id in listing.out
            token = served.token("alice", "inst-a")
            done = qsession("--url", served.url, "--token", token, "cancel", queued.id)
            assert done.code == 0 and queued.refresh().status is JobStatus.CANCELLED
            alice.cancel_job(long.id)
        finally:
            alice.shutdown()
    finally:
        served.stop()
