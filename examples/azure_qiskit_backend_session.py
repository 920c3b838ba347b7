"""Azure-style sessions on a Qiskit backend: ``backend.open_session`` + ``backend.run``.

The pattern of Azure Quantum's Qiskit integration: open a session on the backend, run
circuits (each job joins the latest session), read counts, then list the session's jobs
through the workspace. The emulated QPU's device time passes on a virtual clock.
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.azure import SessionJobFailurePolicy, Workspace
from qsession_provider.client import open_runtime
from qsession_provider.core import VirtualClock
from qsession_provider.qiskit.backend import QSessionBackend


def main() -> None:
    runtime = open_runtime(clock=VirtualClock())
    backend = QSessionBackend(runtime, "emulated_falcon_27")

    circuit = QuantumCircuit(3, 3, name="ghz")
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure([0, 1, 2], [0, 1, 2])
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)

    with backend.open_session(
        name="Qiskit Session", job_failure_policy=SessionJobFailurePolicy.CONTINUE
    ) as session:
        for i in range(1, 4):
            job = backend.run(isa, shots=100, job_name=f"Job {i}")
            job.wait_for_final_state()
            print(f"Job {i}: {job.status().name}, counts {job.result().get_counts()}")

    session.refresh()
    print(f"session {session.details.name!r}: {session.details.status}")
    for job in Workspace(runtime=runtime).list_session_jobs(session.id):
        d = job.details
        print(f"  {d.name}: {d.status}, ran {d.begin_execution_time} -> {d.end_execution_time}")


if __name__ == "__main__":
    main()
