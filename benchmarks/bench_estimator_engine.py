"""Estimator engine benchmark: compile once, bind many, at the level of the simulator.

A 12-qubit efficient-SU2 ansatz (reps 2, 72 parameters) and a 50-term Pauli sum; each
parameter set is new. Rows:

- ``bind+evolve+expectation``: :meth:`StatevectorSimulator.evolve` (values as an array in
  program order, as the estimator runner passes them; also as a dict) then
  :meth:`~StatevectorSimulator.expectations_of_state`, per parameter set (the engine time);
- ``execute (1 set/job)``: the neutral estimator payload runner, one parameter set per call;
- ``execute (100 sets/job)``: one call for 100 parameter sets, per set;
- for reference, per job with one parameter set: qiskit's ``StatevectorEstimator`` and Aer's
  ``EstimatorV2`` (exact).

    python benchmarks/bench_estimator_engine.py [--qubits 12] [--terms 50] [--sets 200]
"""

from __future__ import annotations

import argparse
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

# Measure the checkout this script lives in, whatever else is installed.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def per_call(fn: Callable[[int], object], count: int) -> float:
    fn(0)
    t0 = time.perf_counter()
    for i in range(count):
        fn(i)
    return (time.perf_counter() - t0) / count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--qubits", type=int, default=12)
    parser.add_argument("--terms", type=int, default=50)
    parser.add_argument("--sets", type=int, default=200)
    args = parser.parse_args()

    from qiskit.circuit.library import efficient_su2
    from qiskit.quantum_info import SparsePauliOp

    from qsession_provider.core.ir.payload import EstimatorPayload, EstimatorPub
    from qsession_provider.qiskit import circuit_to_ir
    from qsession_provider.sim import StatevectorSimulator, execute
    from qsession_provider.translate.qiskit.observables import sparse_pauli_to_sum

    n = args.qubits
    rng = np.random.default_rng(7)
    circuit = efficient_su2(n, reps=2)
    labels = ["".join(rng.choice(list("IXYZ"), n)) for _ in range(args.terms)]
    observable = SparsePauliOp(labels, rng.normal(size=args.terms))
    values = rng.uniform(-np.pi, np.pi, (args.sets, circuit.num_parameters))

    program = circuit_to_ir(circuit)
    obs = sparse_pauli_to_sum(observable)
    sim = StatevectorSimulator()
    compiled = sim.compile(program)
    names = program.parameters
    order = [names.index(p.name) for p in circuit.parameters]  # program order -> circuit order
    bindings = [dict(zip(names, row[np.argsort(order)])) for row in values]

    rows_in_program_order = values[:, np.argsort(order)]

    def engine(i: int) -> object:
        state = sim.evolve(compiled, rows_in_program_order[i % len(values)])
        return sim.expectations_of_state(compiled, state, [obs])

    def engine_dict(i: int) -> object:
        state = sim.evolve(compiled, bindings[i % len(bindings)])
        return sim.expectations_of_state(compiled, state, [obs])

    def execute_one(i: int) -> object:
        row = values[i % len(values)][np.argsort(order)]
        payload = EstimatorPayload((EstimatorPub(program, row, obs),))
        return execute("estimator", payload, sim)

    many = EstimatorPayload((EstimatorPub(program, values[:, np.argsort(order)], obs),))

    print(
        f"{n} qubits, efficient_su2 reps=2 ({circuit.num_parameters} parameters), "
        f"{args.terms} Pauli terms, {len(program.operations)} gates"
    )
    rows = {
        "bind+evolve+expectation": per_call(engine, args.sets),
        "  the same, values as a dict": per_call(engine_dict, args.sets),
        "execute (1 set/job)": per_call(execute_one, args.sets),
        "execute (100 sets/job)": per_call(lambda i: execute("estimator", many, sim), 3)
        / len(values),
    }
    try:
        from qiskit.primitives import StatevectorEstimator

        est = StatevectorEstimator()
        rows["qiskit StatevectorEstimator (job)"] = per_call(
            lambda i: est.run([(circuit, observable, values[i % len(values)])]).result(), 20
        )
    except ImportError:  # pragma: no cover
        pass
    try:
        from qiskit_aer.primitives import EstimatorV2

        aer = EstimatorV2()
        rows["aer EstimatorV2 (job)"] = per_call(
            lambda i: aer.run([(circuit, observable, values[i % len(values)])]).result(), 20
        )
    except ImportError:  # pragma: no cover
        pass
    for label, seconds in rows.items():
        print(f"{label:<36}{seconds * 1e3:9.3f} ms")


if __name__ == "__main__":
    main()
