"""Scheduler overhead: trivial jobs per second through the full path.

Every job goes submit -> validate -> encode payload -> store -> queue -> dispatch ->
executor thread -> encode result -> store -> DONE, on a device whose ``execute`` does
nothing, so the figures measure the runtime, not the engine. Three patterns:

* ``burst``: submit N jobs, then wait for all (throughput);
* ``loop``: submit one job and wait for its result, N times (a VQE loop's latency);
* ``threads``: 8 threads run the loop pattern at once;
* ``inline``: the loop pattern with :class:`InlineExecutor` - the runtime's own overhead,
  without the thread hand-offs of the pool (which cost 60-80 us on a small VM).

Each on a :class:`MemoryStore` and on a :class:`SQLiteStore` file (WAL), with wall time
up to the moment the store has committed every job.

Usage::

    python benchmarks/bench_scheduler.py [--jobs 5000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from qsession_provider.core.device import Device  # noqa: E402
from qsession_provider.core.job import JobStatus  # noqa: E402
from qsession_provider.core.runtime.executors import InlineExecutor  # noqa: E402
from qsession_provider.core.runtime.runtime import Runtime  # noqa: E402
from qsession_provider.core.store.memory import MemoryStore  # noqa: E402
from qsession_provider.core.store.protocol import JobQuery, Store  # noqa: E402
from qsession_provider.core.store.sqlite import SQLiteStore  # noqa: E402

THREADS = 8


def trivial(program_id: str, payload: Any) -> dict[str, Any]:
    """A device that returns at once."""
    return {"ok": True, "n": payload["n"]}


def make_runtime(store: Store, pattern: str) -> Runtime:
    device = Device("trivial", 1, trivial, slots=4, simulator=True, programs={"echo"})
    executor = InlineExecutor() if pattern == "inline" else None
    return Runtime(store=store, devices=[device], executor=executor)


def burst(rt: Runtime, jobs: int) -> None:
    handles = [rt.submit("echo", "trivial", {"n": n}) for n in range(jobs)]
    for job in handles:
        job.result()


def loop(rt: Runtime, jobs: int) -> None:
    for n in range(jobs):
        rt.submit("echo", "trivial", {"n": n}).result()


def threads(rt: Runtime, jobs: int) -> None:
    per = jobs // THREADS
    workers = [threading.Thread(target=loop, args=(rt, per)) for _ in range(THREADS)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()


PATTERNS: dict[str, Callable[[Runtime, int], None]] = {
    "burst": burst,
    "loop": loop,
    "threads": threads,
    "inline": loop,
}


def _count(pattern: str, jobs: int) -> int:
    """How many jobs a pattern runs when asked for ``jobs``."""
    return jobs // THREADS * THREADS if pattern == "threads" else jobs


def measure(store_kind: str, pattern: str, jobs: int, repeat: int) -> float:
    """Best-of-``repeat`` jobs per second."""
    rates = []
    warm = min(200, jobs)
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as tmp:
            store: Store = (
                MemoryStore()
                if store_kind == "memory"
                else SQLiteStore(os.path.join(tmp, "bench.sqlite3"))
            )
            rt = make_runtime(store, pattern)
            PATTERNS[pattern](rt, warm)
            start = time.perf_counter()
            PATTERNS[pattern](rt, jobs)
            flush = getattr(rt.store, "flush", None)
            if flush is not None:
                flush()  # the store writer's work counts (write-behind would defer it)
            elapsed = time.perf_counter() - start
            stored = rt.store.count_jobs(JobQuery(statuses=frozenset({JobStatus.DONE})))
            assert stored == _count(pattern, warm) + _count(pattern, jobs), stored
            rt.shutdown()
            store.close()
        rates.append(_count(pattern, jobs) / elapsed)
    return max(rates)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--jobs", type=int, default=5000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(
        f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, {args.jobs} jobs, "
        f"best of {args.repeat}"
    )
    print(f"{'store':<8} {'pattern':<8} {'jobs/s':>10} {'us/job':>8}")
    for store_kind in ("memory", "sqlite"):
        for pattern in PATTERNS:
            rate = measure(store_kind, pattern, args.jobs, args.repeat)
            print(f"{store_kind:<8} {pattern:<8} {rate:>10,.0f} {1e6 / rate:>8.0f}")


if __name__ == "__main__":
    main()
