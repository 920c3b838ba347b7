"""Sessions through the Cirq face: targets open them, samplers join them, rules apply."""

from __future__ import annotations

from collections.abc import Iterator
from enum import Enum
from types import SimpleNamespace
from typing import Any

import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")

from qsession_provider.cirq import Sampler, Service, Session, UnsuccessfulJobError  # noqa: E402
from qsession_provider.core import (  # noqa: E402
    Device,
    DeviceRegistry,
    MemoryStore,
    Runtime,
    VirtualClock,
)
from qsession_provider.errors import (  # noqa: E402
    InputError,
    SessionClosedError,
    SessionNotFoundError,
)
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402

pytestmark = pytest.mark.timeout(60)

Q = cirq.LineQubit.range(2)
T = sympy.Symbol("t")
FLIP = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))


@pytest.fixture(scope="module")
def builtin_devices() -> list[Device]:
    return list(build_device_registry(get_plugin_manager(load_entry_points=False)))


def _fail_on_odd_shots(program_id: str, payload: Any) -> Any:
    """A QPU that fails every job asking for an odd number of repetitions."""
    if payload.pubs[0].shots % 2:
        raise RuntimeError("readout amplifier tripped")
    falcon = _fail_on_odd_shots.falcon  # type: ignore[attr-defined]
    return falcon.execute(program_id, payload)


@pytest.fixture
def rt(builtin_devices: list[Device]) -> Iterator[Runtime]:
    registry = DeviceRegistry()
    for device in builtin_devices:
        registry.register(device)
    _fail_on_odd_shots.falcon = registry.get("emulated_falcon_27")  # type: ignore[attr-defined]
    registry.register(Device("flaky_qpu", 5, _fail_on_odd_shots))
    runtime = Runtime(store=MemoryStore(), clock=VirtualClock(start=0), devices=registry)
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def service(rt: Runtime) -> Service:
    return Service(runtime=rt, default_target="emulated_falcon_27")


def test_jobs_of_a_target_session_carry_its_id(rt: Runtime, service: Service) -> None:
    target = service.get_target()
    with target.open_session(name="sweep") as session:
        results = target.sampler(seed=1).run_sweep(FLIP, cirq.Points("t", [0, 1]), 20)
        single = target.submit(FLIP, repetitions=4, param_resolver={"t": 1})
        assert single.results().histogram(key="m")[1] == 4
        assert session.status() in ("active", "inactive")
    in_store = rt.jobs(session_id=session.id, descending=False)
    assert [j.id for j in in_store] == [results[0].job_id, single.job_id()]
    assert [j.job_id() for j in session.list_jobs()] == [j.id for j in in_store]
    assert all(j.session_id == session.id for j in in_store)
    assert session.status() == "closed" and not session.accepting_jobs
    assert session.name == "sweep" and session.target == "emulated_falcon_27"


def test_closed_session_rejects_new_jobs_and_nothing_else_breaks(
    rt: Runtime, service: Service
) -> None:
    target = service.get_target()
    session = target.open_session()
    bound = Sampler(runtime=rt, session=session)
    assert bound.device == "emulated_falcon_27"  # taken from the session
    assert bound.run(FLIP, {"t": 1}, repetitions=3).histogram(key="m")[1] == 3
    session.close()
    with pytest.raises(SessionClosedError, match=f"session {session.id} is closed"):
        bound.run(FLIP, {"t": 1})
    with pytest.raises(SessionClosedError, match="target.open_session"):
        target.submit(FLIP, param_resolver={"t": 1})
    with pytest.raises(SessionClosedError):
        service.run(FLIP, 5, param_resolver={"t": 1})
    # Job mode and other sessions keep working.
    assert Sampler("emulated_falcon_27", runtime=rt).run(FLIP, {"t": 1}).repetitions == 1
    target.latest_session = None
    assert service.run(FLIP, 5, param_resolver={"t": 1}).histogram(key="m")[1] == 5
    with target.open_session() as fresh:
        assert service.run(FLIP, 5, param_resolver={"t": 0}).histogram(key="m")[0] == 5
    assert [j.session_id for j in fresh.list_jobs()] == [fresh.id]
    assert len(session.list_jobs()) == 1


def test_open_session_closes_the_previous_latest_session(service: Service) -> None:
    target = service.get_target("statevector")
    first = target.open_session(name="first")
    second = target.open_session(name="second", mode="batch")
    assert target.latest_session is second
    assert first.status() == "closed" and second.status() == "open"
    assert second.mode == "batch"
    assert service.sampler("statevector").session_id == second.id


