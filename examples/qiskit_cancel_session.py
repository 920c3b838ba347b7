"""Cancel a session: it closes at once, queued jobs fail, the running job finishes.

IBM's guide ("Cancel a session"): ``session.cancel()`` is "a convenient way to quickly fail
all queued jobs within a session", for example after noticing a mistake. Also shown: what
``result()`` raises for a failed job, and that nothing else is disturbed.

python examples/qiskit_cancel_session.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobFailureError

from qsession_provider.qiskit import Estimator, QiskitRuntimeService, Session, VirtualClock


def main() -> None:
    clock = VirtualClock(auto_advance=False)
    service = QiskitRuntimeService(store=":memory:", clock=clock)
    backend = service.backend("emulated_falcon_27")
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)

    with Session(backend=backend) as session:
        estimator = Estimator()
        jobs = [estimator.run([(isa, observable)]) for _ in range(3)]
        clock.advance(0)
        print("before cancel:", [j.status() for j in jobs])
        # You can use session.cancel() to fail all pending jobs, for example,
        # if you realize you made a mistake.
        session.cancel()
        print(f"after cancel: {session.status()};", [j.status() for j in jobs])
        try:
            estimator.run([(isa, observable)])
        except IBMRuntimeError as exc:
            print(f"new job refused: {exc.message}")

    clock.advance("1m")
    zz = float(jobs[0].result()[0].data.evs)
    print(f"running job finished: {jobs[0].status()}, <ZZ> = {zz:.3f}")
    try:
        jobs[1].result()
    except RuntimeJobFailureError as exc:
        print(f"queued job: {exc.message}")

    # Other sessions are unaffected.
    with Session(backend=backend) as other:
        job = Estimator().run([(isa, observable)])
    clock.advance("1m")
    print(f"a new session works: {other.status()}, job {job.status()}")


if __name__ == "__main__":
    main()
