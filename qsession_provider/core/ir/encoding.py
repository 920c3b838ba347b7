"""A stable, non-executable JSON encoding for payloads and results.

Only data is written: JSON scalars, lists, string-keyed dicts and tagged objects for
numpy arrays (dtype, shape, base64 bytes), packed bits (:class:`PackedBits`: ``"__bits__"``,
bits per string, shape, base64 bytes), complex numbers, :class:`Circuit` and
:class:`PauliSum`. Nothing is ever unpickled or evaluated on the way back, so a store
file shared between processes or users cannot run code.

:func:`dumps` writes the text in one pass, without building the intermediate
:func:`to_jsonable` tree, and its output is exactly ``json.dumps(to_jsonable(obj),
separators=(",", ":"))``. A VQE loop submits the same :class:`Circuit` and the same
:class:`PauliSum` objects job after job (the faces cache their translations), so the
encoded text of a circuit's operations and of a Pauli sum is kept on the object and reused
while its operations / terms tuple is the same object (both are immutable: the engine's
compile cache relies on that too). The rest of a circuit (name, registers, metadata...) is
kept with a copy of what it encoded, and reused while the circuit still equals that copy.

Decoding can share objects too: ``loads(text, interner=...)`` with an :class:`Interner`
returns, for a circuit or Pauli sum whose encoded text that interner decoded before, the
very object it built then (a bounded LRU keyed by the exact text). A server that decodes
the payloads of a VQE loop so skips rebuilding and re-validating the same circuit job after
job, and the engine's identity-keyed caches hit. The interner belongs to its caller (one
per server): there is no module-level cache.
"""

from __future__ import annotations

import base64
import copy
import json
import threading
from collections import OrderedDict
from json.encoder import encode_basestring_ascii as _json_str
from typing import Any

import numpy as np

from ...errors import StoreError
from .bits import PackedBits, _make, num_bytes
from .circuit import Circuit
from .noise import NoiseModel
from .observables import PauliSum

__all__ = [
    "compact",
    "dumps",
    "loads",
    "to_jsonable",
    "from_jsonable",
    "circuit_text",
    "pauli_sum_text",
    "Interner",
    "PayloadText",
]

_TAGS = (
    "__nd__",
    "__bits__",
    "__objarr__",
    "__complex__",
    "__program__",
    "__paulisum__",
    "__noise__",
    "__dict__",
    "__tuple__",
)
_NUMERIC_KINDS = "biufc"


def to_jsonable(obj: Any) -> Any:
    """Turn ``obj`` into JSON-compatible data with tags for non-JSON types.

    Raises:
        StoreError: the object holds a type the encoding does not know.
    """
    kind = type(obj)
    if kind is dict:  # exact plain types first (the general checks below give the same)
        return _jsonable_dict(obj)
    if kind is list:
        return [to_jsonable(x) for x in obj]
    if obj is None or isinstance(obj, (bool, str, int, float)):
        return obj
    if kind is PackedBits:
        return {"__bits__": _bits_fields(obj)}
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
    if isinstance(obj, Circuit):
        return {"__program__": obj.to_json()}
    if isinstance(obj, PauliSum):
        return {"__paulisum__": obj.to_json()}
    if isinstance(obj, NoiseModel):
        return {"__noise__": obj.to_json()}
    if isinstance(obj, dict):
        return _jsonable_dict(obj)
    if isinstance(obj, tuple):
        return {"__tuple__": [to_jsonable(x) for x in obj]}
    if isinstance(obj, list):
        return [to_jsonable(x) for x in obj]
    raise StoreError(f"cannot encode an object of type {type(obj).__name__}")


