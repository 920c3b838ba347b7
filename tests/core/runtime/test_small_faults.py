"""The smaller faults of issue 20 (item 8) at the runtime: shots beyond memory, oversized
metadata, a pool-run job whose final write fails, long error messages. Each is refused or
reported clearly while the runtime, other jobs and stored results carry on."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.ir import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import (
    BYTES_PER_RESULT_BIT,
    BYTES_PER_SHOT,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    machine_memory,
)
from qsession_provider.core.job import JobStatus
from qsession_provider.core.runtime.checks import METADATA_LIMIT
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.runtime.transitions import ERROR_MESSAGE_LIMIT, stored_message
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import InputError, JobFailedError, StoreError

pytestmark = pytest.mark.timeout(60)


def bell() -> Circuit:
    return Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )


# -- a: shots are covered by the memory guard at submission --------------------------------------
@pytest.mark.parametrize("shots", [10**9, 10**12])
def test_shots_beyond_memory_are_refused_at_submit(
    make_runtime: Callable[..., Runtime], vclock: Any, engine: Any, shots: int
) -> None:
    rt = make_runtime(clock=vclock)
    need = shots * BYTES_PER_SHOT + shots * 2 * BYTES_PER_RESULT_BIT
    assert need > machine_memory()  # 32 GB and more: more than this machine (the reproducer)
    big = SamplerPayload((SamplerPub(bell(), None, shots),))
    with pytest.raises(InputError, match=rf"{shots} shots would need about .* more than the limit"):
        rt.submit("sampler", "fake_sim", big)
    with pytest.raises(InputError, match=rf"{shots} shots would need"):
        rt.submit("run", "fake_qpu", RunPayload((bell(),), shots=shots))
    assert rt.store.count_jobs(JobQuery()) == 0 and engine.calls == []  # nothing queued
    fine = rt.submit("sampler", "fake_sim", SamplerPayload((SamplerPub(bell(), None, 1000),)))
    assert fine.result() is not None


def test_shot_memory_counts_every_execution_and_register_bit() -> None:
    import numpy as np

    pub = SamplerPub(
        Circuit(1, [Gate("rx", (0,), (0.1,)), Measure(0, "c", 0)], {"c": 3}),
        np.zeros((5, 0)),
        1000,
    )
    payload = SamplerPayload((pub,))
    assert payload.shot_memory == 1000 * BYTES_PER_SHOT + 5 * 1000 * 3 * BYTES_PER_RESULT_BIT
    payload.validate(10, max_memory=payload.shot_memory)  # exactly at the limit: accepted
    with pytest.raises(InputError, match=r"5000 shots would need about 104\.5 KiB .* 100\.0 KiB;"):
        payload.validate(10, max_memory=100 * 1024)


# -- b: metadata has a documented size limit ---------------------------------------------------
def test_oversized_metadata_is_refused_with_its_size_and_the_limit(
    make_runtime: Callable[..., Runtime], vclock: Any, payload: Any
) -> None:
    rt = make_runtime(clock=vclock)
    big = {"blob": "x" * METADATA_LIMIT}
    size = METADATA_LIMIT + len('{"blob":""}')
    expected = (
        rf"metadata is {size} characters when encoded, more than the limit of {METADATA_LIMIT}"
    )
    with pytest.raises(InputError, match=expected):
        rt.submit("echo", "fake_sim", payload(), metadata=big)
    with pytest.raises(InputError, match=expected):
        rt.open_session("fake_sim", metadata=big)
    job = rt.submit("echo", "fake_sim", payload(), metadata={"note": "small"})
    job.result()
    with pytest.raises(InputError, match=expected):
        rt.update_job(job.id, metadata=big)
    assert rt.store.count_jobs(JobQuery()) == 1
    assert rt.store.get_job(job.id).metadata == {"note": "small"}  # the stored one survives
    rt.update_job(job.id, metadata={"blob": "x" * (METADATA_LIMIT - 20)})  # under: accepted


# -- j: a pool-run job whose final write fails raises the store's error from result() -----------
class _FailingCommits:
    """Wraps the store's connection: COMMIT fails while ``failing`` is set, as SQLite does
    on a full disk."""

    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db
        self.failing = False

    def execute(self, sql: str, *args: Any) -> Any:
        if sql == "COMMIT" and self.failing:
            self._db.execute("ROLLBACK")
            raise sqlite3.OperationalError("database or disk is full")
        return self._db.execute(sql, *args)

    def cursor(self) -> Any:
        return self._db.cursor()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._db, name)


def test_a_pool_job_whose_final_write_fails_raises_the_store_error(
    make_runtime: Callable[..., Runtime], vclock: Any, engine: Any, payload: Any, tmp_path: Path
) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3", write_behind=False)
    rt = make_runtime(store=store, clock=vclock)
    rt._scheduler.inline_max_work = 0  # every job goes to the pool
    db = store._db
    disk = _FailingCommits(db)
    store._db = disk  # type: ignore[assignment]
    try:
        done = rt.submit("echo", "fake_sim", payload(n=1))
        assert done.result() == {"program": "echo", "echo": {"n": 1}}
        import threading

        engine.gate = threading.Event()
        job = rt.submit("echo", "fake_sim", payload(n=2))  # stored, then blocked in the engine
        disk.failing = True
        engine.gate.set()
        with pytest.raises(StoreError, match=rf"job {job.id} ended DONE.*disk is full"):
            job.result()
        assert job.status is JobStatus.DONE  # in memory; the store never got it
        disk.failing = False
        assert rt.store.get_job(done.id).status is JobStatus.DONE  # earlier results survive
        later = rt.submit("echo", "fake_sim", payload(n=3))
        assert later.result() == {"program": "echo", "echo": {"n": 3}}
    finally:
        store._db = db


# -- g: stored error messages are truncated; the submitter gets the full text --------------------
def test_a_huge_error_message_is_stored_truncated_and_raised_in_full(
    make_runtime: Callable[..., Runtime], vclock: Any, payload: Any, tmp_path: Path
) -> None:
    path = tmp_path / "s.sqlite3"
    rt = make_runtime(store=SQLiteStore(path), clock=vclock)
    bad = "syntax error in OPENQASM: " + "qreg q[1]; " * 100_000  # about 1 MB
    job = rt.submit("echo", "fake_sim", payload(), fail_with=bad)
    with pytest.raises(JobFailedError) as raised:
        job.result()
    assert bad in str(raised.value)  # the submitter sees every character
    full = job.error_message  # the handle in this process keeps the whole message
    assert full is not None and bad in full
    rt.store.flush()
    omitted = len(full) - ERROR_MESSAGE_LIMIT
    reader = SQLiteStore(path, read_only=True)  # what every listing reads
    try:
        (listed,) = reader.query_jobs(JobQuery())
    finally:
        reader.close()
    assert listed.status is JobStatus.ERROR
    assert listed.error_message == full[:ERROR_MESSAGE_LIMIT] + f"… ({omitted} characters omitted)"
    short = rt.submit("echo", "fake_sim", payload(), fail_with="short reason")
    with pytest.raises(JobFailedError):
        short.result()
    assert rt.store.get_job(short.id).error_message == short.error_message  # unchanged
    assert short.error_message is not None and len(short.error_message) < 100
    assert stored_message("x" * 10, limit=4) == "xxxx… (6 characters omitted)"
