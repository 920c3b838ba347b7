"""Open, refresh and close a session by hand (seed: "Manual methods of opening/closing sessions").

python examples/azure_manual_session.py
"""

from __future__ import annotations

import time
import uuid

from qsession_provider.azure import Session, SessionJobFailurePolicy, Workspace

BELL = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


def main() -> None:
    workspace = Workspace()  # the local store ($QSESSION_STORE or the user data directory)

    # 1. A Session object: it exists only on the client, so its status is None.
    session = Session(
        workspace=workspace,  # required
        id=f"{uuid.uuid1()}",  # optional, if not passed will use uuid.uuid1()
        name="",  # optional, will be blank if not passed
        provider_id="qsession",  # optional, if not passed will try to parse from the target
        target="statevector",  # required
        job_failure_policy=SessionJobFailurePolicy.ABORT,  # optional, defaults to abort
    )
    print(f"Session status: {session.details.status}")

    # 2. Create it in the service (workspace.open_session(session) does the same).
    session.open()
    print(f"Session status after open(): {session.details.status}")

    # 3. Refresh, or get a new object from the id.
    session.refresh()
    same_session = workspace.get_session(session.id)
    print(f"Session: {session.details.status} {session.details.job_failure_policy}")
    print(f"Same session: {same_session.id == session.id} {same_session.details.status}")

    # 5. Attach it to a target: jobs submitted through the target join it.
    target = workspace.get_targets("statevector")
    target.latest_session = session
    for i in range(2):
        target.submit(BELL, name=f"Job {i + 1}", shots=200)
    session_jobs = session.list_jobs()
    print("Session jobs:", [session_job.id for session_job in session_jobs])

    # 4. Close it (or workspace.close_session(session)); its jobs still finish.
    session.close()

    # 6. Wait for the session to complete.
    while session.details.status not in ("Succeeded", "Failed", "TimedOut"):
        session.refresh()
        time.sleep(0.05)
    print(f"Session status after close(): {session.details.status}")
    for job in session.list_jobs():
        print(f"  {job.details.name}: {job.details.status} {job.get_results()}")


if __name__ == "__main__":
    main()
