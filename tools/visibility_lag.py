"""Cross-process visibility lag: how long after a job's result is in hand another process
sees the job in the store.

    python tools/visibility_lag.py [--seconds 5] [--pace 0] [--sync]

A child opens a runtime on one SQLite store (write-behind unless ``--sync``) and submits
tiny sampler jobs on the built-in ``statevector`` device, ``--pace`` seconds apart (0: as
fast as it can, the busy loop the README's figure is about), noting the wall-clock time
each result is in hand. This process polls the store meanwhile through its own read-only
connection (every 0.2 ms) and notes when each job first appears, and when it first appears
DONE (its result readable there). Both use ``time.time()`` on one host. Prints the lag
percentiles in milliseconds (negative: seen before the child had the result in hand).
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, sys, time
from qsession_provider.client.local import open_runtime
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.sqlite import SQLiteStore

path, seconds, pace, sync, out = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), \
    sys.argv[4] == "1", sys.argv[5]
if sync:
    from qsession_provider.plugins.builtin import statevector_device
    rt = Runtime(store=SQLiteStore(path, write_behind=False), devices=[statevector_device()])
else:
    rt = open_runtime(path)
bell = Circuit(2, [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0),
                   Measure(1, "c", 1)], {"c": 2})
payload = SamplerPayload((SamplerPub(bell, None, 16),))
held = []
print("ready", flush=True)
end = time.time() + seconds
while time.time() < end:
    job = rt.submit("sampler", "statevector", payload)
    job.result()
    held.append((job.id, time.time()))
    if pace:
        time.sleep(pace)
rt.shutdown()
with open(out, "w") as fh:
    json.dump(held, fh)
"""


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--pace", type=float, default=0.0)
    parser.add_argument("--sync", action="store_true")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = str(Path(tmp) / "lag.sqlite3")
        out = str(Path(tmp) / "held.json")
        child = subprocess.Popen(
            [
                sys.executable,
                "-c",
                CHILD,
                path,
                str(args.seconds),
                str(args.pace),
                "1" if args.sync else "0",
                out,
            ],
            stdout=subprocess.PIPE,
            text=True,
        )
        assert child.stdout is not None and child.stdout.readline().strip() == "ready"
        db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
        seen: dict[str, float] = {}  # first seen in any state
        final: dict[str, float] = {}  # first seen DONE (its result readable)
        low = 0  # every job with a smaller seq has been seen DONE
        while child.poll() is None:
            try:
                rows = db.execute(
                    "SELECT seq, id, status FROM jobs WHERE seq >= ? ORDER BY seq", (low,)
                ).fetchall()
            except sqlite3.OperationalError:  # the schema is being written
                rows = []
            now = time.time()
            pending = []
            for seq, ident, status in rows:
                seen.setdefault(ident, now)
                if status == "DONE":
                    final.setdefault(ident, now)
                else:
                    pending.append(seq)
            if rows:
                low = min(pending) if pending else rows[-1][0] + 1
            time.sleep(0.0002)
        db.close()
        held = json.loads(Path(out).read_text())
    mode = "sync" if args.sync else "write-behind"
    print(f"{mode}, pace {args.pace:g} s: {len(held)} jobs")
    for label, when in (("seen DONE", final), ("seen at all", seen)):
        lags = [(when[i] - t) * 1000 for i, t in held if i in when]
        missing = sum(1 for i, _ in held if i not in when)
        print(f"  {label} after the result was in hand ({missing} not before exit):")
        for q in (0.5, 0.9, 0.99):
            print(f"    p{int(q * 100)}: {percentile(lags, q):7.2f} ms")
        print(f"    max: {max(lags):7.2f} ms")


if __name__ == "__main__":
    main()
