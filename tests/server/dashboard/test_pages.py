"""The dashboard in process: login, who sees what, lists, filters, pages, live fragments."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path

import pytest

from qsession_provider.core.job_record import JobStatus
from qsession_provider.core.runtime import Runtime
from qsession_provider.server import create_app
from qsession_provider.server.dashboard import web

from ..conftest import TestClient
from .conftest import ORIGIN, QPU, submit

Clients = Callable[[str], TestClient]


def _bars(html: str) -> list[str]:
    return re.findall(r'<rect class="bar [^"]*"[^>]*>', html)


# -- login -------------------------------------------------------------------------------------
def test_a_visitor_without_a_login_is_sent_to_the_form(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime), base_url=ORIGIN, follow_redirects=False)
    response = client.get("/jobs?status=DONE")
    assert response.status_code == 303
    assert response.headers["location"] == "/login?next=%2Fjobs%3Fstatus%3DDONE"
    form = client.get("/login")
    assert form.status_code == 200 and 'name="token"' in form.text
    # The API is unchanged: it still wants a bearer token and answers JSON.
    assert client.get("/api/v1/jobs").status_code == 401


def test_login_sets_a_strict_http_only_cookie_and_logout_removes_it(runtime: Runtime) -> None:
    client = TestClient(
        create_app(runtime), base_url=ORIGIN, headers={"origin": ORIGIN}, follow_redirects=False
    )
    response = client.post("/login", data={"token": "tok-alice", "next": "/devices"})
    assert response.status_code == 303 and response.headers["location"] == "/devices"
    cookie = response.headers["set-cookie"].lower()
    assert "httponly" in cookie and "samesite=strict" in cookie and "path=/" in cookie
    assert client.get("/devices").status_code == 200
    out = client.post("/logout")
    assert out.status_code == 303 and out.headers["location"] == "/login"
    assert client.get("/devices").status_code == 303


def test_a_wrong_token_is_refused_with_a_message(runtime: Runtime) -> None:
    client = TestClient(create_app(runtime), base_url=ORIGIN, headers={"origin": ORIGIN})
    response = client.post("/login", data={"token": "tok-mallory"})
    assert response.status_code == 401
    assert "unknown or revoked token" in response.text
    empty = client.post("/login", data={"token": " "})
    assert empty.status_code == 401 and "enter your token" in empty.text


def test_login_never_sends_the_browser_to_another_site(runtime: Runtime) -> None:
    client = TestClient(
        create_app(runtime), base_url=ORIGIN, headers={"origin": ORIGIN}, follow_redirects=False
    )
    for target in ("https://evil.example/", "//evil.example/x", "/\\evil.example"):
        response = client.post("/login", data={"token": "tok-bob", "next": target})
        assert response.headers["location"] == "/sessions", target


def test_a_form_posted_from_another_site_is_refused_and_changes_nothing(
    runtime: Runtime, clients: Clients
) -> None:
    job = submit(runtime, "alice")
    queued = submit(runtime, "alice")
    alice = clients("alice")
    hostile = alice.post(f"/jobs/{queued.id}/cancel", headers={"origin": "https://evil.example"})
    assert hostile.status_code == 403 and "cross-site" in hostile.text
    alice.headers.pop("origin")
    bare = alice.post(f"/jobs/{queued.id}/cancel")
    assert bare.status_code == 403 and "no Origin" in bare.text
    assert queued.status is JobStatus.QUEUED and job.status is JobStatus.RUNNING
    # A Referer of this site stands in for a missing Origin.
    ok = alice.post(f"/jobs/{queued.id}/cancel", headers={"referer": f"{ORIGIN}/jobs"})
    assert ok.status_code == 303 and queued.status is JobStatus.CANCELLED


# -- who sees what -------------------------------------------------------------------------------
def test_a_user_sees_only_their_own_work_and_an_admin_everyones(
    runtime: Runtime, clients: Clients
) -> None:
    mine = runtime.open_session(QPU, user="alice", name="alice-session")
    theirs = runtime.open_session(QPU, user="bob", name="bob-session")
    a = submit(runtime, "alice", session_id=mine.id, name="alice-job")
    b = submit(runtime, "bob", session_id=theirs.id, name="bob-job")
    alice, root = clients("alice"), clients("root")
    sessions = alice.get("/sessions").text
    assert mine.id in sessions and theirs.id not in sessions
    jobs = alice.get("/jobs").text
    assert a.id in jobs and b.id not in jobs
    # Asking for another user's records by filter shows nothing of theirs.
    assert b.id not in alice.get("/jobs?user=bob").text
    everything = root.get("/sessions").text
    assert mine.id in everything and theirs.id in everything
    assert b.id in root.get("/jobs?user=bob").text and a.id not in root.get("/jobs?user=bob").text


@pytest.mark.parametrize(
    "path", ["/sessions/{s}", "/jobs/{j}", "/jobs/{j}/cancel", "/sessions/{s}/close"]
)
def test_another_users_ids_answer_as_unknown_ones(
    runtime: Runtime, clients: Clients, path: str
) -> None:
    session = runtime.open_session(QPU, user="bob")
    job = submit(runtime, "bob", session_id=session.id)
    alice = clients("alice")
    theirs = alice.get(path.format(s=session.id, j=job.id))
    unknown = alice.get(path.format(s="no-such-id", j="no-such-id"))
    assert theirs.status_code == unknown.status_code == 404
    assert theirs.text.replace(session.id, "X").replace(job.id, "X") == unknown.text.replace(
        "no-such-id", "X"
    )
    assert clients("root").get(path.format(s=session.id, j=job.id)).status_code == 200


def test_refused_actions_leave_the_work_alone(runtime: Runtime, clients: Clients) -> None:
    session = runtime.open_session(QPU, user="bob")
    submit(runtime, "bob", session_id=session.id)
    queued = submit(runtime, "bob", session_id=session.id)
    alice = clients("alice")
    assert alice.post(f"/jobs/{queued.id}/cancel").status_code == 404
    assert alice.post(f"/sessions/{session.id}/cancel").status_code == 404
    assert alice.post(f"/sessions/{session.id}/close").status_code == 404
    assert queued.status is JobStatus.QUEUED
    assert runtime.session(session.id).accepting_jobs
    assert clients("bob").get(f"/jobs/{queued.id}").status_code == 200


# -- lists ---------------------------------------------------------------------------------------
def test_the_sessions_list_shows_both_dialects_words_and_job_counts(
    runtime: Runtime, clients: Clients
) -> None:
    session = runtime.open_session(QPU, user="alice", name="counted")
    for _ in range(3):
        submit(runtime, "alice", session_id=session.id)
    html = clients("alice").get("/sessions").text
    row = re.search(rf'<tr data-session-id="{session.id}".*?</tr>', html, re.S)
    assert row is not None
    text = row.group(0)
    assert "In progress, accepting new jobs" in text and "Waiting" in text  # IBM, Azure
    counts = re.findall(r'<td class="num[^"]*">(?:<span[^>]*>)?([0-9·]+)', text)
    assert counts == ["2", "1", "·", "·", "·"]  # queued, running, done, error, cancelled
    closed = runtime.open_session(QPU, user="alice", name="shut")
    runtime.close_session(closed.id)
    html = clients("alice").get("/sessions?state=closed").text
    assert closed.id in html and session.id not in html
    assert "Succeeded" in html and "Closed" in html


def test_the_jobs_list_filters_like_the_api(runtime: Runtime, clients: Clients) -> None:
    session = runtime.open_session(QPU, user="alice")
    tagged = submit(runtime, "alice", session_id=session.id, tags=["a", "b"], name="exp-1")
    other = submit(runtime, "alice", device="statevector", tags=["a"], name="calib")
    alice = clients("alice")

    def ids(query: str) -> set[str]:
        html = alice.get(f"/jobs?{query}").text
        return set(re.findall(r'<tr data-job-id="([^"]+)"', html))

    assert ids("") == {tagged.id, other.id}
    assert ids(f"session={session.id}") == {tagged.id}
    assert ids("device=statevector") == {other.id}
    assert ids("tags=a,b") == {tagged.id} and ids("tags=a") == {tagged.id, other.id}
    assert ids("name=exp") == {tagged.id}
    assert ids("status=DONE") == {other.id}  # the simulator ran it at once
    assert ids("status=DONE&status=RUNNING") == {tagged.id, other.id}
    assert ids("program=estimator") == set()
    assert ids("from=2024-12-31&to=2025-01-01") == {tagged.id, other.id}  # the virtual epoch
    assert ids("from=2025-01-02") == set()


@pytest.mark.parametrize(
    ("query", "named"),
    [
        ("status=FINISHED", "parameter 'status': unknown value 'FINISHED'"),
        ("from=yesterday", "parameter 'from' must be a date"),
        ("page=0", "parameter 'page' must be within 1"),
        ("size=5000", "parameter 'size' must be within 1 and 200"),
        ("page=two", "parameter 'page' must be a whole number"),
    ],
)
def test_bad_filters_answer_400_naming_the_parameter(
    runtime: Runtime, clients: Clients, query: str, named: str
) -> None:
    job = submit(runtime, "alice")
    alice = clients("alice")
    response = alice.get(f"/jobs?{query}")
    assert response.status_code == 400
    assert named in response.text.replace("&#39;", "'")
    assert job.id in alice.get("/jobs").text  # nothing else is affected


def test_lists_are_paged_on_the_server(runtime: Runtime, clients: Clients) -> None:
    jobs = [submit(runtime, "alice", device="statevector") for _ in range(5)]
    alice = clients("alice")
    first = alice.get("/jobs?size=2").text
    second = alice.get("/jobs?size=2&page=2").text
    last = alice.get("/jobs?size=2&page=3").text
    rows = [re.findall(r'<tr data-job-id="([^"]+)"', page) for page in (first, second, last)]
    assert rows == [[jobs[4].id, jobs[3].id], [jobs[2].id, jobs[1].id], [jobs[0].id]]
    assert 'data-total="5"' in first
    assert "size=2&amp;page=3" in second and "size=2&amp;page=1" in second
    assert "Older" not in last


def test_the_devices_page_shows_queues_and_running_jobs(runtime: Runtime, clients: Clients) -> None:
    running = submit(runtime, "alice", name="first")
    submit(runtime, "alice")
    submit(runtime, "bob")
    html = clients("alice").get("/devices").text
    card = re.search(rf'<section class="card device" data-device="{QPU}">.*?</section>', html, re.S)
    assert card is not None
    assert 'data-queue="3"' in card.group(0)
    assert running.id in card.group(0)
    bob_view = clients("bob").get("/devices").text
    assert running.id not in bob_view and "another user's job" in bob_view


# -- pages ---------------------------------------------------------------------------------------
def test_the_session_page_draws_one_bar_per_started_job(runtime: Runtime, clients: Clients) -> None:
    session = runtime.open_session(QPU, user="alice", name="timeline")
    jobs = [submit(runtime, "alice", session_id=session.id) for _ in range(3)]
    runtime.clock.advance(5)
    assert all(job.status is JobStatus.DONE for job in jobs)
    html = clients("alice").get(f"/sessions/{session.id}").text
    bars = _bars(html)
    assert len(bars) == 3 and all("bar-done" in bar for bar in bars)
    assert {re.search(r'data-job-id="([^"]+)"', b).group(1) for b in bars} == {j.id for j in jobs}
    assert html.count('class="lane-label"') == 1  # one slot on the emulated QPU
    assert "mark-open" in html and "mark-active" in html
    for key in ("backend_name", "interactive_timeout", "usage_time", "job_failure_policy"):
        assert f"<dt>{key}</dt>" in html


def test_other_users_jobs_are_drawn_anonymously_for_a_user(
    runtime: Runtime, clients: Clients
) -> None:
    theirs = submit(runtime, "bob", name="bob-first")
    session = runtime.open_session(QPU, user="alice")
    mine = submit(runtime, "alice", session_id=session.id)
    runtime.clock.advance(5)
    assert theirs.status is JobStatus.DONE and mine.status is JobStatus.DONE
    alice_view = clients("alice").get(f"/sessions/{session.id}").text
    bars = _bars(alice_view)
    assert len(bars) == 2
    other = [b for b in bars if "bar-other" in b]
    assert len(other) == 1 and 'data-other="1"' in other[0]
    assert theirs.id not in alice_view and "bob" not in alice_view
    root_view = clients("root").get(f"/sessions/{session.id}").text
    assert theirs.id in root_view  # an administrator sees whose job it was


def test_the_job_page_shows_history_input_histogram_and_usage(
    runtime: Runtime, clients: Clients
) -> None:
    job = submit(runtime, "alice", shots=64)
    runtime.clock.advance(5)
    assert job.status is JobStatus.DONE
    html = clients("alice").get(f"/jobs/{job.id}").text
    for word in ("submitted", "started", "finished", "Quantum seconds", "Modelled time"):
        assert word in html
    assert "<dt>Qubits</dt><dd>2</dd>" in html and "<dt>Shots</dt><dd>64</dd>" in html
    counts = {
        outcome: int(n)
        for outcome, n in re.findall(r'data-outcome="([01]+)" data-count="(\d+)"', html)
    }
    assert set(counts) <= {"00", "11"} and sum(counts.values()) == 64


def test_the_job_page_shows_error_data(runtime: Runtime, clients: Clients) -> None:
    job = submit(runtime, "alice", device="statevector", fail_with="the fridge warmed up")
    assert job.status is JobStatus.ERROR
    html = clients("alice").get(f"/jobs/{job.id}").text
    assert "the fridge warmed up" in html and "execution_failed" in html
    assert "No result" in html


# -- actions -------------------------------------------------------------------------------------
def test_cancelling_a_job_asks_first(runtime: Runtime, clients: Clients) -> None:
    submit(runtime, "alice")
    queued = submit(runtime, "alice")
    alice = clients("alice")
    confirm = alice.get(f"/jobs/{queued.id}/cancel")
    assert confirm.status_code == 200
    assert f'action="/jobs/{queued.id}/cancel"' in confirm.text and 'method="post"' in confirm.text
    assert queued.status is JobStatus.QUEUED  # looking is not doing
    done = alice.post(f"/jobs/{queued.id}/cancel")
    assert done.status_code == 303
    assert done.headers["location"] == f"/jobs/{queued.id}?notice=job-cancelled"
    assert queued.status is JobStatus.CANCELLED
    assert "The job was cancelled." in alice.get(done.headers["location"]).text
    again = alice.post(f"/jobs/{queued.id}/cancel")
    assert again.status_code == 409 and "only a queued or running job" in again.text


def test_closing_and_cancelling_a_session_ask_first(runtime: Runtime, clients: Clients) -> None:
    closing = runtime.open_session(QPU, user="alice")
    cancelling = runtime.open_session(QPU, user="alice")
    submit(runtime, "alice", session_id=cancelling.id)
    waiting = submit(runtime, "alice", session_id=cancelling.id)
    alice = clients("alice")
    assert "Close the session" in alice.get(f"/sessions/{closing.id}/close").text
    assert alice.post(f"/sessions/{closing.id}/close").status_code == 303
    assert runtime.session(closing.id).state.value == "closed"  # nothing outstanding
    assert alice.get(f"/sessions/{closing.id}/close").status_code == 409
    assert "queued jobs fail" in alice.get(f"/sessions/{cancelling.id}/cancel").text
    assert alice.post(f"/sessions/{cancelling.id}/cancel").status_code == 303
    assert runtime.session(cancelling.id).state.value == "closed"
    assert waiting.status is JobStatus.ERROR


# -- live updates, timing, assets ----------------------------------------------------------------
def test_a_live_request_gets_the_live_part_and_whether_to_poll(
    runtime: Runtime, clients: Clients
) -> None:
    session = runtime.open_session(QPU, user="alice")
    job = submit(runtime, "alice", session_id=session.id)
    alice = clients("alice")
    live = alice.get(f"/sessions/{session.id}", headers={web.LIVE_HEADER: "1"})
    assert live.status_code == 200 and "<html" not in live.text and "svg" in live.text
    assert live.headers[web.PENDING_HEADER] == "1"
    full = alice.get(f"/sessions/{session.id}").text
    assert f'data-live="/sessions/{session.id}"' in full and 'data-pending="1"' in full
    runtime.clock.advance(5)
    runtime.close_session(session.id)
    assert job.status is JobStatus.DONE
    settled = alice.get(f"/sessions/{session.id}", headers={web.LIVE_HEADER: "1"})
    assert settled.headers[web.PENDING_HEADER] == "0"
    assert alice.get(f"/jobs/{job.id}").headers[web.PENDING_HEADER] == "0"


def test_answers_carry_their_server_time(clients: Clients) -> None:
    response = clients("bob").get("/sessions")
    assert re.fullmatch(r"app;dur=\d+\.\d\d", response.headers["server-timing"])
    assert response.headers["cache-control"] == "no-store"


def test_assets_ship_with_the_package_and_nothing_is_fetched_elsewhere(
    clients: Clients,
) -> None:
    bob = clients("bob")
    css, js = bob.get("/static/dashboard.css"), bob.get("/static/live.js")
    assert css.status_code == js.status_code == 200 and "fetch(" in js.text
    root = Path(web.__file__).parent
    for path in [*root.glob("templates/*.html"), *root.glob("static/*")]:
        text = path.read_text()
        assert not re.search(r"(src|href)=\"(https?:)?//", text), path
        assert "@import" not in text, path


def test_malformed_or_oversized_forms_are_refused_and_change_nothing(
    runtime: Runtime, clients: Clients
) -> None:
    submit(runtime, "alice")
    queued = submit(runtime, "alice")
    alice = clients("alice")
    huge = alice.post(f"/jobs/{queued.id}/cancel", content=b"x=" + b"a" * 100_000)
    assert huge.status_code == 413 and "the form is larger than 16 KiB" in huge.text
    binary = alice.post(
        f"/jobs/{queued.id}/cancel",
        content=b"\xff\xfe",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert binary.status_code == 400 and "not UTF-8" in binary.text
    login_huge = alice.post("/login", content=b"token=" + b"a" * 100_000)
    assert login_huge.status_code == 413
    assert queued.status is JobStatus.QUEUED
    assert clients("alice").get(f"/jobs/{queued.id}").status_code == 200
