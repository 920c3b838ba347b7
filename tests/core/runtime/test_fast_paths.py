"""The hot-path optimisations give the same results, records and store contents as before.

Covered: the one-pass encoder (same text as ``json.dumps(to_jsonable(x))``, cached program
and Pauli-sum text), fast record ``replace``, the memory store's metadata copy, SQLite write
batches (coalesced inserts, savepoints, reads inside a batch), the scheduler's run at
submission, run-on-wait, small jobs stored QUEUED -> final, final states persisted before
waiters wake. (The real clock's timer heap and the plugin listener's ``wants`` are tested
with their modules.) No timings are asserted.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import sqlite3
import time
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.encoding import dumps, loads, to_jsonable
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.params import Parameter
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    SamplerPayload,
    SamplerPub,
    touched_qubits,
)
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.runtime.executors import ThreadExecutor
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import JobNotFoundError, JobTimeoutError, StoreError

pytestmark = pytest.mark.timeout(60)


def reference(obj: Any) -> str:
    return json.dumps(to_jsonable(obj), separators=(",", ":"))


def bell(name: str = "bell") -> Circuit:
    ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)]
    return Circuit(2, ops, {"c": 2}, name=name, metadata={"k": [1, 2]})


def sampler_payload(shots: int = 16, program: Circuit | None = None) -> SamplerPayload:
    return SamplerPayload((SamplerPub(program or bell(), np.zeros((0,)), shots),), seed=5)


# -- encoding ---------------------------------------------------------------------------------
def test_dumps_writes_exactly_what_json_dumps_of_to_jsonable_writes() -> None:
    pauli = PauliSum([PauliTerm("XZ", (0, 3), 0.5), PauliTerm("", (), -1.0)])
    observables = np.empty((2,), dtype=object)
    observables[0], observables[1] = pauli, PauliSum([PauliTerm("Y", (1,), 2.0)])
    estimator = EstimatorPayload(
        (EstimatorPub(Circuit(4, [Gate("rx", (0,), (0.3,))]), np.ones((2, 0)), observables),)
    )
    values: list[Any] = [
        None,
        True,
        False,
        0,
        -7,
        2**70,
        1.5,
        float("nan"),
        float("inf"),
        -float("inf"),
        'é\n"/\\',
        np.float64(0.1),
        np.int64(3),
        np.bool_(False),
        np.str_("s"),
        1 + 2j,
        np.arange(6, dtype=np.uint8).reshape(2, 3),
        np.array(2.5),
        np.array([1 - 1j]),
        np.empty((0, 3)),
        np.array([{"a": 1}, None], dtype=object),
        {"__nd__": 1},
        {"a": {"__tuple__": [1]}},
        (1, (2, [3, {"x": ()}])),
        [],
        {},
        JobStatus.DONE,
        bell().to_json(),
        {"program": bell(), "sum": pauli},
        sampler_payload().to_json(),
        estimator.to_json(),
    ]
    for value in values:
        assert dumps(value) == reference(value), value
    for bad in ({1: 2}, object(), [{"a": {3}}]):
        with pytest.raises(StoreError):
            dumps(bad)


def test_program_and_pauli_sum_text_is_cached_but_follows_every_change() -> None:
    program = bell()
    first = dumps(program)
    assert dumps(program) == first == reference(program)
    program.metadata["k"].append(3)  # not part of the cached text: seen at once
    program.name = "renamed"
    assert dumps(program) == reference(program) != first
    program.operations = (*program.operations, Gate("x", (1,)))  # a new tuple: re-encoded
    assert dumps(program) == reference(program)
    assert touched_qubits(program) == 2 and not program.is_unitary()
    program.operations = (Gate("x", (3,)),)
    program.num_qubits = 4
    assert touched_qubits(program) == 1 and program.is_unitary()
    assert dumps(program) == reference(program)
    pauli = PauliSum([PauliTerm("X", (0,), 1.0)])
    assert dumps(pauli) == reference(pauli) and pauli.max_qubit == 0
    pauli.terms = (PauliTerm("Z", (5,), 2.0),)
    assert dumps(pauli) == reference(pauli) and pauli.max_qubit == 5
    assert loads(dumps({"p": program}))["p"].to_json() == program.to_json()


def test_a_sampler_payload_text_is_its_encoding_and_follows_its_program() -> None:
    program = bell()
    parametric = Circuit(1, [Gate("rx", (0,), (Parameter("t"),)), Measure(0, "c", 0)], {"c": 1})
    payloads = [
        sampler_payload(),
        SamplerPayload((SamplerPub(program, np.zeros((3, 0)), np.int64(7)),)),
        SamplerPayload(
            (
                SamplerPub(program, np.zeros((0,)), 1),
                SamplerPub(parametric, np.array([[0.1], [np.pi]]), 2**40),
            ),
            seed=2**63,
        ),
    ]
    for payload in payloads:
        assert payload.to_json_text() == reference(payload.to_json())
        assert payload.to_json_text() == reference(payload.to_json())  # from the kept text
    shared = payloads[1]
    program.metadata["k"] = {"nested": [1]}
    assert shared.to_json_text() == reference(shared.to_json())
    program.metadata["k"]["nested"].append(2)  # a change deep inside is seen too
    program.name = "renamed"
    assert shared.to_json_text() == reference(shared.to_json())
    assert "renamed" in shared.to_json_text() and "[1,2]" in shared.to_json_text()


def test_records_replace_and_encode_as_dataclasses_and_json_would() -> None:
    meta = {"qiskit": {"pubs": [{"shape": [2], "__nd__": 1}]}, "t": (1, 2)}
    job = JobRecord("j", "sampler", "d", JobStatus.QUEUED, 1.0, tags=("a",), metadata=meta)
    for changes in ({}, {"status": JobStatus.RUNNING, "started_at": 2.0}, {"tags": ("b",)}):
        assert job.replace(**changes) == dataclasses.replace(job, **changes)
    with pytest.raises(TypeError):
        job.replace(nonsense=1)
    assert job.to_json_text() == json.dumps(job.to_json(), separators=(",", ":"))
    session = SessionRecord(
        "s", "d", SessionMode.BATCH, SessionState.ACTIVE, 1.0, timestamps=((SessionState.OPEN, 1),)
    )
    assert session.replace(name="x") == dataclasses.replace(session, name="x")
    assert session.to_json_text() == json.dumps(session.to_json(), separators=(",", ":"))


def test_memory_store_still_isolates_metadata(memory_store: MemoryStore) -> None:
    meta: dict[str, Any] = {"a": [1, {"b": 2}], "c": (1, 2), "d": np.arange(2)}
    record = JobRecord("j", "echo", "d", JobStatus.QUEUED, 1.0, metadata=meta)
    memory_store.add_job(record, "{}")
    meta["a"][1]["b"] = 3
    stored = memory_store.get_job("j")
    assert stored.metadata["a"] == [1, {"b": 2}] and stored.metadata["c"] == (1, 2)
    stored.metadata["a"].append(9)
    assert memory_store.get_job("j").metadata["a"] == [1, {"b": 2}]


# -- SQLite write batches ---------------------------------------------------------------------
def job_record(job_id: str, status: JobStatus = JobStatus.QUEUED, **kw: Any) -> JobRecord:
    return JobRecord(job_id, "sampler", "d", status, 1.0, **kw)


def test_a_job_added_and_finished_inside_a_batch_is_stored_once_in_its_final_state(
    sqlite_store: SQLiteStore,
) -> None:
    with sqlite_store.batch():
        sqlite_store.add_job(job_record("a", tags=("t",)), "payload-a")
        with pytest.raises(StoreError, match="already exists"):
            sqlite_store.add_job(job_record("a"), "again")  # pending duplicate
        running = job_record("a", JobStatus.RUNNING, started_at=2.0, tags=("t",))
        assert sqlite_store.update_job(running)
        done = running.replace(status=JobStatus.DONE, finished_at=3.0)
        assert sqlite_store.update_job(done, result="result-a")
        assert not sqlite_store.update_job(done.replace(status=JobStatus.ERROR))  # final stays
        sqlite_store.add_job(job_record("b"), "payload-b")
        assert sqlite_store.get_job("b").status is JobStatus.QUEUED  # reads see pending jobs
    assert sqlite_store.get_job("a") == done
    assert sqlite_store.get_payload("a") == "payload-a"
    assert sqlite_store.get_result("a") == "result-a"
    assert [j.id for j in sqlite_store.query_jobs(_query(tags=("t",)))] == ["a"]
    with pytest.raises(StoreError, match="already exists"):
        sqlite_store.add_job(job_record("a"), "again")
    with sqlite_store.batch(), pytest.raises(StoreError, match="already exists"):
        sqlite_store.add_job(job_record("b"), "again")  # stored duplicate, inside a batch


def _query(**kw: Any) -> Any:
    from qsession_provider.core.store.protocol import JobQuery

    return JobQuery(**kw)


def test_a_failing_write_inside_a_batch_is_undone_alone(sqlite_store: SQLiteStore) -> None:
    sqlite_store.add_job(job_record("a"), "p")
    with sqlite_store.batch():
        with sqlite_store.batch():  # nested: joins the outer batch
            sqlite_store.update_job(job_record("a", JobStatus.RUNNING, started_at=2.0))
        with pytest.raises(JobNotFoundError):
            sqlite_store.update_job(job_record("missing", JobStatus.RUNNING))
        sqlite_store.add_job(job_record("b"), "p")
    assert sqlite_store.get_job("a").status is JobStatus.RUNNING
    assert sqlite_store.get_job("b").status is JobStatus.QUEUED


class _FailingCommit:
    """Wraps a connection so that COMMIT fails (as a full disk would make it)."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT":
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_batch_whose_commit_fails_raises_and_keeps_nothing(sqlite_path: str) -> None:
    sqlite_store = SQLiteStore(sqlite_path, write_behind=False)  # the commit is the caller's
    db = sqlite_store._db
    sqlite_store._db = _FailingCommit(db)  # type: ignore[assignment]
    try:
        with pytest.raises(StoreError, match="disk is full"), sqlite_store.batch():
            sqlite_store.add_job(job_record("a"), "p")
    finally:
        sqlite_store._db = db
    with pytest.raises(JobNotFoundError):
        sqlite_store.get_job("a")
    sqlite_store.add_job(job_record("a"), "p")  # the store works on
    assert sqlite_store.get_job("a").status is JobStatus.QUEUED
    sqlite_store.close()


