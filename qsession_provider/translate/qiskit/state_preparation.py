"""``StatePreparation`` (and ``initialize``) → dense blocks where the qubits are in ``|0>``.

``QuantumCircuit.initialize(params, qubits)`` is an ``Initialize``: a reset of the qubits, then
the ``StatePreparation(params)`` gate; ``prepare_state`` appends the gate alone. Where the
gate's qubits are known to be in ``|0...0>`` (just reset, or not yet touched:
:class:`~qsession_provider.translate.state_prep.ZeroQubits`) and uncontrolled, a vector of
amplitudes becomes the exact blocks of
:func:`~qsession_provider.translate.state_prep.preparation_blocks`: one Householder block up
to 6 qubits, a Schmidt decomposition into 6-qubit blocks and CNOTs up to 12.

Everything else keeps qiskit's definition, which is exact for any input state: a label
(``'01+-rl'``) or an integer (a few X/H/S gates), the inverse gate (``state_preparation_dg``),
a gate on qubits that may not be in ``|0>`` or under controls (the whole unitary matters
there, not its first column), and a state on more than 12 qubits (qiskit's isometry
synthesis: about 2 * 4**n / 2**n gates, some seconds to build).
"""

from __future__ import annotations

from qiskit.circuit.library import StatePreparation

from ..state_prep import Block, preparation_blocks, state_vector

__all__ = ["preparation"]


def preparation(gate: StatePreparation) -> list[Block] | None:
    """The blocks of a vector ``StatePreparation`` (valid only where its qubits are in
    ``|0>``: the caller knows); None for a label, an integer, the inverse gate or a state
    wider than the blocks go (the caller expands qiskit's definition).

    Raises:
        InvalidCircuitError: the amplitudes are not a normalised vector of the right length.
    """
    params = list(gate.params)
    if gate.name != "state_preparation" or len(params) < 2:
        return None  # the inverse, or an integer (a single parameter)
    if any(isinstance(p, str) for p in params):
        return None  # a label
    what = f"state preparation (initialize / prepare_state) on {gate.num_qubits} qubit(s)"
    return preparation_blocks(state_vector(params, gate.num_qubits, what))
