"""Query parameters to store queries: users, dates, statuses and paging."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from qsession_provider.core.job_record import JobStatus
from qsession_provider.errors import InputError
from qsession_provider.server.auth import Principal
from qsession_provider.server.dashboard.queries import job_query, paging, session_query

ALICE = Principal("alice", "inst-a")
ROOT = Principal("root", "ops", admin=True)


def _utc(*parts: int) -> float:
    return datetime(*parts, tzinfo=timezone.utc).timestamp()


def test_a_user_is_always_limited_to_their_own_records() -> None:
    assert job_query({"user": "bob"}, {}, ALICE).user == "alice"
    assert session_query({}, {}, ALICE).user == "alice"
    assert job_query({"user": "bob"}, {}, ROOT).user == "bob"
    assert job_query({}, {}, ROOT).user is None


def test_dates_are_utc_and_a_bare_upper_date_means_the_whole_day() -> None:
    query = job_query({"from": "2025-01-01", "to": "2025-01-02"}, {}, ROOT)
    assert query.created_after == _utc(2025, 1, 1)
    assert query.created_before == pytest.approx(_utc(2025, 1, 3) - 1e-6)
    timed = job_query({"from": "2025-01-01T10:30"}, {}, ROOT)
    assert timed.created_after == _utc(2025, 1, 1, 10, 30)


def test_statuses_tags_and_blank_fields() -> None:
    query = job_query(
        {"tags": " a, b ,,", "device": " ", "name": "exp"},
        {"status": ["DONE", "ERROR", ""]},
        ROOT,
    )
    assert query.statuses == frozenset({JobStatus.DONE, JobStatus.ERROR})
    assert query.tags == ("a", "b") and query.device is None and query.name_prefix == "exp"
    with pytest.raises(InputError, match="parameter 'state': unknown value 'gone'"):
        session_query({}, {"state": ["gone"]}, ROOT)
    with pytest.raises(InputError, match="parameter 'mode': unknown value 'solo'"):
        session_query({"mode": "solo"}, {}, ROOT)


def test_paging() -> None:
    page = paging({"page": "3", "size": "20"})
    assert (page.number, page.size, page.skip) == (3, 20, 40)
    assert paging({}).size == 50
    link = page.link({"status": ["DONE", "ERROR"], "page": ["3"]}, 4)
    assert link == "?status=DONE&status=ERROR&page=4"
    with pytest.raises(InputError, match="'size' must be within 1 and 200"):
        paging({"size": "0"})
