"""Scaling-out benchmark (issue 17): the store on PostgreSQL, compute on Dask.

Parts (``--part``; default all):

- ``store``: tiny jobs through the service (``qsession serve``) with the PostgreSQL store
  vs the SQLite store: ``SamplerV2(mode=backend)`` jobs of a 2-qubit Bell circuit with 16
  shots from 4 client processes for ``--seconds``, the server's aggregate jobs per second
  (best round), and the round trip of one client's sequential jobs in a session (median).
  PostgreSQL writes synchronously (each submission and each job end is one committed
  transaction); SQLite commits write-behind in groups. The PostgreSQL server is a
  throwaway local cluster on a unix socket (Debian's binaries, as in the tests) unless
  ``--postgres URL`` names one; rounds alternate between the stores, so a busy machine
  slows both alike. Client, server and database share this machine.
- ``dask``: a batch of ``--jobs`` sampler jobs (default 200; 18 qubits, depth 20, 1,000
  shots, each its own random circuit and seed) on the in-process thread pool (the default
  executor) and on a ``distributed.LocalCluster`` of 1 and of 2 single-threaded worker
  processes (``DaskExecutor``, 2 jobs in flight per worker): jobs per second from the first
  submission to the last result (best round). Goals: 2 workers >= 1.8x one worker, and no
  slower than in-process. Workers run one kernel thread each (Dask sets
  ``OMP_NUM_THREADS=1`` in its worker processes); the in-process pool uses the kernels'
  default threads (2 jobs at once: the device's slots). All share this machine.

Usage::

    python benchmarks/bench_scale.py --part store            # 3 rounds
    python benchmarks/bench_scale.py --part store --quick    # 1 short round
    python benchmarks/bench_scale.py --part store --postgres postgresql://u:pw@host/db
    python benchmarks/bench_scale.py --part dask             # 3 rounds of 200 jobs
    python benchmarks/bench_scale.py --part dask --quick     # 1 round of 50 jobs
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Measure the checkout this script lives in, whatever else is installed.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_service import CLIENTS, running_server, service, tiny_latencies  # noqa: E402
from bench_sessions import TINY_SHOTS, tiny_circuit  # noqa: E402


def _client(url: str, token: str, seconds: float, barrier: Any, out: Any) -> None:
    """One client process: warm up, wait for the others, then tiny jobs for ``seconds``."""
    from qsession_provider.qiskit import SamplerV2

    sampler = SamplerV2(mode=service(url, token, "").backend("statevector"))
    circuit = tiny_circuit()
    for _ in range(10):
        sampler.run([circuit], shots=TINY_SHOTS).result()
    barrier.wait(timeout=300)
    done, end = 0, time.perf_counter() + seconds
    while time.perf_counter() < end:
        sampler.run([circuit], shots=TINY_SHOTS).result()
        done += 1
    out.put(done)


def aggregate(url: str, token: str, seconds: float) -> float:
    """Jobs per second of the server with ``CLIENTS`` client processes, started together
    once all are warm (a barrier: process start-up on a busy machine is not measured)."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    barrier = ctx.Barrier(CLIENTS)
    procs = [
        ctx.Process(target=_client, args=(url, token, seconds, barrier, out))
        for _ in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=600) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return total / seconds


# -- the store part ----------------------------------------------------------------------------
@contextmanager
def postgres_database(url: str | None) -> Iterator[Callable[[], str]]:
    """``new()`` gives the URL of a new empty database: on the server of ``url`` (databases
    created and dropped there), or on a throwaway local cluster started for the run."""
    import psycopg

    made: list[str] = []
    if url is None:
        sys.path.insert(0, str(ROOT / "tests"))
        from postgres_fixtures import Cluster, find_binaries

        bindir = find_binaries()
        if bindir is None:
            raise SystemExit("no PostgreSQL server binaries: install postgresql or pass --postgres")
        cluster = Cluster(bindir)
        try:
            yield cluster.new_database
        finally:
            cluster.stop()
        return
    with psycopg.connect(url, autocommit=True) as admin:

        def new() -> str:
            name = f"qsession_bench_{len(made)}_{os.getpid()}"
            admin.execute(f"DROP DATABASE IF EXISTS {name}")
            admin.execute(f"CREATE DATABASE {name}")
            made.append(name)
            base, _, query = url.partition("?")
            return base.rsplit("/", 1)[0] + "/" + name + (f"?{query}" if query else "")

        try:
            yield new
        finally:
            for name in made:
                admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