# -- the scheduler's fast paths ---------------------------------------------------------------
class RecordingStore(MemoryStore):
    """A memory store that logs job writes; final writes can be made slow."""

    def __init__(self, final_delay: float = 0.0) -> None:
        super().__init__()
        self.writes: list[tuple[str, str]] = []
        self.final_delay = final_delay

    def add_job(self, record: JobRecord, payload: str, *, fresh: bool = False) -> None:
        self.writes.append((record.id, record.status.value))
        super().add_job(record, payload, fresh=fresh)

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        if record.in_final_state and self.final_delay:
            time.sleep(self.final_delay)  # a waiter released early would see it missing
        self.writes.append((record.id, record.status.value))
        return super().update_job(record, result=result)


def statuses(store: RecordingStore, job_id: str) -> list[str]:
    return [status for jid, status in store.writes if jid == job_id]


def test_a_tiny_job_runs_at_submission_with_the_same_result_and_records(
    make_runtime: Any, engine: Any
) -> None:
    results = {}
    for inline in (True, False):
        store = RecordingStore()
        rt = make_runtime(store=store)
        if not inline:
            rt._scheduler.inline_max_work = 0
        session = rt.open_session("fake_sim")
        job = rt.submit("sampler", "fake_sim", sampler_payload(), session_id=session.id)
        if inline:
            assert job.in_final_state()  # computed before submit returned
        results[inline] = job.result()
        assert statuses(store, job.id) == ["QUEUED", "DONE"]  # small: no RUNNING write
        record = store.get_job(job.id)
        assert record.status is JobStatus.DONE and record.started_at is not None
        assert json.loads(store.get_result(job.id) or "") == to_jsonable(results[inline])
        assert rt.session(session.id).last_job_completed == record.finished_at
        assert store.get_session(session.id).last_job_started == record.started_at
    assert results[True] == results[False]


