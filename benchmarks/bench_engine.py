"""Engine benchmark: this package vs Qiskit Aer and qsim on the same circuits, in one run.

Workloads (n qubits, all seeded):

- ``qft``: textbook QFT (H, controlled phases, final swaps);
- ``brickwork``: depth 20 of random U3 on every qubit, then CZ on alternating neighbours;
- ``pairs``: depth 20 of n/2 random two-qubit gates (cx, cz, cp, rzz, swap, rxx) on random
  pairs of qubits, each followed by random ry/rz rotations on both;
- ``randu``: depth 12 of a random U (3 random angles) on every qubit, then CZ, CX or RZZ
  (random choice, random angle) on n/2 disjoint random pairs (a random permutation paired up).

Each is timed end to end from a framework circuit (Qiskit for Aer and us, Cirq for qsim) to
the final state vector (``state``) and to 1,000 measured shots (``shots``). Rows:

- ``aer (c128)``: ``AerSimulator(method="statevector")``, ``run(...).result()``;
- ``qsession defaults``: what a user gets without settings. ``shots``: ``SamplerV2`` in a
  ``Session`` on ``QiskitRuntimeService(store=<temp dir>/jobs.db).backend("statevector")``
  (the default SQLite store; translation, runtime, store and result decoding included),
  ``result()[0].data.meas.get_counts()``; ``state``: ``StatevectorSimulator()`` (precision
  ``auto``: final states in complex128, wide circuits sampled in complex64);
- ``qsession (c128)``, ``qsession (c64)``: the raw engine at a forced precision, reusing the
  compiled structure (as a session does); ``qsession cold`` (complex128) compiles every
  time (fusion and tiling included), as for a circuit seen once;
- ``qsim t=1 (c64)``: qsim's defaults on one thread; ``qsim t=2 f=K (c64)``: 2 threads,
  ``max_fused_gate_size=K`` for K = 2 (qsim's default), 3, 4, 5.

Every row shows seconds, the ratio to Aer, the ratio to the best of the ``qsim t=2 f=K``
rows ("vs qsim best", which K won is printed after each group), and the time in "passes":
one read+write sweep over a complex128 state of that size, measured in the same run (numpy
in-place multiply), so "deep circuits within 15 passes per 20 layers" reads off directly.
Engines take turns round after round and each keeps its best time (noisy machines).

    python benchmarks/bench_engine.py               # 20, 22, 24, 26 qubits
    python benchmarks/bench_engine.py --quick       # 20 and 22 qubits, two rounds (about 4 min)
    python benchmarks/bench_engine.py --sizes 24 --workloads brickwork --modes state
    python benchmarks/bench_engine.py --sizes 26 --rounds 1     # Aer at 26 qubits is slow
    python benchmarks/bench_engine.py --memory      # peak RSS of a fresh process, 26/28/30 q
    python benchmarks/bench_engine.py --memory --quick   # 26 and 28 qubits only

Needs the ``bench`` extra: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Measure the checkout this script lives in, whatever else is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

Op = tuple[str, tuple[int, ...], tuple[float, ...]]
SHOTS = 1000


# -- workloads ------------------------------------------------------------------------------


def qft_ops(n: int) -> list[Op]:
    """Textbook QFT: H and controlled phases, then the final swaps."""
    ops: list[Op] = []
    for j in reversed(range(n)):
        ops.append(("h", (j,), ()))
        for k in reversed(range(j)):
            ops.append(("cp", (k, j), (np.pi / 2 ** (j - k),)))
    for j in range(n // 2):
        ops.append(("swap", (j, n - 1 - j), ()))
    return ops


def brickwork_ops(n: int, depth: int, seed: int = 1) -> list[Op]:
    """Random U3 on every qubit, then CZ on alternating pairs, ``depth`` times."""
    rng = np.random.default_rng(seed)
    ops: list[Op] = []
    for layer in range(depth):
        for q in range(n):
            ops.append(("u", (q,), tuple(rng.uniform(0, 2 * np.pi, 3))))
        for q in range(layer % 2, n - 1, 2):
            ops.append(("cz", (q, q + 1), ()))
    return ops


def pairs_ops(n: int, depth: int, seed: int = 2) -> list[Op]:
    """``depth`` layers of n/2 random two-qubit gates on random pairs, with ry/rz after each."""
    rng = np.random.default_rng(seed)
    names = ["cx", "cz", "cp", "rzz", "swap", "rxx"]
    ops: list[Op] = []
    for _ in range(depth):
        for _ in range(n // 2):
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            name = names[rng.integers(len(names))]
            params = (float(rng.uniform(0, 2 * np.pi)),) if name in ("cp", "rzz", "rxx") else ()
            ops.append((name, (a, b), params))
            for q in (a, b):
                ops.append(("ry", (q,), (float(rng.uniform(0, 2 * np.pi)),)))
                ops.append(("rz", (q,), (float(rng.uniform(0, 2 * np.pi)),)))
    return ops


def randu_ops(n: int, depth: int, seed: int = 3) -> list[Op]:
    """``depth`` layers of a random U on every qubit, then CZ, CX or RZZ (random angle) on
    n/2 disjoint random pairs (a random permutation of the qubits, paired up)."""
    rng = np.random.default_rng(seed)
    ops: list[Op] = []
    for _ in range(depth):
        for q in range(n):
            ops.append(("u", (q,), tuple(float(a) for a in rng.uniform(0, 2 * np.pi, 3))))
        order = [int(q) for q in rng.permutation(n)]
        for a, b in zip(order[0::2], order[1::2]):
            name = ("cz", "cx", "rzz")[rng.integers(3)]
            params = (float(rng.uniform(0, 2 * np.pi)),) if name == "rzz" else ()
            ops.append((name, (a, b), params))
    return ops


WORKLOADS: dict[str, Callable[[int], list[Op]]] = {
    "qft": qft_ops,
    "brickwork": lambda n: brickwork_ops(n, 20),
    "pairs": lambda n: pairs_ops(n, 20),
    "randu": lambda n: randu_ops(n, 12),
}


# -- translations ---------------------------------------------------------------------------


def to_qiskit(n: int, ops: list[Op], measure: bool = False):  # noqa: ANN201
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    for name, qubits, params in ops:
        getattr(qc, name)(*params, *qubits)
    if measure:
        qc.measure_all()
    return qc


def to_cirq(n: int, ops: list[Op], measure: bool = False):  # noqa: ANN201
    import cirq

    qs = cirq.LineQubit.range(n)
    # cirq is big-endian; reverse so qubit i of the qiskit circuit is qs[n-1-i].
    q = [qs[n - 1 - i] for i in range(n)]
    out = []
    for name, qubits, params in ops:
        a = q[qubits[0]]
        b = q[qubits[1]] if len(qubits) > 1 else None
        if name == "h":
            out.append(cirq.H(a))
        elif name == "cp":
            out.append(cirq.CZPowGate(exponent=params[0] / np.pi).on(a, b))
        elif name == "cz":
            out.append(cirq.CZ(a, b))
        elif name == "cx":
            out.append(cirq.CNOT(a, b))
        elif name == "swap":
            out.append(cirq.SWAP(a, b))
        elif name == "rxx":
            out.append(cirq.XXPowGate(exponent=params[0] / np.pi, global_shift=-0.5).on(a, b))
        elif name == "rzz":
            out.append(cirq.ZZPowGate(exponent=params[0] / np.pi, global_shift=-0.5).on(a, b))
        elif name == "ry":
            out.append(cirq.ry(params[0]).on(a))
        elif name == "rz":
            out.append(cirq.rz(params[0]).on(a))
        elif name == "u":
            theta, phi, lam = params
            out.append(cirq.rz(lam).on(a))
            out.append(cirq.ry(theta).on(a))
            out.append(cirq.rz(phi).on(a))
        else:  # pragma: no cover - every workload gate is listed above
            raise ValueError(name)
    if measure:
        out.append(cirq.measure(*qs, key="m"))
    return cirq.Circuit(out)


# -- timing ---------------------------------------------------------------------------------


def best_time(fn: Callable[[], object], repeats: int, warmup: bool = True) -> float:
    if warmup:
        fn()  # imports, caches, page faults
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def pass_time(n: int) -> float:
    """One read+write sweep over a complex128 state of n qubits (numpy, in place)."""
    state = np.full(2**n, 1.0 + 0j)
    return best_time(lambda: np.multiply(state, 1.0 + 0j, out=state), 3)


class Defaults:
    """What a user gets without settings: one service on the default SQLite store (in a
    temporary directory), a ``Session`` per workload on the ``statevector`` backend."""

    def __init__(self) -> None:
        import tempfile

        from qsession_provider.qiskit import QiskitRuntimeService

        self._dir = tempfile.TemporaryDirectory(prefix="bench_engine_")
        self.service = QiskitRuntimeService(store=Path(self._dir.name) / "jobs.db")
        self.sessions: list[object] = []

    def sampler(self):  # noqa: ANN201
        from qsession_provider.qiskit import SamplerV2, Session

        session = Session(backend=self.service.backend("statevector"))
        self.sessions.append(session)
        return SamplerV2(mode=session)

    def close_sessions(self) -> None:
        while self.sessions:
            self.sessions.pop().close()  # type: ignore[attr-defined]

    def close(self) -> None:
        self.close_sessions()
        self._dir.cleanup()


def runners(
    n: int, ops: list[Op], mode: str, engines: set[str], defaults: Defaults | None
) -> dict[str, Callable[[], object]]:
    from qsession_provider.qiskit import circuit_to_ir
    from qsession_provider.sim import StatevectorSimulator

    shots = mode == "shots"
    qc = to_qiskit(n, ops, measure=shots)
    out: dict[str, Callable[[], object]] = {}
    if "qsession" in engines:
        if shots and defaults is not None:
            sampler = defaults.sampler()
            out["qsession defaults"] = lambda: (
                sampler.run([qc], shots=SHOTS).result()[0].data.meas.get_counts()
            )
        elif not shots:
            default = StatevectorSimulator()
            out["qsession defaults"] = lambda: default.final_state(circuit_to_ir(qc))
    for label, engine, kwargs in (
        ("qsession (c128)", "qsession", {"precision": "double"}),
        ("qsession (c64)", "qsession", {"precision": "single"}),
        ("qsession unfused", "qsession-unfused", {"fusion": False}),
    ):
        if engine not in engines:
            continue
        sim = StatevectorSimulator(**kwargs)
        if shots:
            out[label] = lambda sim=sim: sim.sample(circuit_to_ir(qc), SHOTS)
        else:
            out[label] = lambda sim=sim: sim.final_state(circuit_to_ir(qc))
    if "qsession" in engines:
        # A fresh simulator every time: compilation (fusion, tiling) counted too, as for a
        # circuit seen once. The rows above reuse the compiled structure, as sessions do.
        def cold() -> object:
            sim = StatevectorSimulator(precision="double")
            if shots:
                return sim.sample(circuit_to_ir(qc), SHOTS)
            return sim.final_state(circuit_to_ir(qc))

        out["qsession cold"] = cold
    try:
        import qsimcirq
    except ImportError:
        qsimcirq = None  # rows without qsim
    if "qsim" in engines and qsimcirq is not None:
        cc = to_cirq(n, ops, measure=shots)
        configs = [("qsim t=1 (c64)", 1, 2)] + [
            (f"qsim t=2 f={f} (c64)", 2, f) for f in QSIM_FUSION
        ]
        for label, threads, fused in configs:
            options = qsimcirq.QSimOptions(cpu_threads=threads, max_fused_gate_size=fused)
            sim = qsimcirq.QSimSimulator(options)
            if shots:
                out[label] = lambda sim=sim: sim.run(cc, repetitions=SHOTS)
            else:
                out[label] = lambda sim=sim: sim.simulate(cc).final_state_vector
    if "aer" in engines:
        # Last: the engine that runs after Aer is measurably slower (its threads and memory
        # linger), and from 24 qubits Aer runs in the first round only.
        from qiskit_aer import AerSimulator

        aer = AerSimulator(method="statevector")
        if shots:
            out["aer (c128)"] = lambda: aer.run(qc, shots=SHOTS).result().get_counts()
        else:
            aer_qc = qc.copy()
            aer_qc.save_statevector()
            out["aer (c128)"] = lambda: aer.run(aer_qc).result().get_statevector()
    return out


#: qsim's max_fused_gate_size values timed with 2 threads ("vs qsim best": the best of them)
QSIM_FUSION = (2, 3, 4, 5)


#: pause before each timed run: idle OpenMP threads of the engine that ran before (Aer, qsim)
#: keep spinning for a while after their work is done, and would steal a core from this one
SETTLE = 0.3


def timed(fn: Callable[[], object]) -> float:
    gc.collect()
    time.sleep(SETTLE)
    t0 = time.perf_counter()
    fn()
    return time.perf_counter() - t0


def _slow(engine: str, n: int) -> bool:
    """Rows timed once from 24 qubits (tens of seconds a run, or not compared against)."""
    return n >= 24 and engine.startswith(("aer", "qsession unfused", "qsim t=1"))


def run_speed(args: argparse.Namespace) -> None:
    from qsession_provider.sim import load_kernel

    kernel = load_kernel()
    sizes = args.sizes or ([20, 22] if args.quick else [20, 22, 24, 26])
    engines = set(args.engines)
    print(f"cores={os.cpu_count()} simd={kernel.simd_level()} threads={kernel.get_num_threads()}")
    header = f"{'workload':<10}{'mode':<6}{'n':>3}  {'engine':<20}{'seconds':>9}"
    print(f"{header}{'vs aer':>8}{'vs qsim best':>13}{'passes':>8}")
    defaults = Defaults() if "qsession" in engines and "shots" in args.modes else None
    try:
        for n in sizes:
            sweep = pass_time(n)
            print(f"# n={n}: one complex128 read+write pass = {sweep * 1e3:.2f} ms")
            for name in args.workloads:
                ops = WORKLOADS[name](n)
                for mode in args.modes:
                    rounds = args.rounds or (
                        2 if args.quick else 5 if n <= 22 else 3 if n <= 24 else 2
                    )
                    fns = runners(n, ops, mode, engines, defaults)
                    _report(name, mode, n, sweep, _time_rounds(fns, rounds, n))
                    if defaults is not None:
                        defaults.close_sessions()
    finally:
        if defaults is not None:
            defaults.close()


def _time_rounds(fns: dict[str, Callable[[], object]], rounds: int, n: int) -> dict[str, float]:
    """Best time of each engine over ``rounds`` rounds, engines taking turns.

    On a shared machine a burst of load then hurts one round, not one engine. Odd rounds
    run in reverse order, so no engine always follows the same one (the engine after Aer
    runs measurably slower: its threads and memory linger).
    """
    times: dict[str, float] = {}
    for engine, fn in fns.items():
        if not _slow(engine, n):
            fn()  # warm-up: imports, caches, page faults
    for r in range(rounds):
        turns = list(fns.items())
        for engine, fn in reversed(turns) if r % 2 else turns:
            if _slow(engine, n) and r > 0:
                continue  # once is enough
            times[engine] = min(times.get(engine, float("inf")), timed(fn))
    return times


def _report(name: str, mode: str, n: int, sweep: float, times: dict[str, float]) -> None:
    aer = times.get("aer (c128)")
    qsims = {k: t for k, t in times.items() if k.startswith("qsim t=2 ")}
    best = min(qsims, key=qsims.__getitem__) if qsims else None
    for engine, t in times.items():
        vs_aer = f"{t / aer:7.2f}x" if aer else f"{'-':>8}"
        vs_qsim = f"{t / qsims[best]:12.2f}x" if best else f"{'-':>13}"
        print(
            f"{name:<10}{mode:<6}{n:>3}  {engine:<20}{t:>9.4f}{vs_aer}{vs_qsim}{t / sweep:>8.1f}",
            flush=True,
        )
    if best:
        print(f"# {name} {mode} n={n}: qsim best is {best}", flush=True)


# -- memory ---------------------------------------------------------------------------------

MEMORY_CHILD = """
import json, resource, sys, time
import numpy as np
from qsession_provider.core import Gate, Measure, Circuit
from qsession_provider.sim import StatevectorSimulator
n, precision, mode = int(sys.argv[1]), sys.argv[2], sys.argv[3]
rng = np.random.default_rng(0)
ops = [Gate("h", (q,)) for q in range(n)]
for layer in range(2):
    ops += [Gate("ry", (q,), (float(rng.uniform(0, 3)),)) for q in range(n)]
    ops += [Gate("z", (q + 1,), controls=(q,)) for q in range(layer % 2, n - 1, 2)]
