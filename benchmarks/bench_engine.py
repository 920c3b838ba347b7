"""Engine benchmark: this package vs Qiskit Aer and qsim on the same circuits, in one run.

Workloads: QFT and a random brickwork of depth 20 (random single-qubit U3 layers and CZ
layers on alternating pairs), 16-26 qubits, end to end from a framework circuit to the
final state. Prints each time and its ratio to Aer's.

    python benchmarks/bench_engine.py            # 16, 18, 20, 22, 24, 26 qubits
    python benchmarks/bench_engine.py --quick    # 16, 20, 22 qubits, fewer repeats

Needs the ``bench`` extra: ``pip install -e ".[bench]"``.
"""

from __future__ import annotations

import argparse
import os
import time
from collections.abc import Callable

import numpy as np

Op = tuple[str, tuple[int, ...], tuple[float, ...]]


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


def to_qiskit(n: int, ops: list[Op]):  # noqa: ANN201
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(n)
    for name, qubits, params in ops:
        getattr(qc, name)(*params, *qubits)
    return qc


def to_cirq(n: int, ops: list[Op]):  # noqa: ANN201
    import cirq

    qs = cirq.LineQubit.range(n)
    # cirq is big-endian; reverse so qubit i of the qiskit circuit is qs[n-1-i].
    q = [qs[n - 1 - i] for i in range(n)]
    out = []
    for name, qubits, params in ops:
        if name == "h":
            out.append(cirq.H(q[qubits[0]]))
        elif name == "cp":
            out.append(cirq.CZPowGate(exponent=params[0] / np.pi).on(q[qubits[0]], q[qubits[1]]))
        elif name == "cz":
            out.append(cirq.CZ(q[qubits[0]], q[qubits[1]]))
        elif name == "swap":
            out.append(cirq.SWAP(q[qubits[0]], q[qubits[1]]))
        elif name == "u":
            theta, phi, lam = params
            out.append(cirq.rz(lam).on(q[qubits[0]]))
            out.append(cirq.ry(theta).on(q[qubits[0]]))
            out.append(cirq.rz(phi).on(q[qubits[0]]))
    return cirq.Circuit(out)


def best_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, caches, page faults
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def runners(n: int, ops: list[Op]) -> dict[str, Callable[[], object]]:
    from qiskit_aer import AerSimulator

    from qsession_provider.qiskit import circuit_to_program
    from qsession_provider.sim import StatevectorSimulator

    qc = to_qiskit(n, ops)
    ours = StatevectorSimulator()
    ours32 = StatevectorSimulator(precision="single")
    aer_qc = qc.copy()
    aer_qc.save_statevector()
    aer = AerSimulator(method="statevector")
    out: dict[str, Callable[[], object]] = {
        "aer (c128)": lambda: aer.run(aer_qc).result().get_statevector(),
        "qsession (c128)": lambda: ours.final_state(circuit_to_program(qc)),
        "qsession (c64)": lambda: ours32.final_state(circuit_to_program(qc)),
    }
    try:
        import qsimcirq

        cc = to_cirq(n, ops)
        for threads in (1, 2):
            sim = qsimcirq.QSimSimulator(qsimcirq.QSimOptions(cpu_threads=threads))
            out[f"qsim t={threads} (c64)"] = lambda sim=sim: sim.simulate(cc).final_state_vector
    except ImportError:
        pass
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer sizes and repeats (< 3 min)")
    parser.add_argument("--sizes", type=int, nargs="*", help="qubit counts")
    args = parser.parse_args()
    sizes = args.sizes or ([16, 20, 22] if args.quick else [16, 18, 20, 22, 24, 26])
    from qsession_provider.sim import load_kernel

    kernel = load_kernel()
    print(f"cores={os.cpu_count()} simd={kernel.simd_level()} threads={kernel.get_num_threads()}")
    print(f"{'workload':<22}{'n':>4}  {'engine':<18}{'seconds':>10}{'vs aer':>9}")
    for label, make in (("qft", qft_ops), ("brickwork d=20", lambda n: brickwork_ops(n, 20))):
        for n in sizes:
            repeats = 1 if n >= 24 or args.quick else 3
            times = {name: best_time(fn, repeats) for name, fn in runners(n, make(n)).items()}
            aer = times["aer (c128)"]
            for name, t in times.items():
                print(f"{label:<22}{n:>4}  {name:<18}{t:>10.4f}{t / aer:>8.2f}x")


if __name__ == "__main__":
    main()
