"""A thread-safe cache of ``QuantumCircuit`` → :class:`Circuit` translations.

A VQE loop submits the same circuit object with new parameter values job after job.
Translating it costs ~7-12 µs per instruction, most of a ~2 ms estimator job, so
:class:`CircuitCache` keeps the translation and hands back the *same* ``Circuit`` object
(which also keeps the simulator's compile cache warm).

The cache rule
--------------
Entries are keyed by circuit *identity* (``id(circuit)``, checked through a weak
reference, so an entry never keeps a circuit alive and a recycled id is never confused
with a dead circuit). An entry is served only if the circuit still matches a snapshot
taken when it was translated:

1. cheap O(1) fields: number of instructions, qubits, clbits and parameters, the global
   phase, the name, the classical registers (a register added over existing clbits does not
   change the instruction list) and the metadata (a shallow copy compared with ``==``, so an
   edit deep inside a nested metadata value is not seen);
2. then the instruction list itself: ``circuit._data == snapshot``, where the snapshot is a
   ``CircuitData.copy(copy_instructions=True, deepcopy=True)`` taken at translation time.
   ``CircuitData.__eq__`` runs in Rust (~0.45 µs per instruction, ~15x cheaper than
   translating), compares operations, parameters (including ``assign_parameters(inplace=True)``),
   qubits, clbits and the global phase, and, because the snapshot owns deep copies of the
   Python-side operations, also catches in-place edits of a custom gate's ``params``.
   Control-flow blocks are compared as circuits (slower, but still below a translation).

So any mutation made through Qiskit's API (``append``, ``data[i] = ...``, ``data.pop()``,
``assign_parameters(inplace=True)``, ``global_phase = ...``, ``add_register``, renaming,
new metadata) invalidates the entry and the circuit is translated again. Qiskit 2.x has no
cheaper exact signal: ``CircuitData`` carries no hash or version counter, and
``QuantumCircuit.__eq__`` converts both circuits to DAGs (far slower than translating).
Not detected: writing into a cached *Python* operation object that Qiskit itself keeps
apart from its Rust storage (e.g. ``data[i].operation.params[0][0, 0] = ...`` on a
``UnitaryGate``); Qiskit's own simulators ignore such edits as well.

The cache holds at most ``maxsize`` circuits (least recently used evicted first). Entries
of circuits that were garbage-collected are dropped on the next call.

One submission looks a circuit up more than once (its pubs are coerced, then translated):
inside :meth:`CircuitCache.scope` a circuit is validated once per thread, and later lookups
in the same scope reuse that entry. The scope lasts one ``run()`` call; a mutation from
another thread during it is the same race as one just after the check.
"""

from __future__ import annotations

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

from qiskit.circuit import QuantumCircuit

from ..core.ir.circuit import Circuit
from ..errors import InputError
from ..translate.qiskit.circuits import circuit_to_ir

__all__ = ["CacheStats", "CircuitCache"]


@dataclass(frozen=True)
class CacheStats:
    """Counters of a :class:`CircuitCache`."""

    hits: int
    misses: int
    size: int
    maxsize: int


class _Entry:
    """One cached translation and the snapshot that validates it."""

    __slots__ = ("ref", "cheap", "cregs", "metadata", "snapshot", "circuit", "names")

    def __init__(
        self,
        ref: weakref.ref[QuantumCircuit],
        cheap: tuple[Any, ...],
        cregs: list[Any],
        metadata: Any,
        snapshot: Any,
        circuit: Circuit,
    ) -> None:
        self.ref = ref
        self.cheap = cheap
        self.cregs = cregs
        self.metadata = metadata
        self.snapshot = snapshot
        self.circuit = circuit
        #: The Qiskit circuit's parameter names in its (sorted) order, once asked for.
        self.names: tuple[str, ...] | None = None


class _Scope:
    """The ``with`` block of :meth:`CircuitCache.scope` (nested blocks join the outermost)."""

    __slots__ = ("_scopes", "_outer")

    def __init__(self, scopes: threading.local) -> None:
        self._scopes = scopes
        self._outer = True

    def __enter__(self) -> None:
        self._outer = getattr(self._scopes, "seen", None) is None
        if self._outer:
            self._scopes.seen = {}

    def __exit__(self, *exc: object) -> None:
        if self._outer:
            self._scopes.seen = None


def _cheap_fields(circuit: QuantumCircuit, data: Any) -> tuple[Any, ...]:
    """The O(1) part of the fingerprint."""
    return (
        len(data),
        data.num_qubits,
        data.num_clbits,
        data.num_parameters(),
        data.global_phase,
        circuit.name,
    )


def _same(a: Any, b: Any) -> bool:
    """``a == b`` as a bool; False when the comparison fails or is ambiguous (numpy)."""
    try:
        return bool(a == b)
    except Exception:
        return False


