"""Reading requests strictly: bodies within the size limit, JSON objects with known fields.

Every check raises :class:`~qsession_provider.errors.InputError` (400) naming the field or
query parameter, or :class:`~qsession_provider.errors.RequestTooLargeError` (413) naming
the limit, before anything is changed.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Mapping
from typing import Any

from starlette.requests import Request

from ..core.clock import parse_duration
from ..core.ir.encoding import from_jsonable
from ..errors import InputError, RequestTooLargeError

__all__ = [
    "Kind",
    "read_body",
    "read_object",
    "parse_object",
    "fields",
    "query",
    "STR",
    "OPT_STR",
    "INT",
    "BOOL",
    "NUMBER",
    "OPT_NUMBER",
    "DURATION",
    "STR_LIST",
    "OBJECT",
    "ANY",
    "metadata",
    "Q_STR",
    "Q_STRS",
    "Q_INT",
    "Q_FLOAT",
    "Q_BOOL",
]

#: Checks one field: ``kind(name, value) -> value`` or raises ``InputError`` naming it.
Kind = Callable[[str, Any], Any]


def _limit_text(limit: int) -> str:
    mib = limit / 2**20
    return f"{limit} bytes ({mib:g} MiB)" if mib >= 1 else f"{limit} bytes"


def _too_large(size: str, limit: int) -> RequestTooLargeError:
    return RequestTooLargeError(
        f"request body of {size} is over the server's limit of {_limit_text(limit)} (--max-body)"
    )


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused with 413 if ``Content-Length`` or the bytes sent pass ``limit``.

    Raises:
        RequestTooLargeError: the body is larger than ``limit`` bytes.
        InputError: a malformed ``Content-Length``.
    """
    declared = request.headers.get("content-length")
    if declared is not None:
        try:
            length = int(declared)
        except ValueError:
            raise InputError(f"malformed Content-Length header {declared!r}") from None
        if length > limit:
            raise _too_large(f"{length} bytes", limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _too_large(f"more than {limit} bytes", limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_object(request: Request, limit: int, *, empty_ok: bool = False) -> dict[str, Any]:
    """The request body as a JSON object (``{}`` for an empty body when ``empty_ok``).

    Raises:
        RequestTooLargeError: the body is too large.
        InputError: not JSON, or not an object.
    """
    return parse_object(await read_body(request, limit), empty_ok=empty_ok)


def parse_object(body: bytes, *, empty_ok: bool = False) -> dict[str, Any]:
    """A request body read by :func:`read_body` as a JSON object (see :func:`read_object`).

    Raises:
        InputError: not JSON, or not an object.
    """
    if not body.strip():
        if empty_ok:
            return {}
        raise InputError("the request body is empty; expected a JSON object")
    try:
        data = json.loads(body)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"the request body is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InputError(f"the request body must be a JSON object, got {type(data).__name__}")
    return data


def fields(
    data: Mapping[str, Any],
    *,
    required: Mapping[str, Kind] | None = None,
    optional: Mapping[str, Kind] | None = None,
) -> dict[str, Any]:
    """The checked fields of a body: every required one, the optional ones present.

    Raises:
        InputError: an unknown field, a missing field or a value of the wrong kind (the
            message names the field).
    """
    required = required or {}
    optional = optional or {}
    for key in data:
        if key not in required and key not in optional:
            allowed = ", ".join(sorted([*required, *optional]))
            raise InputError(f"unknown field {key!r}; the fields allowed here are: {allowed}")
    out: dict[str, Any] = {}
    for key, kind in required.items():
        if key not in data:
            raise InputError(f"missing field {key!r}")
        out[key] = kind(key, data[key])
    for key, kind in optional.items():
        if key in data:
            out[key] = kind(key, data[key])
    return out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def STR(name: str, value: Any) -> str:
    """A string."""
    if not isinstance(value, str):
        raise InputError(f"field {name!r} must be a string, got {_show(value)}")
    return value


def OPT_STR(name: str, value: Any) -> str | None:
    """A string or null."""
    return None if value is None else STR(name, value)


def INT(name: str, value: Any) -> int:
    """An integer."""
    if isinstance(value, bool) or not isinstance(value, int):
        raise InputError(f"field {name!r} must be an integer, got {_show(value)}")
    return value


def BOOL(name: str, value: Any) -> bool:
    """true or false."""
    if not isinstance(value, bool):
        raise InputError(f"field {name!r} must be true or false, got {_show(value)}")
    return value


def NUMBER(name: str, value: Any) -> float:
    """A finite number."""
    if not _is_number(value) or not math.isfinite(value):
        raise InputError(f"field {name!r} must be a finite number, got {_show(value)}")
    return float(value)


def OPT_NUMBER(name: str, value: Any) -> float | None:
    """A finite number or null."""
    return None if value is None else NUMBER(name, value)


def DURATION(name: str, value: Any) -> float | None:
    """Seconds (a number >= 0 or a string such as ``"5m"``), or null."""
    if value is None:
        return None
    if not isinstance(value, str):
        NUMBER(name, value)
    try:
        return parse_duration(value)
    except InputError as exc:
        raise InputError(f"field {name!r}: {exc}") from None


def STR_LIST(name: str, value: Any) -> list[str]:
    """A list of strings."""
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InputError(f"field {name!r} must be a list of strings, got {_show(value)}")
    return value


def OBJECT(name: str, value: Any) -> dict[str, Any] | None:
    """A JSON object or null."""
    if value is not None and not isinstance(value, dict):
        raise InputError(f"field {name!r} must be a JSON object, got {_show(value)}")
    return value


def metadata(value: dict[str, Any] | None) -> dict[str, Any] | None:
    """A ``metadata`` object as the records hold it (tagged values decoded, as ``from_json``).

    Raises:
        InputError: a tagged value that cannot be decoded.
    """
    if value is None:
        return None
    try:
        return from_jsonable(value)
    except Exception as exc:
        raise InputError(f"field 'metadata' cannot be decoded: {exc}") from None


def ANY(name: str, value: Any) -> Any:
    """Anything (the runtime checks it)."""
    return value


def _show(value: Any) -> str:
    text = json.dumps(value) if not isinstance(value, bytes) else repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


# -- query strings ------------------------------------------------------------------------------
#: Query parameter kinds: ``kind(name, values) -> value`` over the parameter's values.
QueryKind = Callable[[str, list[str]], Any]


def _one(name: str, values: list[str]) -> str:
    if len(values) != 1:
        raise InputError(f"query parameter {name!r} may be given only once")
    return values[0]


def Q_STR(name: str, values: list[str]) -> str:
    """One string."""
    return _one(name, values)


def Q_STRS(name: str, values: list[str]) -> list[str]:
    """One or more strings (the parameter repeated)."""
    return values


def Q_INT(name: str, values: list[str]) -> int:
    """One integer."""
    text = _one(name, values)
    try:
        return int(text)
    except ValueError:
        raise InputError(f"query parameter {name!r} must be an integer, got {text!r}") from None


def Q_FLOAT(name: str, values: list[str]) -> float:
    """One finite number."""
    text = _one(name, values)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value):
        raise InputError(f"query parameter {name!r} must be a finite number, got {text!r}")
    return value


def Q_BOOL(name: str, values: list[str]) -> bool:
    """``true`` or ``false``."""
    text = _one(name, values).lower()
    if text not in ("true", "false"):
        raise InputError(f"query parameter {name!r} must be true or false, got {text!r}")
    return text == "true"


def query(request: Request, allowed: Mapping[str, QueryKind]) -> dict[str, Any]:
    """The checked query parameters of ``request``.

    Raises:
        InputError: an unknown parameter or a malformed value (the message names it).
    """
    grouped: dict[str, list[str]] = {}
    for key, value in request.query_params.multi_items():
        if key not in allowed:
            names = ", ".join(sorted(allowed)) or "none"
            raise InputError(f"unknown query parameter {key!r}; the parameters allowed: {names}")
        grouped.setdefault(key, []).append(value)
    return {key: allowed[key](key, values) for key, values in grouped.items()}
