"""Each timeline its own: ten tests, each with its own clock and service, in any order.

A test suite naturally builds a ``VirtualClock`` and a service per test. Each such service
(no ``store=``) gets a private in-memory timeline, so no test sees another's sessions or
jobs and no clock collides with another store's. ``test_any_order`` runs this module again
in reversed and shuffled orders to show that nothing depends on who ran first.
"""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock

qiskit = pytest.importorskip("qiskit")
cirq = pytest.importorskip("cirq")

from qiskit import QuantumCircuit  # noqa: E402

from qsession_provider.azure import Workspace  # noqa: E402
from qsession_provider.cirq import Service  # noqa: E402
from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2, Session  # noqa: E402

pytestmark = pytest.mark.timeout(120)

FLIP = QuantumCircuit(1)  # native on every device: no transpiling needed
FLIP.x(0)
FLIP.measure_all()
QASM = 'OPENQASM 2.0;\ninclude "qelib1.inc";\nqreg q[1];\ncreg c[1];\nx q[0];\nmeasure q -> c;\n'


def _qiskit_timeline(max_time: str) -> None:
    clock = VirtualClock()
    service = QiskitRuntimeService(clock=clock)
    assert service.jobs() == []  # nothing from any other test
    session = Session(backend=service.backend("emulated_falcon_27"), max_time=max_time)
    counts = SamplerV2(mode=session).run([FLIP], shots=64).result()[0].data.meas.get_counts()
    assert counts == {"1": 64}
    ids = [job.job_id() for job in service.jobs()]
    assert len(ids) == 1 and ids == [
        j.job_id() for j in service.jobs(session_id=session.session_id)
    ]
    clock.advance(max_time)
    assert session.status() == "Closed"


def _azure_timeline(idle: str) -> None:
    clock = VirtualClock()
    workspace = Workspace(clock=clock)
    assert workspace.list_sessions() == []
    target = workspace.get_targets("emulated_falcon_27")
    with target.open_session(name="t") as session:
        job = target.submit(QASM, name="one", shots=10)
        job.wait_until_completed()
        assert job.get_results() == {"[1]": 1.0}
    assert [s.id for s in workspace.list_sessions()] == [session.id]
    clock.advance(idle)


def _cirq_timeline(repetitions: int) -> None:
    clock = VirtualClock()
    service = Service(clock=clock, default_target="emulated_falcon_27")
    assert service.list_jobs() == []
    q = cirq.LineQubit(0)
    circuit = cirq.Circuit(cirq.X(q), cirq.measure(q, key="m"))
    with service.get_target().open_session(name="c"):
        result = service.sampler().run(circuit, repetitions=repetitions)
    assert result.histogram(key="m") == {1: repetitions}
    assert len(service.list_jobs()) == 1


def test_qiskit_1() -> None:
    _qiskit_timeline("10m")


def test_qiskit_2() -> None:
    _qiskit_timeline("25m")


def test_qiskit_3() -> None:
    _qiskit_timeline("1h")


def test_qiskit_4() -> None:
    _qiskit_timeline("2h")


def test_azure_1() -> None:
    _azure_timeline("10m")


def test_azure_2() -> None:
    _azure_timeline("1h")


def test_azure_3() -> None:
    _azure_timeline("3h")


def test_cirq_1() -> None:
    _cirq_timeline(5)


def test_cirq_2() -> None:
    _cirq_timeline(50)


def test_faces_on_one_clock_share_one_timeline() -> None:
    """The same clock object passed to several faces is one timeline they all see."""
    clock = VirtualClock()
    service = QiskitRuntimeService(clock=clock)
    session = Session(backend=service.backend("statevector"))
    SamplerV2(mode=session).run([FLIP], shots=8).result()
    assert [s.id for s in Workspace(clock=clock).list_sessions()] == [session.session_id]
    assert len(Service(clock=clock).list_jobs()) == 1


ORDER_PLUGIN = """
import random
from pathlib import Path
import pytest

@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(session, config, items):
    order = config.getoption("--order")
    if order == "reversed":
        items.reverse()
    else:
        random.Random(int(order)).shuffle(items)

def pytest_addoption(parser):
    parser.addoption("--order", default="reversed")
"""


@pytest.mark.parametrize("order", ["reversed", str(random.Random().randrange(1000)), "7"])
def test_any_order(pytester: Any, order: str) -> None:
    """The ten tests above pass together in reversed and shuffled orders."""
    pytester.makeconftest(ORDER_PLUGIN)
    pytester.makepyfile(
        test_copy=Path(__file__).read_text().replace("def test_any_order", "def _no")
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", f"--order={order}", "-q")
    result.assert_outcomes(passed=10)
