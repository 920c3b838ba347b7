"""Check a session's status and details as it goes through its states.

IBM's guide ("Check session status", "Determine session details"): ``session.status()`` is
one of ``Pending``, ``In progress, accepting new jobs``, ``In progress, not accepting new
jobs`` and ``Closed``; ``session.details()`` has the configuration (``max_time``,
``interactive_timeout``) and timestamps. A manual VirtualClock walks through every status.

python examples/qiskit_status_details.py
"""

from __future__ import annotations

from pprint import pprint

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.qiskit import Estimator, QiskitRuntimeService, Session, VirtualClock


def main() -> None:
    clock = VirtualClock(auto_advance=False)
    service = QiskitRuntimeService(store=":memory:", clock=clock)
    backend = service.least_busy(operational=True, simulator=False)
    circuit = QuantumCircuit(2)
    circuit.h(0)
    circuit.cx(0, 1)
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    observable = SparsePauliOp("ZZ").apply_layout(isa.layout)

    with Session(backend=backend, max_time="1h") as session:
        print(f"opened:                        {session.status()}")
        estimator = Estimator()
        job = estimator.run([(isa, observable)])
        clock.advance(0)
        print(f"first job running:             {session.status()}")
        clock.advance("10s")
        print(f"job {job.status()}, waiting for more:  {session.status()}")
        clock.advance("5m")
        print(f"interactive timeout passed:    {session.status()}")
        job = estimator.run([(isa, observable)])
        clock.advance(0)
        print(f"a new job re-activates it:     {session.status()}")
    print(f"left the block, job running:   {session.status()}")
    clock.advance("10s")
    print(f"all jobs done:                 {session.status()}")
    print()
    pprint(session.details(), sort_dicts=False)
    print(f"usage: {session.usage():.1f} s")


if __name__ == "__main__":
    main()
