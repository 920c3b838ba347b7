"""Checks and encodings for arguments the runtime accepts (internal to the core).

Every check raises :class:`~qsession_provider.errors.InputError` with a message naming the
argument, before anything is changed.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from enum import Enum
from typing import Any

from ...errors import InputError, StoreError
from ..calibrations import CALIBRATION_PROGRAM, calibration_payload
from ..clock import parse_duration
from ..ir.encoding import Interner, PayloadText, dumps, loads
from ..ir.payload import PROGRAMS, payload_from_json, shared_texts
from ..job_record import JobStatus

__all__ = [
    "check_encodable",
    "check_text",
    "check_name",
    "check_tags",
    "coerce_enum",
    "positive_duration",
    "paging",
    "timestamp",
    "window",
    "statuses",
    "encode",
    "check_storable",
    "METADATA_LIMIT",
    "decode_payload",
    "decode_result",
]


def check_encodable(value: str, what: str) -> str:
    """``value`` if it can be written as UTF-8 (the store's text encoding).

    Raises:
        InputError: it holds a lone surrogate (e.g. a file name decoded with
            ``surrogateescape``); the message names ``what`` and the position.
    """
    if value.isascii():
        return value
    try:
        value.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise InputError(
            f"{what} must be valid Unicode text (UTF-8 encodable), got {value!r}: "
            f"character {value[exc.start]!r} at position {exc.start} is a lone surrogate"
        ) from None
    return value


def check_text(value: Any, what: str) -> str:
    if not isinstance(value, str):
        raise InputError(f"{what} must be a string, got {type(value).__name__}")
    return check_encodable(value, what)


def check_name(value: Any, what: str) -> str:
    if not isinstance(value, str) or not value:
        raise InputError(f"{what} must be a non-empty string, got {value!r}")
    return check_encodable(value, what)


def check_tags(tags: Iterable[str]) -> tuple[str, ...]:
    if isinstance(tags, str):
        raise InputError(f"tags must be a list of strings, got the string {tags!r}")
    try:
        out = tuple(tags)
    except TypeError:
        raise InputError(f"tags must be a list of strings, got {tags!r}") from None
    for tag in out:
        if not isinstance(tag, str):
            raise InputError(f"tags must be strings, got {tag!r}")
        check_encodable(tag, "a tag")
    return out


def coerce_enum(enum: type[Enum], value: Any, what: str) -> Any:
    """``enum(value)`` with a clear :class:`InputError` listing the allowed values."""
    if isinstance(value, enum):
        return value
    if isinstance(value, Enum):  # another library's enum (e.g. azure's): use its value
        value = value.value
    try:
        return enum(value.lower() if isinstance(value, str) else value)
    except ValueError:
        allowed = ", ".join(repr(m.value) for m in enum)  # type: ignore[attr-defined]
        raise InputError(f"invalid {what} {value!r}; expected one of {allowed}") from None


def positive_duration(value: Any, default: float, what: str) -> float:
    if value is None:
        return default
    seconds = parse_duration(value)
    if seconds <= 0:
        raise InputError(f"{what} must be > 0, got {value!r}")
    return seconds


def paging(value: Any, what: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InputError(f"{what} must be a non-negative integer, got {value!r}")
    return value


def timestamp(value: float | datetime | None) -> float | None:
    if value is None or isinstance(value, (int, float)):
        return value
    if isinstance(value, datetime):
        return value.timestamp()
    raise InputError(f"expected a timestamp or datetime, got {value!r}")


def window(
    created_after: float | datetime | None,
    created_before: float | datetime | None,
    limit: Any,
    skip: Any,
) -> dict[str, Any]:
    """The checked time bounds and paging of a listing, as query keyword arguments."""
    return {
        "created_after": timestamp(created_after),
        "created_before": timestamp(created_before),
        "limit": paging(limit, "limit"),
        "skip": paging(skip, "skip") or 0,
    }


def statuses(status: Any) -> frozenset[JobStatus]:
    items = [status] if isinstance(status, (str, JobStatus)) else list(status)
    out = set()
    for item in items:
        try:
            out.add(JobStatus(item.upper() if isinstance(item, str) else item))
        except ValueError:
            allowed = ", ".join(s.value for s in JobStatus)
            raise InputError(f"unknown job status {item!r}; expected one of {allowed}") from None
    return frozenset(out)


def encode(value: Any, what: str) -> str:
    """The text a store keeps for ``value`` (a payload): a
    :class:`~qsession_provider.core.ir.encoding.PayloadText` naming its large circuits'
    texts when it has some (a store may keep those once).

    Raises:
        InputError: ``value`` holds what the encoding cannot store (``what`` names it).
    """
    try:
        text = getattr(value, "to_json_text", None)
        if text is not None:
            encoded = str(text())
        else:
            encoded = dumps(value.to_json() if hasattr(value, "to_json") else value)
    except StoreError as exc:
        raise InputError(f"the {what} cannot be stored: {exc}") from None
    shared = shared_texts(value)
    return PayloadText(encoded, shared) if shared else encoded


#: Largest job or session metadata accepted: characters of its encoded JSON text (1 MiB).
METADATA_LIMIT = 1 << 20


def check_storable(value: Any, what: str, *, limit: int = METADATA_LIMIT) -> None:
    """Check that the store's encoding can hold ``value`` (job or session metadata), in
    at most ``limit`` characters of encoded text.

    Raises:
        InputError: it cannot (the message names the type), or it is larger than
            ``limit`` (the message names both sizes).
    """
    if not value:
        return
    try:
        size = len(dumps(value))
    except StoreError as exc:
        raise InputError(f"the {what} cannot be stored: {exc}") from None
    if size > limit:
        raise InputError(
            f"the {what} is {size} characters when encoded, more than the limit of "
            f"{limit} characters ({limit // 1024} KiB); keep large data out of metadata"
        )


def decode_payload(program_id: str, text: str, interner: Interner | None = None) -> Any:
    """The payload encoded as ``text`` (``interner``: share its circuits and observables
    with earlier decodings, see :class:`~qsession_provider.core.ir.encoding.Interner`)."""
    data = loads(text, interner=interner)
    if program_id == CALIBRATION_PROGRAM:
        return calibration_payload(data)
    return payload_from_json(program_id, data) if program_id in PROGRAMS else data


def decode_result(text: str | None) -> Any:
    return None if text is None else loads(text)
