"""A remote client waiting on a job outlives a restart of its server.

The server runs on a real clock here (a restart is about processes, not about modelled
time): SIGTERM while one job runs and one is queued; the running one finishes before the
server exits, the queued one stays queued in the store, and after the server is back on
the same port it runs, and the client that was waiting all along gets its result.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("uvicorn")

from qsession_provider.client.remote import connect  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub  # noqa: E402
from qsession_provider.core.job import JobStatus  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import Server, free_port  # noqa: E402

pytestmark = pytest.mark.timeout(180)


def flip(shots: int) -> SamplerPayload:
    circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
    return SamplerPayload((SamplerPub(circuit, None, shots),), seed=1)


def test_a_waiting_client_gets_its_result_after_a_restart(tmp_path: Path) -> None:
    store, port = tmp_path / "store.sqlite3", free_port()
    first = Server(store, virtual_clock=False, port=port).start()
    second = None
    try:
        runtime = connect(first.url, first.token("alice", "team-a"))
        running = runtime.submit("sampler", "emulated_falcon_27", flip(2000))  # ~1.55 s
        queued = runtime.submit("sampler", "emulated_falcon_27", flip(100))
        outcome: list[Any] = []
        waiter = threading.Thread(target=lambda: outcome.append(queued.result()), daemon=True)
        waiter.start()
        assert first.stop() == 0  # SIGTERM: a clean stop
        assert waiter.is_alive() and not outcome  # still waiting through the restart
        second = Server(store, virtual_clock=False, port=port).start()
        assert second.url == first.url
        waiter.join(60)
        assert not waiter.is_alive(), "the waiting client did not get its result"
        assert outcome[0]["pubs"][0]["registers"]["c"].unpack().sum() == 100
        assert runtime.job(running.id).status is JobStatus.DONE  # finished before the stop
        assert runtime.job(queued.id).status is JobStatus.DONE
        runtime.shutdown()
    finally:
        first.stop()
        if second is not None:
            second.stop()
