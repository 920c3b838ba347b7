"""Pauli sums as the kernel reads them: X and Z bit masks over the simulated positions.

Every distinct Pauli string of a list of observables becomes one (x, z) mask pair, evaluated
once by the kernel's ``expectation_paulis``; a coefficient matrix sums them back into each
observable's expectation value. Observables must be Hermitian (payloads check it on
submission; :func:`pauli_table` checks again rather than drop an imaginary part).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import NamedTuple

import numpy as np

from ..core.ir.observables import PauliSum
from ..errors import InputError
from .compiler import CompiledCircuit

__all__ = ["PauliTable", "dephased", "pauli_table"]

#: Imaginary parts of combined coefficients below this are rounding (as in ``core.ir.payload``).
_HERMITIAN_ATOL = 1e-10


class PauliTable(NamedTuple):
    """Masks of the distinct Pauli strings and the coefficients that sum them per observable.

    ``x[t]``, ``z[t]``: uint64 masks of string t; ``coeffs[i, t]``: the coefficient of string
    t in observable i, real (the observables are Hermitian).
    """

    x: np.ndarray
    z: np.ndarray
    coeffs: np.ndarray


def pauli_table(compiled: CompiledCircuit, observables: Sequence[PauliSum]) -> PauliTable:
    """The :class:`PauliTable` of ``observables`` on the positions of ``compiled``.

    Terms on qubits the circuit never touches are folded in by :meth:`PauliTerm.masks`
    (they act on |0>); a term that vanishes there is dropped.

    Raises:
        InputError: an observable is not a :class:`PauliSum`, acts on a qubit outside the
            circuit, or is not Hermitian (a string keeps a complex coefficient).
    """
    x_masks: list[int] = []
    z_masks: list[int] = []
    index: dict[tuple[int, int], int] = {}
    terms: list[list[tuple[int, complex]]] = []
    for obs in observables:
        if not isinstance(obs, PauliSum):
            raise InputError(f"observable {obs!r} is not a PauliSum")
        if obs.max_qubit >= compiled.num_qubits:
            raise InputError(
                f"observable acts on qubit {obs.max_qubit}, but the circuit has "
                f"{compiled.num_qubits} qubits"
            )
        row = []
        for term in obs.terms:
            masks = term.masks(compiled.positions)
            if masks is None:
                continue
            slot = index.get(masks)
            if slot is None:
                slot = index[masks] = len(x_masks)
                x_masks.append(masks[0])
                z_masks.append(masks[1])
            row.append((slot, term.coeff))
        terms.append(row)
    coeffs = np.zeros((len(terms), len(x_masks)), dtype=np.complex128)
    for i, row in enumerate(terms):
        for slot, c in row:
            coeffs[i, slot] += c
    bad = np.abs(coeffs.imag) > _HERMITIAN_ATOL * np.maximum(1.0, np.abs(coeffs))
    if bad.any():
        i, slot = (int(k) for k in np.argwhere(bad)[0])
        raise InputError(
            f"observable {i} is not Hermitian: a Pauli string has the complex coefficient "
            f"{complex(coeffs[i, slot])}; expectation values here are real"
        )
    return PauliTable(
        np.array(x_masks, dtype=np.uint64),
        np.array(z_masks, dtype=np.uint64),
        np.ascontiguousarray(coeffs.real),
    )


def dephased(table: PauliTable, positions: int) -> PauliTable:
    """``table`` after a Z-basis measurement of the qubits in the ``positions`` bit mask.

    A measurement whose outcome nothing reads dephases its qubit: ``Tr(P D(rho)) =
    Tr(D(P) rho)``, and ``D(P)`` is ``P`` when ``P`` has no X or Y on a measured qubit, 0
    otherwise. So those strings drop out of every observable.
    """
    if not positions or not len(table.x):
        return table
    keep = (table.x & np.uint64(positions)) == 0
    return PauliTable(table.x, table.z, table.coeffs * keep)
