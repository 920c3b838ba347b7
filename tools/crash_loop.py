"""Crash loop: kill a process that runs tiny jobs on a store file, then count what was lost.

    python tools/crash_loop.py [--rounds 20] [--signals KILL,TERM,INT] [--sync]

Each round starts a child that opens a runtime on one SQLite store (write-behind by default,
``--sync`` for ``write_behind=False``) and runs tiny sampler jobs on the built-in
``statevector`` device as fast as it can, printing each job id once its result is in hand.
After a random time (0.2-1.0 s of jobs) the parent sends the signal, waits for the child to
exit and then reads the store as a fresh process would, after a live runtime's sweep:

- **held**: results the child had received (printed) before it died;
- **lost**: held results whose job is not stored DONE with a result;
- **orphaned-held**: held results stored as failed ``orphaned`` (must be 0 for every signal);
- **pending**: jobs still QUEUED or RUNNING after the sweep (must be 0).

The README's store section states the guarantee this checks: SIGTERM and SIGINT lose
nothing; SIGKILL can lose the last group not yet committed (write-behind), nothing with
``--sync``.
"""

from __future__ import annotations

import argparse
import random
import signal
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

CHILD = r"""
import sys
import numpy as np
from qsession_provider.client.local import open_runtime
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.plugins.manager import build_device_registry, get_plugin_manager

path, sync = sys.argv[1], sys.argv[2] == "1"
if sync:
    devices = build_device_registry(get_plugin_manager())
    rt = Runtime(store=SQLiteStore(path, write_behind=False), devices=devices)
else:
    rt = open_runtime(path)
ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)]
payload = SamplerPayload((SamplerPub(Circuit(2, ops, {"c": 2}), np.zeros((0,)), 16),), seed=1)
print("ready", flush=True)
while True:
    job = rt.submit("sampler", "statevector", payload)
    job.result()
    print(job.id, flush=True)
"""


def run_round(path: Path, sig: signal.Signals, sync: bool, rng: random.Random) -> Counter[str]:
    """One child, one signal; the counts of this round."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), "1" if sync else "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    if child.stdout.readline().strip() != "ready":
        raise RuntimeError(f"child did not start: {child.communicate()[1]}")
    time.sleep(rng.uniform(0.2, 1.0))
    child.send_signal(sig)
    out, _ = child.communicate(timeout=120)
    held = [line.strip() for line in out.splitlines() if line.strip()]
    return count(path, held)


def count(path: Path, held: list[str]) -> Counter[str]:
    """Read the store after a live runtime's sweep; compare with what the child held."""
    from qsession_provider.core.job import PENDING_STATES, JobErrorCode, JobStatus
    from qsession_provider.core.runtime.runtime import Runtime
    from qsession_provider.core.store.protocol import JobQuery
    from qsession_provider.core.store.sqlite import SQLiteStore

    store = SQLiteStore(str(path))
    runtime = Runtime(store=store, devices=[])  # opening sweeps the dead child's jobs
    try:
        counts: Counter[str] = Counter(held=len(held))
        for job_id in held:
            try:
                record = store.get_job(job_id)
            except Exception:
                counts["lost"] += 1
                continue
            if record.status is not JobStatus.DONE or store.get_result(job_id) is None:
                counts["lost"] += 1
            if record.error_code == JobErrorCode.ORPHANED.value:
                counts["orphaned-held"] += 1
        counts["pending"] = len(store.query_jobs(JobQuery(statuses=PENDING_STATES)))
        return counts
    finally:
        runtime.shutdown()
        store.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--rounds", type=int, default=20, help="rounds per signal")
    parser.add_argument("--signals", default="KILL,TERM,INT")
    parser.add_argument("--sync", action="store_true", help="write_behind=False")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    mode = "write_behind=False" if args.sync else "write-behind"
    print(f"crash loop: {args.rounds} rounds per signal, {mode}")
    print(f"{'signal':8} {'kills':>5} {'held':>8} {'lost':>6} {'orphaned-held':>13} {'pending':>7}")
    with tempfile.TemporaryDirectory() as tmp:
        for name in args.signals.split(","):
            sig = signal.Signals[f"SIG{name.strip().upper()}"]
            total: Counter[str] = Counter()
            for i in range(args.rounds):
                total += run_round(Path(tmp) / f"{name}-{i}.db", sig, args.sync, rng)
            print(
                f"{sig.name:8} {args.rounds:5d} {total['held']:8d} {total['lost']:6d} "
                f"{total['orphaned-held']:13d} {total['pending']:7d}"
            )


if __name__ == "__main__":
    main()