def _jsonable_dict(obj: dict[Any, Any]) -> dict[str, Any]:
    out = {}
    for key, value in obj.items():
        if not isinstance(key, str):
            raise StoreError(f"cannot encode dict key {key!r}: keys must be strings")
        out[key] = to_jsonable(value)
    if len(out) == 1 and next(iter(out)) in _TAGS:
        return {"__dict__": out}
    return out


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
        if tag == "__bits__":
            return _bits_from(value)
        if tag == "__objarr__":
            shape, items = value
            arr = np.empty(len(items), dtype=object)
            for i, item in enumerate(items):
                arr[i] = from_jsonable(item)
            return arr.reshape(shape)
        if tag == "__complex__":
            return complex(value[0], value[1])
        if tag == "__program__":
            return Circuit.from_json(value)
        if tag == "__paulisum__":
            return PauliSum.from_json(value)
        if tag == "__noise__":
            return NoiseModel.from_json(value)
        if tag == "__tuple__":
            return tuple(from_jsonable(x) for x in value)
        if tag == "__dict__":
            return {k: from_jsonable(v) for k, v in value.items()}
    return {k: from_jsonable(v) for k, v in data.items()}


def dumps(obj: Any) -> str:
    """Encode ``obj`` as JSON text (the same text as ``json.dumps(to_jsonable(obj))``).

    Raises:
        StoreError: the object holds a type the encoding does not know.
    """
    out: list[str] = []
    _write(obj, out)
    return "".join(out)


_INF = float("inf")
_float_repr = float.__repr__
_int_repr = int.__repr__


def _float_text(value: float) -> str:
    """A float as ``json.dumps`` writes it (``NaN``/``Infinity`` included)."""
    if value != value:
        return "NaN"
    if value == _INF:
        return "Infinity"
    if value == -_INF:
        return "-Infinity"
    return _float_repr(value)


def _write(obj: Any, out: list[str]) -> None:
    """Append the JSON text of ``to_jsonable(obj)`` to ``out`` (same checks, same order)."""
    kind = type(obj)
    if kind is str:  # exact plain types first (the general checks below give the same)
        out.append(_json_str(obj))
    elif kind is float:
        out.append(_float_text(obj))
    elif kind is int:
        out.append(_int_repr(obj))
    elif kind is dict:
        _write_dict(obj, out)
    elif kind is list:
        _write_list(obj, out)
    elif kind is PackedBits:
        num_bits, shape, b64 = _bits_fields(obj)
        out.append(f'{{"__bits__":[{num_bits},[{",".join(map(str, shape))}],"{b64}"]}}')
    elif obj is None:
        out.append("null")
    elif isinstance(obj, str):
        out.append(_json_str(obj))
    elif obj is True:
        out.append("true")
    elif obj is False:
        out.append("false")
    elif isinstance(obj, int):
        out.append(_int_repr(obj))
    elif isinstance(obj, float):
        out.append(_float_text(obj))
    elif isinstance(obj, np.generic):
        _write(obj.item(), out)
    elif isinstance(obj, complex):
        out.append(f'{{"__complex__":[{_float_text(obj.real)},{_float_text(obj.imag)}]}}')
    elif isinstance(obj, np.ndarray):
        if obj.dtype.kind in _NUMERIC_KINDS:
            data = np.ascontiguousarray(obj)
            shape = ",".join(_int_repr(int(n)) for n in obj.shape)
            b64 = base64.b64encode(data.tobytes()).decode("ascii")
            out.append(f'{{"__nd__":[{_json_str(data.dtype.str)},[{shape}],"{b64}"]}}')
        else:
            shape = ",".join(_int_repr(int(n)) for n in obj.shape)
            out.append(f'{{"__objarr__":[[{shape}],')
            _write_list(obj.ravel().tolist(), out)
            out.append("]}")
    elif isinstance(obj, Circuit):
        out.append(circuit_text(obj))
    elif isinstance(obj, PauliSum):
        out.append('{"__paulisum__":')
        out.append(pauli_sum_text(obj))
        out.append("}")
    elif isinstance(obj, NoiseModel):
        out.append('{"__noise__":')
        out.append(_plain(obj.to_json()))
        out.append("}")
    elif isinstance(obj, dict):
        _write_dict(obj, out)
    elif isinstance(obj, tuple):
        out.append('{"__tuple__":')
        _write_list(obj, out)
        out.append("}")
    elif isinstance(obj, list):
        _write_list(obj, out)
    else:
        raise StoreError(f"cannot encode an object of type {type(obj).__name__}")