def test_jobs_of_unknown_size_or_above_the_small_limit_are_stored_running(
    make_runtime: Any, payload: Any
) -> None:
    store = RecordingStore()
    rt = make_runtime(store=store)
    echo = rt.submit("echo", "fake_sim", payload())  # a dict payload: size unknown
    rt._scheduler.small_job_work = 0
    sampled = rt.submit("sampler", "fake_sim", sampler_payload())
    echo.result(), sampled.result()
    assert statuses(store, echo.id) == ["QUEUED", "RUNNING", "DONE"]
    assert statuses(store, sampled.id) == ["QUEUED", "RUNNING", "DONE"]


def test_the_final_state_is_stored_before_a_waiter_is_released(make_runtime: Any) -> None:
    for inline_max_work in (0, 1 << 10):
        store = RecordingStore(final_delay=0.2)
        rt = make_runtime(store=store, executor=ThreadExecutor(2))
        rt._scheduler.inline_max_work = inline_max_work
        job = rt.submit("sampler", "fake_sim", sampler_payload())
        job.result()
        assert store.get_job(job.id).status is JobStatus.DONE


class HeldPool(concurrent.futures.ThreadPoolExecutor):
    """A thread pool whose tasks run only when the test says so."""

    def __init__(self) -> None:
        super().__init__(max_workers=1)
        self.held: list[tuple[Any, tuple[Any, ...], concurrent.futures.Future[Any]]] = []

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.held.append((fn, args, future))
        return future

    def run_held(self) -> None:
        for fn, args, future in self.held:
            future.set_result(fn(*args))
        self.held.clear()


