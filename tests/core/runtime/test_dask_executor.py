"""The Dask executor on a real LocalCluster of 2 single-threaded worker processes.

The runtime keeps scheduling, session rules and the clock (a virtual one here); workers
compute. The devices come from the plugin ``dask_test_devices`` the workers import; a
gated device lets a test decide when a job may end and which worker process to kill.
Waiting for the cluster to do something is polling with a generous real-time deadline;
no assertion is about how long anything took.
"""

from __future__ import annotations

import os
import signal
import socket
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.client import open_runtime
from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.ir.encoding import dumps
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.job import JobStatus
from qsession_provider.core.runtime import Runtime, ThreadExecutor
from qsession_provider.errors import InputError, QSessionError
from qsession_provider.plugins.builtin import engine, statevector_device
from tests.core.runtime import dask_test_devices
from tests.core.runtime.dask_test_devices import DIR_ENV

distributed = pytest.importorskip(
    "distributed",
    reason="dask distributed is not installed (pip install 'qsession-provider[dask]')",
)
from qsession_provider.core.runtime.dask_executor import (  # noqa: E402
    ClusterUnavailableError,
    DaskExecutor,
)

PLUGIN = dask_test_devices.__name__
ROOT = Path(__file__).resolve().parents[3]
#: Real seconds to wait for the cluster to do something (never reached when green).
PATIENCE = 60.0


def sampler(seed: int | None, *, qubits: int = 4, shots: int = 64) -> SamplerPayload:
    """A sampler job on the statevector method (H and T on every qubit, a CX chain)."""
    ops: list[Any] = [Gate("h", (q,)) for q in range(qubits)]
    ops += [Gate("t", (q,)) for q in range(qubits)]  # not Clifford: no stabilizer shortcut
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(qubits - 1)]
    ops += [Measure(q, "m", q) for q in range(qubits)]
    return SamplerPayload((SamplerPub(Circuit(qubits, ops, {"m": qubits}), None, shots),), seed)


def without_pid(result: dict[str, Any]) -> str:
    return dumps({k: v for k, v in result.items() if k != "pid"})


def wait_until(condition: Callable[[], Any], what: str) -> Any:
    deadline = time.monotonic() + PATIENCE
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(0.01)
    raise AssertionError(f"timed out waiting for {what}")


def cluster_env(workdir: Path) -> dict[str, str]:
    path = os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH", "")) if p)
    return {DIR_ENV: str(workdir), "PYTHONPATH": path}


@pytest.fixture(scope="module")
def workdir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("dask")


@pytest.fixture(scope="module")
def cluster(workdir: Path) -> Iterator[Any]:
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        memory_limit="1GiB",
        env=cluster_env(workdir),
    ) as made:
        yield made


@pytest.fixture(scope="module")
def client(cluster: Any) -> Iterator[Any]:
    """The test's own view of the cluster (worker pids, waiting for restarts)."""
    with distributed.Client(cluster, set_as_default=False) as made:
        yield made


@pytest.fixture(scope="module")
def executor(cluster: Any) -> Iterator[DaskExecutor]:
    with DaskExecutor(cluster.scheduler_address, plugins=[PLUGIN]) as made:
        yield made


@pytest.fixture
def gate(workdir: Path, client: Any) -> Iterator[Path]:
    """The gated device's directory: closed at the start, opened (and both workers back)
    at the end, so that a job a test left waiting finishes."""
    for leftover in workdir.iterdir():
        leftover.unlink()
    yield workdir
    (workdir / "open").touch()
    client.wait_for_workers(2, timeout=PATIENCE)


@pytest.fixture
def runtime(executor: DaskExecutor) -> Iterator[Runtime]:
    devices = [*dask_test_devices.devices(), statevector_device()]
    made = Runtime(devices=devices, clock=VirtualClock(start=0), executor=executor)
    yield made
    made.shutdown(wait=False, cancel_pending=True)


def worker_pids(client: Any) -> set[int]:
    return set(client.run(os.getpid).values())


def started(gate: Path) -> list[int]:
    """Pids of the worker processes that started a gated job, in no particular order."""
    return [int(p.name.split("-")[1]) for p in gate.glob("started-*")]


def in_process(payloads: list[SamplerPayload]) -> list[str]:
    """The same jobs on the in-process thread pool (encoded results)."""
    with Runtime(devices=[statevector_device()], executor=ThreadExecutor(2)) as local:
        jobs = [local.submit("sampler", "statevector", p) for p in payloads]
        return [dumps(job.result()) for job in jobs]


