"""``session.draw_timeline()`` in each face's dialect, and ``draw_timeline(session)``."""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.visual import draw_timeline

pytest.importorskip("matplotlib", reason="draw_timeline needs the plot extra (matplotlib)")
pytestmark = pytest.mark.timeout(60)


def job_bars(fig: Any) -> list[str]:
    return sorted(
        p.get_gid()[4:] for p in fig.axes[0].patches if (p.get_gid() or "").startswith("job:")
    )


def test_ibm_session_and_batch() -> None:
    qiskit = pytest.importorskip("qiskit")
    from qsession_provider.qiskit import Batch, QiskitRuntimeService, SamplerV2, Session

    backend = QiskitRuntimeService(store=":memory:", clock=VirtualClock()).backend(
        "emulated_falcon_27"
    )
    qc = qiskit.QuantumCircuit(1)
    qc.x(0)
    qc.measure_all()
    earlier: list[str] = []
    for kind in (Session, Batch):
        with kind(backend=backend) as session:
            jobs = [SamplerV2(mode=session).run([qc], shots=8) for _ in range(2)]
            for job in jobs:
                job.result()
        mine = sorted(j.job_id() for j in jobs)
        # the Session's jobs ran on the same device before the Batch's: those that ran
        # after the Batch opened are drawn as others
        drawn = set(job_bars(session.draw_timeline()))
        assert drawn >= set(mine) and drawn - set(mine) <= set(earlier)
        fig = session.draw_timeline(others=False)
        assert job_bars(fig) == mine
        earlier = mine
        assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [
            "emulated_falcon_27 · slot 1"
        ]
        assert job_bars(draw_timeline(session, others=False)) == mine  # found by duck typing
        assert job_bars(draw_timeline(jobs)) == job_bars(fig)  # RuntimeJob handles


def test_cirq_session() -> None:
    cirq = pytest.importorskip("cirq")
    from qsession_provider.cirq import Service

    service = Service(store=":memory:", clock=VirtualClock(), default_target="statevector")
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.X(q), cirq.measure(q, key="m"))
    target = service.get_target()
    with target.open_session(name="c") as session:
        target.sampler().run(circuit, repetitions=5)
    fig = session.draw_timeline()
    jobs = session.list_jobs()
    assert len(jobs) == 1 and job_bars(fig) == [jobs[0].job_id()]
    assert job_bars(draw_timeline(session)) == job_bars(fig)
    assert job_bars(draw_timeline(jobs)) == job_bars(fig)  # cirq Job handles


def test_azure_session() -> None:
    from qsession_provider.azure import Session, Workspace

    workspace = Workspace(store=":memory:", clock=VirtualClock())
    target = workspace.get_targets("statevector")
    qasm = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;'
    session = target.open_session(name="a")
    job = target.submit(qasm, shots=4)
    job.wait_until_completed(print_progress=False)
    session.close()
    assert isinstance(session, Session)
    fig = session.draw_timeline()
    assert job_bars(fig) == [job.id]
    assert job_bars(draw_timeline(session)) == [job.id]
