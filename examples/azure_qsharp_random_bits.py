"""The seed's Q# example, as written: three jobs of ``GenerateRandomBits`` in one session.

Q# is compiled with ``qsharp.compile(...)`` (QIR, base profile) and submitted as it is; a
Quil program then runs in a session whose failure policy is ``Continue``, after a garbage
job that fails. Needs the ``azure`` extra (qsharp, pyqir, quil).

python examples/azure_qsharp_random_bits.py
"""

from __future__ import annotations

import warnings

from qsession_provider.azure import SessionJobFailurePolicy, Workspace

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)  # qsharp's notice of its qdk rename
    import qsharp

GENERATE_RANDOM_BITS = """
import Std.Measurement.*;
import Std.Arrays.*;

operation GenerateRandomBits(n: Int, angle: Double[]) : Result[] {
   use qubits = Qubit[n]; // n parameter as the size of the qubit array
   for q in qubits {
       H(q);
   }
   R(PauliZ, angle[0], qubits[0]); // arrays as entry-points parameters
   R(PauliZ, angle[1], qubits[1]);
   let results = MeasureEachZ(qubits);
   ResetAll(qubits);
   return results;
}
"""

QUIL_PROGRAM = """
DECLARE ro BIT[2]
H 0
CNOT 0 1
MEASURE 0 ro[0]
MEASURE 1 ro[1]
"""


def main() -> None:
    qsharp.init(target_profile=qsharp.TargetProfile.Base)
    qsharp.eval(GENERATE_RANDOM_BITS)
    workspace = Workspace()
    target = workspace.get_targets("emulated_falcon_27")

    angle = [0.0, 0.0]
    with target.open_session(name="Q# session of three jobs") as session:
        program = qsharp.compile(f"GenerateRandomBits(2, {angle})")
        target.submit(input_data=program, name="Job 1", shots=100)  # First job submission
        angle[0] += 1
        program = qsharp.compile(f"GenerateRandomBits(2, {angle})")
        target.submit(input_data=program, name="Job 2", shots=100)  # Second job submission
        angle[1] += 1
        program = qsharp.compile(f"GenerateRandomBits(2, {angle})")
        target.submit(input_data=program, name="Job 3", shots=100)  # Third job submission

    session_jobs = session.list_jobs()
    print([session_job.details.name for session_job in session_jobs])
    for job in session_jobs:
        job.wait_until_completed(print_progress=False)
        print(job.details.name, job.details.status, job.get_results())

    policy = SessionJobFailurePolicy.CONTINUE
    with target.open_session(name="JobFailurePolicy Continue", job_failure_policy=policy) as s:
        target.submit(input_data="garbage", name="Job 1")  # fails: not a program
        target.submit(input_data=QUIL_PROGRAM, name="Job 2", shots=100)  # still accepted
        target.submit(input_data=QUIL_PROGRAM, name="Job 3", shots=100)
    for job in s.list_jobs():
        job.wait_until_completed(print_progress=False)
        outcome = job.details.error_data.code if job.details.error_data else job.get_results()
        print(job.details.name, job.details.status, outcome)
    print("session:", s.refresh().details.status)  # Failed: a job failed, and it is closed


if __name__ == "__main__":
    main()
