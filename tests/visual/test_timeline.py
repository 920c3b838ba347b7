"""``draw_timeline``: checked by structure (bars, lanes, marks), never by pixels."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.timeline import build_timeline
from qsession_provider.errors import InputError, SessionNotFoundError
from qsession_provider.visual import draw_timeline, timeline_of

pytest.importorskip("matplotlib", reason="draw_timeline needs the plot extra (matplotlib)")
pytestmark = pytest.mark.timeout(60)


def bars(fig: Any) -> dict[str, Any]:
    """gid "job:<id>" -> the bar's Rectangle."""
    ax = fig.axes[0]
    return {p.get_gid()[4:]: p for p in ax.patches if (p.get_gid() or "").startswith("job:")}


def gids(fig: Any, prefix: str) -> list[str]:
    ax = fig.axes[0]
    return [a.get_gid() for a in ax.get_children() if (a.get_gid() or "").startswith(prefix)]


def lane_labels(fig: Any) -> list[str]:
    return [t.get_text() for t in fig.axes[0].get_yticklabels()]


@pytest.fixture
def session_run(manual_runtime: Any, manual_clock: Any, payload: Any) -> dict[str, Any]:
    """On fake_qpu (1 slot, 3 s a job): someone else's job 0-3, then the session's 3 jobs
    (one fails) 3-6, 6-9, 9-12; then the session is closed."""
    rt = manual_runtime
    blocker = rt.submit("echo", "fake_qpu", payload(), instance="someone-else")
    session = rt.open_session("fake_qpu", failure_policy="continue")
    jobs = [
        rt.submit("echo", "fake_qpu", payload(fail=i == 1), session_id=session.id) for i in range(3)
    ]
    manual_clock.advance(12)
    rt.close_session(session.id)
    manual_clock.advance(1)
    return {"rt": rt, "session": session, "jobs": jobs, "blocker": blocker}


def test_a_session_draws_a_bar_per_job_its_lane_marks_and_others(
    session_run: dict[str, Any], tmp_path: Path
) -> None:
    rt, session, jobs = session_run["rt"], session_run["session"], session_run["jobs"]
    fig = draw_timeline(session.id, runtime=rt)
    drawn = bars(fig)
    assert set(drawn) == {j.id for j in jobs} | {session_run["blocker"].id}
    assert lane_labels(fig) == ["fake_qpu · slot 1"]
    # own bars coloured by outcome; the other job hatched and grey
    colors = {jid: p.get_facecolor()[:3] for jid, p in drawn.items()}
    assert colors[jobs[0].id] == colors[jobs[2].id] != colors[jobs[1].id]
    assert drawn[session_run["blocker"].id].get_hatch() == "//"
    assert all(drawn[j.id].get_hatch() is None for j in jobs)
    # bars from start to end, relative to the timeline's start (t=0); the failed job
    # ended as it started and still shows as a sliver
    assert [drawn[j.id].get_x() for j in jobs] == [3.0, 6.0, 6.0]
    widths = [drawn[j.id].get_width() for j in jobs]
    assert widths[0] == widths[2] == 3.0 and 0 < widths[1] < 0.1
    # waits from submission (t=0) to start, for the session's own jobs
    assert sorted(gids(fig, "wait:")) == sorted(f"wait:{j.id}" for j in jobs)
    assert gids(fig, "mark:") == ["mark:open", "mark:active", "mark:closed"]
    assert fig.axes[0].get_title() == f"session {session.id}"
    out = tmp_path / "t.png"
    fig.savefig(out)
    assert out.stat().st_size > 1000

    without = draw_timeline(session.id, runtime=rt, others=False, title="mine")
    assert set(bars(without)) == {j.id for j in jobs}
    assert without.axes[0].get_title() == "mine"


def test_a_list_of_jobs_and_a_timeline_draw_the_same(session_run: dict[str, Any]) -> None:
    jobs = session_run["jobs"]
    fig = draw_timeline(jobs)  # core handles, no runtime: no marks, no others
    assert set(bars(fig)) == {j.id for j in jobs}
    assert gids(fig, "mark:") == []
    assert fig.axes[0].get_title() == "jobs"
    records = [j.record for j in jobs]
    tl = build_timeline(records, now=20.0)
    assert set(bars(draw_timeline(tl))) == {j.id for j in jobs}
    assert timeline_of(records).bars == tl.bars


def test_draws_into_given_axes(session_run: dict[str, Any]) -> None:
    from matplotlib.figure import Figure

    fig = Figure()
    ax1, ax2 = fig.subplots(1, 2)
    assert draw_timeline(session_run["jobs"], ax=ax2) is fig
    assert not ax1.patches and len(ax2.patches) == 3


def test_a_running_job_reaches_now_and_slots_give_lanes(
    manual_runtime: Any, manual_clock: Any, payload: Any
) -> None:
    rt = manual_runtime
    session = rt.open_session("fake_sim", mode="batch")
    for _ in range(2):
        rt.submit("echo", "fake_qpu", payload())  # not the session's device: not drawn
    jobs = [rt.submit("echo", "fake_sim", payload(), session_id=session.id) for _ in range(2)]
    fig = draw_timeline(session.id, runtime=rt)
    assert set(bars(fig)) == {j.id for j in jobs}
    assert lane_labels(fig) == [f"fake_sim · slot {k}" for k in (1, 2, 3, 4)]


def test_bad_sources_are_refused_clearly(runtime: Any) -> None:
    with pytest.raises(InputError, match="cannot draw a timeline of int"):
        draw_timeline(42)
    with pytest.raises(InputError, match="not a job: str"):
        draw_timeline(["x", 3.5])
    with pytest.raises(InputError, match="pass runtime="):
        draw_timeline("some-session")
    with pytest.raises(SessionNotFoundError):
        draw_timeline("no-such-session", runtime=runtime)


def test_without_matplotlib_the_error_names_the_plot_extra() -> None:
    code = (
        "import sys; sys.modules['matplotlib'] = None\n"
        "from qsession_provider.visual import draw_timeline\n"
        "try:\n"
        "    draw_timeline([])\n"
        "except ImportError as exc:\n"
        "    print(exc)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert "pip install 'qsession-provider[plot]'" in out.stdout
