"""``qsession serve --dask ADDRESS``: the service computes jobs on a Dask cluster's workers.

The server keeps its scheduler, session rules and clock (a virtual one here, so the
emulated QPU's modelled time passes without sleeping); a LocalCluster of 2 worker
processes computes. Results equal those of the in-process engine for the same seeds.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qsession_provider.core.ir.encoding import dumps, loads
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.runtime.checks import decode_payload
from qsession_provider.plugins.builtin import statevector_device

from .conftest import ServerProcess, job_body, sampler_text

distributed = pytest.importorskip(
    "distributed",
    reason="dask distributed is not installed (pip install 'qsession-provider[dask]')",
)

FALCON = "emulated_falcon_27"  # one slot, modelled time on the server's clock


@pytest.fixture(scope="module")
def cluster() -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0"
    ) as made:
        yield made


@pytest.fixture(scope="module")
def server(server_factory: Any, cluster: Any) -> ServerProcess:
    return server_factory("--virtual-clock", "--dask", cluster.scheduler_address)


def _ok(response: httpx.Response, status: int = 200) -> dict[str, Any]:
    assert response.status_code == status, response.text
    return dict(response.json())


def _wait(client: httpx.Client, job_id: str) -> dict[str, Any]:
    while True:
        data = _ok(client.post(f"/jobs/{job_id}/wait", json={"timeout": None}))
        if data["job"]["status"] in ("DONE", "ERROR", "CANCELLED"):
            return data


def in_process(texts: list[str]) -> list[str]:
    """The same sampler payloads on the in-process engine (encoded results)."""
    with Runtime(devices=[statevector_device()]) as local:
        jobs = [local.submit("sampler", "statevector", decode_payload("sampler", t)) for t in texts]
        return [dumps(job.result()) for job in jobs]


def test_a_session_on_an_emulated_qpu_runs_on_the_workers_in_order(
    server: ServerProcess, cluster: Any
) -> None:
    texts = [sampler_text(64, seed=seed, qubits=5) for seed in (1, 2, 3)]
    with (
        distributed.Client(cluster, set_as_default=False) as client,
        distributed.get_task_stream(client=client) as stream,
        server.client("alice") as alice,
        server.client("bob") as bob,
    ):
        session = _ok(alice.post("/sessions", json={"device": FALCON}), 201)["session"]
        other = _ok(bob.post("/jobs", json=job_body(FALCON)), 201)["job"]
        ids = [
            _ok(
                alice.post("/jobs", json=job_body(FALCON, payload=t, session_id=session["id"])),
                201,
            )["job"]["id"]
            for t in texts
        ]
        done = [_wait(alice, job_id) for job_id in ids]
        assert _wait(bob, other["id"])["job"]["status"] == "DONE"
        _ok(alice.post(f"/sessions/{session['id']}/close"))
    assert [d["job"]["status"] for d in done] == ["DONE"] * 3
    assert [dumps(loads(d["result"])) for d in done] == in_process(texts)
    # One at a time, in order, on the server's clock (modelled QPU time).
    jobs = [d["job"] for d in done]
    for before, after in zip(jobs, jobs[1:]):
        assert after["started_at"] >= before["finished_at"]
    # Computed by the cluster's workers: one task per job, named after it.
    keys = " ".join(str(task["key"]) for task in stream.data)
    assert all(f"qsession-{job_id}-" in keys for job_id in [*ids, other["id"]])


def test_dask_slots_without_dask_is_refused(tmp_path: Path) -> None:
    cmd = [sys.executable, "-m", "qsession_provider.cli", "serve", "--dask-slots", "4"]
    cmd += ["--store", str(tmp_path / "store.sqlite3")]
    out = subprocess.run(cmd, capture_output=True, text=True, timeout=60)
    assert out.returncode != 0
    assert "--dask-slots needs --dask" in out.stdout + out.stderr
