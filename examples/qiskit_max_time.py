"""Session length: ``max_time="25m"`` on a virtual clock, observed through the Qiskit API.

IBM's guide ("Session length"): the timer starts when the session starts - when its first
job begins execution; when it runs out the session is closed, running jobs finish, queued
jobs fail, and new jobs are rejected. A manual VirtualClock lets us walk through 27 minutes
of session time in milliseconds.

python examples/qiskit_max_time.py
"""

from __future__ import annotations

import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobFailureError

from qsession_provider.qiskit import QiskitRuntimeService, Sampler, Session, VirtualClock


def main() -> None:
    clock = VirtualClock(auto_advance=False)  # time moves only when we advance it
    service = QiskitRuntimeService(store=":memory:", clock=clock)
    backend = service.backend("emulated_falcon_27")
    theta = Parameter("θ")
    circuit = QuantumCircuit(1)
    circuit.rx(theta, 0)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    sweep = np.linspace(0, np.pi, 2000)[:, None]  # 2000 executions: ~106 s on the device

    session = Session(backend=backend, max_time="25m")
    sampler = Sampler(mode=session)
    print(f"max_time: {session.details()['max_time']:.0f} s, status: {session.status()}")

    first = sampler.run([(isa, [0.0])], shots=100)
    clock.advance("10s")
    print(f"first job {first.status()}; session started at {session.details()['started_at']}")

    clock.advance("24m")  # a long classical analysis between jobs
    print(f"24 minutes later: {session.status()} (deactivated after the interactive timeout)")

    running = sampler.run([(isa, sweep)], shots=10)  # still running at the 25-minute mark
    queued = sampler.run([(isa, [0.0])], shots=100)
    clock.advance("2m")
    print(f"at 26m10s: {session.status()}; running job {running.status()}, ", end="")
    print(f"queued job {queued.status()}")
    try:
        queued.result()
    except RuntimeJobFailureError as exc:
        print(f"queued job: {exc.message}")
    try:
        sampler.run([(isa, [0.0])])
    except IBMRuntimeError as exc:
        print(f"new job: {exc.message}")
    counts = running.result()[0].data.meas.get_counts((0,))
    print(f"the running job finished: first sweep point {counts}")


if __name__ == "__main__":
    main()
