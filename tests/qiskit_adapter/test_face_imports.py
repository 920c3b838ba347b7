"""The Qiskit face stands apart: it loads neither the Azure nor the Cirq face, except the Azure
session host, and only when a backend opens an Azure-style session (checked in a fresh
interpreter, by reading ``sys.modules``)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest

pytest.importorskip("qiskit_ibm_runtime")

_LOADED = """
import json, sys
print(json.dumps(sorted(m for m in sys.modules if m.startswith("qsession_provider"))))
"""


def _modules_after(code: str) -> list[str]:
    script = textwrap.dedent(code) + _LOADED
    out = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=True, timeout=120
    )
    return list(json.loads(out.stdout.strip().splitlines()[-1]))


def _other_faces(modules: list[str]) -> list[str]:
    faces = ("azure", "cirq", "translate.cirq")
    return [m for m in modules if m.startswith(tuple(f"qsession_provider.{f}" for f in faces))]


def test_importing_the_face_and_running_jobs_loads_no_other_face() -> None:
    modules = _modules_after(
        """
        from qiskit import QuantumCircuit
        from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session

        service = QiskitRuntimeService(store=":memory:")
        backend = service.backend("statevector")
        qc = QuantumCircuit(1)
        qc.measure_all()
        backend.run(qc, shots=5).result()
        backend.latest_session = None
        assert backend.latest_session is None and backend.get_latest_session_id() is None
        with Session(backend=backend) as session:
            SamplerV2(mode=session).run([qc], shots=5).result()
        """
    )
    assert "qsession_provider.qiskit.backend" in modules
    assert _other_faces(modules) == []


def test_an_azure_style_session_loads_only_the_azure_session_host() -> None:
    modules = _modules_after(
        """
        from qiskit import QuantumCircuit
        from qsession_provider.qiskit import QiskitRuntimeService

        backend = QiskitRuntimeService(store=":memory:").backend("statevector")
        qc = QuantumCircuit(1)
        qc.measure_all()
        with backend.open_session(name="s") as session:
            job = backend.run(qc, shots=5)
            assert job.session_id == session.id == backend.get_latest_session_id()
        """
    )
    assert "qsession_provider.azure.qiskit_backend" in modules
    assert [m for m in _other_faces(modules) if "cirq" in m] == []
