"""A Cirq session: a parameter sweep on an emulated QPU, grouped in one session.

The service, target and session calls follow ``azure.quantum.cirq``; the sampler is a
real ``cirq.Sampler``, so any Cirq code that takes a sampler runs in the session. The
emulated QPU models execution time on a virtual clock, so this finishes in a moment.

pip install -e ".[cirq]" && python examples/cirq_session.py
"""

from __future__ import annotations

import cirq
import numpy as np
import sympy

from qsession_provider.cirq import Sampler, Service, VirtualClock


def main() -> None:
    # The store is $QSESSION_STORE (or the user data directory); the clock is virtual.
    clock = VirtualClock()
    service = Service(clock=clock, default_target="emulated_falcon_27")
    target = service.get_target()
    print(f"target {target.name}: {target.num_qubits} qubits, {target.description}")

    q0, q1 = cirq.LineQubit.range(2)
    theta = sympy.Symbol("theta")
    circuit = cirq.Circuit(
        cirq.ry(theta).on(q0),
        cirq.CNOT(q0, q1),
        cirq.measure(q0, q1, key="pair"),
    )
    sweep = cirq.Linspace("theta", 0, np.pi, 5)

    start = clock.now()
    with target.open_session(name="ry-sweep") as session:
        print(f"opened session {session.id} ({session.name}), status {session.status()}")

        # 1. A sweep through a sampler bound to the target (and so to its session).
        sampler = target.sampler(seed=7)
        for result in sampler.run_sweep(circuit, sweep, repetitions=200):
            counts = result.histogram(key="pair")
            print(
                f"  theta={result.params['theta']:.3f}  |11> {counts[3]:3d}/200  "
                f"job {result.job_id}"
            )

        # 2. Two circuits at once: run_batch submits both jobs before waiting.
        bell = cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1), cirq.measure(q0, q1, key="pair"))
        batch = Sampler(session=session, seed=8).run_batch(
            [bell, circuit], [None, {"theta": np.pi / 2}], repetitions=100
        )
        for (result,) in batch:
            print(f"  batch job {result.job_id}: {dict(result.histogram(key='pair'))}")

        # 3. One job through the service, IonQ/Azure style.
        job = service.create_job(bell, repetitions=50, name="bell-check")
        print(f"  service job {job.job_id()} -> {job.status()}", end="")
        print(f", counts {dict(job.results().histogram(key='pair'))}")

    print(f"session status after the block: {session.status()}")
    print(f"virtual time used: {clock.now() - start:.2f} s")
    print("jobs in the session:")
    for job in session.list_jobs():
        print(f"  {job.job_id()}  {job.name():10s}  {job.status()}  on {job.target()}")


if __name__ == "__main__":
    main()
