"""``POST /jobs`` in process: one round trip for short jobs (a passive wait that never moves
a virtual clock), prompt answers for longer ones, the interner, and which submissions run on
the event loop."""

from __future__ import annotations

import asyncio
import functools
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.ir.encoding import loads
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store import MemoryStore
from qsession_provider.plugins.builtin import falcon_27_device, statevector_device
from qsession_provider.server import create_app
from qsession_provider.server import jobs as jobs_routes
from qsession_provider.server.waits import Waits
from qsession_provider.sim import StatevectorSimulator, execute

from .conftest import API, TestClient, add_tokens, auth, job_body, sampler_text


class Gate:
    """Holds a device's ``execute`` until the test opens it."""

    def __init__(self) -> None:
        self.open = threading.Event()
        self.entered = threading.Event()
        self._run = functools.partial(execute, simulator=StatevectorSimulator())

    def __call__(self, program_id: str, payload: Any) -> Any:
        self.entered.set()
        if not self.open.wait(30):
            raise RuntimeError("the test never opened the gate")
        return self._run(program_id, payload)


@pytest.fixture
def gate() -> Iterator[Gate]:
    g = Gate()
    yield g
    g.open.set()


@pytest.fixture
def runtime(gate: Gate) -> Iterator[Runtime]:
    store = MemoryStore()
    add_tokens(store)
    slow = Device(name="slow", num_qubits=16, execute=gate, slots=1, simulator=True)
    rt = Runtime(
        store=store,
        clock=VirtualClock(),
        devices=[statevector_device(), falcon_27_device(), slow],
    )
    yield rt
    gate.open.set()
    rt.shutdown(wait=False, cancel_pending=True)


def _client(runtime: Runtime, **options: Any) -> TestClient:
    return TestClient(
        create_app(runtime, **options), base_url="http://test" + API, headers=auth("alice")
    )


class Settles:
    """Counts the submissions' waits (``Waits.settle``) of an app."""

    def __init__(self, client: TestClient) -> None:
        self.calls: list[float] = []
        waits = client.app.state.qsession.waits  # type: ignore[attr-defined]
        real = waits.settle

        async def settle(job: Any, seconds: float) -> bool:
            self.calls.append(seconds)
            return bool(await real(job, seconds))

        waits.settle = settle


class CountingPool(ThreadPoolExecutor):
    def __init__(self) -> None:
        super().__init__(4)
        self.calls: list[str] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Any:
        self.calls.append(getattr(fn, "__name__", repr(fn)))
        return super().submit(fn, *args, **kwargs)


def _post(client: TestClient, **body: Any) -> dict[str, Any]:
    response = client.post("/jobs", json=job_body(**body))
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_a_short_job_answers_final_in_one_round_trip_without_moving_the_clock(
    runtime: Runtime,
) -> None:
    # A generous wait, so a loaded machine cannot make the job outlast it (no timing assertion).
    client = _client(runtime, submit_wait=1.0)
    settles = Settles(client)
    t0 = runtime.clock.now()
    # 13 qubits: above the size run at submission (12), so the executor computes it.
    data = _post(client, payload=sampler_text(qubits=13, seed=3))
    assert data["job"]["status"] == "DONE"
    bits = loads(data["result"])["pubs"][0]["registers"]["c"].unpack()
    assert bits.shape == (16, 13) and {tuple(row) for row in bits} <= {(0,) * 13, (1,) * 13}
    assert runtime.clock.now() == t0  # the wait was passive: real time only
    # At most one wait, of the configured length (a fast executor may finish the job before
    # the server gets to wait for it).
    assert settles.calls in ([], [pytest.approx(1.0)])
    waited = len(settles.calls)
    # A tiny job is final at submission: nothing to wait for.
    assert _post(client)["job"]["status"] == "DONE"
    assert len(settles.calls) == waited


def test_a_job_longer_than_the_wait_answers_promptly_and_is_waited_for_as_before(
    runtime: Runtime, gate: Gate
) -> None:
    client = _client(runtime, submit_wait=0.05)
    pool = client.app.state.qsession.executor = CountingPool()  # type: ignore[attr-defined]
    t0 = runtime.clock.now()
    started = time.monotonic()
    data = _post(client, device="slow", payload=sampler_text(qubits=13))
    assert time.monotonic() - started < 10.0
    job = data["job"]
    assert job["status"] == "RUNNING" and data["result"] is None
    assert gate.entered.is_set() and runtime.clock.now() == t0
    # A plugin device's execute may take any time: its submissions run in the pool.
    assert pool.calls == ["_enter"]
    polled = client.post(f"/jobs/{job['id']}/wait", json={"timeout": 0, "passive": True})
    assert polled.json()["job"]["status"] == "RUNNING"
    gate.open.set()
    done = client.post(f"/jobs/{job['id']}/wait", json={"passive": True}).json()
    assert done["job"]["status"] == "DONE" and loads(done["result"])["pubs"][0]["shots"] == 16


