"""Noise benchmark: noisy sampling, this package vs Qiskit Aer, and (when the stabilizer method
is there) wide Clifford circuits vs Aer's stabilizer method and raw stim, in one run.

Noisy sampling: 10,000 shots of a depth-10 random circuit (a layer: a random U on every
qubit, then CX on alternating neighbours) on 12, 16 and 20 qubits, with depolarizing errors
(1e-3 after each U, 1e-2 after each CX), thermal relaxation (T1 = 100 us, T2 = 80 us; U 50 ns,
CX 300 ns) and readout errors (2 % / 3 %), as one Aer ``NoiseModel``; ours is that model
translated (``qsession_provider.qiskit._noise.from_aer``). Each of our rows is timed end to
end from the Qiskit circuit (translation, noise insertion, trajectory engine); Aer's row is
its fastest method for the case (``statevector`` trajectories, and ``density_matrix`` where
it fits: 12 qubits), ``max_parallel_threads=2``. Runs are interleaved (ours, Aer, ours, ...)
and the best of the repeats is kept; the ratio is ours / Aer (goal <= 0.5).

Clifford (when ``qsession_provider.sim.stabilizer`` is importable and stim is installed):
100,000 shots of a 127-qubit GHZ and of a 500-qubit random Clifford circuit, ours (the
engine's stabilizer method from the IR) vs Aer's ``stabilizer`` method and raw stim
(``compile_sampler().sample``); goals: within 1.2x raw stim and <= 0.3x Aer.

    python benchmarks/bench_noise.py            # 12, 16, 20 qubits, 3 repeats
    python benchmarks/bench_noise.py --quick    # 12 and 16 qubits, 1 repeat, 2,000 shots
    python benchmarks/bench_noise.py --sizes 20 --repeats 1
    python benchmarks/bench_noise.py --aer-shots 500   # Aer timed on 500 shots at 16+ qubits

Needs qiskit-aer (and stim for the Clifford half): ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

# Measure the checkout this script lives in, whatever else is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

SHOTS = 10_000
DEPTH = 10
#: Shots Aer's stabilizer method is timed on for the 500-qubit Clifford circuit (then scaled).
AER_CLIFFORD_SHOTS = 20


def random_circuit(n: int, depth: int = DEPTH, seed: int = 11) -> Any:
    """Depth ``depth`` of a random U on every qubit, then CX on alternating neighbours."""
    from qiskit import QuantumCircuit

    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for layer in range(depth):
        for q in range(n):
            qc.u(*rng.uniform(0, 2 * np.pi, 3), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def aer_noise_model() -> Any:
    """Depolarizing + thermal relaxation + readout, as an Aer ``NoiseModel``."""
    from qiskit_aer.noise import (
        NoiseModel,
        ReadoutError,
        depolarizing_error,
        thermal_relaxation_error,
    )

    t1, t2 = 100e-6, 80e-6
    model = NoiseModel()
    one = depolarizing_error(1e-3, 1).compose(thermal_relaxation_error(t1, t2, 50e-9))
    relax2 = thermal_relaxation_error(t1, t2, 300e-9).expand(
        thermal_relaxation_error(t1, t2, 300e-9)
    )
    two = depolarizing_error(1e-2, 2).compose(relax2)
    model.add_all_qubit_quantum_error(one, ["u"])
    model.add_all_qubit_quantum_error(two, ["cx"])
    model.add_all_qubit_readout_error(ReadoutError([[0.98, 0.02], [0.03, 0.97]]))
    return model


def best(fn: Callable[[], Any], repeats: int) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def ours_runner(qc: Any, aer_model: Any, shots: int) -> Callable[[], Any]:
    from qsession_provider.qiskit._noise import from_aer
    from qsession_provider.sim.trajectories import sample_noisy
    from qsession_provider.translate.qiskit import circuit_to_ir

    rng = np.random.default_rng(5)

    def run() -> Any:
        model = from_aer(aer_model)
        circuit = model.apply(circuit_to_ir(qc))
        return sample_noisy(circuit, shots, rng)

    return run


def aer_runner(qc: Any, aer_model: Any, shots: int, method: str) -> Callable[[], Any]:
    from qiskit_aer import AerSimulator

    sim = AerSimulator(noise_model=aer_model, method=method, max_parallel_threads=2)

    def run() -> Any:
        return sim.run(qc, shots=shots, seed_simulator=5).result().get_counts()

    return run


def noisy_rows(sizes: list[int], shots: int, repeats: int, aer_shots: int | None) -> None:
    aer_model = aer_noise_model()
    print(f"noisy sampling: {shots} shots, depth {DEPTH}, depolarizing + T1/T2 + readout")
    print(f"{'qubits':>6} {'ours s':>9} {'aer s':>9} {'aer method':>15} {'ours/aer':>9}")
    for n in sizes:
        qc = random_circuit(n)
        ours = ours_runner(qc, aer_model, shots)
        methods = ["statevector"] + (["density_matrix"] if n <= 12 else [])
        # Aer's trajectories cost the same per shot: wide rows may time fewer shots, scaled
        few = aer_shots if aer_shots is not None and n >= 16 and aer_shots < shots else shots
        aers = {m: aer_runner(qc, aer_model, few, m) for m in methods}
        t_ours, t_aer = [], {m: [] for m in methods}
        for _ in range(repeats):  # interleaved
            t_ours.append(best(ours, 1))
            for m, fn in aers.items():
                t_aer[m].append(best(fn, 1))
        mine = min(t_ours)
        method, theirs = min(((m, min(t)) for m, t in t_aer.items()), key=lambda mt: mt[1])
        theirs *= shots / few
        note = f" (Aer timed on {few} shots, scaled)" if few != shots else ""
        print(f"{n:>6} {mine:>9.3f} {theirs:>9.3f} {method:>15} {mine / theirs:>9.2f}{note}")


def clifford_rows(shots: int, repeats: int) -> None:
    try:
        import stim  # noqa: F401 (raw stim runs through the translated stim.Circuit)
        from qiskit import QuantumCircuit
        from qiskit.quantum_info import random_clifford
        from qiskit_aer import AerSimulator

        from qsession_provider.core.ir.payload import RunPayload
        from qsession_provider.sim import StatevectorSimulator, execute
        from qsession_provider.sim.stabilizer import translate
        from qsession_provider.translate.qiskit import circuit_to_ir
    except ImportError as exc:
        print(f"clifford: skipped ({exc})")
        return
    print(f"clifford: {shots} shots")
    print(f"{'circuit':>14} {'ours s':>9} {'aer s':>9} {'stim s':>9} {'/stim':>7} {'/aer':>7}")
    ghz = QuantumCircuit(127)
    ghz.h(0)
    for q in range(126):
        ghz.cx(q, q + 1)
    ghz.measure_all()
    cliff = random_clifford(500, seed=3).to_circuit()
    cliff.measure_all()
    sim = StatevectorSimulator()
    aer = AerSimulator(method="stabilizer", max_parallel_threads=2)
    for label, qc in (("ghz-127", ghz), ("clifford-500", cliff)):
        ir = circuit_to_ir(qc)

        def ours(ir: Any = ir) -> Any:
            payload = RunPayload((ir,), shots, False, 1, {"method": "stabilizer"})
            return execute("run", payload, sim)

        program = translate(ir, {})
        stim_circuit = getattr(program, "circuit", None)  # NotClifford has none

        def raw(c: Any = stim_circuit) -> Any:
            return c.compile_sampler(seed=1).sample(shots, bit_packed=True)

        # Aer's stabilizer method re-runs the circuit for every shot: on the 500-qubit
        # circuit (~250,000 gates) it is timed on a few shots and scaled (printed below).
        aer_shots = shots if label == "ghz-127" else min(shots, AER_CLIFFORD_SHOTS)

        def theirs(qc: Any = qc, n: int = aer_shots) -> Any:
            return aer.run(qc, shots=n, seed_simulator=1).result()

        t_ours, t_aer, t_stim = [], [], []
        for _ in range(repeats):
            t_ours.append(best(ours, 1))
            t_aer.append(best(theirs, 1))
            if stim_circuit is not None:
                t_stim.append(best(raw, 1))
        o, a = min(t_ours), min(t_aer) * shots / aer_shots
        s = min(t_stim) if t_stim else float("nan")
        scaled = "" if aer_shots == shots else f"  (Aer timed on {aer_shots} shots, scaled)"
        print(f"{label:>14} {o:>9.3f} {a:>9.3f} {s:>9.3f} {o / s:>7.2f} {o / a:>7.2f}{scaled}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="12 and 16 qubits, 2,000 shots")
    parser.add_argument("--sizes", type=int, nargs="*", default=None)
    parser.add_argument("--repeats", type=int, default=None)
    parser.add_argument("--no-clifford", action="store_true")
    parser.add_argument("--no-noisy", action="store_true", help="only the Clifford half")
    parser.add_argument(
        "--aer-shots",
        type=int,
        default=None,
        help="time Aer on this many shots for 16+ qubits and scale (its cost is per shot)",
    )
    args = parser.parse_args()
    sizes = args.sizes or ([12, 16] if args.quick else [12, 16, 20])
    repeats = args.repeats or (1 if args.quick else 3)
    shots = 2_000 if args.quick else SHOTS
    from qsession_provider.sim import _kernel

    _kernel.set_num_threads(2)
    if not args.no_noisy:
        noisy_rows(sizes, shots, repeats, args.aer_shots)
    if not args.no_clifford:
        clifford_rows(10_000 if args.quick else 100_000, repeats)


if __name__ == "__main__":
    main()
