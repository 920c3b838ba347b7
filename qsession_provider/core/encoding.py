"""A stable, non-executable JSON encoding for payloads and results.

Only data is written: JSON scalars, lists, string-keyed dicts and tagged objects for
numpy arrays (dtype, shape, base64 bytes), complex numbers, :class:`Program` and
:class:`PauliSum`. Nothing is ever unpickled or evaluated on the way back, so a store
file shared between processes or users cannot run code.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import numpy as np

from ..errors import StoreError
from .observables import PauliSum
from .program import Program

__all__ = ["dumps", "loads", "to_jsonable", "from_jsonable"]

_TAGS = (
    "__nd__",
    "__objarr__",
    "__complex__",
    "__program__",
    "__paulisum__",
    "__dict__",
    "__tuple__",
)
_NUMERIC_KINDS = "biufc"


def to_jsonable(obj: Any) -> Any:
    """Turn ``obj`` into JSON-compatible data with tags for non-JSON types.

    Raises:
        StoreError: the object holds a type the encoding does not know.
    """
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if isinstance(obj, np.generic):
        return to_jsonable(obj.item())
    if isinstance(obj, complex):
        return {"__complex__": [obj.real, obj.imag]}
    if isinstance(obj, np.ndarray):
        if obj.dtype.kind in _NUMERIC_KINDS:
            data = np.ascontiguousarray(obj)
            return {
                "__nd__": [
                    data.dtype.str,
                    list(obj.shape),
                    base64.b64encode(data.tobytes()).decode("ascii"),
                ]
            }
        return {"__objarr__": [list(obj.shape), [to_jsonable(x) for x in obj.ravel().tolist()]]}
    if isinstance(obj, Program):
        return {"__program__": obj.to_json()}
    if isinstance(obj, PauliSum):
        return {"__paulisum__": obj.to_json()}
    if isinstance(obj, dict):
        out = {}
        for key, value in obj.items():
            if not isinstance(key, str):
                raise StoreError(f"cannot encode dict key {key!r}: keys must be strings")
            out[key] = to_jsonable(value)
        if len(out) == 1 and next(iter(out)) in _TAGS:
            return {"__dict__": out}
        return out
    if isinstance(obj, tuple):
        return {"__tuple__": [to_jsonable(x) for x in obj]}
    if isinstance(obj, list):
        return [to_jsonable(x) for x in obj]
    raise StoreError(f"cannot encode an object of type {type(obj).__name__}")


def from_jsonable(data: Any) -> Any:
    """Inverse of :func:`to_jsonable`."""
    if isinstance(data, list):
        return [from_jsonable(x) for x in data]
    if not isinstance(data, dict):
        return data
    if len(data) == 1:
        tag, value = next(iter(data.items()))
        if tag == "__nd__":
            dtype, shape, b64 = value
            raw = base64.b64decode(b64)
            return np.frombuffer(raw, dtype=np.dtype(dtype)).reshape(shape).copy()
        if tag == "__objarr__":
            shape, items = value
            arr = np.empty(len(items), dtype=object)
            for i, item in enumerate(items):
                arr[i] = from_jsonable(item)
            return arr.reshape(shape)
        if tag == "__complex__":
            return complex(value[0], value[1])
        if tag == "__program__":
            return Program.from_json(value)
        if tag == "__paulisum__":
            return PauliSum.from_json(value)
        if tag == "__tuple__":
            return tuple(from_jsonable(x) for x in value)
        if tag == "__dict__":
            return {k: from_jsonable(v) for k, v in value.items()}
    return {k: from_jsonable(v) for k, v in data.items()}


def dumps(obj: Any) -> str:
    """Encode ``obj`` as JSON text."""
    return json.dumps(to_jsonable(obj), separators=(",", ":"))


def loads(text: str | bytes) -> Any:
    """Decode JSON text written by :func:`dumps`.

    Raises:
        StoreError: the text is not valid JSON.
    """
    try:
        return from_jsonable(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"stored record is not valid encoded data: {exc}") from None
