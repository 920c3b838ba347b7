"""The dashboard with 100,000 stored jobs: the first page of the jobs list stays fast.

The store is filled directly through the store API (SQLite, one batch); the server time
of each answer is its ``Server-Timing`` header (the app runs in process). This is the one
timed assertion of the dashboard (issue 13 asks for it): the bound, 300 ms, is about
ten times what a page takes here.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.clock.virtual import DEFAULT_VIRTUAL_EPOCH
from qsession_provider.core.job_record import JobRecord, JobStatus
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.core.store import SQLiteStore
from qsession_provider.plugins.builtin import falcon_27_device, statevector_device
from qsession_provider.server import create_app

from ..conftest import add_tokens, sampler_text
from .conftest import QPU, login

JOBS = 100_000
SESSIONS = 1_000
#: The server-time bound of the first page (milliseconds).
BOUND_MS = 300.0

_STATUSES = (JobStatus.DONE, JobStatus.DONE, JobStatus.DONE, JobStatus.ERROR, JobStatus.CANCELLED)


def _fill(store: SQLiteStore) -> None:
    payload = sampler_text()
    start = DEFAULT_VIRTUAL_EPOCH - 86_400.0
    with store.batch():
        for k in range(SESSIONS):
            store.add_session(
                SessionRecord(
                    id=f"s{k:05d}",
                    device=QPU,
                    mode=SessionMode.DEDICATED,
                    state=SessionState.CLOSED,
                    created_at=start + k * 80,
                    closed_at=start + k * 80 + 70,
                    user="alice" if k % 2 else "bob",
                    timestamps=((SessionState.OPEN, start + k * 80),),
                )
            )
        for k in range(JOBS):
            when = start + k * 0.8
            store.add_job(
                JobRecord(
                    id=f"j{k:06d}",
                    program_id="sampler",
                    device=QPU,
                    status=_STATUSES[k % len(_STATUSES)],
                    created_at=when,
                    started_at=when + 0.1,
                    finished_at=when + 0.6,
                    session_id=f"s{k * SESSIONS // JOBS:05d}",
                    user="alice" if (k * SESSIONS // JOBS) % 2 else "bob",
                    tags=("bulk",),
                    name=f"job-{k}",
                ),
                payload,
                fresh=True,
            )


@pytest.fixture(scope="module")
def big_runtime(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Runtime]:
    path = Path(tmp_path_factory.mktemp("big")) / "store.sqlite3"
    store = SQLiteStore(str(path))
    add_tokens(store)
    began = time.perf_counter()
    _fill(store)
    store.flush()
    fill_seconds = time.perf_counter() - began
    print(f"filled {JOBS} jobs in {fill_seconds:.1f} s")
    runtime = Runtime(
        store=store,
        clock=VirtualClock(DEFAULT_VIRTUAL_EPOCH),
        devices=[statevector_device(), falcon_27_device()],
    )
    yield runtime
    runtime.shutdown(wait=False, cancel_pending=True)
    store.close()


def _server_ms(response: object) -> float:
    header = response.headers["server-timing"]  # type: ignore[attr-defined]
    match = re.fullmatch(r"app;dur=([0-9.]+)", header)
    assert match, header
    return float(match.group(1))


@pytest.mark.parametrize("user", ["root", "alice"])
def test_the_first_page_of_100000_jobs_is_fast(big_runtime: Runtime, user: str) -> None:
    client = login(create_app(big_runtime), user)
    assert client.get("/jobs").status_code == 200  # templates compiled, caches warm
    response = client.get("/jobs")
    assert response.status_code == 200
    expected = JOBS if user == "root" else JOBS // 2
    assert f'data-total="{expected}"' in response.text
    assert len(re.findall(r'<tr data-job-id="', response.text)) == 50
    assert _server_ms(response) < BOUND_MS


def test_filtered_pages_and_the_sessions_list_stay_fast(big_runtime: Runtime) -> None:
    client = login(create_app(big_runtime), "root")
    for path in (
        "/jobs?status=ERROR&page=20",
        "/jobs?session=s00500",
        "/jobs?tags=bulk&user=alice",
        "/sessions",
        "/sessions/s00999",
        "/devices",
    ):
        client.get(path)
        response = client.get(path)
        assert response.status_code == 200, path
        assert _server_ms(response) < BOUND_MS, path
    sessions = client.get("/sessions").text
    # Job counts per session come from one grouped count: 100 jobs per session here.
    assert re.search(
        r'data-session-id="s00999".*?<span class="chip chip-ok">60</span>', sessions, re.S
    )
