"""Plans and reservations: an Open-plan session runs in job mode, a usage limit stops
work, and a reservation gives a QPU to one instance for a window, on a virtual clock.

python examples/qiskit_open_plan_and_reservation.py
"""

from __future__ import annotations

import warnings

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobFailureError

from qsession_provider.core.plans import InstancePlan, Reservation
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session, VirtualClock


def _reason(exc: Exception) -> str:
    """The runtime's reason inside a qiskit-ibm-runtime error's message."""
    return str(exc).strip("'\"").removeprefix("Unable to retrieve job result. ")


def main() -> None:
    clock = VirtualClock()
    free = QiskitRuntimeService(clock=clock, instance="free")  # one runtime for the clock
    lab = QiskitRuntimeService(clock=clock, instance="lab")
    runtime = free.runtime
    runtime.set_plan("free", InstancePlan("open", usage_limit="5s"))
    backend = free.backend("emulated_falcon_27")
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        session = Session(backend=backend)  # the Open plan: job mode instead
    print("warning:", caught[0].message)
    with session:
        # 2.05 s each: the third crosses the 5 s limit, so the fourth fails
        jobs = [SamplerV2(mode=session).run([isa], shots=4000) for _ in range(4)]
    for job in jobs:
        try:
            print(job.job_id()[:8], "session", job.session_id, job.result()[0].data.meas.num_shots)
        except RuntimeJobFailureError as exc:
            print(job.job_id()[:8], "failed:", _reason(exc)[:60], "...")
    print("usage:", {k: v for k, v in free.usage().items() if k.startswith("usage_limit")})
    try:
        SamplerV2(mode=backend).run([isa])
    except IBMRuntimeError as exc:
        print("refused:", str(exc).strip("'\"")[:60], "...")

    now = clock.now()
    runtime.reserve(Reservation("emulated_falcon_27", "lab", start=now + 60, end=now + 70))
    clock.advance(59)
    with Session(backend=lab.backend("emulated_falcon_27")) as reserved:
        sampler = SamplerV2(mode=reserved)
        inside = [sampler.run([isa], shots=20_000) for _ in range(3)]  # 6 s each
        for job in inside:
            try:
                job.result()
                print("reserved job ran from", job.metrics()["timestamps"]["running"])
            except RuntimeJobFailureError as exc:
                print("reserved job failed:", _reason(exc))


if __name__ == "__main__":
    main()
