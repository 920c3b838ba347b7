"""Draw what a session did: its jobs on its device, and the other work that made it wait.

A dedicated session runs five jobs with an optimiser's think time between them. Another
instance submits a batch to the same QPU while the session sits out its interactive window
and goes inactive, so the session's next job queues behind that batch's running jobs (once
active again, the session holds the device: the batch's last job waits for the session to
end, as on IBM hardware). The picture shows it:
each of the session's jobs a bar coloured by outcome with a dotted wait before it, the other
user's jobs as grey bars, the session's state changes as marks. On a virtual clock the whole
story, minutes of modelled device time, takes a second.

python examples/qiskit_session_timeline.py [picture.png]   (needs the plot extra: matplotlib)
"""

from __future__ import annotations

import sys

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager

from qsession_provider.qiskit import (
    Batch,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)


def main(path: str = "session_timeline.png") -> None:
    clock = VirtualClock()
    # Two instances on one runtime: a clock without a store gives that clock's own runtime,
    # shared by every service built with the same clock.
    lab = QiskitRuntimeService(clock=clock, instance="lab")
    physics = QiskitRuntimeService(clock=clock, instance="physics")
    backend = lab.backend("emulated_falcon_27")

    circuit = QuantumCircuit(3)
    circuit.h(0)
    circuit.cx(0, 1)
    circuit.cx(1, 2)
    circuit.measure_all()
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    isa = pm.run(circuit)

    with Session(backend=backend) as session:
        sampler = SamplerV2(mode=session)
        for step in range(5):
            sampler.run([isa], shots=50_000).result()
            # The optimiser thinks: 20 s, then (step 2) long enough for the session to go
            # inactive, just as the other instance submits a batch to the same QPU.
            clock.advance("20s" if step != 2 else "6m")
            if step == 2:
                with Batch(backend=physics.backend("emulated_falcon_27")) as batch:
                    for _ in range(3):
                        SamplerV2(mode=batch).run([isa], shots=100_000)
        figure = session.draw_timeline()
        details = session.details()
    figure.savefig(path, dpi=110)
    # IBM counts a session's usage as its wall time on the device, think time included.
    print(f"session {session.session_id}: usage {details['usage_time']:.1f} s")
    print(f"timeline written to {path}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