def bench_store(*, rounds: int, seconds: float, tiny_jobs: int, postgres: str | None) -> None:
    """Tiny jobs through ``qsession serve`` on PostgreSQL vs SQLite (see the module docstring)."""
    agg: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    tiny: dict[str, list[float]] = {"sqlite": [], "postgres": []}
    with tempfile.TemporaryDirectory() as tmp, postgres_database(postgres) as new_database:
        for r in range(rounds):
            print(f"store round {r + 1}/{rounds}", flush=True)
            stores = {"sqlite": os.path.join(tmp, f"server{r}.sqlite3"), "postgres": new_database()}
            for name, store in stores.items():
                with running_server(store) as (url, token):
                    tiny[name] += tiny_latencies(service(url, token, ""), tiny_jobs)
                    agg[name].append(aggregate(url, token, seconds))

    print(f"\nstore: tiny sampler jobs (Bell, 16 shots) through qsession serve, {rounds} rounds")
    print(f"  {'':10s} {CLIENTS} clients (best round)   one client, round trip (median, p90)")
    for name in ("sqlite", "postgres"):
        values = sorted(tiny[name])
        p90 = values[int(0.9 * len(values))]
        print(
            f"  {name:10s} {max(agg[name]):8.0f} jobs/s"
            f"{statistics.median(values) * 1e3:17.3f} ms, {p90 * 1e3:.3f} ms"
        )
    ratio = max(agg["postgres"]) / max(agg["sqlite"])
    print(f"  postgres/sqlite aggregate: {ratio:.2f}x")


