"""Qiskit observables → neutral :class:`~qsession_provider.core.ir.observables.PauliSum`."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from qiskit.quantum_info import Pauli, SparseObservable, SparsePauliOp

from ...core.ir.observables import PauliSum, PauliTerm
from ...errors import InvalidCircuitError

__all__ = ["sparse_pauli_to_sum"]


def sparse_pauli_to_sum(op: Any) -> PauliSum:
    """Translate a Qiskit observable into a :class:`PauliSum`.

    Args:
        op: a ``SparsePauliOp``, ``Pauli``, Pauli-only ``SparseObservable``, a label string,
            or the ``{"XZI": coeff}`` dict form of ``ObservablesArray`` elements (Qiskit label
            order: the rightmost letter is qubit 0).

    Returns:
        The same operator as a sum of Pauli terms on qubit indices.

    Raises:
        InvalidCircuitError: a coefficient is symbolic or the input is not an observable.
    """
    if isinstance(op, str):
        op = {op: 1.0}
    if isinstance(op, Mapping):
        try:
            return PauliSum.from_labels({str(k): complex(v) for k, v in op.items()})
        except (TypeError, ValueError) as exc:
            raise InvalidCircuitError(f"invalid observable {op!r}: {exc}") from None
    if isinstance(op, SparseObservable):
        op = SparsePauliOp.from_sparse_observable(op)
    elif isinstance(op, Pauli):
        op = SparsePauliOp(op)
    if not isinstance(op, SparsePauliOp):
        raise InvalidCircuitError(f"cannot translate {type(op).__name__} into a Pauli sum")
    terms = []
    for label, indices, coeff in op.to_sparse_list():
        try:
            value = complex(coeff)
        except (TypeError, ValueError):
            raise InvalidCircuitError(
                f"observable coefficient {coeff} is symbolic; assign its parameters first"
            ) from None
        terms.append(PauliTerm(label, tuple(int(i) for i in indices), value))
    return PauliSum(terms)