def test_queued_and_modelled_jobs_are_not_waited_for(runtime: Runtime, gate: Gate) -> None:
    client = _client(runtime)
    settles = Settles(client)
    # Modelled time: the job ends on the clock, never within a real-time wait.
    falcon = _post(client, device="emulated_falcon_27")["job"]
    assert falcon["status"] in ("QUEUED", "RUNNING")
    assert settles.calls == []
    # The slow device's one slot is taken by the first job: the second one queues.
    wide = sampler_text(qubits=13)  # not tiny: not computed at submission
    first = _post(client, device="slow", payload=wide)["job"]
    assert first["status"] == "RUNNING" and len(settles.calls) == 1
    second = _post(client, device="slow", payload=wide)["job"]
    assert second["status"] == "QUEUED" and len(settles.calls) == 1
    gate.open.set()
    for job in (first, second):
        done = client.post(f"/jobs/{job['id']}/wait", json={"passive": True}).json()
        assert done["job"]["status"] == "DONE"


def test_submit_wait_zero_answers_at_once(runtime: Runtime, gate: Gate) -> None:
    client = _client(runtime, submit_wait=0)
    settles = Settles(client)
    assert _post(client, device="slow", payload=sampler_text(qubits=13))["job"]["status"] == (
        "RUNNING"
    )
    assert settles.calls == []
    for bad in (-0.1, 2.0, "0.1", True):
        with pytest.raises(ValueError, match="submit_wait"):
            create_app(runtime, submit_wait=bad)  # type: ignore[arg-type]


def test_submissions_share_the_decoded_circuit(runtime: Runtime, monkeypatch: Any) -> None:
    client = _client(runtime)
    payloads: list[Any] = []
    submit = runtime.submit

    def spy(program_id: str, device: str, payload: Any, **kwargs: Any) -> Any:
        payloads.append(payload)
        return submit(program_id, device, payload, **kwargs)

    monkeypatch.setattr(runtime, "submit", spy)
    for seed in (1, 2):
        assert _post(client, payload=sampler_text(seed=seed))["job"]["status"] == "DONE"
    first, second = payloads
    assert first.pubs[0].circuit is second.pubs[0].circuit
    assert (first.seed, second.seed) == (1, 2)
    assert client.app.state.qsession.interner.hits >= 1  # type: ignore[attr-defined]


def test_small_submissions_run_on_the_event_loop_and_large_ones_in_the_pool(
    runtime: Runtime,
) -> None:
    client = _client(runtime)
    pool = client.app.state.qsession.executor = CountingPool()  # type: ignore[attr-defined]
    assert _post(client)["job"]["status"] == "DONE"
    assert pool.calls == []
    # An id chosen by the client is looked up in the store: the pool.
    assert _post(client, job_id="my-job")["job"]["id"] == "my-job"
    assert pool.calls == ["_submit"]
    # A body over INLINE_BODY: the pool too.
    big = {"blob": "x" * (jobs_routes.INLINE_BODY + 1)}
    data = _post(client, metadata=big)
    assert data["job"]["status"] == "DONE" and data["job"]["metadata"] == big
    assert pool.calls == ["_submit", "_submit"]
    # Errors are the same either way.
    for extra in ({}, {"job_id": "other"}):
        response = client.post("/jobs", json=job_body(payload="{", **extra))
        assert response.status_code == 400 and "'payload'" in response.json()["error"]["message"]


def test_a_large_result_is_encoded_in_the_pool(runtime: Runtime, monkeypatch: Any) -> None:
    client = _client(runtime)
    pool = client.app.state.qsession.executor = CountingPool()  # type: ignore[attr-defined]
    monkeypatch.setattr(jobs_routes, "INLINE_RESULT", 31)  # 16 shots x 2 bits: 32
    data = _post(client)  # 16 shots
    assert data["job"]["status"] == "DONE" and loads(data["result"])["pubs"][0]["shots"] == 16
    assert pool.calls == ["job_answer"]


# -- Waits.settle ----------------------------------------------------------------------------------
class FakeJob:
    def __init__(self) -> None:
        self.final = False
        self.callbacks: list[Any] = []

    def in_final_state(self) -> bool:
        return self.final

    def add_done_callback(self, fn: Any) -> None:
        if self.final:
            fn(self)
        else:
            self.callbacks.append(fn)

    def finish(self) -> None:
        self.final = True
        for fn in self.callbacks:
            fn(self)


def test_settle_wakes_when_the_job_ends_times_out_or_the_server_stops() -> None:
    clock = VirtualClock()
    waits = Waits(clock)

    async def scenario() -> None:
        job = FakeJob()
        threading.Timer(0.02, job.finish).start()  # ended by a runtime thread
        assert await waits.settle(job, 30.0) is True
        assert await waits.settle(FakeJob(), 0.01) is False  # timed out
        done = FakeJob()
        done.finish()
        assert await waits.settle(done, 30.0) is True
        stuck = FakeJob()
        threading.Timer(0.02, waits.stop).start()
        started = time.monotonic()
        assert await waits.settle(stuck, 30.0) is False
        assert time.monotonic() - started < 10.0
        assert await waits.settle(FakeJob(), 30.0) is False  # stopping: answers at once
        stuck.finish()  # a late callback on a finished wait is harmless

    asyncio.run(scenario())
    assert clock.now() == VirtualClock().now()  # never moved
