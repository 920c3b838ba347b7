"""Three parameterised jobs in one session (seed: "Passing arguments", with OpenQASM 3 text).

The seed formats arguments into Q# source; here the angles are formatted into OpenQASM 3
text, one job per set of angles, all inside ``with target.open_session(...)``.

python examples/azure_three_parameterised_jobs.py
"""

from __future__ import annotations

from qsession_provider.azure import Workspace


def random_bits(n: int, angle: list[float]) -> str:
    """OpenQASM 3 for: H on n qubits, Rz(angle[0]), Rz(angle[1]), H on both, measure all."""
    return f"""OPENQASM 3.0;
include "stdgates.inc";
qubit[{n}] q;
bit[{n}] c;
h q;
rz({angle[0]}) q[0];
rz({angle[1]}) q[1];
h q[0];
h q[1];
c = measure q;
"""


def main() -> None:
    workspace = Workspace()
    target = workspace.get_targets("statevector")

    angle = [0.0, 0.0]
    with target.open_session(name="OpenQASM session of three jobs") as session:
        target.submit(input_data=random_bits(2, angle), name="Job 1", shots=100)  # First job
        angle[0] += 1
        target.submit(input_data=random_bits(2, angle), name="Job 2", shots=100)  # Second job
        angle[1] += 1
        target.submit(input_data=random_bits(2, angle), name="Job 3", shots=100)  # Third job

    session_jobs = session.list_jobs()
    print([session_job.details.name for session_job in session_jobs])
    for job in session_jobs:
        params = job.details.input_params
        print(f"{job.details.name}: shots={params['shots']} -> {job.get_results()}")
    session.refresh()
    print(f"Session {session.details.name!r}: {session.details.status}")


if __name__ == "__main__":
    main()