def _bits_fields(bits: PackedBits) -> list[Any]:
    """``[num_bits, shape, base64 bytes]``: the content of a ``"__bits__"`` tag."""
    data = np.ascontiguousarray(bits.data)
    return [
        bits.num_bits,
        [int(n) for n in bits.shape],
        base64.b64encode(data.tobytes()).decode("ascii"),
    ]


def _bits_from(value: Any) -> PackedBits:
    """Inverse of :func:`_bits_fields` (a malformed tag raises ValueError or TypeError)."""
    num_bits, shape, b64 = value
    if type(num_bits) is not int or num_bits < 0 or not all(type(n) is int for n in shape):
        raise ValueError(f"malformed packed bits header {num_bits!r}, {shape!r}")
    data = np.frombuffer(bytearray(base64.b64decode(b64)), dtype=np.uint8)
    return _make(num_bits, data.reshape(*shape, num_bytes(num_bits)))  # checks the size


def _write_dict(obj: dict[Any, Any], out: list[str]) -> None:
    tagged = len(obj) == 1 and next(iter(obj)) in _TAGS
    out.append('{"__dict__":{' if tagged else "{")
    _write_items(obj, out)
    out.append("}}" if tagged else "}")


def _write_items(mapping: dict[str, Any], out: list[str]) -> None:
    first = True
    for key, value in mapping.items():
        if not isinstance(key, str):
            raise StoreError(f"cannot encode dict key {key!r}: keys must be strings")
        if not first:
            out.append(",")
        first = False
        out.append(_json_str(key))
        out.append(":")
        _write(value, out)


def _write_list(items: Any, out: list[str]) -> None:
    out.append("[")
    first = True
    for item in items:
        if not first:
            out.append(",")
        first = False
        _write(item, out)
    out.append("]")


#: ``compact(data) == json.dumps(data, separators=(",", ":"))``, without building a new
#: ``JSONEncoder`` per call (``json.dumps`` does that whenever an argument is given).
compact = json.JSONEncoder(separators=(",", ":")).encode


def _plain(data: Any) -> str:
    """``json.dumps`` text of data that ``to_jsonable`` leaves as it is (a tag's content)."""
    return compact(data)


class PayloadText(str):
    """A payload's encoded text that names the parts of it a store may keep once.

    ``shared`` holds substrings of the text (the encoded texts of the payload's large
    circuits and observables): a VQE loop submits the same circuit and Hamiltonian job
    after job, and a store that keeps each such part once writes a few hundred bytes per
    job instead of the whole circuit (the SQLite store does:
    :mod:`qsession_provider.core.store.payload_parts`). Any other store keeps the text as
    it is: it is a ``str``.
    """

    shared: tuple[str, ...]

    def __new__(cls, text: str, shared: tuple[str, ...] = ()) -> PayloadText:
        obj = super().__new__(cls, text)
        obj.shared = shared
        return obj

    def __reduce__(self) -> Any:
        return (PayloadText, (str(self), self.shared))


def circuit_text(circuit: Circuit) -> str:
    """``dumps(circuit)``, kept on the circuit (see the module docstring)."""
    head = (
        circuit.num_qubits,
        circuit.name,
        circuit.global_phase,
        circuit.registers,
        circuit.metadata,
    )
    found = circuit._memo.get("encoded")
    if found is not None and found[0] is circuit.operations:
        seen, text = found[1]
        if type(head[2]) is float and seen == head:
            return str(text)
    # Inside the tag, to_jsonable keeps to_json() as it is: plain json.dumps text.
    text = (
        '{"__program__":'
        + _plain(circuit._json_head())[:-1]  # '{...}' with at least five keys
        + ',"operations":'
        + _operations_text(circuit)
        + "}}"
    )
    circuit._memo["encoded"] = (circuit.operations, (copy.deepcopy(head), text))
    return text


def _operations_text(circuit: Circuit) -> str:
    """The encoded ``operations`` of ``circuit``, cached on it (see the module docstring)."""
    return str(
        circuit._memoized("encoded_operations", lambda _ops: _plain(circuit._operations_json()))
    )


