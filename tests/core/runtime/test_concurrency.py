"""Many threads, one runtime: nothing lost, duplicated, stuck, or run after its session closed."""

from __future__ import annotations

import random
import threading
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.job import FINAL_STATES, JobStatus
from qsession_provider.core.session import SessionState
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.errors import SessionClosedError

THREADS = 8
TOTAL_JOBS = 1000


@pytest.mark.timeout(120)
@pytest.mark.parametrize("store_kind", ["memory", "sqlite"])
def test_eight_threads_submit_a_thousand_jobs(
    make_runtime: Any, payload: Any, tmp_path: Any, store_kind: str, open_sqlite: Any
) -> None:
    store = MemoryStore() if store_kind == "memory" else open_sqlite(tmp_path / "c.sqlite3")
    clock = VirtualClock(start=0)
    rt = make_runtime(clock=clock, store=store)
    shared = rt.open_session("fake_qpu", interactive_ttl=1)  # shared by threads 0-3
    batch = rt.open_session("fake_sim", mode="batch")  # shared by threads 4-5
    accepted: list[Any] = []
    rejected: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(THREADS)
    per_thread = TOTAL_JOBS // THREADS

    def work(index: int) -> None:
        rng = random.Random(index)
        own = None
        if index >= 6:  # threads 6-7: their own session, closed half-way
            own = rt.open_session("fake_qpu", instance=f"user{index}")
        barrier.wait()
        mine = []
        for n in range(per_thread):
            if index < 4:
                kwargs: dict[str, Any] = {"device": "fake_qpu", "session_id": shared.id}
            elif index < 6:
                kwargs = {"device": "fake_sim", "session_id": batch.id}
            elif own is not None and n < per_thread // 2:
                kwargs = {"device": "fake_qpu", "session_id": own.id}
            else:
                kwargs = {
                    "device": rng.choice(["fake_sim", "fake_qpu"]),
                    "session_id": own.id if own is not None and n % 3 == 0 else None,
                }
            if own is not None and n == per_thread // 2:
                rt.close_session(own.id)
            try:
                job = rt.submit(
                    "echo",
                    kwargs["device"],
                    payload(t=index, n=n),
                    session_id=kwargs["session_id"],
                    instance=f"user{index}",
                    tags=[f"t{index}"],
                )
            except SessionClosedError:
                with lock:
                    rejected.append(f"{index}/{n}")
                continue
            mine.append(job)
            if index % 2 == 0 and n % 10 == 0:  # some threads wait like a VQE loop
                job.result()
        with lock:
            accepted.extend(mine)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not any(t.is_alive() for t in threads)
    for job in accepted:
        assert job.wait(timeout=1e9)

    # Nothing lost, nothing duplicated: every submission was accepted or refused, once.
    assert len(accepted) + len(rejected) == TOTAL_JOBS
    assert len(rejected) > 0  # threads 6-7 kept trying their closed session
    ids = [j.id for j in accepted]
    assert len(set(ids)) == len(ids)
    assert all(j.status is JobStatus.DONE for j in accepted)
    payloads = {(j.payload["t"], j.payload["n"]) for j in accepted}
    assert len(payloads) == len(accepted)

    # The store agrees with memory, record for record.
    stored = {r.id: r for r in rt.store.query_jobs(JobQuery())}
    assert set(stored) == set(ids)
    for job in accepted:
        assert stored[job.id] == job.record
        assert stored[job.id].status in FINAL_STATES

    # No session ran a job after it closed.
    rt.close_session(shared.id)
    rt.close_session(batch.id)
    clock.advance(10)
    for record in rt.sessions():
        assert record.state is SessionState.CLOSED
        for job in (j for j in accepted if j.session_id == record.id):
            assert job.started_at is not None and job.started_at <= record.closed_at
    # One slot: the QPU's jobs never overlapped.
    qpu = sorted((j for j in accepted if j.device == "fake_qpu"), key=lambda j: j.started_at)
    for a, b in zip(qpu, qpu[1:]):
        assert a.finished_at <= b.started_at


@pytest.mark.timeout(60)
def test_threads_sharing_one_session_with_tags(runtime: Any, payload: Any) -> None:
    session = runtime.open_session("fake_sim")
    results: dict[str, list[Any]] = {}

    def workload(tag: str) -> None:
        jobs = [
            runtime.submit("echo", "fake_sim", payload(i=i), session_id=session.id, tags=[tag])
            for i in range(25)
        ]
        results[tag] = [j.result()["echo"]["i"] for j in jobs]

    threads = [threading.Thread(target=workload, args=(f"w{i}",)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert results == {f"w{i}": list(range(25)) for i in range(4)}
    for i in range(4):
        assert len(runtime.jobs(tags=[f"w{i}"], session_id=session.id)) == 25
