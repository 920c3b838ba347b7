"""Qiskit circuits and observables → the neutral IR (needs the ``qiskit`` extra).

:func:`circuit_to_ir` translates a ``QuantumCircuit`` (:mod:`.circuits`, with the gate
table in :mod:`.gatemap`, classical bits in :mod:`.classical` and parameters in
:mod:`.params`); :func:`sparse_pauli_to_sum` translates an observable (:mod:`.observables`).
"""

from __future__ import annotations

from ..._optional import require

require("qiskit", "qiskit", "qsession_provider.translate.qiskit")

from .circuits import LOOSE_CLBITS_REGISTER, circuit_to_ir  # noqa: E402
from .observables import sparse_pauli_to_sum  # noqa: E402

__all__ = ["LOOSE_CLBITS_REGISTER", "circuit_to_ir", "sparse_pauli_to_sum"]
