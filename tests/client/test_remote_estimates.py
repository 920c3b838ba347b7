"""Queue estimates over HTTP: ``RemoteRuntime.queue_estimate`` (``GET /jobs/{id}/estimate``).

The server's runtime runs on a virtual clock that moves only through ``advance()``, so the
jobs on the emulated Falcon (one slot) stay queued until the test moves time.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("starlette")

from qsession_provider.client import open_runtime  # noqa: E402
from qsession_provider.client.remote import RemoteRuntime, connect  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub  # noqa: E402
from qsession_provider.core.user import TokenRecord, hash_token  # noqa: E402
from qsession_provider.errors import JobNotFoundError  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import in_process_app  # noqa: E402

pytestmark = pytest.mark.timeout(120)
URL = "http://testserver"
FALCON = "emulated_falcon_27"


def bell() -> SamplerPayload:
    circuit = Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )
    return SamplerPayload((SamplerPub(circuit, None, 100),), seed=1)


@pytest.fixture
def server_runtime() -> Iterator[Any]:
    runtime = open_runtime(":memory:", clock=VirtualClock(start=0, auto_advance=False))
    for name in ("alice", "bob"):
        runtime.store.add_token(TokenRecord(name, hash_token(f"tok-{name}"), "lab", 1.0, False))
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def app(server_runtime: Any) -> Iterator[Any]:
    with in_process_app(server_runtime) as client:
        yield client


def _connect(app: Any, user: str) -> RemoteRuntime:
    return connect(URL, f"tok-{user}", client=app)


def test_a_remote_client_reads_the_estimate_of_its_queued_job(
    server_runtime: Any, app: Any
) -> None:
    alice, bob = _connect(app, "alice"), _connect(app, "bob")
    try:
        jobs = [alice.submit("sampler", FALCON, bell()) for _ in range(3)]
        remote = alice.queue_estimate(jobs[2].id)
        local = server_runtime.queue_estimate(jobs[2].id)
        assert remote == local and remote.position == 2
        assert alice.queue_estimate(jobs[0].id) is None  # running
        with pytest.raises(JobNotFoundError):  # another user's job is not found
            bob.queue_estimate(jobs[2].id)
        first_end = server_runtime.queue_estimate(jobs[1].id).start
        server_runtime.clock.advance(first_end)  # the running job's modelled end
        assert server_runtime.job(jobs[0].id).wait(timeout=0)
        later = alice.queue_estimate(jobs[2].id)
        assert later.position == 1 and later.start == pytest.approx(remote.start)
    finally:
        alice.shutdown()
        bob.shutdown()
