"""Bad input gives a clear error and changes nothing: sessions, other jobs and the store survive."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import RunPayload, SamplerPayload, SamplerPub
from qsession_provider.core.job import JobStatus
from qsession_provider.core.store.protocol import JobQuery
from qsession_provider.errors import (
    DeviceNotFoundError,
    InputError,
    SessionClosedError,
    SessionNotFoundError,
)

pytestmark = pytest.mark.timeout(30)


def bell(width: int = 2) -> Circuit:
    ops = [Gate("h", (0,)), Gate("x", (width - 1,), controls=(0,))]
    ops += [Measure(q, "c", q) for q in range(width)]
    return Circuit(width, ops, {"c": width})


def sampler(width: int = 2, shots: int = 100) -> SamplerPayload:
    return SamplerPayload((SamplerPub(bell(width), None, shots),), seed=7)


def snapshot(rt: Any, session_id: str, job: Any) -> tuple[Any, ...]:
    """Everything a bad submission must leave untouched."""
    return (
        [r.to_json() for r in rt.store.query_jobs(JobQuery())],
        rt.session(session_id).to_json(),
        job.record,
        rt.pending_jobs("fake_qpu"),
    )


@pytest.fixture
def busy(manual_runtime: Any, manual_clock: Any, payload: Any) -> tuple[Any, str, Any]:
    """A runtime with an open session and a job in flight."""
    session = manual_runtime.open_session("fake_qpu")
    job = manual_runtime.submit("echo", "fake_qpu", payload(), session_id=session.id)
    manual_clock.advance(1)
    return manual_runtime, session.id, job


BAD_SUBMISSIONS: list[tuple[str, Callable[[Any, str], Any], type[Exception], str]] = [
    (
        "unknown device",
        lambda rt, s: rt.submit("sampler", "nope", sampler()),
        DeviceNotFoundError,
        "no device named 'nope'; available devices: fake_qpu, fake_sim",
    ),
    (
        "too many qubits",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(width=7)),
        InputError,
        "7 qubits, more than the device's 5",
    ),
    (
        "too many qubits in a session",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(width=7), session_id=s),
        InputError,
        "more than the device's 5",
    ),
    (
        "unknown program",
        lambda rt, s: rt.submit("qaoa", "fake_qpu", sampler()),
        InputError,
        "does not run program 'qaoa'",
    ),
    (
        "unknown session",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), session_id="missing"),
        SessionNotFoundError,
        "missing",
    ),
    (
        "session on another device",
        lambda rt, s: rt.submit("sampler", "fake_sim", sampler(), session_id=s),
        InputError,
        "runs on device 'fake_qpu'",
    ),
    (
        "tags as a string",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), tags="vqe"),
        InputError,
        "tags must be a list of strings",
    ),
    (
        "priority not an int",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), priority="high"),
        InputError,
        "priority must be an integer",
    ),
    (
        "negative max_execution_time",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), max_execution_time=-5),
        InputError,
        "invalid duration",
    ),
    (
        "unencodable payload",
        lambda rt, s: rt.submit("echo", "fake_qpu", {"x": object()}),
        InputError,
        "payload cannot be stored",
    ),
    (
        "unencodable metadata",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), metadata={"f": print}),
        InputError,
        "metadata cannot be stored",
    ),
    (
        "empty instance",
        lambda rt, s: rt.submit("sampler", "fake_qpu", sampler(), instance=""),
        InputError,
        "instance must be a non-empty string",
    ),
]


@pytest.mark.parametrize(
    ("label", "call", "error", "message"), BAD_SUBMISSIONS, ids=[b[0] for b in BAD_SUBMISSIONS]
)
def test_a_bad_submission_raises_clearly_and_changes_nothing(
    busy: tuple[Any, str, Any],
    manual_clock: Any,
    label: str,
    call: Any,
    error: type[Exception],
    message: str,
) -> None:
    rt, session_id, job = busy
    before = snapshot(rt, session_id, job)
    with pytest.raises(error, match=_escape(message)):
        call(rt, session_id)
    assert snapshot(rt, session_id, job) == before
    manual_clock.advance(10)  # the runtime carries on as if nothing happened
    assert job.status is JobStatus.DONE
    ok = rt.submit("sampler", "fake_qpu", sampler(), session_id=session_id)
    manual_clock.advance(10)
    assert ok.status is JobStatus.DONE


def test_a_duplicate_job_id_is_refused(busy: tuple[Any, str, Any]) -> None:
    rt, session_id, job = busy
    before = snapshot(rt, session_id, job)
    with pytest.raises(InputError, match="already exists"):
        rt.submit("sampler", "fake_qpu", sampler(), job_id=job.id)
    assert snapshot(rt, session_id, job) == before


@pytest.mark.parametrize("shots", [-1, 0, 1.5, "100", True])
def test_bad_shots_are_refused_before_a_payload_exists(shots: Any) -> None:
    with pytest.raises(InputError, match="shots must be a positive integer"):
        SamplerPub(bell(), None, shots)
    with pytest.raises(InputError, match="shots must be a positive integer"):
        RunPayload((bell(),), shots=shots)


def test_device_shot_limits_are_enforced(runtime: Any, engine: Any) -> None:
    from qsession_provider.core.device import Device

    runtime.add_device(
        Device("tiny", 3, engine, programs={"sampler"}, max_shots=1000, max_executions=2)
    )
    with pytest.raises(InputError, match="2000 shots, more than device 'tiny' allows"):
        runtime.submit("sampler", "tiny", sampler(shots=2000))
    values = np.zeros((3, 0))
    wide = SamplerPayload((SamplerPub(bell(), values, 10),))
    with pytest.raises(InputError, match="3 circuit executions"):
        runtime.submit("sampler", "tiny", wide)
    assert runtime.jobs() == []


@pytest.mark.parametrize("how", ["close", "cancel"])
def test_submitting_to_a_closed_or_cancelled_session_changes_nothing(
    busy: tuple[Any, str, Any], manual_clock: Any, how: str
) -> None:
    rt, session_id, job = busy
    getattr(rt, f"{how}_session")(session_id)
    before = snapshot(rt, session_id, job)
    with pytest.raises(SessionClosedError, match="does not accept new jobs"):
        rt.submit("sampler", "fake_qpu", sampler(), session_id=session_id)
    assert snapshot(rt, session_id, job) == before
    manual_clock.advance(10)
    assert job.status is JobStatus.DONE  # the running job still finished


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"mode": "exclusive"}, "invalid session mode 'exclusive'"),
        ({"failure_policy": "retry"}, "invalid failure policy 'retry'"),
        ({"max_ttl": "forever"}, "invalid duration 'forever'"),
        ({"max_ttl": 0}, "max_ttl must be > 0"),
        ({"interactive_ttl": -1}, "invalid duration"),
        ({"idle_scope": "sometimes"}, "invalid idle scope"),
        ({"name": 5}, "name must be a string"),
        ({"metadata": {"x": object()}}, "metadata cannot be stored"),
    ],
)
def test_bad_session_arguments(runtime: Any, kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=_escape(message)):
        runtime.open_session("fake_qpu", **kwargs)
    assert runtime.sessions() == []


def test_bad_query_arguments(runtime: Any) -> None:
    with pytest.raises(InputError, match="unknown job status 'FINISHED'"):
        runtime.jobs(status="FINISHED")
    with pytest.raises(InputError, match="limit must be a non-negative integer"):
        runtime.jobs(limit=-1)
    with pytest.raises(InputError, match="invalid session state"):
        runtime.sessions(state="sleeping")
    with pytest.raises(DeviceNotFoundError):
        runtime.open_session("nope")


def _escape(text: str) -> str:
    import re

    return re.escape(text)