# -- the dask part -----------------------------------------------------------------------------
def scale_payloads(jobs: int, qubits: int, depth: int, shots: int) -> list[Any]:
    """``jobs`` sampler payloads: random ry/rz layers and a CX brick per layer, seeded."""
    import numpy as np

    from qsession_provider.core import Circuit, Gate, Measure
    from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

    rng = np.random.default_rng(17)
    payloads = []
    for job in range(jobs):
        ops: list[Any] = []
        for layer in range(depth):
            ops += [Gate("ry", (q,), (float(rng.uniform(0, 6.3)),)) for q in range(qubits)]
            ops += [Gate("rz", (q,), (float(rng.uniform(0, 6.3)),)) for q in range(qubits)]
            ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(layer % 2, qubits - 1, 2)]
        ops += [Measure(q, "m", q) for q in range(qubits)]
        pub = SamplerPub(Circuit(qubits, ops, {"m": qubits}), None, shots)
        payloads.append(SamplerPayload((pub,), seed=job))
    return payloads


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds used so far by this process and by its child processes (Dask workers)."""
    import psutil

    here = psutil.Process()
    children = 0.0
    for child in here.children(recursive=True):
        try:
            times = child.cpu_times()
        except psutil.Error:  # gone meanwhile
            continue
        children += times.user + times.system
    own = here.cpu_times()
    return own.user + own.system, children


def batch_rate(executor: Any, payloads: list[Any]) -> tuple[float, float, float]:
    """One batch of ``payloads`` on the statevector device: (jobs per second, CPU cores
    this process used meanwhile, CPU cores its child processes used)."""
    from qsession_provider.core.runtime import Runtime
    from qsession_provider.plugins.builtin import statevector_device

    with Runtime(devices=[statevector_device()], executor=executor) as runtime:
        runtime.submit("sampler", "statevector", payloads[0]).result()  # warm up
        batch = runtime.open_session("statevector", mode="batch")
        cpu_before = cpu_seconds()
        start = time.perf_counter()
        jobs = [runtime.submit("sampler", "statevector", p, session_id=batch.id) for p in payloads]
        for job in jobs:
            job.result()
        elapsed = time.perf_counter() - start
        own, children = (b - a for a, b in zip(cpu_before, cpu_seconds()))
        runtime.close_session(batch.id)
    return len(payloads) / elapsed, own / elapsed, children / elapsed


def bench_dask(
    *, rounds: int, jobs: int, qubits: int = 18, depth: int = 20, shots: int = 1000
) -> None:
    """The in-process pool vs a LocalCluster of 1 and 2 workers (see the module docstring)."""
    from distributed import LocalCluster

    from qsession_provider.core.runtime import DaskExecutor, ThreadExecutor
    from qsession_provider.sim import StatevectorSimulator

    # The kernels read their thread count once; before LocalCluster sets OMP_NUM_THREADS=1
    # in this process (for its workers), so that the in-process pool runs as users run it.
    threads = StatevectorSimulator().kernel.get_num_threads()
    payloads = scale_payloads(jobs, qubits, depth, shots)
    rates: dict[str, list[tuple[float, float, float]]] = {
        "in-process": [],
        "1 worker": [],
        "2 workers": [],
    }
    clusters = {
        name: LocalCluster(
            n_workers=n, threads_per_worker=1, processes=True, dashboard_address=":0"
        )
        for name, n in (("1 worker", 1), ("2 workers", 2))
    }
    try:
        for r in range(rounds):
            print(f"dask round {r + 1}/{rounds}", flush=True)
            rates["in-process"].append(batch_rate(ThreadExecutor(), payloads))
            for name, cluster in clusters.items():
                workers = len(cluster.workers)
                with DaskExecutor(cluster.scheduler_address, slots=2 * workers) as executor:
                    executor.prepare_workers()  # devices built on every worker first
                    rates[name].append(batch_rate(executor, payloads))
    finally:
        for cluster in clusters.values():
            cluster.close()
    print(
        f"\ndask: a batch of {jobs} sampler jobs ({qubits} qubits, depth {depth}, {shots} shots), "
        f"{rounds} rounds, best; in-process: 2 slots x {threads} kernel threads"
    )
    print(
        "  (cores: CPU this process / its worker processes used during the best round;"
        " per core: jobs per CPU second of whoever computes, which a busy machine does not"
        " change)"
    )
    for name, values in rates.items():
        rate, own, workers = max(values)
        computing = own if name == "in-process" else workers
        rounds_text = ", ".join(f"{v[0]:.2f}" for v in values)
        print(
            f"  {name:12s} {rate:8.2f} jobs/s   cores {own:.2f} / {workers:.2f}"
            f"   per core {rate / max(computing, 1e-9):6.1f}   (rounds: {rounds_text})"
        )
    one, two, local = (max(rates[n])[0] for n in ("1 worker", "2 workers", "in-process"))
    print(f"  2 workers / 1 worker: {two / one:.2f}x (goal >= 1.8x)")
    print(f"  2 workers / in-process: {two / local:.2f}x (goal >= 1.0x)")


# -- main --------------------------------------------------------------------------------------
PARTS = ("store", "dask")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--part", choices=[*PARTS, "all"], default="all")
    parser.add_argument("--quick", action="store_true", help="1 short round")
    parser.add_argument("--rounds", type=int, default=None)
    parser.add_argument("--postgres", default=None, help="a PostgreSQL server's URL (admin)")
    parser.add_argument("--jobs", type=int, default=None, help="dask: jobs per batch (200)")
    args = parser.parse_args()
    rounds = args.rounds or (1 if args.quick else 3)
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs")
    if args.part in ("store", "all"):
        bench_store(
            rounds=rounds,
            seconds=3.0 if args.quick else 6.0,
            tiny_jobs=200 if args.quick else 500,
            postgres=args.postgres,
        )
    if args.part in ("dask", "all"):
        bench_dask(rounds=rounds, jobs=args.jobs or (50 if args.quick else 200))


if __name__ == "__main__":
    main()
