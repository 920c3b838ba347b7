"""Neutral observables: weighted sums of Pauli strings on numbered qubits.

Faces translate ``SparsePauliOp`` / ``ObservablesArray`` entries and ``cirq.PauliSum``
into :class:`PauliSum`; the engine evaluates them from X/Z bit masks without ever
building a matrix.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from ...errors import InvalidCircuitError

__all__ = ["PauliTerm", "PauliSum"]

_PAULIS = frozenset("IXYZ")


@dataclass(frozen=True)
class PauliTerm:
    """``coeff * P`` where ``P`` applies ``paulis[i]`` to qubit ``qubits[i]``.

    Identity factors may be omitted; a term with no qubits is ``coeff * I``.
    """

    paulis: str
    qubits: tuple[int, ...]
    coeff: complex = 1.0

    def __post_init__(self) -> None:
        paulis = self.paulis.upper()
        qubits = tuple(int(q) for q in self.qubits)
        if len(paulis) != len(qubits):
            raise InvalidCircuitError(
                f"Pauli term {self.paulis!r} has {len(paulis)} letters but {len(qubits)} qubits"
            )
        if not set(paulis) <= _PAULIS:
            raise InvalidCircuitError(
                f"Pauli term {self.paulis!r} has letters other than I, X, Y, Z"
            )
        if len(set(qubits)) != len(qubits):
            raise InvalidCircuitError(f"Pauli term {self.paulis!r} names a qubit twice: {qubits}")
        if any(q < 0 for q in qubits):
            raise InvalidCircuitError(f"Pauli term {self.paulis!r} has a negative qubit index")
        coeff = complex(self.coeff)
        if not (math.isfinite(coeff.real) and math.isfinite(coeff.imag)):
            raise InvalidCircuitError(f"Pauli term {self.paulis!r} has a non-finite coefficient")
        kept = [(p, q) for p, q in zip(paulis, qubits) if p != "I"]
        object.__setattr__(self, "paulis", "".join(p for p, _ in kept))
        object.__setattr__(self, "qubits", tuple(q for _, q in kept))
        object.__setattr__(self, "coeff", coeff)

    @property
    def max_qubit(self) -> int:
        """Largest qubit index used, or -1 for the identity."""
        return max(self.qubits, default=-1)

    def masks(self, positions: Mapping[int, int]) -> tuple[int, int] | None:
        """(x_mask, z_mask) with qubit ``q`` at bit ``positions[q]``.

        Qubits missing from ``positions`` are idle qubits in |0>: an I/Z there leaves the
        value unchanged, an X/Y there makes it zero, signalled by returning None.
        """
        x = z = 0
        for p, q in zip(self.paulis, self.qubits):
            pos = positions.get(q)
            if pos is None:
                if p in "XY":
                    return None
                continue
            if p in "XY":
                x |= 1 << pos
            if p in "ZY":
                z |= 1 << pos
        return x, z


class PauliSum:
    """A Hermitian-or-not weighted sum of :class:`PauliTerm`.

    Args:
        terms: the terms; an empty sum is the zero operator.
    """

    __slots__ = ("terms", "_encoded", "_max_qubit", "_real")

    def __init__(self, terms: Iterable[PauliTerm] = ()) -> None:
        self.terms: tuple[PauliTerm, ...] = tuple(terms)
        #: ``(terms, text)``: the encoded terms, kept by ``encoding.dumps``.
        self._encoded: tuple[tuple[PauliTerm, ...], str] | None = None
        self._max_qubit: tuple[tuple[PauliTerm, ...], int] | None = None
        self._real: tuple[tuple[PauliTerm, ...], bool] | None = None
        for t in self.terms:
            if not isinstance(t, PauliTerm):
                raise InvalidCircuitError(f"{t!r} is not a PauliTerm")

    @classmethod
    def from_labels(cls, labels: Mapping[str, complex] | Iterable[tuple[str, complex]]) -> PauliSum:
        """From dense labels in Qiskit order (rightmost letter is qubit 0), e.g. ``{"XZ": 0.5}``."""
        items = labels.items() if isinstance(labels, Mapping) else labels
        terms = []
        for label, coeff in items:
            n = len(label)
            terms.append(PauliTerm(label[::-1], tuple(range(n)), coeff))
        return cls(terms)

    @property
    def max_qubit(self) -> int:
        """Largest qubit index used, or -1."""
        terms = self.terms
        found = self._max_qubit
        if found is None or found[0] is not terms:  # terms are immutable; computed once
            found = self._max_qubit = (terms, max((t.max_qubit for t in terms), default=-1))
        return found[1]

    @property
    def real_coefficients(self) -> bool:
        """True if every term's coefficient is real (computed once: a VQE loop's
        Hamiltonian is checked every job)."""
        terms = self.terms
        found = self._real
        if found is None or found[0] is not terms:
            found = self._real = (terms, all(t.coeff.imag == 0 for t in terms))
        return found[1]

    def to_json(self) -> list[Any]:
        """JSON-compatible list of ``[paulis, qubits, [re, im]]``."""
        return [[t.paulis, list(t.qubits), [t.coeff.real, t.coeff.imag]] for t in self.terms]

    @classmethod
    def from_json(cls, data: list[Any]) -> PauliSum:
        """Inverse of :meth:`to_json`."""
        return cls(PauliTerm(p, tuple(q), complex(c[0], c[1])) for p, q, c in data)

    def __len__(self) -> int:
        return len(self.terms)

    def __eq__(self, other: object) -> bool:
        return isinstance(other, PauliSum) and self.terms == other.terms

    def __hash__(self) -> int:
        return hash(self.terms)

    def __repr__(self) -> str:
        body = " + ".join(f"{t.coeff}*{t.paulis or 'I'}{list(t.qubits)}" for t in self.terms)
        return f"PauliSum({body or '0'})"
