"""Results held in memory: MemoryStore(keep_results=...) and open_runtime's default."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from qsession_provider.client import KEEP_RESULTS, open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir import Circuit, Gate, Measure, PackedBits
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.job_record import JobRecord, JobStatus
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store import MemoryStore
from qsession_provider.errors import InputError, QSessionError, ResultUnavailableError


def record(job_id: str, status: JobStatus = JobStatus.QUEUED) -> JobRecord:
    return JobRecord(
        id=job_id, program_id="sampler", device="d", status=status, created_at=float(len(job_id))
    )


def finish(store: MemoryStore, job_id: str, result: str) -> None:
    store.add_job(record(job_id), "{}")
    store.update_job(record(job_id, JobStatus.DONE), result=result)


def test_a_memory_store_keeps_every_result_unless_told() -> None:
    store = MemoryStore()
    assert store.keep_results is None
    for i in range(300):
        finish(store, f"j{i}", f'"r{i}"')
    assert store.get_result("j0") == '"r0"'


def test_keep_results_keeps_the_latest_and_names_itself_for_the_others() -> None:
    store = MemoryStore(keep_results=2)
    for i in range(4):
        finish(store, f"j{i}", f'"r{i}"')
    assert store.get_result("j2") == '"r2"' and store.get_result("j3") == '"r3"'
    with pytest.raises(ResultUnavailableError, match=r"keep_results=2") as caught:
        store.get_result("j0")
    assert "j0" in str(caught.value) and "keep the job handle" in str(caught.value)
    # The job itself, its payload and the other jobs are unharmed.
    assert store.get_job("j0").status is JobStatus.DONE and store.get_payload("j0") == "{}"
    store.add_job(record("q"), "{}")  # a job with no result yet: None, as ever
    assert store.get_result("q") is None
    store.delete_job("j1")
    with pytest.raises(Exception, match="no job with id 'j1'"):
        store.get_result("j1")
    assert "keep_results=2" in repr(store)


def test_keep_results_zero_keeps_none_and_a_result_stored_again_is_the_latest() -> None:
    store = MemoryStore(keep_results=0)
    finish(store, "a", '"x"')
    with pytest.raises(ResultUnavailableError):
        store.get_result("a")
    store = MemoryStore(keep_results=1)
    finish(store, "a", '"x"')
    store.update_job(record("a", JobStatus.DONE), result='"y"')
    assert store.get_result("a") == '"y"'


@pytest.mark.parametrize("bad", [-1, 1.5, "3", True])
def test_a_bad_keep_results_is_refused(bad: object) -> None:
    with pytest.raises(InputError, match="keep_results must be"):
        MemoryStore(keep_results=bad)  # type: ignore[arg-type]


# -- through the runtime ------------------------------------------------------------------------


def coin_circuit(qubits: int = 2, bits: int = 2) -> Circuit:
    """Fair coins on ``qubits`` qubits, read into the first bits of a ``bits``-bit register."""
    ops: list[object] = [Gate("h", (q,)) for q in range(qubits)]
    ops += [Measure(q, "c", q) for q in range(qubits)]
    return Circuit(qubits, ops, {"c": bits})


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    rt = open_runtime(":memory:", clock=VirtualClock(), keep_results=2)
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


def submit(rt: Runtime, seed: int) -> str:
    payload = SamplerPayload((SamplerPub(coin_circuit(), None, 32),), seed=seed)
    job = rt.submit("sampler", "statevector", payload)
    job.result()
    return job.id


def test_a_dropped_result_is_a_clear_error_and_a_held_handle_keeps_its_own(
    runtime: Runtime,
) -> None:
    held = runtime.submit(
        "sampler", "statevector", SamplerPayload((SamplerPub(coin_circuit(), None, 32),), seed=0)
    )
    first = held.result()
    ids = [submit(runtime, seed) for seed in range(1, 4)]
    gc.collect()  # the handles of ids are gone
    assert held.result() is first  # still referenced: its result stays
    with pytest.raises(ResultUnavailableError, match="keep_results=2"):
        runtime.job(ids[0]).result()
    bits = runtime.job(ids[-1]).result()["pubs"][0]["registers"]["c"]
    assert isinstance(bits, PackedBits) and bits.shape == (32,) and bits.num_bits == 2
    # The runtime goes on: more jobs run and their results are there.
    assert runtime.job(submit(runtime, 9)).result()["pubs"][0]["shots"] == 32


def test_open_runtime_keeps_the_default_for_memory_and_refuses_it_for_files(
    tmp_path: Path,
) -> None:
    clock = VirtualClock()
    rt = open_runtime(":memory:", clock=clock)
    try:
        assert rt.store.keep_results == KEEP_RESULTS == 100
    finally:
        rt.shutdown()
    rt = open_runtime(":memory:", clock=VirtualClock(), keep_results=None)
    try:
        assert rt.store.keep_results is None
    finally:
        rt.shutdown()
    with pytest.raises(InputError, match="keep_results must be"):
        open_runtime(":memory:", keep_results=-3)
    path = str(tmp_path / "s.db")
    rt = open_runtime(path, clock=clock)
    try:
        with pytest.raises(InputError, match="keeps every result"):
            open_runtime(path, clock=clock, keep_results=5)
    finally:
        rt.shutdown()
    # A clock's own timeline: its first opener's setting, and a clear error for another.
    timeline = VirtualClock()
    rt = open_runtime(clock=timeline, keep_results=7)
    try:
        assert open_runtime(clock=timeline) is rt
        assert open_runtime(clock=timeline, keep_results=7) is rt
        with pytest.raises(QSessionError, match="already keeps keep_results=7"):
            open_runtime(clock=timeline, keep_results=8)
    finally:
        rt.shutdown()


# -- memory of a long in-memory session ------------------------------------------------------

MEMORY_SCRIPT = """
import gc, json, sys
import psutil
from qsession_provider.client import open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from tests.core.store.test_retention import coin_circuit

