"""Users on one runtime: who submitted or opened what, the filters, and a session's own user.

A service passes the authenticated user on every call; embedded code passes nothing ("").
A session takes jobs only from its user: another user's session is "not found", with the
same error and message as an unknown id, so its existence is never revealed.
"""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.job import JobStatus
from qsession_provider.core.runtime.policies import FairSharePolicy
from qsession_provider.core.session import SessionState
from qsession_provider.errors import InputError, SessionNotFoundError

pytestmark = pytest.mark.timeout(30)


def test_jobs_and_sessions_record_their_user_and_filter_by_it(runtime: Any, payload: Any) -> None:
    alice = runtime.open_session("fake_sim", user="alice", mode="batch")
    bob = runtime.open_session("fake_sim", user="bob")
    embedded = runtime.open_session("fake_sim")
    a1 = runtime.submit("echo", "fake_sim", payload(), session_id=alice.id, user="alice")
    a2 = runtime.submit("echo", "fake_sim", payload(), user="alice")
    b1 = runtime.submit("echo", "fake_sim", payload(), session_id=bob.id, user="bob")
    e1 = runtime.submit("echo", "fake_sim", payload())
    assert (alice.user, bob.user, embedded.user) == ("alice", "bob", "")
    assert (a1.record.user, b1.record.user, e1.record.user) == ("alice", "bob", "")
    assert runtime.job(a1.id).record.user == "alice"
    assert runtime.session(bob.id).user == "bob"

    def job_ids(**filters: Any) -> list[str]:
        return [j.id for j in runtime.jobs(descending=False, **filters)]

    assert job_ids(user="alice") == [a1.id, a2.id]
    assert job_ids(user="bob") == [b1.id]
    assert job_ids(user="") == [e1.id]
    assert job_ids(user="carol") == []
    assert job_ids(user="alice", session_id=alice.id, status="DONE") == [a1.id]
    assert len(job_ids()) == 4  # no user filter: everyone's
    sessions = [s.id for s in runtime.sessions(user="alice")]
    assert sessions == [alice.id]
    assert [s.id for s in runtime.sessions(user="", descending=False)] == [embedded.id]
    assert [s.id for s in runtime.sessions(user="bob", state=["active", "open"])] == [bob.id]


def test_another_users_session_is_not_found(runtime: Any, payload: Any) -> None:
    session = runtime.open_session("fake_sim", user="alice")
    with pytest.raises(SessionNotFoundError) as unknown:
        runtime.submit("echo", "fake_sim", payload(), session_id="no-such-session", user="bob")
    with pytest.raises(SessionNotFoundError) as foreign:
        runtime.submit("echo", "fake_sim", payload(), session_id=session.id, user="bob")
    # The same words as an unknown id, naming only the id the caller gave.
    assert str(foreign.value) == str(unknown.value).replace("no-such-session", session.id)
    assert runtime.jobs() == []  # nothing was queued
    live = runtime.session(session.id)
    assert live.state is SessionState.OPEN and live.root_job_id is None
    # The owner's jobs still join it.
    job = runtime.submit("echo", "fake_sim", payload(), session_id=session.id, user="alice")
    assert job.result()["echo"] == {}


def test_a_closed_session_of_another_user_is_not_found_either(runtime: Any, payload: Any) -> None:
    session = runtime.open_session("fake_sim", user="alice")
    runtime.close_session(session.id)
    with pytest.raises(SessionNotFoundError, match="no session with id"):
        runtime.submit("echo", "fake_sim", payload(), session_id=session.id, user="bob")


def test_embedded_callers_may_feed_any_session_and_their_jobs_take_its_user(
    runtime: Any, payload: Any
) -> None:
    session = runtime.open_session("fake_sim", user="alice")
    job = runtime.submit("echo", "fake_sim", payload(), session_id=session.id)
    assert job.record.user == "alice"  # a session's jobs are of its user
    assert job.result()["echo"] == {}
    embedded = runtime.open_session("fake_sim")
    with pytest.raises(SessionNotFoundError):  # a user cannot join an embedded session
        runtime.submit("echo", "fake_sim", payload(), session_id=embedded.id, user="alice")


@pytest.mark.parametrize("bad", [5, None, b"alice"], ids=["int", "none", "bytes"])
def test_a_user_must_be_a_string(runtime: Any, payload: Any, bad: Any) -> None:
    with pytest.raises(InputError, match="user must be a string"):
        runtime.submit("echo", "fake_sim", payload(), user=bad)
    with pytest.raises(InputError, match="user must be a string"):
        runtime.open_session("fake_sim", user=bad)
    assert runtime.jobs() == [] and runtime.sessions() == []


def test_fair_share_honours_set_share(make_runtime: Any, manual_clock: Any, payload: Any) -> None:
    # No decay, so usage ties are exact: ties go to the earlier job.
    policy = FairSharePolicy(half_life=1e12)
    policy.set_share("big", 2)
    rt = make_runtime(clock=manual_clock, policy=policy)
    jobs = [
        rt.submit("echo", "fake_qpu", payload(), instance="big", name=f"g{i}") for i in range(4)
    ]
    jobs += [
        rt.submit("echo", "fake_qpu", payload(), instance="small", name=f"s{i}") for i in range(2)
    ]
    manual_clock.advance(100)
    started = [j.name for j in sorted(jobs, key=lambda j: j.started_at)]
    assert started == ["g0", "s0", "g1", "g2", "s1", "g3"]  # as FairSharePolicy(shares=...)
    assert policy.shares == {"big": 2.0}


def test_set_share_changes_the_order_of_waiting_jobs(
    make_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    policy = FairSharePolicy(half_life=1e12)
    rt = make_runtime(clock=manual_clock, policy=policy)
    jobs = [rt.submit("echo", "fake_qpu", payload(), instance="a", name=f"a{i}") for i in range(3)]
    jobs += [rt.submit("echo", "fake_qpu", payload(), instance="b", name=f"b{i}") for i in range(3)]
    policy.set_share("b", 3.0)  # a token's share applied while jobs wait
    manual_clock.advance(100)
    started = [j.name for j in sorted(jobs, key=lambda j: j.started_at)]
    assert started == ["a0", "b0", "b1", "b2", "a1", "a2"]


@pytest.mark.parametrize("share", [0, -1.0, float("nan"), float("inf"), "2", True, None], ids=repr)
def test_set_share_refuses_a_bad_share_and_keeps_the_old_one(share: Any) -> None:
    policy = FairSharePolicy(shares={"a": 2.0})
    with pytest.raises(InputError, match="share of instance 'a' must be > 0"):
        policy.set_share("a", share)
    with pytest.raises(InputError, match="share of instance 'a' must be > 0"):
        FairSharePolicy(shares={"a": share})
    assert policy.shares == {"a": 2.0}


def test_set_share_refuses_a_bad_instance() -> None:
    policy = FairSharePolicy()
    with pytest.raises(InputError, match="instance must be a non-empty string"):
        policy.set_share("", 1.0)
    assert policy.shares == {}


def test_pending_status_filter_keeps_working_with_users(runtime: Any, payload: Any) -> None:
    job = runtime.submit("echo", "fake_qpu", payload(), user="alice")
    assert [j.id for j in runtime.jobs(user="alice", pending=True)] == [job.id]
    job.result()
    assert runtime.jobs(user="alice", pending=True) == []
    assert runtime.job(job.id).status is JobStatus.DONE