def test_session_handles_and_details(rt: Runtime, service: Service) -> None:
    session = service.get_target().open_session(max_time="25m")
    assert session.name == f"session-{session.id}"
    again = Session.from_id(service, session.id)
    assert again == Session.from_id(rt, session.id) == service.get_session(session.id)
    details = again.details
    assert details["id"] == session.id and details["device"] == "emulated_falcon_27"
    assert details["state"] == "open" and details["mode"] == "dedicated"
    assert details["max_ttl"] == 1500 and details["failure_policy"] == "abort"
    assert details["idle_timeout"] == 600
    with pytest.raises(SessionNotFoundError):
        Session.from_id(rt, "no-such-session")
    with pytest.raises(TypeError):
        Session.from_id(object(), session.id)
    with pytest.raises(InputError, match="mode"):
        service.get_target().open_session(mode="exclusive")


@pytest.mark.parametrize(
    "how",
    ["handle", "id", "session_id-attr", "id-attr", "session_id-method"],
)
def test_sampler_accepts_any_session_like(rt: Runtime, how: str) -> None:
    session = Session.open(rt, "statevector")
    given = {
        "handle": session,
        "id": session.id,
        "session_id-attr": SimpleNamespace(session_id=session.id),
        "id-attr": SimpleNamespace(id=session.id),
        "session_id-method": SimpleNamespace(session_id=lambda: session.id),
    }[how]
    sampler = Sampler(runtime=rt, session=given)
    result = sampler.run(FLIP, {"t": 1})
    assert sampler.session_id == session.id == rt.job(result.job_id).session_id


class _Touchy:
    """A foreign session whose properties raise, except its id."""

    def __init__(self, session_id: str) -> None:
        self.session_id = session_id

    def __getattr__(self, name: str) -> Any:
        raise RuntimeError(f"{name} is not available offline")


def test_a_foreign_session_with_raising_properties_is_found_by_id(rt: Runtime) -> None:
    session = Session.open(rt, "statevector")
    sampler = Sampler(runtime=rt, session=_Touchy(session.id))
    assert sampler.session_id == session.id


def test_sampler_refuses_sessions_it_cannot_use(rt: Runtime) -> None:
    session = Session.open(rt, "emulated_falcon_27")
    with pytest.raises(InputError, match="emulated_falcon_27"):
        Sampler("statevector", runtime=rt, session=session)
    with pytest.raises(SessionNotFoundError):
        Sampler(runtime=rt, session="not-a-session")
    with pytest.raises(InputError, match="session_id or id"):
        Sampler(runtime=rt, session=object())
    other = Runtime(store=MemoryStore(), clock=VirtualClock(start=0), devices=list(rt.devices()))
    try:
        with pytest.raises(InputError, match="different runtimes"):
            Sampler(runtime=other, session=session)
    finally:
        other.shutdown()


def test_cancel_fails_queued_jobs_and_closes(service: Service) -> None:
    target = service.get_target()
    session = target.open_session()
    jobs = [target.submit(FLIP, repetitions=100, param_resolver={"t": 1}) for _ in range(3)]
    session.cancel()
    assert session.status() == "closed"
    assert jobs[0].results().histogram(key="m")[1] == 100  # running when cancelled: finishes
    for job in jobs[1:]:
        assert job.status() in ("failed", "canceled")
        with pytest.raises(UnsuccessfulJobError):
            job.results()


def test_abort_policy_ends_the_session_on_a_failed_job(rt: Runtime, service: Service) -> None:
    target = service.get_target("flaky_qpu")
    with target.open_session() as session:
        sampler = target.sampler()
        sampler.run(FLIP, {"t": 1}, repetitions=2)
        with pytest.raises(UnsuccessfulJobError, match="readout amplifier tripped"):
            sampler.run(FLIP, {"t": 1}, repetitions=3)
        with pytest.raises(SessionClosedError, match="failed"):
            sampler.run(FLIP, {"t": 1}, repetitions=2)
    assert session.details["close_reason"] == "job_failed"


class AzurePolicy(str, Enum):
    """Shaped like azure-quantum's ``SessionJobFailurePolicy`` (a str enum)."""

    ABORT = "Abort"
    CONTINUE = "Continue"


@pytest.mark.parametrize("policy", ["Continue", "continue", AzurePolicy.CONTINUE])
def test_continue_policy_keeps_the_session_open(service: Service, policy: Any) -> None:
    target = service.get_target("flaky_qpu")
    with target.open_session(job_failure_policy=policy) as session:
        sampler = Sampler(target)
        with pytest.raises(UnsuccessfulJobError):
            sampler.run(FLIP, {"t": 1}, repetitions=3)
        assert sampler.run(FLIP, {"t": 1}, repetitions=2).histogram(key="m")[1] == 2
        assert session.accepting_jobs and session.details["failed"]
    assert [j.status() for j in session.list_jobs()] == ["failed", "completed"]


def test_idle_session_times_out_after_ten_minutes(rt: Runtime, service: Service) -> None:
    session = service.get_target().open_session()
    rt.clock.advance("9m")
    assert session.status() == "open"
    rt.clock.advance("2m")
    assert session.status() == "closed" and session.details["timed_out"]
    with pytest.raises(SessionClosedError, match="timed out"):
        Sampler(runtime=rt, session=session).run(FLIP, {"t": 1})