def pauli_sum_text(pauli_sum: PauliSum) -> str:
    """The encoded terms of ``pauli_sum``, cached on it (see the module docstring)."""
    terms = pauli_sum.terms
    cached = pauli_sum._encoded
    if cached is not None and cached[0] is terms:
        return cached[1]
    text = _plain(pauli_sum.to_json())
    pauli_sum._encoded = (terms, text)
    return text


def loads(text: str | bytes, *, interner: Interner | None = None) -> Any:
    """Decode JSON text written by :func:`dumps`.

    Args:
        text: the encoded text.
        interner: share the circuits and Pauli sums of ``text`` with earlier decodings by
            this interner (see :class:`Interner`); the value decoded is the same.

    Raises:
        StoreError: the text is not valid JSON.
    """
    if interner is not None and type(text) is str:
        found = interner.decode(text)
        if found is not _PLAIN:
            return found
    try:
        return from_jsonable(json.loads(text))
    except (ValueError, TypeError, KeyError) as exc:
        raise StoreError(f"stored record is not valid encoded data: {exc}") from None


#: What :meth:`Interner.decode` returns when ``text`` needs the plain decoding.
_PLAIN: Any = object()
#: The openings of the tagged objects an :class:`Interner` shares (compact, as ``dumps``
#: writes them; text written otherwise is decoded without sharing).
_OPENINGS = ('{"__program__":', '{"__paulisum__":')
#: Key of the stand-in object an interned span is replaced by before the rest is parsed.
_STAND_IN = "__interned__"
#: Tags whose content ``from_jsonable`` takes as it is: an interned object anywhere in it
#: means the text is not what it seems (malformed, or not written by ``dumps``). (In
#: ``{"__dict__": value}`` only ``value`` itself is taken as it is: a user's dict.)
_RAW_TAGS = frozenset(_TAGS) - {"__objarr__", "__tuple__", "__dict__"}
_decoder = json.JSONDecoder()


