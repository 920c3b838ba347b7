"""backend.run on an emulated QPU: transpile for its Target, queue, read counts and timing.

The emulated 27-qubit Falcon takes modelled time per job (1 s + 50 ms per circuit + 250 us
per shot). A VirtualClock makes that time pass instantly, so this script runs in well under
a second while the job timestamps still show what the device "took".

python examples/qiskit_backend_run.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.client import open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.qiskit.backend import QSessionBackend


def ghz(n: int) -> QuantumCircuit:
    qc = QuantumCircuit(n, name=f"ghz{n}")
    qc.h(0)
    for i in range(n - 1):
        qc.cx(i, i + 1)
    qc.measure_all()
    return qc


def main() -> None:
    clock = VirtualClock()
    # Any store path works; $QSESSION_STORE (set by the test harness) or the user data dir.
    runtime = open_runtime(clock=clock)
    try:
        backend = QSessionBackend(runtime, "emulated_falcon_27")
        print(f"{backend.name}: {backend.num_qubits} qubits, basis {backend.operation_names}")

        pm = generate_preset_pass_manager(backend=backend, optimization_level=2, seed_transpiler=1)
        circuits = pm.run([ghz(3), ghz(5)])
        print("transpiled ops:", [dict(c.count_ops()) for c in circuits])

        job = backend.run(circuits, shots=2000, seed_simulator=42, job_tags=["example"])
        result = job.result()
        for circuit in circuits:
            print(f"{circuit.name}: {dict(sorted(result.get_counts(circuit).items()))}")

        core = job.core_job
        print(f"job {job.job_id()} status {job.status().name}")
        print(
            f"queued {core.started_at - core.created_at:.3f} s, "
            f"ran {core.finished_at - core.started_at:.3f} s of modelled device time "
            f"(virtual clock now {clock.now() - core.created_at:.3f} s after submission)"
        )
    finally:
        runtime.shutdown()


if __name__ == "__main__":
    main()