# -- session rules on the cluster -------------------------------------------------------------


def test_session_jobs_run_on_workers_in_order_one_at_a_time(
    runtime: Runtime, gate: Path, client: Any
) -> None:
    session = runtime.open_session("dask_qpu")
    other = runtime.submit("sampler", "dask_qpu", sampler(100))  # job mode, same device
    jobs = [
        runtime.submit("sampler", "dask_qpu", sampler(seed), session_id=session.id)
        for seed in range(1, 6)
    ]
    results = [job.result() for job in [*jobs, other]]
    assert {r["pid"] for r in results} <= worker_pids(client)
    assert os.getpid() not in {r["pid"] for r in results}
    lines = (gate / "log").read_text().split()
    pairs = list(zip(lines[0::4], lines[1::4], lines[2::4], lines[3::4]))
    # never two at once: every start is followed by its own end
    assert all(a == "start" and c == "end" and b == d for a, b, c, d in pairs), lines
    order = [int(seed) for seed in lines[1::4]]
    session_order = [seed for seed in order if seed != 100]
    assert session_order == [1, 2, 3, 4, 5]
    runtime.close_session(session.id)
    assert runtime.session(session.id).state.value == "closed"


def test_batch_jobs_run_on_workers_with_the_in_process_results(
    runtime: Runtime, gate: Path, client: Any
) -> None:
    (gate / "open").touch()
    batch = runtime.open_session("dask_gate", mode="batch")
    payloads = [sampler(seed, qubits=6, shots=200) for seed in range(10, 18)]
    jobs = [runtime.submit("sampler", "dask_gate", p, session_id=batch.id) for p in payloads]
    results = [job.result() for job in jobs]
    assert all(job.status is JobStatus.DONE for job in jobs)
    assert {r["pid"] for r in results} <= worker_pids(client)
    assert [without_pid(r) for r in results] == in_process(payloads)


def test_open_runtime_with_a_dask_executor_runs_builtin_devices(
    executor: DaskExecutor,
) -> None:
    payloads = [sampler(seed, qubits=8) for seed in (1, 2, 3)]
    runtime = open_runtime(":memory:", executor=executor)
    try:
        jobs = [runtime.submit("sampler", "statevector", p) for p in payloads]
        assert [dumps(job.result()) for job in jobs] == in_process(payloads)
    finally:
        runtime.shutdown()


def test_workers_compute_without_any_quantum_framework(executor: DaskExecutor, client: Any) -> None:
    runtime = open_runtime(":memory:", executor=executor)
    try:
        assert runtime.submit("sampler", "emulated_falcon_27", sampler(5)).result()
    finally:
        runtime.shutdown()
    assert set(map(tuple, client.run(dask_test_devices.loaded_frameworks).values())) == {()}


# -- workers dying ----------------------------------------------------------------------------


def test_a_seeded_job_whose_worker_dies_runs_again_elsewhere(runtime: Runtime, gate: Path) -> None:
    job = runtime.submit("sampler", "dask_gate", sampler(7))
    first = wait_until(lambda: started(gate), "the job to start on a worker")[0]
    os.kill(first, signal.SIGKILL)
    again = wait_until(lambda: [p for p in started(gate) if p != first], "the re-run")
    (gate / "open").touch()
    result = job.result()
    assert job.status is JobStatus.DONE
    assert result["pid"] == again[0] != first
    assert without_pid(result) == in_process([sampler(7)])[0]


def test_a_job_without_seed_whose_worker_dies_fails_clearly(runtime: Runtime, gate: Path) -> None:
    job = runtime.submit("sampler", "dask_gate", sampler(None))
    first = wait_until(lambda: started(gate), "the job to start on a worker")[0]
    os.kill(first, signal.SIGKILL)
    job.wait()
    assert job.status is JobStatus.ERROR
    assert "WorkerLostError" in job.error_message
    assert "died" in job.error_message and "no seed" in job.error_message
    (gate / "open").touch()
    follow_up = runtime.submit("sampler", "dask_gate", sampler(8))
    assert follow_up.result()["pid"] != first  # the runtime carries on


# -- bad input on the workers -----------------------------------------------------------------


def test_a_device_the_workers_do_not_know_fails_clearly(runtime: Runtime, gate: Path) -> None:
    runtime.add_device(Device("local_only", 4, engine(), simulator=True))
    job = runtime.submit("sampler", "local_only", sampler(1))
    job.wait()
    assert job.status is JobStatus.ERROR
    assert "no device named 'local_only'" in job.error_message
    assert "on Dask worker tcp://" in job.error_message
    assert runtime.submit("sampler", "statevector", sampler(2)).result()


