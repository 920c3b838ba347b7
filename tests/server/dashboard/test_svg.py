"""The inline SVG pictures, checked by structure: lanes, bars, marks, axis; histogram bars."""

from __future__ import annotations

import re

import pytest

from qsession_provider.core.timeline import Bar, Mark, Timeline
from qsession_provider.server.dashboard.svg import histogram_svg, tick_step, timeline_svg


def _bar(
    job_id: str,
    start: float,
    end: float | None,
    *,
    user: str = "alice",
    own: bool = True,
    status: str = "DONE",
    lane: str = "qpu · slot 1",
) -> Bar:
    return Bar(job_id, lane, start, end, status, user, "s1" if own else None, own, start - 1)


def _timeline(*bars: Bar, marks: tuple[Mark, ...] = ()) -> Timeline:
    return Timeline(
        lanes=("qpu · slot 1", "qpu · slot 2"),
        bars=bars,
        marks=marks,
        start=0.0,
        end=10.0,
        session_id="s1",
    )


@pytest.mark.parametrize(
    ("span", "step"), [(10.0, 2.0), (1.0, 0.2), (100.0, 20.0), (3600.0, 500.0), (0.0, 1.0)]
)
def test_ticks_are_round_steps(span: float, step: float) -> None:
    assert tick_step(span) == pytest.approx(step)


def test_the_timeline_has_a_lane_per_slot_and_a_bar_per_job() -> None:
    timeline = _timeline(
        _bar("a", 0.0, 2.0),
        _bar("b", 2.0, None, status="RUNNING"),
        _bar("c", 1.0, 4.0, status="ERROR", lane="qpu · slot 2"),
        marks=(Mark(0.0, "active"), Mark(0.2, "inactive"), Mark(9.0, "closed")),
    )
    svg = str(timeline_svg(timeline, now=4.0, sees=lambda user: True))
    assert svg.startswith("<svg") and svg.endswith("</svg>")
    assert re.findall(r'class="lane-label"[^>]*>([^<]+)<', svg) == ["qpu · slot 1", "qpu · slot 2"]
    bars = re.findall(
        r'<rect class="(bar [^"]*)" data-job-id="(\w)" x="([\d.]+)" y="(\d+)" '
        r'width="([\d.]+)"',
        svg,
    )
    assert [(classes, job) for classes, job, *_ in bars] == [
        ("bar bar-done", "a"),
        ("bar bar-running", "b"),
        ("bar bar-error", "c"),
    ]
    geometry = {job: (float(x), int(y), float(w)) for _, job, x, y, w in bars}
    assert geometry["a"][1] == geometry["b"][1] < geometry["c"][1]  # lanes top to bottom
    assert geometry["a"][2] == pytest.approx(geometry["b"][2])  # 2 s each (b runs until now)
    assert geometry["a"][0] < geometry["c"][0] < geometry["b"][0]
    labels = re.findall(r'<text class="mark-label" x="[\d.]+" y="(\d+)">(\w+)<', svg)
    assert [state for _, state in labels] == ["active", "inactive", "closed"]
    assert labels[0][0] != labels[1][0]  # close marks get their own label rows
    assert '<a href="/jobs/a">' in svg


def test_jobs_the_viewer_may_not_see_are_drawn_without_id_or_user() -> None:
    timeline = _timeline(_bar("mine", 0, 1), _bar("theirs", 1, 2, user="bob", own=False))
    svg = str(timeline_svg(timeline, now=5.0, sees=lambda user: user == "alice"))
    assert "theirs" not in svg and "bob" not in svg
    assert len(re.findall(r'class="bar bar-done bar-other" data-other="1"', svg)) == 1
    admin = str(timeline_svg(timeline, now=5.0, sees=lambda user: True))
    assert 'data-job-id="theirs"' in admin and "bob" in admin
    assert '<a href="/jobs/theirs">' not in admin  # only the session's own bars link


def test_text_in_the_timeline_is_escaped() -> None:
    timeline = _timeline(_bar("<x>", 0, 1, user="<script>"))
    svg = str(timeline_svg(timeline, now=1.0, sees=lambda user: True))
    assert "<script>" not in svg and "&lt;script&gt;" in svg


def test_the_histogram_has_a_bar_per_outcome_scaled_to_its_count() -> None:
    svg = str(histogram_svg({"00": 30, "11": 10, "01": 0}))
    bars = re.findall(
        r'data-outcome="(\d+)" data-count="(\d+)" x="[\d.]+" y="[\d.]+" '
        r'width="[\d.]+" height="([\d.]+)"',
        svg,
    )
    assert [(o, int(c)) for o, c, _ in bars] == [("00", 30), ("01", 0), ("11", 10)]
    heights = {o: float(h) for o, _, h in bars}
    assert heights["00"] == pytest.approx(3 * heights["11"], abs=0.2) and heights["01"] == 0
    ticks = re.findall(r'text-anchor="end">(\d+)<', svg)
    assert ticks == ["0", "8", "16", "24", "32"]


def test_the_histogram_keeps_the_most_frequent_outcomes() -> None:
    counts = {format(k, "06b"): k + 1 for k in range(64)}
    svg = str(histogram_svg(counts, top=32))
    outcomes = re.findall(r'data-outcome="(\d+)"', svg)
    assert len(outcomes) == 32 and outcomes == sorted(outcomes)
    assert min(int(o, 2) for o in outcomes) == 32
    assert "no outcomes" in str(histogram_svg({}))
