"""The Qiskit face passes its instance when it deletes or retags a job: a finished job of
another instance is refused, its own instance's goes through (issue 20, item 8k)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMNotAuthorizedError  # noqa: E402

from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, VirtualClock  # noqa: E402


@pytest.fixture
def services(tmp_path: Path) -> Iterator[tuple[QiskitRuntimeService, QiskitRuntimeService]]:
    """Two services on one store (one runtime, one clock), of instances ``a`` and ``b``."""
    clock = VirtualClock()
    path = tmp_path / "store.sqlite3"
    a = QiskitRuntimeService(store=path, clock=clock, instance="a")
    b = QiskitRuntimeService(store=path, clock=clock, instance="b")
    yield a, b
    a.runtime.shutdown(wait=False, cancel_pending=True)


def finished_job(service: QiskitRuntimeService) -> str:
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.measure_all()
    job = SamplerV2(mode=service.backend("statevector")).run([qc], shots=8)
    job.result()
    return job.job_id()


def test_another_instance_cannot_retag_or_delete_a_job(
    services: tuple[QiskitRuntimeService, QiskitRuntimeService],
) -> None:
    a, b = services
    ident = finished_job(a)
    foreign = b.job(ident)
    with pytest.raises(IBMNotAuthorizedError, match="another instance than 'b'"):
        foreign.update_tags(["taken"])
    with pytest.raises(IBMNotAuthorizedError, match="another instance than 'b'"):
        b.delete_job(ident)
    own = a.job(ident)
    assert own.tags == []  # untouched
    assert own.update_tags(["mine"]) == ["mine"]
    a.delete_job(ident)
    assert ident not in [j.job_id() for j in a.jobs()]
