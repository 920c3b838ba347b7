"""How Qiskit's standard gates map onto the neutral gate library."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from types import MappingProxyType

import numpy as np
from qiskit.circuit import ControlledGate, Gate, ParameterExpression
from qiskit.circuit.library import get_standard_gate_name_mapping

from ...core.ir.circuit import MAX_MATRIX_QUBITS
from ...core.ir.gates import GATES

__all__ = ["STANDARD", "PLAIN_CLASSES", "constant_matrix", "permutation_swaps"]


def _standard_tables() -> tuple[dict[str, tuple[str, int, int]], dict[type, str]]:
    """Standard gate name → (IR name, controls, ctrl_state), and plain gate class → IR name."""
    by_name: dict[str, tuple[str, int, int]] = {}
    by_class: dict[type, str] = {}
    for name, gate in get_standard_gate_name_mapping().items():
        if isinstance(gate, ControlledGate):
            base = gate.base_gate.name
            if base in GATES and name != "cu":  # cu carries an extra phase, handled apart
                by_name[name] = (base, gate.num_ctrl_qubits, gate.ctrl_state)
        elif isinstance(gate, Gate) and name in GATES:
            by_name[name] = (name, 0, 0)
            by_class[gate.base_class] = name
    return by_name, by_class


#: Standard gate name → (IR gate name, number of leading control qubits, ctrl_state).
#: Every name here has the same parameters, in the same order, as the IR gate.
#: PLAIN_CLASSES: uncontrolled standard gate class → IR name (for gates off the fast path).
STANDARD, PLAIN_CLASSES = _standard_tables()


def _constant_matrices() -> Mapping[type, np.ndarray]:
    """Read-only matrices of the standard gates without a library name (rccx, rcccx)."""
    matrices = {}
    for name, gate in get_standard_gate_name_mapping().items():
        if name not in STANDARD and isinstance(gate, Gate) and not gate.params:
            matrix = np.asarray(gate.to_matrix(), dtype=np.complex128)
            matrix.setflags(write=False)
            matrices[gate.base_class] = matrix
    return MappingProxyType(matrices)


#: Standard gates without a library name: their matrices, computed once at import.
_CONSTANT_MATRICES = _constant_matrices()


def constant_matrix(op: Gate) -> np.ndarray | None:
    """The matrix of a gate with no free parameters on at most 6 qubits, if it defines one.

    Only gates whose class defines ``__array__`` (``UnitaryGate``, ``rccx``, ``QFTGate``,
    bound ``HamiltonianGate``, ...) qualify; others are expanded through their definition.
    """
    if op.num_qubits > MAX_MATRIX_QUBITS or not hasattr(type(op), "__array__"):
        return None
    if not op.params:
        known = _CONSTANT_MATRICES.get(op.base_class)
        if known is not None:
            return known
    elif any(isinstance(p, ParameterExpression) and p.parameters for p in op.params):
        return None
    try:
        return np.asarray(op.to_matrix(), dtype=np.complex128)
    except Exception:  # some gates define __array__ only for some parameter values
        return None


def permutation_swaps(pattern: Sequence[int]) -> list[tuple[int, int]]:
    """``PermutationGate(pattern)`` as SWAPs of its qubit positions, in order.

    Qiskit's pattern sends the state of qubit ``pattern[k]`` to qubit ``k``. Each cycle of
    length ``m`` takes ``m - 1`` SWAPs; the engine relabels SWAPs away (no amplitude moves),
    so a permutation of any width costs nothing but a relabelling.
    """
    where = list(range(len(pattern)))  # where[q]: the position holding qubit q's state now
    held = list(range(len(pattern)))  # held[k]: whose state position k holds now
    swaps: list[tuple[int, int]] = []
    for k, source in enumerate(pattern):
        at = where[int(source)]
        if at != k:
            swaps.append((k, at))
            moved = held[k]
            held[k], held[at] = int(source), moved
            where[int(source)], where[moved] = k, at
    return swaps
