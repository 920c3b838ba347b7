"""RemoteRuntime against the server's app in this process (Starlette's TestClient).

The runtime behind the app runs on a virtual clock with auto-advance, as ``qsession serve
--virtual-clock`` does: a client's long-poll moves time exactly as an embedded wait would,
so timeouts are tested in virtual seconds, never by sleeping.
"""

from __future__ import annotations

import sys
import threading
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("httpx")
pytest.importorskip("starlette")

from qsession_provider.client import RuntimeAPI, open_runtime  # noqa: E402
from qsession_provider.client.remote import RemoteJob, RemoteRuntime, connect  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub  # noqa: E402
from qsession_provider.core.job import JobStatus  # noqa: E402
from qsession_provider.core.session import SessionState  # noqa: E402
from qsession_provider.core.user import TokenRecord, hash_token  # noqa: E402
from qsession_provider.errors import (  # noqa: E402
    DeviceNotFoundError,
    ForbiddenError,
    InputError,
    InvalidJobStateError,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    NotAuthorizedError,
    QSessionError,
    SessionClosedError,
    SessionNotFoundError,
)
from qsession_provider.testing import assert_results_equal  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import in_process_app  # noqa: E402

pytestmark = pytest.mark.timeout(120)

URL = "http://testserver"
USERS = {"alice": ("team-a", False), "bob": ("team-b", False), "root": ("ops", True)}


def bell(shots: int = 16, seed: int | None = 7) -> SamplerPayload:
    circuit = Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )
    return SamplerPayload((SamplerPub(circuit, None, shots),), seed=seed)


