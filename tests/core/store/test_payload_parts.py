"""Large circuits of payloads stored once in the SQLite store (core/store/payload_parts.py)."""

from __future__ import annotations

import sqlite3
from typing import Any

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.encoding import PayloadText, circuit_text
from qsession_provider.core.ir.observables import PauliSum
from qsession_provider.core.ir.params import Parameter
from qsession_provider.core.ir.payload import (
    SHARED_TEXT_MIN,
    EstimatorPayload,
    EstimatorPub,
    SamplerPayload,
    SamplerPub,
    shared_texts,
)
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.runtime import checks
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.payload_parts import MARK, PartHashes, join_parts, split_parts
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import StoreError
from qsession_provider.plugins.builtin import statevector_device


def ansatz(n: int = 8, layers: int = 6) -> Circuit:
    """A parameterised circuit whose encoded text is a few KB."""
    ops: list[Any] = []
    for layer in range(layers):
        ops += [Gate("ry", (q,), (Parameter(f"t{layer}_{q}"),)) for q in range(n)]
        ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(n - 1)]
    return Circuit(n, ops)


def estimator_payload(circuit: Circuit, seed: int) -> EstimatorPayload:
    values = np.random.default_rng(seed).uniform(size=len(circuit.parameters))
    return EstimatorPayload((EstimatorPub(circuit, values, PauliSum.from_labels({"Z" * 8: 1.0})),))


def stored_payload(path: Any, job_id: str) -> str:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT payload FROM job_data WHERE job_id = ?", (job_id,)).fetchone()[0]
    finally:
        db.close()


def count_parts(path: Any) -> int:
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT COUNT(*) FROM payload_parts").fetchone()[0]
    finally:
        db.close()


def test_a_payload_names_its_large_circuits_and_not_small_ones() -> None:
    big = ansatz()
    payload = estimator_payload(big, 1)
    text = checks.encode(payload, "payload")
    assert isinstance(text, PayloadText) and len(text.shared) == 1
    assert text.shared[0] in text and len(text.shared[0]) >= SHARED_TEXT_MIN
    small = Circuit(1, [Gate("h", (0,)), Measure(0, "c", 0)], {"c": 1})
    plain = checks.encode(SamplerPayload((SamplerPub(small, np.zeros(0), 10),)), "payload")
    assert type(plain) is str  # nothing worth sharing
    assert shared_texts({"not": "a payload"}) == ()


def test_jobs_of_one_circuit_store_it_once_and_read_back_the_same_text(tmp_path: Any) -> None:
    path = tmp_path / "s.sqlite3"
    store = SQLiteStore(path)
    circuit = ansatz()
    texts = {}
    for k in range(5):
        text = checks.encode(estimator_payload(circuit, k), "payload")
        record = JobRecord(f"j{k}", "estimator", "statevector", JobStatus.QUEUED, float(k))
        store.add_job(record, text, fresh=True)
        texts[record.id] = str(text)
    store.flush()
    assert count_parts(path) == 1
    for job_id, text in texts.items():
        raw = stored_payload(path, job_id)
        assert MARK in raw and len(raw) < len(text) // 4  # the circuit is not repeated
        assert store.get_payload(job_id) == text
    store.close()
    # Another store (another process) reads the same texts.
    again = SQLiteStore(path, read_only=True)
    assert again.get_payload("j3") == texts["j3"]
    again.close()


def test_a_runtime_reads_back_payloads_and_results_through_parts(tmp_path: Any) -> None:
    path = tmp_path / "r.sqlite3"
    circuit = ansatz()
    with Runtime(store=SQLiteStore(path), clock=VirtualClock(start=0)) as rt:
        rt.add_device(statevector_device(), replace=True)
        jobs = [
            rt.submit("estimator", "statevector", estimator_payload(circuit, k)) for k in (1, 2)
        ]
        values = [job.result()["pubs"][0]["evs"] for job in jobs]
        rt.store.flush()
    with Runtime(store=SQLiteStore(path), clock=VirtualClock(start=0)) as rt:
        for job, value in zip(jobs, values):
            again = rt.job(job.id)
            assert circuit_text(again.payload.pubs[0].circuit) == circuit_text(circuit)
            assert again.result()["pubs"][0]["evs"] == value