def test_the_memory_guard_runs_on_the_worker_and_names_its_limit(
    runtime: Runtime, gate: Path
) -> None:
    job = runtime.submit("sampler", "dask_wide", sampler(1, qubits=30, shots=10))
    job.wait()
    assert job.status is JobStatus.ERROR
    assert "ResourceTooLargeError" in job.error_message
    assert "30 qubits" in job.error_message and "1.0 GiB available" in job.error_message
    assert "whose memory_limit is 1.0 GiB" in job.error_message
    assert runtime.submit("sampler", "statevector", sampler(2)).result()


def test_a_large_state_runs_on_a_worker_with_the_memory_for_it(tmp_path: Path) -> None:
    """Workers offer a ``MEMORY`` resource (16 MiB and 1 GiB): a 21-qubit job (a 32 MiB
    state) runs on the big one only; a small job may run on either."""

    def worker(memory: int) -> dict[str, Any]:
        options = {"nthreads": 1, "resources": {"MEMORY": memory}, "env": cluster_env(tmp_path)}
        return {"cls": distributed.Nanny, "options": options}

    with (
        distributed.SpecCluster(
            scheduler={"cls": distributed.Scheduler, "options": {"dashboard_address": ":0"}},
            workers={"small": worker(2**24), "big": worker(2**30)},
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as client,
        DaskExecutor(client, plugins=[PLUGIN], memory_resource="MEMORY") as executor,
    ):
        client.wait_for_workers(2, timeout=PATIENCE)
        ready = executor.prepare_workers()
        assert len(ready) == 2 and all("dask_big" in names for names in ready.values())
        names = {a: w["name"] for a, w in client.scheduler_info(n_workers=-1)["workers"].items()}
        pid_of = {names[address]: pid for address, pid in client.run(os.getpid).items()}
        with Runtime(devices=dask_test_devices.devices(), executor=executor) as runtime:
            large = [runtime.submit("sampler", "dask_big", sampler(s, qubits=21)) for s in (1, 2)]
            small = runtime.submit("sampler", "dask_big", sampler(3, qubits=4))
            assert [job.result()["pid"] for job in large] == [pid_of["big"]] * 2
            assert small.result()["pid"] in pid_of.values()


def test_a_plugin_module_missing_on_the_workers_fails_clearly(client: Any, gate: Path) -> None:
    with DaskExecutor(client, plugins=["no_such_plugin_module"]) as broken:
        with pytest.raises(QSessionError, match="'no_such_plugin_module' is not importable"):
            broken.prepare_workers()
        runtime = Runtime(devices=[statevector_device()], executor=broken)
        try:
            job = runtime.submit("sampler", "statevector", sampler(1))
            job.wait()
        finally:
            runtime.shutdown()
    assert job.status is JobStatus.ERROR
    assert "PluginError" in job.error_message
    assert "'no_such_plugin_module' is not importable" in job.error_message


def test_bad_arguments_are_refused(client: Any) -> None:
    with pytest.raises(InputError, match="slots must be a positive integer"):
        DaskExecutor(client, slots=0)
    with pytest.raises(InputError, match="slots must be"):
        DaskExecutor(client, slots={"statevector": 1.5})
    with pytest.raises(InputError, match="memory_resource must be a resource name"):
        DaskExecutor(client, memory_resource="")
    with pytest.raises(InputError, match="plugins must be a sequence of module names"):
        DaskExecutor(client, plugins="tests.plugin")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    with pytest.raises(
        QSessionError, match=f"cannot reach the Dask scheduler at tcp://127.0.0.1:{port}"
    ):
        DaskExecutor(f"tcp://127.0.0.1:{port}", connect_timeout=0.5)


def test_a_device_says_how_many_of_its_jobs_run_on_the_cluster(client: Any) -> None:
    qpu = Device("q", 2, engine(), slots=1)
    sim = Device("s", 2, engine(), slots=2, simulator=True)
    declared = Device("d", 2, engine(), slots=2, simulator=True, properties={"cluster_slots": 6})
    with DaskExecutor(client) as plain:
        assert [plain.device_slots(d) for d in (qpu, sim, declared)] == [1, 2, 6]
    with DaskExecutor(client, slots=8) as wide:
        assert [wide.device_slots(d) for d in (qpu, sim, declared)] == [1, 8, 8]
    with DaskExecutor(client, slots={"q": 3}) as named:
        assert [named.device_slots(d) for d in (qpu, sim, declared)] == [3, 2, 6]


def test_cluster_slots_let_more_jobs_run_than_the_device_slots(gate: Path, client: Any) -> None:
    wide = DaskExecutor(client, plugins=[PLUGIN], slots={"dask_gate": 4})
    runtime = Runtime(devices=dask_test_devices.devices(), executor=wide)
    try:
        jobs = [runtime.submit("sampler", "dask_gate", sampler(s)) for s in range(4)]
        assert runtime.pending_jobs("dask_gate") == 4
        assert all(job.status is JobStatus.RUNNING for job in jobs)  # 4 > the device's 2
        (gate / "open").touch()
        assert all(job.result() for job in jobs)
    finally:
        runtime.shutdown()
        wide.shutdown()


# -- the cluster going away -------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def one_worker(workdir: Path, port: int = 0) -> dict[str, Any]:
    """LocalCluster options: one worker process, the scheduler on ``port`` (0: any)."""
    return dict(
        n_workers=1,
        threads_per_worker=1,
        processes=True,
        dashboard_address=":0",
        scheduler_port=port,
        env=cluster_env(workdir),
    )


def load_then_close(cluster: Any, runtime: Runtime, workdir: Path) -> tuple[list[Any], Any]:
    """Five gated jobs (two running, three queued), then the cluster closes: the running
    ones fail clearly, the queued ones wait, the runtime still takes and cancels jobs.
    Returns the jobs still queued and a job submitted meanwhile."""
    jobs = [runtime.submit("sampler", "dask_gate", sampler(s)) for s in range(5)]
    running, queued = jobs[:2], jobs[2:]
    wait_until(lambda: started(workdir), "a job to start on the worker")
    cluster.close()
    for job in running:
        job.wait()
        assert job.status is JobStatus.ERROR
        assert "ClusterUnavailableError" in job.error_message
        assert "connection to the Dask scheduler" in job.error_message
    assert all(job.status is JobStatus.QUEUED for job in queued)
    late = runtime.submit("sampler", "dask_gate", sampler(9))  # the runtime answers
    assert late.status is JobStatus.QUEUED
    assert runtime.cancel_job(queued[0].id)
    assert queued[0].status is JobStatus.CANCELLED
    assert runtime.pending_jobs("dask_gate") == 3
    return queued[1:], late


def test_the_cluster_closed_under_load(tmp_path: Path) -> None:
    cluster = distributed.LocalCluster(**one_worker(tmp_path))
    executor = DaskExecutor(cluster.scheduler_address, plugins=[PLUGIN], connect_timeout=1.0)
    runtime = Runtime(
        devices=dask_test_devices.devices(), clock=VirtualClock(start=0), executor=executor
    )
    try:
        waiting, late = load_then_close(cluster, runtime, tmp_path)
        assert not executor.available
        runtime.shutdown(wait=False, cancel_pending=True)  # nothing stuck
        assert all(job.status is JobStatus.CANCELLED for job in [*waiting, late])
    finally:
        runtime.shutdown(wait=False, cancel_pending=True)
        executor.shutdown()
        cluster.close()


@pytest.mark.slow
def test_queued_jobs_run_once_the_scheduler_is_back(tmp_path: Path) -> None:
    options = one_worker(tmp_path, free_port())
    cluster = distributed.LocalCluster(**options)
    executor = DaskExecutor(
        cluster.scheduler_address, plugins=[PLUGIN], connect_timeout=2.0, retry_interval=0.1
    )
    runtime = Runtime(
        devices=dask_test_devices.devices(), clock=VirtualClock(start=0), executor=executor
    )
    try:
        waiting, late = load_then_close(cluster, runtime, tmp_path)
        (tmp_path / "open").touch()
        with distributed.LocalCluster(**options):  # the same address
            for job in [*waiting, late]:
                assert job.result()["pid"] != os.getpid()
    finally:
        runtime.shutdown(wait=False, cancel_pending=True)
        executor.shutdown()
        cluster.close()


def test_submitting_to_a_closed_executor_fails_the_job_clearly(client: Any) -> None:
    closed = DaskExecutor(client, plugins=[PLUGIN])
    closed.shutdown()
    with pytest.raises(ClusterUnavailableError, match="is not connected"):
        closed.submit_job(statevector_device(), "sampler", sampler(1))
    assert not closed.available