class Counting:
    """Counts the requests sent through a client (to check round trips)."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.sent: list[tuple[str, str]] = []

    def request(self, method: str, url: str, **kwargs: Any) -> Any:
        self.sent.append((method, str(url).split("/api/v1", 1)[-1]))
        return self._client.request(method, url, **kwargs)


@pytest.fixture
def server_runtime() -> Iterator[Any]:
    runtime = open_runtime(":memory:", clock=VirtualClock())
    for name, (instance, admin) in USERS.items():
        runtime.store.add_token(TokenRecord(name, hash_token(f"tok-{name}"), instance, 1.0, admin))
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def app(server_runtime: Any) -> Iterator[Any]:
    with in_process_app(server_runtime) as client:
        yield client


@pytest.fixture
def counting(app: Any) -> Counting:
    return Counting(app)


@pytest.fixture
def alice(counting: Counting) -> Iterator[RemoteRuntime]:
    runtime = connect(URL, "tok-alice", client=counting)
    yield runtime
    runtime.shutdown()


@pytest.fixture
def bob(app: Any) -> Iterator[RemoteRuntime]:
    runtime = connect(URL, "tok-bob", client=app)
    yield runtime
    runtime.shutdown()


@pytest.fixture
def root(app: Any) -> Iterator[RemoteRuntime]:
    runtime = connect(URL, "tok-root", client=app)
    yield runtime
    runtime.shutdown()


# -- connecting --------------------------------------------------------------------------------
def test_connect_reads_who_the_token_is(alice: RemoteRuntime, root: RemoteRuntime) -> None:
    assert isinstance(alice, RuntimeAPI)
    assert (alice.user, alice.instance, alice.admin) == ("alice", "team-a", False)
    assert root.admin and root.whoami() == {"user": "root", "instance": "ops", "admin": True}
    assert alice.location == URL and not alice.closed
    assert "alice" in repr(alice)


@pytest.mark.parametrize(
    ("url", "token", "timeout", "message"),
    [
        ("ftp://host", "t", 1.0, "url must be an http"),
        ("127.0.0.1:8765", "t", 1.0, "url must be an http"),
        (None, "t", 1.0, "url must be an http"),
        (URL, "", 1.0, "token must be a non-empty string"),
        (URL, "two words", 1.0, "token must be a non-empty string"),
        (URL, "t", 0, "timeout must be a number of seconds > 0"),
        (URL, "t", True, "timeout must be a number of seconds > 0"),
    ],
)
def test_bad_connect_arguments_name_the_problem(
    app: Any, url: Any, token: Any, timeout: Any, message: str
) -> None:
    with pytest.raises(InputError, match=message):
        connect(url, token, timeout=timeout, client=app)


def test_an_unknown_token_is_not_authorized_and_disturbs_nothing(
    app: Any, alice: RemoteRuntime
) -> None:
    job = alice.submit("sampler", "statevector", bell())
    with pytest.raises(NotAuthorizedError, match="token"):
        connect(URL, "tok-nobody", client=app)
    assert alice.job(job.id).succeeded() and alice.whoami()["user"] == "alice"


def test_an_unreachable_server_is_named() -> None:
    with pytest.raises(
        QSessionError, match="cannot reach the qsession server at http://127.0.0.1:9"
    ):
        connect("http://127.0.0.1:9", "tok", timeout=2.0)


def test_url_with_api_prefix_or_slash_is_the_server(app: Any) -> None:
    runtime = connect(URL + "/api/v1/", "tok-alice", client=app)
    assert runtime.location == URL


# -- devices -----------------------------------------------------------------------------------
def test_devices_are_described_as_the_server_has_them(
    alice: RemoteRuntime, server_runtime: Any
) -> None:
    local = {d.name: d for d in server_runtime.devices()}
    remote = alice.devices()
    assert [d.name for d in remote] == sorted(local)
    for device in remote:
        mine = local[device.name]
        for field in (
            "num_qubits",
            "basis_gates",
            "coupling_map",
            "slots",
            "simulator",
            "programs",
            "description",
            "can_cancel_running",
            "max_shots",
            "max_executions",
        ):
            assert getattr(device, field) == getattr(mine, field), field
        # The timing model's rates travel; a fake backend's per-gate durations (what makes
        # its CalibratedTiming) stay with the server, which computes job times itself.
        for rate in ("per_job", "per_circuit", "per_shot"):
            assert getattr(device.timing, rate) == getattr(mine.timing, rate), rate
        assert dict(device.properties) == dict(mine.properties)
    falcon = alice.device("emulated_falcon_27")
    with pytest.raises(QSessionError, match="device emulated_falcon_27 runs on the server"):
        falcon.execute("sampler", bell())
    with pytest.raises(DeviceNotFoundError, match="nope"):
        alice.device("nope")
    assert alice.pending_jobs("statevector") == 0 and alice.holder("emulated_falcon_27") is None


def test_devices_are_read_once(alice: RemoteRuntime, counting: Counting) -> None:
    alice.devices()
    alice.device("statevector")
    alice.devices()
    assert [path for _, path in counting.sent].count("/devices") == 1


# -- jobs --------------------------------------------------------------------------------------
def test_a_tiny_job_is_one_round_trip(alice: RemoteRuntime, counting: Counting) -> None:
    counting.sent.clear()
    job = alice.submit("sampler", "statevector", bell(), tags=["t"], name="bell")
    result = job.result()
    assert counting.sent == [("POST", "/jobs")]
    assert isinstance(job, RemoteJob) and job.succeeded() and job.in_final_state()
    bits = result["pubs"][0]["registers"]["c"].unpack()
    assert bits.shape == (16, 2) and (bits[:, 0] == bits[:, 1]).all()
    assert (job.name, job.tags, job.instance, job.program_id) == (
        "bell",
        ("t",),
        "team-a",
        "sampler",
    )


def test_a_short_job_that_is_not_tiny_is_one_round_trip_too(
    alice: RemoteRuntime, counting: Counting
) -> None:
    # 12 qubits: computed by the server's executor, not at submission; the submission waits
    # for it briefly (real time: the server's virtual clock does not move) and answers final.
    ops: list[Any] = [Gate("h", (0,))] + [Gate("x", (q + 1,), controls=(q,)) for q in range(11)]
    ops += [Measure(q, "c", q) for q in range(12)]
    wide = SamplerPayload((SamplerPub(Circuit(12, ops, {"c": 12}), None, 8),), seed=2)
    start = alice.clock.now()
    counting.sent.clear()
    result = alice.submit("sampler", "statevector", wide).result()
    bits = result["pubs"][0]["registers"]["c"].unpack()
    assert counting.sent == [("POST", "/jobs")]
    assert bits.shape == (8, 12) and all(len(set(row)) == 1 for row in bits.tolist())
    assert alice.clock.now() == start


def test_results_equal_the_embedded_ones(alice: RemoteRuntime) -> None:
    embedded = open_runtime(":memory:", clock=VirtualClock())
    try:
        here = embedded.submit("sampler", "emulated_falcon_27", bell(100, seed=3)).result()
    finally:
        embedded.shutdown()
    there = alice.submit("sampler", "emulated_falcon_27", bell(100, seed=3)).result()
    assert_results_equal(there, here)


def test_a_qpu_job_waits_on_the_server_clock(alice: RemoteRuntime, counting: Counting) -> None:
    job = alice.submit("sampler", "emulated_falcon_27", bell(1000))  # 1 + 0.05 + 0.25 s
    assert job.status in (JobStatus.QUEUED, JobStatus.RUNNING) and not job.in_final_state()
    start = alice.clock.now()
    counting.sent.clear()
    assert job.wait() is True
    assert [m for m, _ in counting.sent] == ["POST"]  # one long-poll, no busy polling
    assert job.finished_at == pytest.approx(start + 1.3)
    assert job.record.execution_time == pytest.approx(1.3)


def test_timeouts_are_server_clock_seconds(alice: RemoteRuntime) -> None:
    job = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    start = alice.clock.now()
    assert job.wait(0.5) is False
    assert alice.clock.now() == pytest.approx(start + 0.5)
    with pytest.raises(JobTimeoutError, match=rf"job {job.id} did not finish within 0.25 s"):
        job.result(timeout=0.25)
    assert job.wait(0) is False
    assert job.result(timeout=10)["pubs"]
    assert job.wait(0) is True


def test_failed_and_cancelled_jobs_raise_as_embedded(alice: RemoteRuntime) -> None:
    bad = alice.submit("sampler", "emulated_falcon_27", bell(1000), max_execution_time=0.5)
    with pytest.raises(JobFailedError, match=rf"job {bad.id} failed: .*0.5") as info:
        bad.result()
    assert info.value.error_code == "max_execution_time" and info.value.job_id == bad.id
    assert bad.errored() and "0.5" in (bad.error_message or "")
    first = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    second = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    assert second.cancel() is True and second.cancelled()
    with pytest.raises(JobCancelledError, match=rf"job {second.id} was cancelled: cancelled by"):
        second.result()
    assert alice.cancel_job(second.id) is False
    assert first.result()["pubs"]


def test_fail_with_travels(alice: RemoteRuntime) -> None:
    bad = alice.submit("sampler", "statevector", bell(), fail_with="the input was refused")
    with pytest.raises(JobFailedError, match=rf"job {bad.id} failed: .*the input was refused"):
        bad.result()
    assert bad.error_code == "execution_failed"


def test_jobs_by_id_share_one_handle_and_fetch_payload_lazily(alice: RemoteRuntime) -> None:
    payload = bell(32)
    job = alice.submit("sampler", "statevector", payload)
    assert alice.job(job.id) is job and job.payload is payload
    other = connect(URL, "tok-alice", client=alice._http._client)
    try:
        again = other.job(job.id)
        assert again is not job and again.is_foreign
        assert again.payload.to_json_text() == payload.to_json_text()
        assert_results_equal(again.result(), job.result())
    finally:
        other.shutdown()


def test_listing_filters(alice: RemoteRuntime) -> None:
    a = alice.submit("sampler", "statevector", bell(), tags=["x", "y"], name="alpha")
    b = alice.submit("sampler", "statevector", bell(), tags=["x"], name="beta")
    q = alice.submit("sampler", "emulated_falcon_27", bell(1000), name="queued")
    ids = lambda jobs: [j.id for j in jobs]  # noqa: E731
    assert ids(alice.jobs()) == [q.id, b.id, a.id]
    assert ids(alice.jobs(descending=False, limit=2)) == [a.id, b.id]
    assert ids(alice.jobs(skip=1, limit=1)) == [b.id]
    assert ids(alice.jobs(tags=["x", "y"])) == [a.id]
    assert ids(alice.jobs(name_prefix="al")) == [a.id]
    assert ids(alice.jobs(pending=True)) == [q.id]
    assert ids(alice.jobs(status=["DONE"], device="statevector")) == [b.id, a.id]
    assert ids(alice.jobs(status=JobStatus.DONE, program_id="sampler")) == [b.id, a.id]
    later = datetime.fromtimestamp(alice.clock.now() + 60, tz=timezone.utc)
    assert alice.jobs(created_after=later) == []
    assert ids(alice.jobs(instance="team-a")) == [q.id, b.id, a.id]
    assert alice.jobs(instance="team-b") == []  # a user's jobs are all of the token's instance
    with pytest.raises(InputError, match="status"):
        alice.jobs(status="SLEEPING")
    with pytest.raises(InputError, match="limit"):
        alice.jobs(limit=-1)
    assert q.result()


def test_update_and_delete(alice: RemoteRuntime) -> None:
    job = alice.submit("sampler", "statevector", bell(), metadata={"k": (1, 2)})
    assert job.metadata == {"k": (1, 2)}
    same = alice.update_job(job.id, name="renamed", tags=["a"], metadata={"k": [3]})
    assert same is job and (job.name, job.tags, job.metadata) == ("renamed", ("a",), {"k": [3]})
    pending = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    with pytest.raises(InvalidJobStateError, match="only finished jobs can be deleted"):
        alice.delete_job(pending.id)
    alice.delete_job(job.id)
    with pytest.raises(JobNotFoundError):
        alice.job(job.id)
    assert pending.result()


def test_bad_submissions_name_the_problem_and_queue_nothing(alice: RemoteRuntime) -> None:
    kept = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    wide = Circuit(40, [Measure(39, "c", 0)], {"c": 1})
    bad: list[tuple[type[Exception], str, dict[str, Any]]] = [
        (DeviceNotFoundError, "nope", {"device": "nope"}),
        (
            InputError,
            "more than the device's 27",
            {"payload": SamplerPayload((SamplerPub(wide, None, 1),))},
        ),
        (InputError, "metadata cannot be stored", {"metadata": {"f": object()}}),
        (InputError, "payload cannot be stored", {"payload": object()}),
        (InputError, "tags", {"tags": "abc"}),
        (InputError, "priority", {"priority": "high"}),
        (InputError, "max_execution_time", {"max_execution_time": -1}),
    ]
    for error, message, change in bad:
        args: dict[str, Any] = {"device": "emulated_falcon_27", "payload": bell(), **change}
        with pytest.raises(error, match=message):
            alice.submit("sampler", args.pop("device"), args.pop("payload"), **args)
    assert [j.id for j in alice.jobs()] == [kept.id]
    assert kept.result()


def test_done_callbacks_run_once_final(alice: RemoteRuntime) -> None:
    done = threading.Event()
    seen: list[str] = []
    job = alice.submit("sampler", "emulated_falcon_27", bell(1000))

    def callback(j: RemoteJob) -> None:
        seen.append(j.id)
        done.set()

    job.add_done_callback(callback)
    assert job.wait() is True
    assert done.wait(30) and seen == [job.id]
    job.add_done_callback(lambda j: seen.append("again"))  # final: at once
    assert seen == [job.id, "again"]


# -- sessions ----------------------------------------------------------------------------------
def test_sessions_open_list_close_and_cancel(alice: RemoteRuntime) -> None:
    session = alice.open_session(
        "emulated_falcon_27", mode="dedicated", max_ttl="1h", tags=("s",), name="one"
    )
    assert session.state is SessionState.OPEN and session.instance == "team-a"
    job = alice.submit("sampler", "emulated_falcon_27", bell(), session_id=session.id)
    assert alice.session(session.id).root_job_id == job.id
    batch = alice.open_session("statevector", mode="batch", idle_timeout=None)
    assert batch.idle_timeout is None
    assert [s.id for s in alice.sessions()] == [batch.id, session.id]
    assert [s.id for s in alice.sessions(mode="batch")] == [batch.id]
    assert [s.id for s in alice.sessions(name_prefix="on", state=["open", "active"])] == [
        session.id
    ]
    assert alice.sessions(instance="elsewhere") == []
    closing = alice.close_session(session.id)
    assert not closing.accepting_jobs
    with pytest.raises(SessionClosedError):
        alice.submit("sampler", "emulated_falcon_27", bell(), session_id=session.id)
    assert job.result() and alice.session(session.id).is_closed
    assert alice.cancel_session(batch.id).is_closed
    with pytest.raises(SessionNotFoundError):
        alice.session("nope")
    with pytest.raises(InputError, match="mode"):
        alice.open_session("statevector", mode="sideways")


# -- users -------------------------------------------------------------------------------------
def test_users_see_only_their_own_work(
    alice: RemoteRuntime, bob: RemoteRuntime, root: RemoteRuntime
) -> None:
    job = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    session = alice.open_session("statevector", mode="batch")
    with pytest.raises(JobNotFoundError):
        bob.job(job.id)
    with pytest.raises(JobNotFoundError):
        bob.cancel_job(job.id)
    with pytest.raises(JobNotFoundError):
        bob.delete_job(job.id)
    with pytest.raises(SessionNotFoundError):
        bob.session(session.id)
    with pytest.raises(SessionNotFoundError):
        bob.submit("sampler", "statevector", bell(), session_id=session.id)
    assert bob.jobs() == [] and bob.sessions() == []
    assert [j.id for j in root.jobs(user="alice")] == [job.id]
    assert [j.id for j in root.jobs(instance="team-a")] == [job.id]
    assert root.job(job.id).result()
    assert not job.cancelled()


def test_an_admin_may_charge_another_instance(root: RemoteRuntime, bob: RemoteRuntime) -> None:
    assert root.submit("sampler", "statevector", bell(), instance="lab").instance == "lab"
    with pytest.raises(ForbiddenError, match="instance"):
        bob.submit("sampler", "statevector", bell(), instance="lab")


# -- the clock ---------------------------------------------------------------------------------
def test_remote_clock(alice: RemoteRuntime, root: RemoteRuntime, server_runtime: Any) -> None:
    assert alice.clock.virtual and alice.clock.now() == server_runtime.clock.now()
    before = server_runtime.clock.now()
    assert root.clock.advance("30m") == before + 1800 == server_runtime.clock.now()
    assert root.clock.advance(1.5) == before + 1801.5
    with pytest.raises(ForbiddenError):
        alice.clock.advance(10)
    with pytest.raises(InputError, match="seconds"):
        root.clock.advance("soon")
    assert server_runtime.clock.now() == before + 1801.5
    for call in (
        lambda: alice.clock.call_later(1, print),
        lambda: alice.clock.call_at(1, print),
        lambda: alice.clock.hold(),
        lambda: alice.clock.sleep(1),
    ):
        with pytest.raises(QSessionError, match="runs on the server"):
            call()
    alice.clock.close()
    assert "testserver" in repr(alice.clock)


# -- lifecycle ---------------------------------------------------------------------------------
def test_shutdown_closes_the_connection_only(
    alice: RemoteRuntime, app: Any, server_runtime: Any
) -> None:
    job = alice.submit("sampler", "emulated_falcon_27", bell(1000))
    with alice:
        pass
    assert alice.closed
    alice.shutdown()  # idempotent
    with pytest.raises(QSessionError, match="closed"):
        alice.job(job.id)
    assert not server_runtime.closed
    assert connect(URL, "tok-alice", client=app).job(job.id).result()
