"""The Continue failure policy (seed: "Job failure policy within sessions").

The session keeps accepting jobs after one fails and reports ``Failure(s)``, which turns
into ``Failed`` once the session is closed. A session that is never closed times out:
``TimedOut`` wins even if jobs failed (shown on a virtual clock).

python examples/azure_failure_policy_continue.py
"""

from __future__ import annotations

from qsession_provider.azure import SessionJobFailurePolicy, Workspace
from qsession_provider.core.clock import VirtualClock

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def main() -> None:
    clock = VirtualClock()
    workspace = Workspace(clock=clock)
    target = workspace.get_targets("statevector")

    with target.open_session(
        name="JobFailurePolicy Continue", job_failure_policy=SessionJobFailurePolicy.CONTINUE
    ) as session:
        job1 = target.submit(input_data="garbage", name="Job 1")  # input data is bad: fails
        job2 = target.submit(input_data=BELL, name="Job 2")  # still accepted (CONTINUE)
        job3 = target.submit(input_data=BELL, name="Job 3")
        job3.wait_until_completed(print_progress=False)
        session.refresh()
        print(f"Session status while open: {session.details.status}")
    print(f"Session status once closed: {session.details.status}")
    for job in (job1, job2, job3):
        job.refresh()
        print(f"  {job.details.name}: {job.details.status} {job.details.error_data or ''}")

    # Never closed: the session times out 10 minutes after its last job, failures or not.
    forgotten = target.open_session(
        name="Continue, never closed", job_failure_policy=SessionJobFailurePolicy.CONTINUE
    )
    target.submit(input_data="garbage", name="Job A").wait_until_completed(print_progress=False)
    forgotten.refresh()
    print(f"\nForgotten session: {forgotten.details.status}")
    clock.advance("10m")
    forgotten.refresh()
    print(f"Forgotten session 10 minutes later: {forgotten.details.status}")


if __name__ == "__main__":
    main()
