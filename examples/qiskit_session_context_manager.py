"""Open a session with the context manager: primitives created inside join it.

IBM's guide ("Context manager"): ``with Session(backend=backend):`` then ``Estimator()`` and
``Sampler()`` without a mode. Leaving the block closes the session: it stops accepting jobs,
finishes what is queued, then is Closed.

python examples/qiskit_session_context_manager.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.qiskit import (
    Estimator,
    QiskitRuntimeService,
    Sampler,
    Session,
    VirtualClock,
)


def main() -> None:
    service = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    backend = service.least_busy(operational=True, simulator=False)
    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)

    with Session(backend=backend) as session:
        estimator = Estimator()
        sampler = Sampler()
        joined = sampler.mode is session and estimator.mode is session
        print(f"primitives joined the session: {joined}")
        jobs = [sampler.run([isa], shots=200) for _ in range(3)]
        root = jobs[0].job_id() == session.session_id
        print(f"submitted {len(jobs)} jobs; first job id == session id: {root}")
    print(f"left the block: {session.status()}")
    for job in jobs:
        counts = job.result()[0].data.meas.get_counts()  # waits (virtual time passes)
        print(f"  {job.job_id()[:8]} {job.status()} {counts}")
    print(f"all done: {session.status()}")


if __name__ == "__main__":
    main()