def test_a_lost_part_is_a_clear_error_and_other_jobs_still_read(tmp_path: Any) -> None:
    path = tmp_path / "lost.sqlite3"
    store = SQLiteStore(path)
    big = checks.encode(estimator_payload(ansatz(), 1), "payload")
    store.add_job(JobRecord("big", "estimator", "sv", JobStatus.QUEUED, 1.0), big, fresh=True)
    store.add_job(JobRecord("plain", "echo", "sv", JobStatus.QUEUED, 2.0), '{"k":1}', fresh=True)
    store.flush()
    db = sqlite3.connect(path)
    db.execute("DELETE FROM payload_parts")
    db.commit()
    db.close()
    with pytest.raises(StoreError, match="lost part"):
        store.get_payload("big")
    assert store.get_payload("plain") == '{"k":1}'
    assert store.get_job("big").status is JobStatus.QUEUED
    store.close()


def test_a_deleted_job_keeps_the_part_its_circuit_shares(tmp_path: Any) -> None:
    path = tmp_path / "d.sqlite3"
    store = SQLiteStore(path)
    circuit = ansatz()
    for k in range(2):
        text = checks.encode(estimator_payload(circuit, k), "payload")
        store.add_job(JobRecord(f"j{k}", "estimator", "sv", JobStatus.QUEUED, k), text, fresh=True)
    store.flush()
    store.delete_job("j0")
    assert store.get_payload("j1") == str(checks.encode(estimator_payload(circuit, 1), "payload"))
    store.close()


def test_other_stores_keep_the_text_as_it_is() -> None:
    store = MemoryStore()
    text = checks.encode(estimator_payload(ansatz(), 1), "payload")
    store.add_job(JobRecord("j", "estimator", "sv", JobStatus.QUEUED, 1.0), text, fresh=True)
    assert store.get_payload("j") == text and MARK not in store.get_payload("j")


def test_every_occurrence_of_a_part_is_replaced_and_near_misses_are_kept() -> None:
    part = "P" * 70 + "-end"
    near = "P" * 70 + "-not"  # the same 64-character prefix, another text
    text = PayloadText(f"[{part},{near},{part}]", (part,))
    hashes = PartHashes()
    stored, new = split_parts(text, hashes)
    digest = hashes.hash_of(part)
    assert stored == f"[{MARK}{digest}{MARK},{near},{MARK}{digest}{MARK}]"
    assert new == {digest: part}
    assert join_parts(stored, lambda wanted: {d: new[d] for d in wanted}) == text
    hashes.mark_stored([digest])
    assert split_parts(text, hashes) == (stored, {})  # a stored part is not sent again


def test_a_version_2_store_is_read_read_only_without_migrating(tmp_path: Any) -> None:
    path = tmp_path / "v2.sqlite3"
    store = SQLiteStore(path)
    store.add_job(JobRecord("old", "echo", "sv", JobStatus.QUEUED, 1.0), '{"k":1}', fresh=True)
    store.close()
    db = sqlite3.connect(path)
    db.execute("DROP TABLE payload_parts")
    db.execute("UPDATE meta SET value = '2' WHERE key = 'schema_version'")
    db.commit()
    db.close()
    reader = SQLiteStore(path, read_only=True)
    assert reader.get_payload("old") == '{"k":1}'
    reader.close()
    writer = SQLiteStore(path)  # opening for writing migrates it
    big = checks.encode(estimator_payload(ansatz(), 1), "payload")
    writer.add_job(JobRecord("new", "estimator", "sv", JobStatus.QUEUED, 2.0), big, fresh=True)
    writer.flush()
    assert writer.get_payload("new") == big and writer.get_payload("old") == '{"k":1}'
    writer.close()
