"""How values travel between a :class:`~.remote.RemoteRuntime` and its server.

Device descriptions back to :class:`~qsession_provider.core.device.Device` objects, keyword
arguments and filters to JSON and query parameters, ids to path segments. Payloads and
results travel as the store's encoding text (:mod:`qsession_provider.core.ir.encoding`);
metadata as its JSON form (``to_jsonable``), so tuples and arrays come back as they went.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import Enum
from typing import Any
from urllib.parse import quote, urlsplit

from ..core.device import DEFAULT_PROGRAMS, Device, TimingModel
from ..core.ir.encoding import from_jsonable, to_jsonable
from ..core.session import SessionRecord
from ..errors import InputError, QSessionError, StoreError
from .transport import API_PREFIX

__all__ = [
    "device_from_json",
    "check_url",
    "segment",
    "session_of",
    "wire",
    "listed",
    "many",
    "jsonable",
    "params",
]


def device_from_json(data: Mapping[str, Any]) -> Device:
    """A :class:`Device` from the server's description; its ``execute`` refuses to run."""
    name = str(data["name"])
    coupling = data.get("coupling_map")
    return Device(
        name=name,
        num_qubits=int(data["num_qubits"]),
        execute=_runs_on_server(name),
        basis_gates=tuple(data.get("basis_gates") or ()),
        coupling_map=None if coupling is None else tuple((int(a), int(b)) for a, b in coupling),
        slots=int(data.get("slots", 1)),
        simulator=bool(data.get("simulator", False)),
        timing=TimingModel(**(data.get("timing") or {})),
        programs=frozenset(data.get("programs") or DEFAULT_PROGRAMS),
        description=str(data.get("description") or ""),
        can_cancel_running=bool(data.get("can_cancel_running", True)),
        max_shots=data.get("max_shots"),
        max_executions=data.get("max_executions"),
        properties=from_jsonable(data.get("properties") or {}),
    )


def _runs_on_server(name: str) -> Any:
    def execute(program_id: str, payload: Any) -> Any:
        raise QSessionError(f"device {name} runs on the server")

    return execute


def check_url(url: Any) -> str:
    """The server's URL without a trailing slash or API prefix (``InputError`` if malformed)."""
    if isinstance(url, str):
        parts = urlsplit(url.strip())
        if parts.scheme in ("http", "https") and parts.hostname:
            base = url.strip().rstrip("/")
            return base[: -len(API_PREFIX)] if base.endswith(API_PREFIX) else base
    raise InputError(f"url must be an http:// or https:// URL of a qsession server, got {url!r}")


def segment(value: Any) -> str:
    """One path segment (an id or a name), quoted."""
    if not isinstance(value, str) or not value:
        raise InputError(f"expected a non-empty string id or name, got {value!r}")
    return quote(value, safe="")


def session_of(answer: dict[str, Any]) -> SessionRecord:
    """The session record of a ``{"session": record}`` answer."""
    return SessionRecord.from_json(answer["session"])


def wire(value: Any) -> Any:
    """A keyword argument as JSON (enums by value, tuples and sets as lists)."""
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (tuple, set, frozenset)):
        return [wire(v) for v in value]
    return value


def listed(values: Any) -> Any:
    """A list of the items of ``values`` (a string is left for the server to refuse)."""
    if values is None or isinstance(values, str):
        return values
    try:
        return [wire(v) for v in values]
    except TypeError:
        return values


def many(value: Any) -> list[Any]:
    """One filter value or several, as a list of query values."""
    if isinstance(value, (str, Enum)):
        return [wire(value)]
    return [wire(v) for v in value]


def jsonable(value: Any, what: str) -> Any:
    """A mapping in the store's JSON form (``InputError`` naming ``what`` if it cannot be)."""
    try:
        return to_jsonable(dict(value))
    except (StoreError, TypeError, ValueError) as exc:
        raise InputError(f"the {what} cannot be stored: {exc}") from None


def params(**values: Any) -> list[tuple[str, Any]]:
    """Query pairs of the values given (lists repeat the name; booleans as true/false)."""
    pairs: list[tuple[str, Any]] = []
    for key, value in values.items():
        if value is None:
            continue
        items = value if isinstance(value, list) else [value]
        for item in items:
            item = wire(item)
            if isinstance(item, bool):
                item = "true" if item else "false"
            pairs.append((key, item))
    return pairs
