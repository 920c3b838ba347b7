"""What the Qiskit face remembers between jobs: one :class:`TranslationCache` per service.

A VQE or sampling loop submits the same circuit and Hamiltonian job after job; each part of
turning them into a neutral payload is done once and reused while the input is unchanged:

=======================  ==================================================  ================
attribute                holds                                               keyed by
=======================  ==================================================  ================
``circuits``             ``QuantumCircuit`` → IR :class:`Circuit`            identity, then a
                         (:class:`~._circuit_cache.CircuitCache`)            snapshot check
``coerced_observables``  ``SparsePauliOp``/``SparseObservable`` → the        content
                         ``SparseObservable`` ``EstimatorPub.coerce`` makes
``observables``          ``SparseObservable`` → IR :class:`PauliSum`          content
``sampler_pubs``         parameter-free circuit + shots + shape → neutral    the IR circuit
                         :class:`~qsession_provider.core.ir.payload.SamplerPub`
=======================  ==================================================  ================

The cache belongs to whoever holds it: :class:`~.service.QiskitRuntimeService` makes one and
hands it to each backend it creates; a backend built on its own makes its own. Nothing is
cached at module level, so two services never share entries.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any, Generic, TypeVar

import numpy as np
from qiskit.primitives.containers import ObservablesArray
from qiskit.quantum_info import SparseObservable, SparsePauliOp

from ..core.ir.circuit import Circuit
from ..core.ir.observables import PauliSum
from ..core.ir.payload import SamplerPub
from ..translate.qiskit.observables import sparse_pauli_to_sum
from ._circuit_cache import CircuitCache

__all__ = [
    "CoercedObservableCache",
    "ObservableCache",
    "SamplerPubCache",
    "TranslationCache",
]

V = TypeVar("V")


class _ContentLRU(Generic[V]):
    """A thread-safe LRU map from a content key to a computed value.

    Args:
        maxsize: the most entries kept; ``0`` disables caching.
    """

    def __init__(self, maxsize: int) -> None:
        self.maxsize = maxsize
        self._entries: OrderedDict[Hashable, V] = OrderedDict()
        self._lock = threading.Lock()

    def _get(self, key: Hashable, compute: Callable[[], V]) -> V:
        """The value stored for ``key``, computed (outside the lock) and stored on a miss."""
        with self._lock:
            found = self._entries.get(key)
            if found is not None:
                self._entries.move_to_end(key)
                return found
        value = compute()  # failures are not cached
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self.maxsize:
                self._entries.popitem(last=False)
        return value

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


def _sparse_observable_key(observable: SparseObservable) -> tuple[Any, ...]:
    """A ``SparseObservable``'s content: qubit count and its raw arrays."""
    return (
        observable.num_qubits,
        np.asarray(observable.coeffs).tobytes(),
        np.asarray(observable.bit_terms).tobytes(),
        np.asarray(observable.indices).tobytes(),
        np.asarray(observable.boundaries).tobytes(),
    )


class ObservableCache(_ContentLRU[PauliSum]):
    """``SparseObservable`` → :class:`PauliSum` conversions, keyed by content.

    Keyed by content because ``ObservablesArray`` builds fresh ``SparseObservable`` objects on
    every coercion, so identity would never hit. Other observable forms are converted
    without caching.

    Args:
        maxsize: the most observables kept; ``0`` disables caching.
    """

    def __init__(self, maxsize: int = 1024) -> None:
        super().__init__(maxsize)

    def get(self, observable: Any) -> PauliSum:
        """The :class:`PauliSum` of ``observable`` (see ``sparse_pauli_to_sum``)."""
        if not isinstance(observable, SparseObservable) or self.maxsize == 0:
            return sparse_pauli_to_sum(observable)
        key = _sparse_observable_key(observable)
        return self._get(key, lambda: sparse_pauli_to_sum(observable))