runtime = open_runtime(":memory:", clock=VirtualClock())
circuit = coin_circuit(2, 20)  # 20 bits a shot (2 of them coins: a cheap engine)
process = psutil.Process()

def job(seed):
    payload = SamplerPayload((SamplerPub(circuit, None, 100_000),), seed=seed)
    result = runtime.submit("sampler", "statevector", payload).result()
    return result["pubs"][0]["registers"]["c"].nbytes

job(0)
gc.collect()
before = process.memory_info().rss
held = sum(job(seed) for seed in range(1, 1001))
gc.collect()
after = process.memory_info().rss
runtime.shutdown()
kept = runtime.store.keep_results
print(json.dumps({"growth": after - before, "bytes_per_result": held // 1000, "kept": kept}))
"""


def test_a_thousand_results_of_100000_shots_on_20_bits_stay_under_300_mb() -> None:
    """The issue's figure, with the default retention (the last 100 results): about 50 MB.

    Packing alone is not enough for it: 1,000 packed results are 300 MB of bytes (400 MB as
    the store's base64 text) with ``keep_results=None``; unpacked they were about 2.7 GB.
    """
    pytest.importorskip("psutil", reason="measures the resident memory of a subprocess")
    root = Path(__file__).resolve().parents[3]
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(MEMORY_SCRIPT)],
        capture_output=True,
        text=True,
        cwd=root,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    measured = json.loads(done.stdout.strip().splitlines()[-1])
    assert measured["bytes_per_result"] == 100_000 * 3  # packed: 3 bytes a shot
    assert measured["kept"] == KEEP_RESULTS  # the default retention is what bounds it
    assert measured["growth"] < 300 * 2**20, measured


def test_results_are_packed_in_the_store_text(runtime: Runtime) -> None:
    job_id = submit(runtime, 5)
    text = runtime.store.get_result(job_id)
    assert text is not None and '"__bits__"' in text and '"__nd__"' not in text
    bits = json.loads(text)["pubs"][0]["registers"]["c"]["__bits__"]
    assert bits[:2] == [2, [32]]
    assert np.frombuffer(__import__("base64").b64decode(bits[2]), np.uint8).max() <= 3