class Interner:
    """Circuits and Pauli sums decoded before, by the exact text that encoded them.

    :func:`loads` with an interner finds each encoded circuit (``{"__program__": ...}``)
    and Pauli sum (``{"__paulisum__": ...}``) in the text; one whose text this interner
    decoded before is not parsed or validated again: the object built then is returned
    (the same object, so identity-keyed caches of the engine hit); the others are decoded
    and kept. Both classes are immutable values, so sharing them between payloads (and
    threads) is safe. The value decoded is always what the plain :func:`loads` gives;
    text the interner cannot take apart with certainty (written with other separators,
    malformed, or holding a user dict whose key is a tag) is decoded the plain way.

    Thread-safe. Keeps at most ``size`` objects and ``max_chars`` characters of their text
    (least recently used first out); an object whose text is longer than a quarter of
    ``max_chars`` is decoded but not kept.

    Args:
        size: most objects kept.
        max_chars: most characters of encoded text kept, over all objects.

    Example:
        >>> interner = Interner()
        >>> text = dumps({"c": Circuit(1)})
        >>> loads(text, interner=interner)["c"] is loads(text, interner=interner)["c"]
        True
    """

    #: Characters of an object's text that index it (shorter objects are not kept).
    PREFIX = 32

    def __init__(self, size: int = 128, *, max_chars: int = 32 * 2**20) -> None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer, got {size!r}")
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ValueError(f"max_chars must be a positive integer, got {max_chars!r}")
        self.size = size
        self.max_chars = max_chars
        self._lock = threading.Lock()
        self._objects: OrderedDict[str, Any] = OrderedDict()  # text -> object, LRU order
        self._by_prefix: dict[str, list[str]] = {}  # first PREFIX characters -> texts
        self._chars = 0
        #: Objects found again / decoded and kept (for tests and diagnostics).
        self.hits = 0
        self.misses = 0

    def __len__(self) -> int:
        return len(self._objects)

    @property
    def chars(self) -> int:
        """Characters of encoded text kept."""
        return self._chars

    def clear(self) -> None:
        """Forget every object."""
        with self._lock:
            self._objects.clear()
            self._by_prefix.clear()
            self._chars = 0

    def decode(self, text: str) -> Any:
        """``loads(text)`` sharing this interner's objects, or ``_PLAIN`` when ``text``
        should be decoded the plain way (no tagged object in it, or any doubt)."""
        starts = _openings(text)
        if not starts:
            return _PLAIN
        parts: list[str] = []
        objects: list[Any] = []
        pos = 0
        for start in starts:
            if start < pos:
                continue  # inside an object already taken (e.g. circuit metadata)
            found = self._find(text, start)
            if found is None:
                found = self._decode_one(text, start)
                if found is None:
                    return _PLAIN  # malformed, or not a tag here: the plain way decides
            end, obj = found
            parts.append(text[pos:start])
            parts.append(f'{{"{_STAND_IN}":{len(objects)}}}')
            objects.append(obj)
            pos = end
        parts.append(text[pos:])
        seen = 0
        doubt = False

        def hook(d: dict[str, Any]) -> Any:
            nonlocal seen, doubt
            if len(d) != 1:
                return d
            key, value = next(iter(d.items()))
            if key == _STAND_IN:
                seen += 1
                if type(value) is int and 0 <= value < len(objects):
                    return objects[value]
                doubt = True
            elif key == "__dict__":
                doubt = doubt or isinstance(value, (Circuit, PauliSum))
            elif key in _RAW_TAGS and _holds_object(value):
                doubt = True
            return d

        try:
            data = json.loads("".join(parts), object_hook=hook)
            if doubt or seen != len(objects):
                return _PLAIN  # a stand-in the text itself holds, or an object out of place
            return from_jsonable(data)
        except Exception:
            return _PLAIN  # the plain way raises its own error

    def _find(self, text: str, start: int) -> tuple[int, Any] | None:
        """``(end, object)`` of a kept object whose text starts at ``start``, or None."""
        with self._lock:
            for known in self._by_prefix.get(text[start : start + self.PREFIX], ()):
                if text.startswith(known, start):
                    self._objects.move_to_end(known)
                    self.hits += 1
                    return start + len(known), self._objects[known]
        return None

    def _decode_one(self, text: str, start: int) -> tuple[int, Any] | None:
        """Decode the tagged object at ``start`` and keep it; None if it is not one."""
        try:
            data, end = _decoder.raw_decode(text, start)
            if not (type(data) is dict and len(data) == 1):
                return None
            obj = from_jsonable(data)
        except Exception:
            return None
        if not isinstance(obj, (Circuit, PauliSum)):
            return None
        known = text[start:end]
        if self.PREFIX <= len(known) <= self.max_chars // 4:
            self._keep(known, obj)
        return end, obj

    def _keep(self, known: str, obj: Any) -> None:
        with self._lock:
            if known in self._objects:
                return  # another thread decoded it meanwhile
            self.misses += 1
            self._objects[known] = obj
            self._by_prefix.setdefault(known[: self.PREFIX], []).append(known)
            self._chars += len(known)
            while len(self._objects) > self.size or self._chars > self.max_chars:
                old, _ = self._objects.popitem(last=False)
                self._chars -= len(old)
                prefix = old[: self.PREFIX]
                texts = self._by_prefix[prefix]
                texts.remove(old)
                if not texts:
                    del self._by_prefix[prefix]


def _openings(text: str) -> list[int]:
    """Where the tagged objects an :class:`Interner` shares may start, in order."""
    starts: list[int] = []
    for opening in _OPENINGS:
        i = text.find(opening)
        while i >= 0:
            starts.append(i)
            i = text.find(opening, i + 1)
    starts.sort()
    return starts


def _holds_object(value: Any) -> bool:
    """True if ``value`` is, or holds at any depth, a decoded circuit or Pauli sum."""
    if isinstance(value, (Circuit, PauliSum)):
        return True
    if type(value) is list:
        return any(_holds_object(v) for v in value)
    if type(value) is dict:
        return any(_holds_object(v) for v in value.values())
    return False
