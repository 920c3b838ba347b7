"""Contract checks that plugin and store authors can run on their own code.

* :func:`check_store` runs the store contract - the same checks the project runs against
  :class:`~qsession_provider.core.store.memory.MemoryStore` and
  :class:`~qsession_provider.core.store.sqlite.SQLiteStore` - on any
  :class:`~qsession_provider.core.store.protocol.Store`.
* :func:`check_device` checks a :class:`~qsession_provider.core.device.Device`: its
  description is valid, a payload runs through a real runtime on a virtual clock, the job
  takes the modelled time, and its result survives the store's encoding unchanged.
* :func:`assert_results_equal` compares results (nested dicts, lists, numpy arrays).

Example (in a plugin's test-suite)::

    from qsession_provider.testing import check_device
    def test_my_device():
        check_device(my_device(), "sampler", my_sampler_payload())
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np

from .core.clock import VirtualClock
from .core.device import Device
from .core.ir.encoding import dumps, loads
from .core.job_record import JobErrorCode, JobRecord, JobStatus
from .core.runtime.runtime import Runtime
from .core.session import CloseReason, SessionMode, SessionRecord, SessionState
from .core.store.memory import MemoryStore
from .core.store.processes import ProcessRecord
from .core.store.protocol import JobQuery, SessionQuery, Store
from .core.user import TokenRecord, hash_token
from .errors import AlreadyExistsError, JobNotFoundError, SessionNotFoundError, StoreError

__all__ = ["STORE_CHECKS", "check_store", "check_device", "assert_results_equal"]


def assert_results_equal(actual: Any, expected: Any, path: str = "result") -> None:
    """Assert two results are equal: same structure, equal scalars, equal arrays (and dtypes).

    Raises:
        AssertionError: naming the first place they differ.
    """
    if isinstance(expected, np.ndarray):
        assert isinstance(actual, np.ndarray), f"{path}: expected an array, got {actual!r}"
        assert actual.dtype == expected.dtype, f"{path}: dtype {actual.dtype} != {expected.dtype}"
        assert actual.shape == expected.shape, f"{path}: shape {actual.shape} != {expected.shape}"
        assert np.array_equal(actual, expected), f"{path}: array values differ"
    elif isinstance(expected, dict):
        assert isinstance(actual, dict), f"{path}: expected a dict, got {type(actual).__name__}"
        assert set(actual) == set(expected), f"{path}: keys {set(actual)} != {set(expected)}"
        for key in expected:
            assert_results_equal(actual[key], expected[key], f"{path}[{key!r}]")
    elif isinstance(expected, (list, tuple)):
        assert type(actual) is type(expected), f"{path}: {type(actual)} != {type(expected)}"
        assert len(actual) == len(expected), f"{path}: length {len(actual)} != {len(expected)}"
        for i, (a, e) in enumerate(zip(actual, expected)):
            assert_results_equal(a, e, f"{path}[{i}]")
    else:
        assert actual == expected, f"{path}: {actual!r} != {expected!r}"


# -- the store contract ---------------------------------------------------------------------------
def _job(job_id: str, **changes: Any) -> JobRecord:
    fields: dict[str, Any] = {
        "id": job_id,
        "program_id": "sampler",
        "device": "dev",
        "status": JobStatus.QUEUED,
        "created_at": 100.0,
        "owner": "owner-a",
    }
    fields.update(changes)
    return JobRecord(**fields)


def _session(session_id: str, **changes: Any) -> SessionRecord:
    fields: dict[str, Any] = {
        "id": session_id,
        "device": "dev",
        "mode": SessionMode.DEDICATED,
        "state": SessionState.OPEN,
        "created_at": 100.0,
        "owner": "owner-a",
        "timestamps": ((SessionState.OPEN, 100.0),),
    }
    fields.update(changes)
    return SessionRecord(**fields)


def _process(process_id: str) -> ProcessRecord:
    return ProcessRecord(process_id, 12345, "host", "tok", 1.0, 1.0)


def check_job_round_trip(store: Store) -> None:
    """A job record, its payload and its result read back identical."""
    record = _job(
        "j1",
        tags=("a", "b"),
        name="n",
        session_id="s1",
        instance="team",
        priority=3,
        max_execution_time=5.5,
        user="alice",
        metadata={"arr": [1, 2], "nested": {"x": 1.5}},
    )
    payload = dumps({"values": np.arange(3.0), "c": 1 + 2j})
    store.add_job(record, payload)
    assert store.get_job("j1") == record
    assert store.get_payload("j1") == payload
    assert store.get_result("j1") is None
    result = dumps({"counts": np.array([[0, 1]], dtype=np.uint8)})
    done = record.replace(status=JobStatus.RUNNING, started_at=101.0)
    assert store.update_job(done)
    done = done.replace(status=JobStatus.DONE, finished_at=102.5)
    assert store.update_job(done, result=result)
    assert store.get_job("j1") == done
    assert store.get_result("j1") == result
    assert_results_equal(loads(store.get_result("j1") or ""), loads(result))


def check_duplicate_and_missing(store: Store) -> None:
    """Duplicate ids are refused; unknown ids raise the not-found errors."""
    store.add_job(_job("dup"), "{}")
    try:
        store.add_job(_job("dup"), "{}")
    except StoreError:
        pass
    else:
        raise AssertionError("adding a job twice must raise StoreError")
    store.add_job(_job("fresh-id"), "{}", fresh=True)  # a new random id: no lookup needed
    assert store.get_job("fresh-id").id == "fresh-id"
    for call in (store.get_job, store.get_payload, store.get_result, store.delete_job):
        try:
            call("missing")
        except JobNotFoundError:
            pass
        else:
            raise AssertionError(f"{call.__name__}('missing') must raise JobNotFoundError")
    try:
        store.update_job(_job("missing"))
    except JobNotFoundError:
        pass
    else:
        raise AssertionError("update_job of an unknown job must raise JobNotFoundError")
    store.add_session(_session("sdup"))
    try:
        store.add_session(_session("sdup"))
    except StoreError:
        pass
    else:
        raise AssertionError("adding a session twice must raise StoreError")
    try:
        store.get_session("missing")
    except SessionNotFoundError:
        pass
    else:
        raise AssertionError("get_session('missing') must raise SessionNotFoundError")


def check_final_states_never_change(store: Store) -> None:
    """A stored final status is kept; non-status updates of a final job still work."""
    store.add_job(_job("f"), "{}")
    final = _job("f", status=JobStatus.ERROR, finished_at=5.0, error_message="x")
    assert store.update_job(final)
    assert not store.update_job(_job("f", status=JobStatus.DONE, finished_at=6.0))
    assert store.get_job("f") == final
    renamed = final.replace(name="renamed", tags=("t",))
    assert store.update_job(renamed)
    assert store.get_job("f") == renamed
    store.add_session(_session("sf"))
    closed = _session("sf", state=SessionState.CLOSED, close_reason=CloseReason.CANCELLED)
    assert store.update_session(closed)
    assert not store.update_session(_session("sf", state=SessionState.ACTIVE))
    assert store.get_session("sf") == closed


def check_query_jobs(store: Store) -> None:
    """Every filter, ordering, ties in submission order, skip and limit."""
    specs = [
        ("q1", {"created_at": 10.0, "tags": ("x", "y"), "device": "d1", "name": "alpha"}),
        ("q2", {"created_at": 20.0, "tags": ("x",), "program_id": "estimator", "name": "beta"}),
        ("q3", {"created_at": 20.0, "status": JobStatus.DONE, "session_id": "s"}),
        ("q4", {"created_at": 30.0, "instance": "other", "owner": "owner-b", "name": "alpine"}),
        ("q5", {"created_at": 40.0, "user": "alice", "tags": ("x",)}),
    ]
    for job_id, changes in specs:
        store.add_job(_job(job_id, **changes), "{}")

    def ids(**filters: Any) -> list[str]:
        return [r.id for r in store.query_jobs(JobQuery(**filters))]

    assert ids(user="alice") == ["q5"]
    assert ids(user="alice", tags=("x",), statuses=frozenset({JobStatus.QUEUED})) == ["q5"]
    assert ids(user="bob") == []
    store.delete_job("q5")
    assert ids(user="", descending=False) == ["q1", "q2", "q3", "q4"]
    assert ids(descending=False) == ["q1", "q2", "q3", "q4"]
    assert ids() == ["q4", "q3", "q2", "q1"]
    assert ids(device="d1") == ["q1"]
    assert ids(tags=("x",), descending=False) == ["q1", "q2"]
    assert ids(tags=("x", "y")) == ["q1"]
    assert ids(tags=("x", "nope")) == []
    assert ids(program_id="estimator") == ["q2"]
    assert ids(statuses=frozenset({JobStatus.DONE})) == ["q3"]
    assert ids(statuses=frozenset()) == []
    assert ids(session_id="s") == ["q3"]
    assert ids(instance="other") == ["q4"]
    assert ids(owner="owner-b") == ["q4"]
    assert ids(name_prefix="al", descending=False) == ["q1", "q4"]
    assert ids(created_after=20.0, created_before=20.0, descending=False) == ["q2", "q3"]
    assert ids(skip=1, limit=2) == ["q3", "q2"]
    assert ids(skip=10) == []
    assert ids(limit=0) == []
    assert store.count_jobs(JobQuery(tags=("x",))) == 2
    assert store.count_jobs(JobQuery(limit=1)) == 4
    store.delete_job("q2")
    assert ids(descending=False) == ["q1", "q3", "q4"]
    assert ids(tags=("x",)) == ["q1"]


def check_job_counts_by_session(store: Store) -> None:
    """``count_jobs_by_session``: counts per session and status; sessions without jobs left out."""
    specs = [
        ("c1", "s1", JobStatus.QUEUED),
        ("c2", "s1", JobStatus.QUEUED),
        ("c3", "s1", JobStatus.DONE),
        ("c4", "s2", JobStatus.ERROR),
        ("c5", None, JobStatus.DONE),
        ("c6", "s3", JobStatus.DONE),
    ]
    for job_id, session_id, status in specs:
        store.add_job(_job(job_id, session_id=session_id, status=status), "{}")
    counts = store.count_jobs_by_session(["s1", "s2", "empty"])
    assert counts == {
        "s1": {JobStatus.QUEUED: 2, JobStatus.DONE: 1},
        "s2": {JobStatus.ERROR: 1},
    }, counts
    assert store.count_jobs_by_session([]) == {}
    many = [f"x{k}" for k in range(1200)] + ["s3"]  # more ids than one SQL statement binds
    assert store.count_jobs_by_session(many) == {"s3": {JobStatus.DONE: 1}}


def check_query_sessions(store: Store) -> None:
    """Session filters and ordering."""
    store.add_session(_session("s1", created_at=1.0, name="one"))
    store.add_session(_session("s2", created_at=2.0, mode=SessionMode.BATCH, device="d2"))
    store.add_session(
        _session("s3", created_at=2.0, state=SessionState.CLOSED, instance="i", owner="o", user="u")
    )

    def ids(**filters: Any) -> list[str]:
        return [r.id for r in store.query_sessions(SessionQuery(**filters))]

    assert ids(descending=False) == ["s1", "s2", "s3"]
    assert ids() == ["s3", "s2", "s1"]
    assert ids(mode=SessionMode.BATCH) == ["s2"]
    assert ids(device="d2") == ["s2"]
    assert ids(states=frozenset({SessionState.CLOSED})) == ["s3"]
    assert ids(instance="i") == ["s3"]
    assert ids(owner="o") == ["s3"]
    assert ids(user="u") == ["s3"]
    assert ids(user="", descending=False) == ["s1", "s2"]
    assert store.get_session("s3").user == "u"
    assert ids(name_prefix="on") == ["s1"]
    assert ids(created_after=2.0, descending=False) == ["s2", "s3"]
    assert ids(limit=1, skip=1) == ["s2"]
    record = store.get_session("s1")
    assert record == _session("s1", created_at=1.0, name="one")


def check_metadata_is_copied(store: Store) -> None:
    """Mutating what was passed in or read out does not change the stored record."""
    meta = {"list": [1, 2]}
    store.add_job(_job("m", metadata=meta), "{}")
    meta["list"].append(3)
    read = store.get_job("m")
    assert read.metadata == {"list": [1, 2]}
    read.metadata["list"].append(4)
    assert store.get_job("m").metadata == {"list": [1, 2]}


def check_processes_and_orphans(store: Store) -> None:
    """Process records; marking orphans fails pending jobs and closes open sessions."""
    store.register_process(_process("p-dead"))
    store.register_process(_process("p-live"))
    store.heartbeat("p-live", 50.0)
    store.heartbeat("unknown", 50.0)
    beats = {p.id: p.heartbeat for p in store.processes()}
    assert beats == {"p-dead": 1.0, "p-live": 50.0}
    store.add_job(_job("o1", owner="p-dead"), "{}")
    store.add_job(_job("o2", owner="p-dead", status=JobStatus.RUNNING, started_at=101.0), "{}")
    store.add_job(_job("o3", owner="p-dead", status=JobStatus.DONE, finished_at=102.0), "{}")
    store.add_job(_job("o4", owner="p-live"), "{}")
    store.add_session(_session("os1", owner="p-dead", state=SessionState.ACTIVE))
    store.add_session(_session("os2", owner="p-live"))
    report = store.mark_orphans(["p-dead"], 200.0)
    assert sorted(report.jobs) == ["o1", "o2"]
    assert report.sessions == ("os1",)
    for job_id in ("o1", "o2"):
        record = store.get_job(job_id)
        assert record.status is JobStatus.ERROR
        assert record.error_code == JobErrorCode.ORPHANED.value
        assert record.finished_at == 200.0
        assert "exited" in (record.error_message or "")
    assert store.get_job("o3").status is JobStatus.DONE
    assert store.get_job("o4").status is JobStatus.QUEUED
    orphaned = store.get_session("os1")
    assert orphaned.state is SessionState.CLOSED
    assert orphaned.close_reason is CloseReason.OWNER_EXITED
    assert not orphaned.accepting_jobs
    assert store.get_session("os2").state is SessionState.OPEN
    assert [p.id for p in store.processes()] == ["p-live"]
    store.unregister_process("p-live")
    assert store.processes() == []
    assert store.mark_orphans([], 1.0).jobs == ()


def check_adopt_orphans(store: Store) -> None:
    """Adopting re-owns the pending work of gone processes and of owners without a record."""
    for process_id in ("p-dead", "p-live", "p-new"):
        store.register_process(_process(process_id))
    store.add_job(_job("a1", owner="p-dead"), "{}")
    store.add_job(_job("a2", owner="p-dead", status=JobStatus.RUNNING, started_at=101.0), "{}")
    store.add_job(_job("a3", owner="p-dead", status=JobStatus.DONE, finished_at=102.0), "{}")
    store.add_job(_job("a4", owner="p-live"), "{}")
    store.add_job(_job("a5", owner="p-kept", user="u", metadata={"k": [1]}), "{}")
    store.add_session(_session("as1", owner="p-dead", state=SessionState.ACTIVE))
    store.add_session(_session("as2", owner="p-dead", state=SessionState.CLOSED))
    store.add_session(_session("as3", owner="p-live"))
    store.add_session(_session("as4", owner="p-kept", user="u"))
    taken = store.adopt_orphans(["p-dead"], "p-new")
    assert [r.id for r in taken.jobs] == ["a1", "a2", "a5"]  # submission order
    assert [r.owner for r in taken.jobs] == ["p-dead", "p-dead", "p-kept"]  # as they were
    assert taken.jobs[2] == _job("a5", owner="p-kept", user="u", metadata={"k": [1]})
    assert [r.id for r in taken.sessions] == ["as1", "as4"]
    for job_id in ("a1", "a2", "a5"):
        record = store.get_job(job_id)
        assert record.owner == "p-new" and record.status in (JobStatus.QUEUED, JobStatus.RUNNING)
    assert store.get_job("a2").status is JobStatus.RUNNING  # nothing else changed
    assert store.get_job("a5").metadata == {"k": [1]}
    assert store.get_job("a3").owner == "p-dead"
    assert store.get_job("a4").owner == "p-live"
    assert store.get_session("as1").owner == "p-new"
    assert store.get_session("as1").state is SessionState.ACTIVE
    assert store.get_session("as2").owner == "p-dead"
    assert store.get_session("as3").owner == "p-live"
    assert [r.id for r in store.query_jobs(JobQuery(owner="p-new", descending=False))] == [
        "a1",
        "a2",
        "a5",
    ]
    assert sorted(p.id for p in store.processes()) == ["p-live", "p-new"]
    again = store.adopt_orphans([], "p-other")
    assert again.jobs == () and again.sessions == ()


def check_tokens(store: Store) -> None:
    """Token records: add, look up by hash, list by name, refuse duplicates, remove."""
    assert store.tokens() == [] and store.token_by_hash(hash_token("nope")) is None
    bob = TokenRecord("bob", hash_token("t-bob"), "team-b", share=2.0, created_at=5.0)
    alice = TokenRecord("alice", hash_token("t-alice"), admin=True)
    store.add_token(bob)
    store.add_token(alice)
    assert store.token_by_hash(hash_token("t-bob")) == bob
    assert store.token_by_hash(hash_token("t-alice")) == alice
    assert store.tokens() == [alice, bob]
    for duplicate in (
        TokenRecord("bob", hash_token("another")),
        TokenRecord("carol", hash_token("t-bob")),
    ):
        try:
            store.add_token(duplicate)
        except AlreadyExistsError:
            pass
        else:
            raise AssertionError(f"adding {duplicate} must raise AlreadyExistsError")
    assert store.tokens() == [alice, bob]
    assert store.remove_token("bob")
    assert not store.remove_token("bob")
    assert store.token_by_hash(hash_token("t-bob")) is None
    assert store.tokens() == [alice]


#: Every check of the store contract; each takes a fresh, empty store.
STORE_CHECKS: tuple[Callable[[Store], None], ...] = (
    check_job_round_trip,
    check_duplicate_and_missing,
    check_final_states_never_change,
    check_query_jobs,
    check_query_sessions,
    check_job_counts_by_session,
    check_metadata_is_copied,
    check_processes_and_orphans,
    check_adopt_orphans,
    check_tokens,
)


def check_store(make_store: Callable[[], Store]) -> None:
    """Run every check of :data:`STORE_CHECKS`, each on a new store from ``make_store``.

    Raises:
        AssertionError: a check failed (the message names it).
    """
    for check in STORE_CHECKS:
        store = make_store()
        try:
            check(store)
        except AssertionError as exc:
            raise AssertionError(f"{check.__name__}: {exc}") from exc
        finally:
            store.close()


# -- the device contract --------------------------------------------------------------------------
def check_device(device: Device, program_id: str, payload: Any) -> Any:
    """Check ``device`` runs ``payload`` correctly through a runtime; returns the result.

    On a :class:`~qsession_provider.core.clock.VirtualClock` and a
    :class:`~qsession_provider.core.store.memory.MemoryStore`: the device accepts the
    payload, the job ends DONE after exactly the modelled execution time, and the result
    read back from the store equals the one the device returned.

    Raises:
        AssertionError: the device broke the contract.
    """
    assert isinstance(device, Device), f"expected a Device, got {type(device).__name__}"
    assert program_id in device.programs, f"{device.name} does not list {program_id!r}"
    expected_time = device.execution_time(payload)
    assert expected_time >= 0, "the execution-time model must not be negative"
    clock = VirtualClock(start=0)
    with Runtime(devices=[device], clock=clock, store=MemoryStore()) as runtime:
        job = runtime.submit(program_id, device.name, payload)
        result = job.result()
        record = job.record
        assert record.status is JobStatus.DONE, f"job ended {record.status}: {record.error_message}"
        assert record.execution_time is not None
        assert abs(record.execution_time - expected_time) < 1e-9, (
            f"the job took {record.execution_time} s on the clock, the model says {expected_time} s"
        )
        stored = loads(runtime.store.get_result(job.id) or "null")
        assert_results_equal(stored, result)
    return result
