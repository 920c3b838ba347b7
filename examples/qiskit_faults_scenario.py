"""Session code under scripted faults: a retry loop meets a failed job, a busy device, an outage.

The scenario file ``faults_scenario.toml`` (next to this script) makes the second job fail
with IBM's code 1010, brings in another tenant's load at 30 s and takes the device offline
from 2 to 12 minutes. The code under test retries a failed job once; with a virtual clock
the whole morning passes in a fraction of a second, and the injector says what happened.

python examples/qiskit_faults_scenario.py
"""

from __future__ import annotations

from pathlib import Path

from qiskit import QuantumCircuit
from qiskit.transpiler import generate_preset_pass_manager
from qiskit_ibm_runtime.exceptions import RuntimeJobFailureError

from qsession_provider.faults import inject
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session, VirtualClock

SCENARIO = Path(__file__).with_name("faults_scenario.toml")


def run_with_retry(sampler: SamplerV2, circuit: QuantumCircuit) -> dict[str, int]:
    """The code under test: one retry when IBM reports a failed job."""
    for attempt in (1, 2):
        try:
            return sampler.run([circuit], shots=200).result()[0].data.meas.get_counts()
        except RuntimeJobFailureError as exc:
            print(f"  attempt {attempt} failed: {str(exc).splitlines()[0]}")
    raise RuntimeError("gave up")


def main() -> None:
    clock = VirtualClock(start=0)
    service = QiskitRuntimeService(store=":memory:", clock=clock)
    backend = service.backend("emulated_falcon_27")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    bell.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(bell)

    with inject(service.runtime, SCENARIO) as faults:
        with Session(backend=backend, max_time="1h") as session:
            sampler = SamplerV2(mode=session)
            for step in range(4):
                counts = run_with_retry(sampler, isa)
                print(f"step {step} at t={clock.now():6.1f} s: {dict(sorted(counts.items()))}")
                clock.sleep(50)  # the analysis between steps; the outage starts at 2 min
        print("\nwhat was injected:")
        print(faults.describe())


if __name__ == "__main__":
    main()
