"""Service benchmark: the same Qiskit code embedded and against ``qsession serve`` over HTTP.

Three measurements, each against the embedded runtime measured in the same run:

1. **Tiny jobs, one client**: sequential ``SamplerV2(mode=session).run([bell],
   shots=16).result()`` (a 2-qubit Bell circuit), the round trip per job; goal: median at
   most 2 ms over loopback.
2. **Tiny jobs, 4 client processes**: each process runs the same loop in job mode
   (``mode=backend``) for ``--seconds``; the aggregate jobs per second of the server; goal:
   at least 1,000 jobs/s. The embedded figure is one process with 4 threads.
3. **VQE job over HTTP**: sequential exact ``EstimatorV2`` jobs (12 qubits,
   ``efficient_su2`` reps 2, 50 Pauli terms, new parameters each job); goal: at most 2x the
   embedded job, and under a fifth of qiskit's ``StatevectorEstimator``.

Method: the server is a real ``qsession serve`` subprocess on 127.0.0.1 (a free port, a
temporary SQLite store, one token). Embedded and remote rounds alternate (``--rounds``),
so a busy machine slows both alike; figures are medians of per-job times (1 and 3) and the
best round (2). The client and the server share this 2-core machine: the server's work and
the client's are both on the clock.

Usage::

    python benchmarks/bench_service.py            # 5 rounds
    python benchmarks/bench_service.py --quick    # 2 short rounds (about a minute)
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

# Measure the checkout this script lives in, whatever else is installed.
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_sessions import TINY_SHOTS, tiny_circuit, vqe_workload  # noqa: E402

CLIENTS = 4


# -- the server -------------------------------------------------------------------------------
@contextmanager
def running_server(store: str) -> Iterator[tuple[str, str]]:
    """A ``qsession serve`` subprocess on a free port: (url, token)."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    created = subprocess.run(
        [
            sys.executable,
            "-m",
            "qsession_provider.cli",
            "token",
            "create",
            "bench",
            "--instance",
            "bench",
            "--store",
            store,
        ],
        check=True,
        capture_output=True,
        text=True,
        env=env,
    )
    token = created.stdout.strip().split()[-1]
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "qsession_provider.cli",
            "serve",
            "--port",
            "0",
            "--store",
            store,
            "--log-level",
            "warning",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env=env,
    )
    try:
        assert server.stdout is not None
        line = server.stdout.readline()
        url = line.strip().split()[-1]
        if not url.startswith("http"):
            raise RuntimeError(f"qsession serve did not start: {line!r}")
        yield url, token
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def service(url: str | None, token: str | None, store: str) -> Any:
    from qsession_provider.qiskit import QiskitRuntimeService

    if url is None:
        return QiskitRuntimeService(store=store)
    return QiskitRuntimeService(url=url, token=token)


# -- 1. tiny jobs, one client ----------------------------------------------------------------
def tiny_latencies(svc: Any, jobs: int) -> list[float]:
    """Seconds per job of ``jobs`` sequential tiny sampler jobs in one session."""
    from qsession_provider.qiskit import SamplerV2, Session

    circuit = tiny_circuit()
    with Session(backend=svc.backend("statevector")) as session:
        sampler = SamplerV2(mode=session)
        for _ in range(20):  # warm-up: translation cache, connections
            sampler.run([circuit], shots=TINY_SHOTS).result()
        times = []
        for _ in range(jobs):
            start = time.perf_counter()
            sampler.run([circuit], shots=TINY_SHOTS).result()
            times.append(time.perf_counter() - start)
    return times


# -- 2. tiny jobs, several clients -------------------------------------------------------------
def _client_loop(
    url: str | None, token: str | None, store: str, seconds: float, start_at: float, out: Any
) -> None:
    """One client process (or thread): tiny jobs in job mode until the time is up."""
    from qsession_provider.qiskit import SamplerV2

    svc = service(url, token, store)
    sampler = SamplerV2(mode=svc.backend("statevector"))
    circuit = tiny_circuit()
    for _ in range(10):
        sampler.run([circuit], shots=TINY_SHOTS).result()
    while time.time() < start_at:
        time.sleep(0.001)
    done, end = 0, start_at + seconds
    while time.time() < end:
        sampler.run([circuit], shots=TINY_SHOTS).result()
        done += 1
    out.put(done)


def aggregate_remote(url: str, token: str, seconds: float) -> float:
    """Jobs per second of the server with ``CLIENTS`` client processes."""
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 8.0  # time for the processes to start and warm up
    procs = [
        ctx.Process(target=_client_loop, args=(url, token, "", seconds, start_at, out))
        for _ in range(CLIENTS)
    ]
    for p in procs:
        p.start()
    total = sum(out.get(timeout=120) for _ in procs)
    for p in procs:
        p.join(timeout=30)
    return total / seconds


