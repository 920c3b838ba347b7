"""``BackendSessionHost``: the Azure session host the Qiskit face's backends hand over to.

Any object with ``runtime`` and ``name`` stands for the backend here, so these tests need
no Qiskit; ``tests/qiskit_adapter/test_backend_azure_session.py`` drives a real backend.
"""

from __future__ import annotations

import subprocess
import sys
from dataclasses import dataclass

import pytest

from qsession_provider.azure import SessionJobFailurePolicy, SessionStatus, Workspace
from qsession_provider.azure.qiskit_backend import BackendSessionHost
from qsession_provider.core.ir.circuit import Circuit
from qsession_provider.core.ir.payload import RunPayload
from qsession_provider.core.runtime.runtime import Runtime

pytestmark = pytest.mark.timeout(60)


@dataclass
class _Backend:
    """The two things the host reads of a backend."""

    runtime: Runtime
    name: str


def test_sessions_open_on_the_backends_device_in_one_workspace(
    runtime: Runtime, bell_ir: Circuit
) -> None:
    host = BackendSessionHost(_Backend(runtime, "statevector"))
    workspace = host._get_azure_workspace()
    assert isinstance(workspace, Workspace) and workspace.runtime is runtime
    assert host._get_azure_workspace() is workspace
    assert host._get_azure_target_id() == "statevector"
    with host.open_session(name="bells", job_failure_policy="Continue") as session:
        assert host.latest_session is session and host.get_latest_session_id() == session.id
        job = runtime.submit(
            "run", "statevector", RunPayload((bell_ir,), shots=5), session_id=session.id
        )
        job.wait()
    assert session.details.target == "statevector" and session.details.name == "bells"
    assert session.details.job_failure_policy is SessionJobFailurePolicy.CONTINUE
    assert session.details.status is SessionStatus.SUCCEEDED
    assert [j.id for j in session.list_jobs()] == [job.id]
    assert host.latest_session is session  # kept after the block, as in azure-quantum


def test_each_host_keeps_its_own_latest_session(runtime: Runtime) -> None:
    first = BackendSessionHost(_Backend(runtime, "statevector"))
    second = BackendSessionHost(_Backend(runtime, "statevector"))
    old = first.open_session()
    assert second.latest_session is None and second.get_latest_session_id() is None
    new = first.open_session()
    assert old.details.status is SessionStatus.SUCCEEDED  # the previous one was closed
    assert first.latest_session is new and new.details.status is SessionStatus.WAITING
    first.latest_session = None
    assert first.get_latest_session_id() is None


def test_the_module_loads_no_face_and_no_framework() -> None:
    code = (
        "import sys\n"
        "import qsession_provider.azure.qiskit_backend\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in ('qiskit', 'cirq')\n"
        "    or m.startswith(('qsession_provider.qiskit', 'qsession_provider.cirq',\n"
        "                     'qsession_provider.translate'))))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.strip() == "[]"
