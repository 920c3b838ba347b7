"""Cirq circuits, resolvers and observables → the neutral IR (needs the ``cirq`` extra).

:func:`circuit_to_ir` translates a circuit (:mod:`.circuits`, with measurements and
classical controls in :mod:`.classical` and sympy parameters in :mod:`.params`);
:func:`resolver_values` reads a resolver's values for its parameters;
:func:`pauli_sum_to_sum` translates an observable on the qubits of
:func:`qubit_index_map` (:mod:`.observables`).
"""

from __future__ import annotations

from ..._optional import require

require("cirq", "cirq", "qsession_provider.translate.cirq")

from .circuits import circuit_to_ir, resolver_values  # noqa: E402
from .observables import pauli_sum_to_sum, qubit_index_map  # noqa: E402

__all__ = ["circuit_to_ir", "pauli_sum_to_sum", "qubit_index_map", "resolver_values"]
