"""``qsession serve --store postgresql://...``: the real server on a PostgreSQL store.

Tokens made with ``qsession token create --store URL``, jobs of two users run and read
back, bad requests that disturb nobody, and a restarted server (another process) that
finds every job by id and runs what the stopped one left queued. Needs the test run's
PostgreSQL cluster (``tests/postgres_fixtures.py``), else skips with the reason.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qsession_provider.core.job import JobStatus
from qsession_provider.core.store.postgres import PostgresStore

from .conftest import job_body

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from postgres_fixtures import Cluster, cluster, stop_cluster  # noqa: E402
from remote_fixtures import Server  # noqa: E402

pytestmark = pytest.mark.timeout(180)

FALCON = "emulated_falcon_27"  # one slot; modelled time on the server's virtual clock


@pytest.fixture(scope="module")
def postgres_cluster() -> Iterator[Cluster]:
    yield cluster()
    stop_cluster()


@pytest.fixture
def url(postgres_cluster: Cluster) -> Iterator[str]:
    made = postgres_cluster.new_database()
    yield made
    postgres_cluster.drop_database(made)


def _client(server: Server, user: str) -> httpx.Client:
    headers = {"Authorization": f"Bearer {server.token(user)}"}
    return httpx.Client(base_url=server.url + "/api/v1", headers=headers, timeout=60)


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    while True:
        response = client.post(f"/jobs/{job_id}/wait", json={"timeout": None})
        assert response.status_code == 200, response.text
        job = dict(response.json()["job"])
        if job["status"] in ("DONE", "ERROR", "CANCELLED"):
            return job


def test_serve_on_postgres_runs_jobs_and_a_restart_finds_them(url: str) -> None:
    server = Server(url).start()
    try:
        with _client(server, "alice") as alice, _client(server, "bob") as bob:
            ids = {
                name: [client.post("/jobs", json=job_body()).json()["job"]["id"] for _ in range(3)]
                for name, client in (("alice", alice), ("bob", bob))
            }
            for name, client in (("alice", alice), ("bob", bob)):
                for job_id in ids[name]:
                    assert _wait(client, job_id)["status"] == "DONE"
            # Another user's job is unknown to bob; bad input is refused naming the field.
            assert bob.get(f"/jobs/{ids['alice'][0]}").status_code == 404
            bad = bob.post("/jobs", json=job_body(payload="not json"))
            assert bad.status_code == 400 and "payload" in bad.text
            # A job left queued: the session's jobs wait on the one-slot emulated QPU.
            session = alice.post("/sessions", json={"device": FALCON}).json()["session"]["id"]
            queued = [
                alice.post("/jobs", json=job_body(FALCON, session_id=session)).json()["job"]["id"]
                for _ in range(2)
            ]
        assert server.stop() == 0
        store = PostgresStore(url)  # what any other process reads
        try:
            for job_id in ids["alice"] + ids["bob"]:
                assert store.get_job(job_id).status is JobStatus.DONE
                assert store.get_result(job_id)
            # The stopped server finished its running job and left the rest queued.
            left = {store.get_job(job_id).status.value for job_id in queued}
            assert left <= {"DONE", "QUEUED"}
            assert store.processes() == []
        finally:
            store.close()
        again = Server(url)
        again._tokens = dict(server._tokens)  # the same users (their tokens are stored)
        again.start()
        try:
            with _client(again, "alice") as alice:
                for job_id in ids["alice"]:
                    assert alice.get(f"/jobs/{job_id}").json()["job"]["status"] == "DONE"
                for job_id in queued:  # adopted from the stopped server, and run
                    assert _wait(alice, job_id)["status"] == "DONE"
        finally:
            assert again.stop() == 0
    finally:
        server.stop()