def aggregate_embedded(store: str, seconds: float) -> float:
    """Jobs per second of one embedded runtime with ``CLIENTS`` threads."""
    import queue

    out: queue.Queue[int] = queue.Queue()
    start_at = time.time() + 2.0
    threads = [
        threading.Thread(target=_client_loop, args=(None, None, store, seconds, start_at, out))
        for _ in range(CLIENTS)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return sum(out.get() for _ in threads) / seconds


# -- 3. VQE over HTTP --------------------------------------------------------------------------
def vqe_latencies(make: Callable[[], Any], jobs: int) -> list[float]:
    """Seconds per exact estimator job of ``jobs`` sequential VQE steps."""
    circuit, hamiltonian, values = vqe_workload(seed=11)
    run, close = make()
    for k in range(3):
        run((circuit, hamiltonian, values[k]))
    times = []
    for k in range(jobs):
        start = time.perf_counter()
        run((circuit, hamiltonian, values[100 + k]))
        times.append(time.perf_counter() - start)
    close()  # a dedicated session left open would hold the device for its window
    return times


def ours_estimator(svc: Any) -> Callable[[], Any]:
    def make() -> Any:
        from qsession_provider.qiskit import EstimatorV2, Session

        session = Session(backend=svc.backend("statevector"))
        estimator = EstimatorV2(mode=session)
        return (lambda pub: estimator.run([pub], precision=0.0).result()), session.close

    return make


def statevector_estimator() -> Any:
    from qiskit.primitives import StatevectorEstimator

    estimator = StatevectorEstimator()
    return (lambda pub: estimator.run([pub]).result()), (lambda: None)


# -- main --------------------------------------------------------------------------------------
def _ms(values: list[float]) -> str:
    p90 = sorted(values)[int(0.9 * len(values))]
    return f"{statistics.median(values) * 1e3:8.3f} ms median, p90 {p90 * 1e3:.3f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 short rounds")
    parser.add_argument("--rounds", type=int, default=None)
    args = parser.parse_args()
    rounds = args.rounds or (2 if args.quick else 5)
    tiny_jobs = 300 if args.quick else 1000
    vqe_jobs = 30 if args.quick else 100
    seconds = 3.0 if args.quick else 6.0

    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {rounds} interleaved rounds")
    with tempfile.TemporaryDirectory() as tmp:
        server_store = os.path.join(tmp, "server.sqlite3")
        with running_server(server_store) as (url, token):
            remote = service(url, token, "")
            embedded = service(None, None, os.path.join(tmp, "embedded.sqlite3"))
            tiny: dict[str, list[float]] = {"embedded": [], "remote": []}
            vqe: dict[str, list[float]] = {"embedded": [], "remote": [], "StatevectorEstimator": []}
            agg: dict[str, list[float]] = {"embedded": [], "remote": []}
            for r in range(rounds):
                print(f"round {r + 1}/{rounds}", flush=True)
                tiny["embedded"] += tiny_latencies(embedded, tiny_jobs)
                tiny["remote"] += tiny_latencies(remote, tiny_jobs)
                vqe["embedded"] += vqe_latencies(ours_estimator(embedded), vqe_jobs)
                vqe["remote"] += vqe_latencies(ours_estimator(remote), vqe_jobs)
                vqe["StatevectorEstimator"] += vqe_latencies(statevector_estimator, vqe_jobs)
                agg["embedded"].append(
                    aggregate_embedded(os.path.join(tmp, f"agg{r}.sqlite3"), seconds)
                )
                agg["remote"].append(aggregate_remote(url, token, seconds))

    print("\n1. tiny sampler jobs (Bell, 16 shots), one client, round trip per job")
    for name, values in tiny.items():
        print(f"  {name:22s} {_ms(values)}")
    remote_median = statistics.median(tiny["remote"]) * 1e3
    verdict = "met" if remote_median <= 2.0 else "NOT met"
    print(f"  remote median {remote_median:.3f} ms -> goal (<= 2 ms) {verdict}")

    print(f"\n2. tiny sampler jobs, {CLIENTS} clients, aggregate (best round)")
    print(f"  embedded ({CLIENTS} threads, one process) {max(agg['embedded']):8.0f} jobs/s")
    print(f"  remote ({CLIENTS} processes)             {max(agg['remote']):8.0f} jobs/s")
    verdict = "met" if max(agg["remote"]) >= 1000 else "NOT met"
    print(f"  -> goal (>= 1,000 jobs/s) {verdict}")

    print("\n3. VQE estimator job (12 qubits, efficient_su2 reps 2, 50 terms, exact)")
    for name, values in vqe.items():
        print(f"  {name:22s} {_ms(values)}")
    med = {name: statistics.median(values) for name, values in vqe.items()}
    over = med["remote"] / med["embedded"]
    peer = med["remote"] / med["StatevectorEstimator"]
    ok = "met" if over <= 2.0 and peer < 0.2 else "NOT met"
    print(
        f"  remote/embedded {over:.2f}x, remote/StatevectorEstimator {peer:.3f}x "
        f"-> goal (<= 2x, < 0.2x) {ok}"
    )


if __name__ == "__main__":
    main()
