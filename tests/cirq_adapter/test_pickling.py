"""Pickling the Cirq face: samplers go to ``multiprocessing`` pools, as Cirq experiments do.

A pickled :class:`Sampler` reconnects to its store's runtime in the worker (spawn and fork);
services and jobs round-trip; an in-memory store is refused with the reason; on a real
``qsession serve`` a sampler in a session is fed from a worker.
"""

from __future__ import annotations

import multiprocessing
import pickle
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import cirq
import numpy as np
import pytest
import sympy

from qsession_provider.cirq import Sampler, Service
from qsession_provider.errors import SessionError

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(240)

server = pytest.fixture(scope="module")(serve_module)
Q0, Q1 = cirq.LineQubit.range(2)
T = sympy.Symbol("t")


def _circuit() -> cirq.Circuit:
    return cirq.Circuit(cirq.X(Q0) ** T, cirq.CNOT(Q0, Q1), cirq.measure(Q0, Q1, key="m"))


def _sweep(sampler: Sampler) -> tuple[list[str | None], list[list[list[int]]]]:
    """What a worker does: one sweep, the job ids and the measured bits."""
    results = sampler.run_sweep(_circuit(), cirq.Points("t", [0, 1]), repetitions=4)
    return [r.job_id for r in results], [r.measurements["m"].tolist() for r in results]


def _ids_only(sampler: Sampler) -> str:
    return _sweep(sampler)[0][0] or ""


def _in_session(sampler: Sampler) -> str:
    try:
        _sweep(sampler)
    except SessionError as exc:
        return str(exc)
    return "submitted"


@pytest.fixture(scope="module")
def worker() -> Iterator[Any]:
    """One spawned worker (a fresh interpreter) for the module's tests."""
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        yield pool


@pytest.fixture
def store(tmp_path: Path) -> Iterator[str]:
    path = str(tmp_path / "store.sqlite3")
    yield path
    Service(store=path).runtime.shutdown()


def test_a_sampler_round_trips_with_device_seed_name_and_tags(store: str) -> None:
    qpu = pickle.loads(pickle.dumps(Sampler("emulated_falcon_27", store=store, timeout=60.0)))
    assert qpu.device == "emulated_falcon_27" and qpu._timeout == 60.0
    sampler = Sampler(store=store, seed=5, name="sweep", tags=["a"])
    copy = pickle.loads(pickle.dumps(sampler))
    assert copy.runtime is sampler.runtime is qpu.runtime and copy.device == "statevector"
    assert copy.session_id is None
    ids, bits = _sweep(copy)
    assert _sweep(sampler)[1] == bits  # the same random state: the same seeds, as cirq.Simulator
    assert bits == [[[0, 0]] * 4, [[1, 1]] * 4]
    job = copy.last_jobs[0]
    assert job.job_id() == ids[0] and job.core.name == "sweep" and list(job.core.tags) == ["a"]


def test_services_and_jobs_round_trip(store: str) -> None:
    service = Service(store=store, default_target="statevector")
    copy = pickle.loads(pickle.dumps(service))
    assert copy.runtime is service.runtime and copy.get_target().name == "statevector"
    result = service.run(cirq.Circuit(cirq.X(Q0), cirq.measure(Q0, key="m")), repetitions=3)
    job = pickle.loads(pickle.dumps(service.get_job(result.job_id)))
    assert job.job_id() == result.job_id and job.status() == "completed"
    assert np.array_equal(job.results().measurements["m"], result.measurements["m"])


def test_a_sampler_bound_to_a_session_keeps_its_id_in_this_process(store: str) -> None:
    service = Service(store=store)
    target = service.get_target("statevector")
    with target.open_session(name="pickled") as session:
        copy = pickle.loads(pickle.dumps(Sampler(target)))  # the target's latest, now
        assert copy.session_id == session.id
        ids, _ = _sweep(copy)
        assert service.get_job(ids[0]).session_id == session.id


def test_an_in_memory_store_is_refused_and_the_sampler_goes_on() -> None:
    sampler = Sampler(store=":memory:")
    with pytest.raises(TypeError, match=r"Sampler cannot be pickled: .*':memory:'") as info:
        pickle.dumps(sampler)
    assert isinstance(info.value, pickle.PicklingError)
    with pytest.raises(TypeError, match=r"Service cannot be pickled: .*':memory:'"):
        pickle.dumps(Service(runtime=sampler.runtime))
    assert _sweep(sampler)[1][1] == [[1, 1]] * 4


@pytest.mark.parametrize(
    "method",
    [
        "spawn",
        pytest.param(
            "fork",
            marks=pytest.mark.skipif(
                "fork" not in multiprocessing.get_all_start_methods(), reason="no fork here"
            ),
        ),
    ],
)
def test_a_sampler_runs_in_a_pool_worker_and_the_parent_reads_its_jobs(
    store: str, method: str
) -> None:
    sampler = Sampler(store=store, seed=9)
    service = Service(store=store)
    with multiprocessing.get_context(method).Pool(1) as pool:
        swept = pool.map(_sweep, [sampler, sampler])
        job_ids = pool.map(_ids_only, [sampler])
        pool.close()
        pool.join()  # the workers' runtimes shut down with them, committing their results
    for ids, bits in swept:
        assert bits == [[[0, 0]] * 4, [[1, 1]] * 4]
        assert ids[0] == ids[1] and service.get_job(ids[0]).status() == "completed"
    assert service.get_job(job_ids[0]).status() == "completed"
    assert len(service.list_jobs()) == 3  # one job per sweep


def test_a_session_on_a_store_file_is_fed_only_by_its_process(store: str, worker: Any) -> None:
    target = Service(store=store).get_target("statevector")
    with target.open_session() as session:
        sampler = Sampler(target)
        answer = worker.apply(_in_session, (sampler,))
        assert f"session {session.id} belongs to another process" in answer
        assert _sweep(sampler)[1][1] == [[1, 1]] * 4  # the session goes on here


def test_on_a_server_a_session_is_fed_from_a_worker(server: Any, worker: Any) -> None:
    service = Service(url=server.url, token=server.token("cirq-pickler"))
    assert pickle.loads(pickle.dumps(service)).runtime is service.runtime
    target = service.get_target("statevector")
    with target.open_session() as session:
        sampler = Sampler(target)
        ids, bits = worker.apply(_sweep, (sampler,))
        assert bits == [[[0, 0]] * 4, [[1, 1]] * 4]
        assert {service.get_job(i).session_id for i in ids} == {session.id}
