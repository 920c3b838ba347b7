"""The dashboard's list filters: query parameters -> runtime filters, checked, and paging.

Bad values raise :class:`~qsession_provider.errors.InputError` naming the parameter (the
page answers 400 with that message). Dates are UTC: ``2025-01-01`` or
``2025-01-01T10:30`` (what ``<input type="datetime-local">`` sends); a bare date as the
upper bound means the end of that day.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any
from urllib.parse import urlencode

from ...core.job_record import JobStatus
from ...core.session import SessionMode, SessionState
from ...core.store.protocol import JobQuery, SessionQuery
from ...errors import InputError

__all__ = ["Paging", "paging", "job_query", "session_query", "DEFAULT_PAGE", "MAX_PAGE"]

#: Rows per page unless ``size`` says otherwise.
DEFAULT_PAGE = 50
#: Most rows per page.
MAX_PAGE = 200


@dataclass(frozen=True)
class Paging:
    """One page of a list.

    Attributes:
        number: the page, from 1.
        size: rows per page.
    """

    number: int
    size: int

    @property
    def skip(self) -> int:
        """Rows before this page."""
        return (self.number - 1) * self.size

    def link(self, lists: dict[str, list[str]], number: int) -> str:
        """The query string of page ``number`` with the same filters."""
        pairs = [(k, v) for k, values in lists.items() if k != "page" for v in values]
        return "?" + urlencode([*pairs, ("page", str(number))])


def _int(query: dict[str, str], name: str, default: int, low: int, high: int) -> int:
    text = query.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        raise InputError(f"parameter {name!r} must be a whole number, got {text!r}") from None
    if not low <= value <= high:
        raise InputError(f"parameter {name!r} must be within {low} and {high}, got {value}")
    return value


def paging(query: dict[str, str]) -> Paging:
    """``page`` (from 1) and ``size`` (1 to :data:`MAX_PAGE`) of the query."""
    size = _int(query, "size", DEFAULT_PAGE, 1, MAX_PAGE)
    return Paging(_int(query, "page", 1, 1, 10**9), size)


def _date(query: dict[str, str], name: str, *, end_of_day: bool) -> float | None:
    text = query.get(name, "").strip()
    if not text:
        return None
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"parameter {name!r} must be a date such as 2025-01-01 or 2025-01-01T10:30, "
            f"got {text!r}"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    if end_of_day and len(text) == 10:
        moment += timedelta(days=1, microseconds=-1)
    return moment.timestamp()


def _text(query: dict[str, str], name: str) -> str | None:
    value = query.get(name, "").strip()
    return value or None


def _choices(values: list[str], enum: Any, name: str) -> list[Any] | None:
    picked = [v.strip() for v in values if v.strip()]
    if not picked:
        return None
    out = []
    for value in picked:
        try:
            out.append(enum(value))
        except ValueError:
            known = ", ".join(member.value for member in enum)
            raise InputError(
                f"parameter {name!r}: unknown value {value!r}; one of {known}"
            ) from None
    return out


def _user(query: dict[str, str], principal: Any) -> str | None:
    """The ``user`` filter: any for an administrator, always one's own otherwise."""
    asked = _text(query, "user")
    return asked if principal.admin else principal.user


def job_query(query: dict[str, str], lists: dict[str, list[str]], principal: Any) -> JobQuery:
    """The store query of the jobs list (newest first, no paging yet)."""
    tags = tuple(t.strip() for t in query.get("tags", "").split(",") if t.strip())
    statuses = _choices(lists.get("status", []), JobStatus, "status")
    return JobQuery(
        statuses=None if statuses is None else frozenset(statuses),
        device=_text(query, "device"),
        session_id=_text(query, "session"),
        tags=tags,
        name_prefix=_text(query, "name"),
        program_id=_text(query, "program"),
        created_after=_date(query, "from", end_of_day=False),
        created_before=_date(query, "to", end_of_day=True),
        user=_user(query, principal),
    )


def session_query(
    query: dict[str, str], lists: dict[str, list[str]], principal: Any
) -> SessionQuery:
    """The store query of the sessions list (newest first, no paging yet)."""
    states = _choices(lists.get("state", []), SessionState, "state")
    modes = _choices([query.get("mode", "")], SessionMode, "mode")
    return SessionQuery(
        states=None if states is None else frozenset(states),
        device=_text(query, "device"),
        mode=modes[0] if modes else None,
        name_prefix=_text(query, "name"),
        created_after=_date(query, "from", end_of_day=False),
        created_before=_date(query, "to", end_of_day=True),
        user=_user(query, principal),
    )
