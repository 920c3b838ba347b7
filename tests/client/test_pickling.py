"""Pickled handles: which runtimes have an address, and reconnecting to it in any process."""

from __future__ import annotations

import multiprocessing
import os
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from qsession_provider.client import open_runtime, runtime_for
from qsession_provider.client.handles import (
    NotPicklableError,
    RuntimeAddress,
    address_of,
    reconnect,
)
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.ir import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.store import SQLiteStore

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import in_process_app, serve_module  # noqa: E402

server = pytest.fixture(scope="module")(serve_module)


def _payload(seed: int = 1) -> SamplerPayload:
    circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
    return SamplerPayload((SamplerPub(circuit, None, 8),), seed=seed)


@pytest.fixture
def store_runtime(tmp_path: Path) -> Iterator[Runtime]:
    runtime = open_runtime(str(tmp_path / "store.sqlite3"))
    yield runtime
    runtime.shutdown()


def _refused(runtime: object, match: str) -> NotPicklableError:
    with pytest.raises(NotPicklableError, match=match) as info:
        address_of(runtime, "SamplerV2")  # type: ignore[arg-type]
    assert isinstance(info.value, TypeError) and isinstance(info.value, pickle.PicklingError)
    assert "SamplerV2 cannot be pickled" in str(info.value)
    return info.value


# -- what cannot travel ---------------------------------------------------------------------------
def test_an_in_memory_store_is_refused_and_says_what_to_use() -> None:
    runtime = open_runtime(":memory:")
    try:
        error = _refused(runtime, r"in-memory store \(':memory:'\)")
        assert "store file" in str(error) and "server" in str(error)
        runtime.submit("sampler", "statevector", _payload()).result()  # still works
    finally:
        runtime.shutdown()


def test_a_virtual_clock_is_refused_even_on_a_store_file(tmp_path: Path) -> None:
    runtime = open_runtime(str(tmp_path / "v.sqlite3"), clock=VirtualClock())
    try:
        _refused(runtime, "virtual clock")
    finally:
        runtime.shutdown()


def test_a_runtime_built_by_hand_is_refused(tmp_path: Path) -> None:
    open_runtime(str(tmp_path / "h.sqlite3")).shutdown()  # a store file with its devices
    runtime = Runtime(store=SQLiteStore(str(tmp_path / "h.sqlite3")))
    try:
        _refused(runtime, r"built by hand \(Runtime\(\.\.\.\)\)")
    finally:
        runtime.shutdown()
        runtime.store.close()


def test_a_shut_down_runtime_is_refused(store_runtime: Runtime) -> None:
    store_runtime.shutdown()
    _refused(store_runtime, "has been shut down")


def test_a_custom_http_client_is_refused() -> None:
    served = open_runtime(":memory:")
    from qsession_provider.client import connect
    from qsession_provider.core.user import TokenRecord, hash_token

    served.store.add_token(TokenRecord("alice", hash_token("tok-alice"), "a", 1.0, False))
    try:
        with in_process_app(served) as app:
            remote = connect("http://testserver", "tok-alice", client=app)
            _refused(remote, r"connect\(client=\.\.\.\)")
            remote.shutdown()
    finally:
        served.shutdown()


def test_an_address_names_a_store_or_a_url_with_its_token() -> None:
    with pytest.raises(ValueError, match="either a store or a url"):
        RuntimeAddress()
    with pytest.raises(ValueError, match="either a store or a url"):
        RuntimeAddress(store="a.db", url="http://127.0.0.1:1", token="t")
    with pytest.raises(ValueError, match="needs its token"):
        RuntimeAddress(url="http://127.0.0.1:1")
    address = RuntimeAddress(url="http://127.0.0.1:1", token="qs_secret")
    assert "qs_secret" not in repr(address)
    assert pickle.loads(pickle.dumps(address)) == address


# -- store files ---------------------------------------------------------------------------------
def test_a_store_address_reconnects_to_the_one_runtime_of_the_store(
    store_runtime: Runtime,
) -> None:
    address = address_of(store_runtime)
    assert address == RuntimeAddress(store=store_runtime.location)
    assert reconnect(pickle.loads(pickle.dumps(address))) is store_runtime


def test_taking_the_address_commits_what_the_store_holds(store_runtime: Runtime) -> None:
    job = store_runtime.submit("sampler", "statevector", _payload())
    job.result()
    session = store_runtime.open_session("statevector")
    address_of(store_runtime)
    other = SQLiteStore(store_runtime.location)  # what another process reads
    try:
        assert other.get_job(job.id).status.value == "DONE"
        assert other.get_session(session.id).device == "statevector"
    finally:
        other.close()


def test_after_a_shutdown_reconnecting_opens_the_store_again(tmp_path: Path) -> None:
    runtime = open_runtime(str(tmp_path / "again.sqlite3"))
    address = address_of(runtime)
    job_id = runtime.submit("sampler", "statevector", _payload()).id
    runtime.shutdown()
    again = reconnect(address)
    try:
        assert again is not runtime and not again.closed
        assert again.job(job_id).status.value == "DONE"
    finally:
        again.shutdown()


_PARENT: dict[str, Runtime] = {}


def _forked_child_reconnects(address: RuntimeAddress) -> tuple[bool, str, int]:
    runtime = reconnect(address)
    inherited = _PARENT["runtime"]  # the parent's object, copied by fork
    job = runtime.submit("sampler", "statevector", _payload(seed=3))
    job.result()
    return runtime is not inherited and reconnect(address) is runtime, job.id, os.getpid()


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_a_forked_worker_opens_its_own_runtime_on_the_store(store_runtime: Runtime) -> None:
    _PARENT["runtime"] = store_runtime
    try:
        ctx = multiprocessing.get_context("fork")
        with ctx.Pool(1) as pool:
            own, job_id, pid = pool.apply(_forked_child_reconnects, (address_of(store_runtime),))
            pool.close()
            pool.join()  # the worker's runtime shuts down with it and commits its results
    finally:
        _PARENT.clear()
    assert own and pid != os.getpid()
    assert store_runtime.job(job_id).status.value == "DONE"
    assert not store_runtime.closed  # the parent's runtime goes on
    store_runtime.submit("sampler", "statevector", _payload()).result()


# -- servers ---------------------------------------------------------------------------------------
def test_a_server_address_carries_url_and_token_and_reconnects_to_the_shared_runtime(
    server: object,
) -> None:
    token = server.token("pickler")  # type: ignore[attr-defined]
    remote = runtime_for(url=server.url, token=token)  # type: ignore[attr-defined]
    address = address_of(remote)
    assert address.url == remote.location and address.token == token and address.store is None
    assert token not in repr(address)
    assert reconnect(pickle.loads(pickle.dumps(address))) is remote
    job = remote.submit("sampler", "statevector", _payload())
    pub = reconnect(address).job(job.id).result()["pubs"][0]
    assert pub["shots"] == 8 and set(pub["registers"]) == {"c"}