class CoercedObservableCache(_ContentLRU[SparseObservable]):
    """``ObservablesArray.coerce_observable`` results, keyed by content.

    ``coerce_observable`` is a pure function of the observable's content (its Pauli arrays,
    phases and coefficients), so an in-place edit of a ``SparsePauliOp`` changes the key.

    Args:
        maxsize: the most observables kept; ``0`` disables caching.
    """

    def __init__(self, maxsize: int = 64) -> None:
        super().__init__(maxsize)

    @staticmethod
    def key(observable: SparsePauliOp | SparseObservable) -> tuple[Any, ...]:
        """Everything ``coerce_observable``'s result depends on."""
        if isinstance(observable, SparsePauliOp):
            paulis = observable.paulis
            coeffs = np.asarray(observable.coeffs)
            z = np.asarray(paulis.z)
            return (
                "SparsePauliOp",
                observable.num_qubits,
                z.shape,
                z.tobytes(),
                np.asarray(paulis.x).tobytes(),
                np.asarray(paulis.phase).tobytes(),
                coeffs.dtype.str,
                coeffs.tobytes(),
            )
        coeffs = np.asarray(observable.coeffs)
        return ("SparseObservable", coeffs.dtype.str, *_sparse_observable_key(observable))

    def coerce(self, observable: SparsePauliOp | SparseObservable) -> SparseObservable:
        """``ObservablesArray.coerce_observable(observable)``: a new object on every call.

        Raises:
            ValueError, TypeError: as ``coerce_observable`` (failures are not cached).
        """
        if self.maxsize == 0:
            return ObservablesArray.coerce_observable(observable)
        found = self._get(
            self.key(observable), lambda: ObservablesArray.coerce_observable(observable)
        )
        # Each pub owns its observable, as with qiskit's coercion (a user may edit it).
        return found.copy()


class SamplerPubCache:
    """Neutral pubs of parameter-free circuits, by ``(circuit, shots, shape)``.

    A loop that samples the same circuit job after job builds (and the runtime encodes) its
    pub once: a neutral pub is immutable, so jobs can share it. An entry holds its circuit,
    so the ``id`` in the key cannot be reused while the entry exists; it is checked anyway.
    When full, the cache starts over.

    Args:
        maxsize: the most pubs kept.
    """

    def __init__(self, maxsize: int = 256) -> None:
        self.maxsize = maxsize
        self._entries: dict[tuple[int, int, tuple[int, ...]], SamplerPub] = {}

    def get(self, circuit: Circuit, shots: int, shape: tuple[int, ...]) -> SamplerPub:
        """The neutral pub running ``circuit`` (no parameters) ``shots`` times per element."""
        key = (id(circuit), shots, shape)
        pub = self._entries.get(key)
        if pub is None or pub.circuit is not circuit:
            pub = SamplerPub(circuit, np.zeros((*shape, 0), dtype=float), shots)
            if len(self._entries) >= self.maxsize:
                self._entries.clear()
            self._entries[key] = pub
        return pub

    def __len__(self) -> int:
        return len(self._entries)


class TranslationCache:
    """Every translation the Qiskit face reuses between jobs (see the module docstring).

    Thread-safe: each part guards its own entries.

    Args:
        maxsize: the most circuits kept (``0`` disables circuit caching).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> cache = TranslationCache()
        >>> qc = QuantumCircuit(1, 1)
        >>> _ = qc.h(0), qc.measure(0, 0)
        >>> cache.circuits.get(qc) is cache.circuits.get(qc)
        True
    """

    def __init__(self, maxsize: int = 256) -> None:
        #: ``QuantumCircuit`` → IR circuit.
        self.circuits = CircuitCache(maxsize)
        #: Observables as ``EstimatorPub.coerce`` makes them.
        self.coerced_observables = CoercedObservableCache()
        #: ``SparseObservable`` → ``PauliSum``.
        self.observables = ObservableCache()
        #: Neutral pubs of parameter-free circuits.
        self.sampler_pubs = SamplerPubCache()

    def __repr__(self) -> str:
        return (
            f"TranslationCache(circuits={len(self.circuits)}, "
            f"observables={len(self.observables)}, sampler_pubs={len(self.sampler_pubs)})"
        )
