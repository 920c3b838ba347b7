"""Open a session with the Session class (no context manager) and close it by hand.

IBM's guide ("Run jobs in a session", "Session class"): pick a QPU with
``least_busy(operational=True, simulator=False)``, create ``Session(backend=backend)``, give it
to the primitives with ``mode=session``, and call ``session.close()`` when done. Here the QPU
is an emulated one on a VirtualClock, so its modelled job time costs nothing real.

python examples/qiskit_session_class.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.qiskit import (
    Estimator,
    QiskitRuntimeService,
    Sampler,
    Session,
    VirtualClock,
)


def main() -> None:
    # A virtual clock needs a timeline (store) of its own: ":memory:" is private to the process.
    service = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    backend = service.least_busy(operational=True, simulator=False)
    print(f"least busy QPU: {backend.name} ({backend.num_qubits} qubits)")

    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    isa = pm.run(circuit)
    isa_measured = pm.run(circuit.measure_all(inplace=False))
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)

    session = Session(backend=backend)
    estimator = Estimator(mode=session)
    sampler = Sampler(mode=session)
    job1 = estimator.run([(isa, observable)])
    job2 = sampler.run([isa_measured], shots=500)
    print(f"Result1: <ZZ> = {float(job1.result()[0].data.evs):.3f}")
    print(f"Result2: counts = {job2.result()[0].data.meas.get_counts()}")
    print(f"both jobs in session {session.session_id}: {job1.session_id == job2.session_id}")

    session.close()  # running and queued jobs would still run to completion
    print(f"after close(): {session.status()}")


if __name__ == "__main__":
    main()
