"""The default job failure policy, Abort (seed: "Job failure policy within sessions").

A failed job ends the session (status Failed), in-progress jobs are cancelled and later
submissions are rejected. On the emulated 27-qubit QPU (one job at a time, about a second
per job, on a virtual clock) Job 2 fails when its turn comes and Job 3 is cancelled.

python examples/azure_failure_policy_abort.py
"""

from __future__ import annotations

from qsession_provider.azure import SessionJobFailurePolicy, Workspace
from qsession_provider.core.clock import VirtualClock
from qsession_provider.errors import SessionClosedError

GHZ = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[3];
creg c[3];
h q[0];
cx q[0], q[1];
cx q[1], q[2];
measure q -> c;
"""


def main() -> None:
    workspace = Workspace(clock=VirtualClock())
    target = workspace.get_targets("emulated_falcon_27")

    with target.open_session(
        name="JobFailurePolicy Abort", job_failure_policy=SessionJobFailurePolicy.ABORT
    ) as session:
        job1 = target.submit(input_data=GHZ, name="Job 1", shots=100)
        job2 = target.submit(input_data="garbage", name="Job 2")  # this job fails
        job3 = target.submit(input_data=GHZ, name="Job 3")  # in progress when Job 2 fails
        job2.wait_until_completed(print_progress=False)
        session.refresh()
        print(f"Session status after the failure: {session.details.status}")
        try:
            target.submit(input_data=GHZ, name="Job 4")  # rejected
        except SessionClosedError as exc:
            print(f"Job 4 rejected: {exc}")

    for job in (job1, job2, job3):
        job.refresh()
        error = job.details.error_data
        print(f"{job.details.name}: {job.details.status}" + (f"  error: {error}" if error else ""))
    print(f"Job 1 results: {job1.get_results()}")
    print(f"Session status: {session.details.status}")


if __name__ == "__main__":
    main()
