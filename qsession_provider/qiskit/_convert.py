"""Small conversions shared by the Qiskit face: timestamps and job tags."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from qiskit_ibm_runtime.exceptions import IBMInputValueError

from ..core.dialect_words import iso_utc

__all__ = ["check_job_tags", "iso_utc", "local_datetime", "to_timestamp"]


def local_datetime(when: float | None) -> datetime | None:
    """POSIX seconds as an aware ``datetime`` in local time (what IBM's jobs report), or None."""
    if when is None:
        return None
    return datetime.fromtimestamp(when, tz=timezone.utc).astimezone()


def to_timestamp(value: datetime | float | None, what: str) -> float | None:
    """A ``created_after``/``created_before`` filter as POSIX seconds (naive = local time).

    Raises:
        IBMInputValueError: not a datetime or number.
    """
    if value is None:
        return None
    if isinstance(value, datetime):
        return value.timestamp()  # naive datetimes are local time, as IBM documents
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return float(value)
    raise IBMInputValueError(f"{what} must be a datetime, got {value!r}")


def check_job_tags(tags: Any) -> list[str]:
    """Validate job tags exactly as qiskit-ibm-runtime does (None or [] means no tags).

    Raises:
        IBMInputValueError: ``"job_tags needs to be a list of strings."``
    """
    if not tags:
        return []
    if not isinstance(tags, list) or not all(isinstance(tag, str) for tag in tags):
        raise IBMInputValueError("job_tags needs to be a list of strings.")
    return list(tags)
