"""The one door to the runtime: what a session adds, typed refusals, caches owned by the face."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMRuntimeError  # noqa: E402

import qsession_provider.qiskit  # noqa: E402
from qsession_provider.errors import SessionClosedError  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    QiskitRuntimeService,
    QSessionBackend,
    SamplerV2,
    Session,
    VirtualClock,
)
from qsession_provider.qiskit._circuit_cache import CircuitCache  # noqa: E402
from qsession_provider.qiskit._translations import (  # noqa: E402
    CoercedObservableCache,
    ObservableCache,
    SamplerPubCache,
    TranslationCache,
)

CLOSED = "The session is closed."


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def service(clock: VirtualClock) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=":memory:", clock=clock)
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


class _Counting:
    """Wraps one runtime method and counts its calls."""

    def __init__(self, runtime: Any, name: str, monkeypatch: pytest.MonkeyPatch) -> None:
        self.calls = 0
        original = getattr(runtime, name)

        def wrapper(*args: Any, **kwargs: Any) -> Any:
            self.calls += 1
            return original(*args, **kwargs)

        monkeypatch.setattr(runtime, name, wrapper)


def test_a_session_job_asks_the_runtime_nothing_but_submit(
    service: QiskitRuntimeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    lookups = _Counting(service.runtime, "session", monkeypatch)
    submits = _Counting(service.runtime, "submit", monkeypatch)
    with Session(backend=service.backend("statevector")) as session:
        sampler = SamplerV2(mode=session)
        jobs = [sampler.run([bell()], shots=8) for _ in range(3)]
    assert [job.result()[0].data.meas.num_shots for job in jobs] == [8, 8, 8]
    assert jobs[0].job_id() == session.session_id  # the root job
    assert lookups.calls == 0 and submits.calls == 3


def test_the_runtime_refusal_is_typed_and_the_session_then_refuses_by_itself(
    service: QiskitRuntimeService, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    session = Session(backend=service.backend("statevector"))
    clock.advance("30m")  # the idle-open timeout closes it in the runtime
    submits = _Counting(service.runtime, "submit", monkeypatch)
    sampler = SamplerV2(mode=session)
    with pytest.raises(IBMRuntimeError) as err:
        sampler.run([bell()])
    assert err.value.message == CLOSED
    assert isinstance(err.value.__cause__, SessionClosedError)
    assert submits.calls == 1
    with pytest.raises(IBMRuntimeError) as again:
        sampler.run([bell()])
    assert again.value.message == CLOSED and submits.calls == 1


def test_one_translation_cache_per_service_shared_by_its_backends(
    service: QiskitRuntimeService, clock: VirtualClock
) -> None:
    cache = service.translations
    assert isinstance(cache, TranslationCache)
    backends = [service.backend("statevector"), service.backend("emulated_falcon_27")]
    backends.append(service.backend("statevector", instance="other"))
    assert all(b.translations is cache for b in backends)
    other = QiskitRuntimeService(store=":memory:", clock=clock)
    assert other.translations is not cache
    alone = QSessionBackend(service.runtime, "statevector")
    assert alone.translations is not cache
    session = Session(backend=alone)  # a service is made for it, over the backend's cache
    assert session.service.translations is alone.translations
    SamplerV2(mode=session).run([bell()], shots=4).result()
    assert len(alone.translations.circuits) == 1 and len(cache.circuits) == 0
    other.runtime.shutdown(wait=False, cancel_pending=True)


def test_the_face_keeps_no_cache_at_module_level() -> None:
    kinds = (
        CircuitCache,
        CoercedObservableCache,
        ObservableCache,
        SamplerPubCache,
        TranslationCache,
    )
    face = qsession_provider.qiskit.__name__
    modules = [m for name, m in sys.modules.items() if name.startswith(face)]
    assert len(modules) > 10
    for module in modules:
        for name, value in vars(module).items():
            assert not isinstance(value, kinds), f"{module.__name__}.{name}"
