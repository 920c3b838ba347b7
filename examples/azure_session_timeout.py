"""Session timeouts (seed: "Session timeouts"), on a virtual clock.

A session times out if no new job is submitted within it for 10 minutes. Here a session
opened without a ``with`` block runs one job and is left open: ``clock.advance("10m")``
makes it ``TimedOut`` in milliseconds of real time. A ``with`` block closes the session
instead, so it ends ``Succeeded``.

python examples/azure_session_timeout.py
"""

from __future__ import annotations

from qsession_provider.azure import Workspace
from qsession_provider.core.clock import VirtualClock
from qsession_provider.errors import SessionClosedError

CIRCUIT = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
x q[0];
measure q -> c;
"""


def main() -> None:
    clock = VirtualClock()
    workspace = Workspace(clock=clock)
    target = workspace.get_targets("emulated_falcon_27")

    # Example of a session that times out: it contains one job and is never closed.
    session = target.open_session(name="Session that times out")
    job = target.submit(CIRCUIT, shots=100, name="Job 1")
    job.wait_until_completed(print_progress=False)
    print(f"Job 1: {job.details.status} {job.get_results()}")
    clock.advance("9m")
    session.refresh()
    print(f"9 minutes after the last job: {session.details.status}")
    clock.advance("1m")
    session.refresh()
    print(f"10 minutes after the last job: {session.details.status}")
    try:
        target.submit(CIRCUIT, shots=100, name="Job 2")  # the target still holds it
    except SessionClosedError as exc:
        print(f"Job 2 rejected: {exc}")

    # A with block closes the session at its end, so it cannot time out.
    with target.open_session(name="Session in a with block") as session:
        for i in range(3):
            job = target.submit(CIRCUIT, shots=100, name=f"Job {i + 1}")
            job.wait_until_completed(print_progress=False)
    clock.advance("10m")
    session.refresh()
    print(f"With-block session: {session.details.status}, {len(session.list_jobs())} jobs")


if __name__ == "__main__":
    main()
