"""Cirq Pauli observables → neutral :class:`~qsession_provider.core.ir.observables.PauliSum`."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import cirq

from ...core.ir.observables import PauliSum, PauliTerm
from ...errors import InvalidCircuitError

__all__ = ["pauli_sum_to_sum", "qubit_index_map"]


def qubit_index_map(qubits: Sequence[cirq.Qid]) -> dict[cirq.Qid, int]:
    """IR index of each qubit of a Cirq qubit order: the ``i``-th of ``n`` is ``n - 1 - i``.

    Args:
        qubits: the qubit order (as returned by ``circuit_to_ir``).

    Returns:
        ``{qid: ir_index}``.
    """
    n = len(qubits)
    return {q: n - 1 - i for i, q in enumerate(qubits)}


def pauli_sum_to_sum(observable: Any, qubit_map: Mapping[cirq.Qid, int]) -> PauliSum:
    """Translate a ``cirq.PauliString`` or ``cirq.PauliSum`` into a :class:`PauliSum`.

    Args:
        observable: the observable (real or complex numeric coefficients).
        qubit_map: IR index of each qubit, as from :func:`qubit_index_map`.

    Returns:
        The same operator on IR qubit indices.

    Raises:
        InvalidCircuitError: a qubit is missing from ``qubit_map``, a coefficient is
            symbolic, or ``observable`` is not a Pauli string or sum.
    """
    if isinstance(observable, cirq.PauliString):
        strings: list[cirq.PauliString] = [observable]
    elif isinstance(observable, cirq.PauliSum):
        strings = list(observable)
    else:
        raise InvalidCircuitError(
            f"cannot translate {type(observable).__name__} into a Pauli sum; "
            "expected cirq.PauliString or cirq.PauliSum"
        )
    terms = []
    for string in strings:
        try:
            coeff = complex(string.coefficient)
        except (TypeError, ValueError):
            raise InvalidCircuitError(
                f"Pauli string {string} has a symbolic coefficient; resolve it first"
            ) from None
        letters, indices = [], []
        for qubit, pauli in string.items():
            if qubit not in qubit_map:
                raise InvalidCircuitError(
                    f"observable acts on {qubit!r}, which is not in the circuit's qubit order"
                )
            letters.append(str(pauli))
            indices.append(qubit_map[qubit])
        terms.append(PauliTerm("".join(letters), tuple(indices), coeff))
    return PauliSum(terms)
