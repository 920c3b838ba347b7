"""The dashboard in a real browser: headless Chromium (Debian's) driven by Playwright.

Against the real ``qsession serve --virtual-clock`` on 127.0.0.1: log in, watch a
session's jobs appear while a background process submits them, find the timeline with
one bar per job, cancel a queued job from the page and see it cancelled in Python.
Screenshots go to ``$QSESSION_SCREENSHOTS`` (default: the test's ``tmp_path``).
Skipped with the reason when Playwright or ``/usr/bin/chromium`` is missing.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.client import connect
from qsession_provider.core.job_record import JobStatus

from . import scenario

pytestmark = pytest.mark.skipif(
    scenario.browser_missing() is not None, reason=str(scenario.browser_missing())
)

#: Real milliseconds the browser may take to show what is expected (polls are 1 s apart).
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    server = scenario.start_server(tmp_path_factory.mktemp("dashboard"))
    try:
        yield server
    finally:
        server.close()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        chromium = scenario.launch(pw)
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def shots(tmp_path: Path, request: pytest.FixtureRequest) -> Path:
    """Where this test's screenshots go."""
    base = os.environ.get("QSESSION_SCREENSHOTS")
    folder = Path(base) / request.node.name if base else tmp_path
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    context = browser.new_context(viewport={"width": 1360, "height": 900})
    tab = context.new_page()
    tab.set_default_timeout(WAIT_MS)
    try:
        yield tab
    finally:
        context.close()


def _bar_ids(page: Any) -> list[str]:
    return list(
        page.eval_on_selector_all(
            "svg.timeline rect.bar[data-job-id]", "bars => bars.map(b => b.dataset.jobId)"
        )
    )


def test_a_session_seen_live_in_the_browser(server: Any, page: Any, shots: Path) -> None:
    with scenario.client(server, "alice") as alice:
        session = scenario.open_session(alice, name="browser-live", interactive_ttl=600)
    scenario.login(page, server, "alice", f"/sessions/{session['id']}")
    page.evaluate("window.__sameDocument = true")  # a reload would lose it
    assert page.locator("tr[data-job-id]").count() == 0
    page.screenshot(path=str(shots / "1-empty-session.png"), full_page=True)

    # A background process submits five jobs, one every 0.3 s; the page shows them coming.
    script = [sys.executable, str(scenario.SUBMITTER), server.url, scenario.token_of("alice")]
    done = subprocess.run(
        [*script, session["id"], "5", "0.3"], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    ids = done.stdout.split()
    assert len(ids) == 5
    page.wait_for_function("document.querySelectorAll('tr[data-job-id]').length === 5")
    assert page.evaluate("window.__sameDocument") is True
    page.screenshot(path=str(shots / "2-jobs-arrived.png"), full_page=True)

    # Two jobs end, the third runs (virtual time, moved by the administrator).
    scenario.advance(server, 2.2)
    page.wait_for_function(
        "document.querySelectorAll('svg.timeline rect.bar[data-job-id]').length === 3"
    )
    assert sorted(_bar_ids(page)) == sorted(ids[:3])
    assert page.locator("svg.timeline rect.bar-running").count() == 1

    # Cancel the last (queued) job from its page, through the confirmation step.
    page.click(f'tr[data-job-id="{ids[4]}"] a[href="/jobs/{ids[4]}"]')
    page.wait_for_url(f"**/jobs/{ids[4]}")
    page.click("text=Cancel…")
    page.wait_for_url(f"**/jobs/{ids[4]}/cancel")
    page.screenshot(path=str(shots / "3-confirm-cancel.png"), full_page=True)
    page.click("button:has-text('Cancel the job')")
    page.wait_for_url(f"**/jobs/{ids[4]}?notice=job-cancelled")
    assert page.locator("[data-status]").first.get_attribute("data-status") == "CANCELLED"
    remote = connect(server.url, scenario.token_of("alice"))
    try:
        assert remote.job(ids[4]).status is JobStatus.CANCELLED
        assert remote.job(ids[3]).status is JobStatus.QUEUED
    finally:
        remote.shutdown()

    # The rest runs; the timeline has one bar per job that ran, each done.
    scenario.advance(server, 5.0)
    page.goto(f"{server.url}/sessions/{session['id']}")
    page.wait_for_function(
        "document.querySelectorAll('svg.timeline rect.bar-done[data-job-id]').length === 4"
    )
    assert sorted(_bar_ids(page)) == sorted(ids[:4])
    assert page.locator("svg.timeline .lane-label").count() == 1
    page.screenshot(path=str(shots / "4-timeline.png"), full_page=True)


def test_a_user_cannot_open_another_users_session_in_the_browser(
    server: Any, page: Any, shots: Path
) -> None:
    with scenario.client(server, "bob") as bob:
        theirs = scenario.open_session(bob, name="bob-private")
    page.goto(f"{server.url}/login")
    page.fill("input[name=token]", "not-a-token")
    page.click("button[type=submit]")
    assert "unknown or revoked token" in page.inner_text(".message")
    scenario.login(page, server, "alice")
    response = page.goto(f"{server.url}/sessions/{theirs['id']}")
    assert response is not None and response.status == 404
    assert f"no session with id '{theirs['id']}'" in page.inner_text(".message")
    page.screenshot(path=str(shots / "not-found.png"), full_page=True)
    page.goto(f"{server.url}/sessions")
    assert page.locator(f'tr[data-session-id="{theirs["id"]}"]').count() == 0