if mode == "shots":
    ops += [Measure(q, "m", q) for q in range(n)]
program = Circuit(n, ops, {"m": n} if mode == "shots" else {})
sim = StatevectorSimulator(precision=precision)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
t0 = time.perf_counter()
if mode == "shots":
    out = sim.sample(program, 1000, seed=1)
else:
    out = sim.final_state(program)
elapsed = time.perf_counter() - t0
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024
print(json.dumps({"peak": peak, "base": base, "seconds": elapsed}))
"""


def run_memory(args: argparse.Namespace) -> None:
    sizes = args.sizes or ([26, 28] if args.quick else [26, 28, 30])
    print(
        f"{'n':>3}  {'precision':<9}{'mode':<6}{'state GiB':>10}{'peak GiB':>10}"
        f"{'budget GiB':>11}{'peak/state':>11}{'seconds':>9}  ok"
    )
    for n in sizes:
        for precision, itemsize in (("double", 16), ("single", 8)):
            for mode in args.modes:
                state = 2**n * itemsize
                root = str(Path(__file__).resolve().parents[1])
                env = dict(os.environ, PYTHONPATH=os.pathsep.join([root, *sys.path[1:2]]))
                out = subprocess.run(
                    [sys.executable, "-c", MEMORY_CHILD, str(n), precision, mode],
                    capture_output=True,
                    text=True,
                    env=env,
                )
                if out.returncode != 0:
                    print(f"{n:>3}  {precision:<10}{mode:<6} failed: {out.stderr.strip()[-300:]}")
                    continue
                result = json.loads(out.stdout.strip().splitlines()[-1])
                peak = result["peak"]
                budget = 1.05 * state + 150 * 2**20
                print(
                    f"{n:>3}  {precision:<10}{mode:<6}{state / 2**30:>10.2f}{peak / 2**30:>10.2f}"
                    f"{budget / 2**30:>11.2f}{peak / state:>11.3f}{result['seconds']:>9.1f}"
                    f"  {'yes' if peak <= budget else 'NO'}",
                    flush=True,
                )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="20 and 22 qubits, 2 rounds (~4 min)")
    parser.add_argument("--sizes", type=int, nargs="*", help="qubit counts")
    parser.add_argument("--workloads", nargs="*", default=list(WORKLOADS), choices=list(WORKLOADS))
    parser.add_argument(
        "--modes", nargs="*", default=["state", "shots"], choices=["state", "shots"]
    )
    parser.add_argument(
        "--engines",
        nargs="*",
        default=["aer", "qsession", "qsim"],
        choices=["aer", "qsession", "qsession-unfused", "qsim"],
        help="engines to time (qsession = defaults, complex128, complex64 and cold rows)",
    )
    parser.add_argument("--rounds", type=int, help="timing rounds per engine (best is kept)")
    parser.add_argument("--memory", action="store_true", help="peak RSS mode (fresh processes)")
    args = parser.parse_args()
    if args.memory:
        run_memory(args)
    else:
        run_speed(args)


if __name__ == "__main__":
    main()