def test_a_waiting_thread_runs_a_job_no_worker_has_started(make_runtime: Any, engine: Any) -> None:
    pool = HeldPool()
    rt = make_runtime(executor=pool)
    rt._scheduler.inline_max_work = 0
    job = rt.submit("sampler", "fake_sim", sampler_payload())
    assert job.status is JobStatus.RUNNING and len(pool.held) == 1
    with pytest.raises(JobTimeoutError):
        job.result(timeout=0.05)  # a bounded wait does not run it
    result = job.result()  # an unbounded one does, in this thread
    assert job.status is JobStatus.DONE and len(engine.calls) == 1
    pool.run_held()  # the worker finds it taken: nothing runs twice
    assert len(engine.calls) == 1 and job.result() == result
    second = rt.submit("sampler", "fake_sim", sampler_payload())
    pool.run_held()  # a worker that comes first runs it; a later waiter just waits
    assert second.result() == result and len(engine.calls) == 2


def test_another_executor_gets_every_job(make_runtime: Any) -> None:
    class Counting:
        def __init__(self) -> None:
            self.pool = concurrent.futures.ThreadPoolExecutor(1)
            self.count = 0

        def submit(self, fn: Any, /, *args: Any) -> Any:
            self.count += 1
            return self.pool.submit(fn, *args)

        def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
            self.pool.shutdown(wait=wait)

    executor = Counting()
    rt = make_runtime(executor=executor)
    rt.submit("sampler", "fake_sim", sampler_payload()).result()
    assert executor.count == 1
