"""List sessions and their jobs in an Azure-style workspace (seed: "listing sessions").

A workspace is a view of the local runtime of a store (``$QSESSION_STORE`` here): every
session and job on that store is listed, whichever face created it.

python examples/azure_workspace_listing.py
"""

from __future__ import annotations

from qsession_provider.azure import JobStatus, Session, SessionStatus, Workspace

BELL = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""


def fill(workspace: Workspace) -> None:
    """Two sessions (one job, then four jobs) so there is something to list."""
    target = workspace.get_targets("statevector")
    with target.open_session(name="small session"):
        target.submit(BELL, name="Lone job", shots=50)
    with target.open_session(name="bigger session"):
        for i in range(4):
            target.submit(BELL, name=f"Job {i + 1}", shots=50)
    for job in workspace.list_jobs():
        job.wait_until_completed(print_progress=False)


def get_a_session_with_jobs(workspace: Workspace, min_jobs: int) -> Session | None:
    for session in workspace.list_sessions():  # list of all sessions
        if len(workspace.list_session_jobs(session.id)) >= min_jobs:
            return session
    return None


def main() -> None:
    workspace = Workspace(
        resource_id="/subscriptions/local/resourceGroups/demo/providers/Microsoft.Quantum/"
        "Workspaces/listing-demo",
        location="westeurope",
    )
    print(f"Workspace {workspace.name!r} on store {workspace.store}")
    fill(workspace)

    print("\nAll sessions:")
    for session in workspace.list_sessions(orderby_property="Name"):
        print(f"  {session.details.name:<16} {session.details.status}  id={session.id}")

    session = get_a_session_with_jobs(workspace, min_jobs=3)  # a session with >= 3 jobs
    assert session is not None
    session_jobs = workspace.list_session_jobs(session.id)  # all jobs of that session
    print(f"\nJob count: {len(session_jobs)} \n")
    print(f"First 10 jobs for session {session.id}:")
    for job in session_jobs[0:10]:
        print(f"Id: {job.id}, Name={job.details.name}, Status={job.details.status}")

    same = workspace.get_session(session.id)
    print(f"\nget_session: {same.details.name!r} is {same.details.status}")
    succeeded = workspace.list_sessions(status=SessionStatus.SUCCEEDED)
    print(f"Succeeded sessions: {len(succeeded)}")
    named = workspace.list_jobs(name_match="Job", status=JobStatus.SUCCEEDED)
    print(f"Succeeded jobs whose name starts with 'Job': {[j.details.name for j in named]}")
    print("\nJob outputs:")
    for job in workspace.list_jobs(orderby_property="CreationTime", is_asc=False)[:3]:
        print(f"  {job.id} {job.details.name} {job.details.output_data_uri}")


if __name__ == "__main__":
    main()
