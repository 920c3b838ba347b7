"""``progress=`` on the faces' waits (Qiskit runtime and backend jobs, Cirq jobs), and a
server's jobs; off by default."""

from __future__ import annotations

import io
import sys
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.visual.progress import wait_all, wait_job

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import Server, serve_module  # noqa: E402

pytestmark = pytest.mark.timeout(120)

QPU = "emulated_falcon_27"
server = pytest.fixture(scope="module")(serve_module)


def final_line(out: io.StringIO) -> str:
    return out.getvalue().replace("\n", "\r").rstrip("\r").split("\r")[-1]


@pytest.fixture
def qiskit_backend() -> Any:
    pytest.importorskip("qiskit")
    from qsession_provider.qiskit import QiskitRuntimeService

    return QiskitRuntimeService(store=":memory:", clock=VirtualClock()).backend(QPU)


def flip() -> Any:
    from qiskit import QuantumCircuit

    qc = QuantumCircuit(1)
    qc.x(0)
    qc.measure_all()
    return qc


def test_qiskit_runtime_jobs(qiskit_backend: Any, capsys: pytest.CaptureFixture[str]) -> None:
    from qsession_provider.qiskit import SamplerV2

    sampler = SamplerV2(mode=qiskit_backend)
    first, second = sampler.run([flip()], shots=10), sampler.run([flip()], shots=10)
    out = io.StringIO()
    result = second.result(progress={"file": out})
    assert result[0].data.meas.get_counts() == {"1": 10}
    assert "queued" in out.getvalue() and final_line(out).startswith(f"job {second.job_id()[:8]}")
    assert "· DONE" in final_line(out)
    third = sampler.run([flip()], shots=10)
    out = io.StringIO()
    third.wait_for_final_state(progress={"file": out})
    assert third.status() == "DONE" and "· DONE" in final_line(out)
    fourth = sampler.run([flip()], shots=10)
    assert fourth.result()[0].data.meas.get_counts() == {"1": 10}  # off by default
    assert capsys.readouterr().err == ""
    assert first.status() == "DONE"


def test_qiskit_backend_jobs(qiskit_backend: Any) -> None:
    jobs = [qiskit_backend.run(flip(), shots=5) for _ in range(3)]
    out = io.StringIO()
    assert jobs[2].result(progress={"file": out}).get_counts() == {"1": 5}
    assert "queued, 1 ahead" in out.getvalue() and "· DONE" in final_line(out)
    more = qiskit_backend.run(flip(), shots=5)
    out = io.StringIO()
    more.wait_for_final_state(progress={"file": out})
    assert "· DONE" in final_line(out)


def test_one_bar_over_a_faces_jobs(qiskit_backend: Any) -> None:
    from qsession_provider.qiskit import SamplerV2

    jobs = [SamplerV2(mode=qiskit_backend).run([flip()], shots=4) for _ in range(3)]
    out = io.StringIO()
    wait_all(jobs, progress={"file": out})
    assert all(j.status() == "DONE" for j in jobs)
    assert "3/3" in final_line(out)


def test_cirq_jobs() -> None:
    cirq = pytest.importorskip("cirq")
    from qsession_provider.cirq import Service

    service = Service(store=":memory:", clock=VirtualClock(), default_target=QPU)
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.X(q), cirq.measure(q, key="m"))
    target = service.get_target()
    jobs = [target.submit(circuit, repetitions=5) for _ in range(2)]
    out = io.StringIO()
    result = jobs[1].results(progress={"file": out})
    assert result.histogram(key="m") == {1: 5}
    assert "queued" in out.getvalue() and "· DONE" in final_line(out)


def test_a_servers_jobs(server: Server) -> None:
    pytest.importorskip("httpx", reason="the remote client needs the server extra")
    from qsession_provider.client.choose import connect
    from qsession_provider.core import Circuit, Gate, Measure
    from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

    remote = connect(server.url, server.token("carol", "inst-c"))
    try:
        circuit = Circuit(1, [Gate("x", (0,)), Measure(0, "c", 0)], {"c": 1})
        payload = SamplerPayload((SamplerPub(circuit, None, 20),))
        jobs = [remote.submit("sampler", QPU, payload) for _ in range(3)]
        out = io.StringIO()
        assert wait_job(jobs[2], progress={"file": out}, runtime=remote) is True
        assert "queued, 1 ahead" in out.getvalue() and "running" in out.getvalue()
        assert "· DONE" in final_line(out)
        more = [remote.submit("sampler", QPU, payload) for _ in range(2)]
        out = io.StringIO()
        wait_all(more, progress={"file": out})
        assert all(j.in_final_state() for j in more) and "2/2" in final_line(out)
        out = io.StringIO()
        last = remote.submit("sampler", QPU, payload)
        from qsession_provider.visual.progress import observing

        with observing({"file": out}, runtime=remote) as observer:
            counts = last.result(progress=observer)
        assert counts is not None and "· DONE" in final_line(out)
    finally:
        remote.shutdown()
