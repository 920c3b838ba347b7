"""Close a session while jobs are still queued: they run to completion, then it is Closed.

IBM's guide ("Close a session"): after ``with Session(...)`` ends (or ``session.close()``)
the session is "In progress, not accepting new jobs"; submitted jobs still run and their
results can be retrieved; new jobs are refused; once the last job finishes it is Closed.

python examples/qiskit_close_with_queued_jobs.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.exceptions import IBMRuntimeError

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
        job1 = estimator.run([(isa, observable)])
        job2 = estimator.run([(isa, observable)])
        clock.advance(0)  # the device picks up the first job
        print(f"inside the block: {session.status()}; jobs {job1.status()}, {job2.status()}")

    # The session is no longer accepting jobs but the submitted jobs will run to completion.
    print(f"after the block: {session.status()}; jobs {job1.status()}, {job2.status()}")
    try:
        estimator.run([(isa, observable)])
    except IBMRuntimeError as exc:
        print(f"a new job is refused: {exc.message}")
    clock.advance("1m")
    print(f"one minute later: {session.status()}; jobs {job1.status()}, {job2.status()}")
    print(f"Result1: {float(job1.result()[0].data.evs):.4f}")
    print(f"Result2: {float(job2.result()[0].data.evs):.4f}")
    print("state changes:", [t["status"] for t in session.details()["timestamps"]])


if __name__ == "__main__":
    main()