class CircuitCache:
    """Translate Qiskit circuits once and reuse the :class:`Circuit` while they are unchanged.

    Thread-safe: dictionary reads and updates hold one lock; validation and translation run
    outside it (two threads missing on the same circuit may both translate; the last one
    stored wins, both results are correct).

    Args:
        maxsize: the most circuits kept (least recently used evicted first); ``0`` disables
            caching.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> cache = CircuitCache()
        >>> qc = QuantumCircuit(1, 1)
        >>> _ = qc.h(0), qc.measure(0, 0)
        >>> cache.get(qc) is cache.get(qc)
        True
        >>> _ = qc.x(0)  # a mutation invalidates the entry
        >>> len(cache.get(qc).operations)
        3
    """

    def __init__(self, maxsize: int = 256) -> None:
        if isinstance(maxsize, bool) or not isinstance(maxsize, int) or maxsize < 0:
            raise InputError(f"maxsize must be an integer >= 0, got {maxsize!r}")
        self.maxsize = maxsize
        self._entries: OrderedDict[int, _Entry] = OrderedDict()
        self._lock = threading.Lock()
        # Weakref callbacks may fire inside any allocation, even while this thread holds the
        # lock, so they only queue the id; the queue is drained under the lock.
        self._dead: list[int] = []
        self._hits = 0
        self._misses = 0
        self._scopes = threading.local()  # ``seen``: id -> entry validated in this scope

    def scope(self) -> _Scope:
        """Validate each circuit once in the ``with`` block (this thread; see the module
        docstring)."""
        return _Scope(self._scopes)

    def get(self, circuit: QuantumCircuit) -> Circuit:
        """The translation of ``circuit``, from the cache when the circuit is unchanged.

        Args:
            circuit: the circuit; unbound parameters stay symbolic.

        Returns:
            A :class:`Circuit`; the same object as long as the circuit is not mutated.

        Raises:
            InputError: ``circuit`` is not a ``QuantumCircuit``.
            InvalidCircuitError: the circuit cannot be translated (see ``circuit_to_ir``).
        """
        entry = self._entry(circuit)
        return entry.circuit if entry is not None else circuit_to_ir(circuit)

    def parameter_names(self, circuit: QuantumCircuit) -> tuple[str, ...]:
        """``tuple(p.name for p in circuit.parameters)``, kept with the circuit's entry.

        Raises:
            InputError, InvalidCircuitError: as :meth:`get`.
        """
        entry = self._entry(circuit)
        if entry is None:
            return tuple(param.name for param in circuit.parameters)
        if entry.names is None:
            entry.names = tuple(param.name for param in circuit.parameters)
        return entry.names

    def _entry(self, circuit: QuantumCircuit) -> _Entry | None:
        """The valid entry of ``circuit``, translating it if needed (None: not cacheable)."""
        if not isinstance(circuit, QuantumCircuit):
            raise InputError(f"expected a QuantumCircuit, got {type(circuit).__name__}")
        data = getattr(circuit, "_data", None)
        if self.maxsize == 0 or data is None or not hasattr(data, "copy"):
            return None
        key = id(circuit)
        seen = getattr(self._scopes, "seen", None)
        if seen is not None:
            entry = seen.get(key)
            if entry is not None and entry.ref() is circuit:
                return entry
        cheap = _cheap_fields(circuit, data)
        with self._lock:
            self._purge()
            entry = self._entries.get(key)
        # Validate outside the lock: the O(n) comparison should not serialize other threads.
        if entry is not None and entry.ref() is circuit and self._valid(entry, circuit, cheap):
            with self._lock:
                if self._entries.get(key) is entry:
                    self._entries.move_to_end(key)
                self._hits += 1
            if seen is not None:
                seen[key] = entry
            return entry
        with self._lock:
            self._misses += 1
        # Snapshot before translating: a concurrent mutation then makes the entry stale
        # (and re-translated next time) rather than wrongly valid.
        snapshot = data.copy(copy_instructions=True, deepcopy=True)
        cregs = list(circuit.cregs)
        metadata = dict(circuit.metadata) if isinstance(circuit.metadata, dict) else None
        translated = circuit_to_ir(circuit)
        ref = weakref.ref(circuit, self._make_callback(key))
        entry = _Entry(ref, cheap, cregs, metadata, snapshot, translated)
        with self._lock:
            self._entries[key] = entry
            self._entries.move_to_end(key)
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        if seen is not None:
            seen[key] = entry
        return entry

    @staticmethod
    def _valid(entry: _Entry, circuit: QuantumCircuit, cheap: tuple[Any, ...]) -> bool:
        """True if ``circuit`` still matches the snapshot of ``entry`` (see the module rule)."""
        return (
            _same(entry.cheap, cheap)
            and entry.cregs == list(circuit.cregs)
            and _same(entry.metadata, circuit.metadata)
            and circuit._data == entry.snapshot
        )

    def _make_callback(self, key: int) -> Any:
        dead = self._dead

        def _gone(_ref: weakref.ref[QuantumCircuit]) -> None:
            dead.append(key)  # list.append is atomic; no lock here (see __init__)

        return _gone

    def _purge(self) -> None:
        """Drop entries whose circuit was collected (lock held)."""
        while self._dead:
            key = self._dead.pop()
            entry = self._entries.get(key)
            if entry is not None and entry.ref() is None:
                del self._entries[key]

    def clear(self) -> None:
        """Forget every entry (the counters are kept)."""
        with self._lock:
            self._entries.clear()
            self._dead.clear()

    def stats(self) -> CacheStats:
        """Hit/miss counters and the current size."""
        with self._lock:
            self._purge()
            return CacheStats(self._hits, self._misses, len(self._entries), self.maxsize)

    def __len__(self) -> int:
        with self._lock:
            self._purge()
            return len(self._entries)

    def __repr__(self) -> str:
        s = self.stats()
        return f"CircuitCache(size={s.size}, maxsize={s.maxsize}, hits={s.hits}, misses={s.misses})"
