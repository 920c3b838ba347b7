"""State preparation shared by the translators: dense blocks that map ``|0...0>`` to a state.

Preparing a state ``psi`` on qubits in ``|0...0>`` only needs a unitary that maps ``|0>`` to
``psi``; :func:`householder_unitary` builds one exactly with numpy (a Householder reflection,
``O(4**n)``). A dense block holds at most ``MAX_MATRIX_QUBITS`` (6) qubits, so a wider state
(up to :data:`MAX_PREPARED_QUBITS`, 12) is prepared from its Schmidt decomposition
``psi = sum_i s_i |a_i>|b_i>`` (an SVD of the amplitudes as a matrix), again exactly: the
weights ``s`` on the low half, CNOTs copying ``|i>`` to the high half, then the unitaries
whose columns are the ``a_i`` and the ``b_i`` (:func:`preparation_blocks`).

:class:`ZeroQubits` tells a translator which qubits are known to be in ``|0>`` at the current
point of its translation (untouched so far, or just reset): there a reset is the identity and
a state preparation may be these blocks.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, NamedTuple

import numpy as np

from ..core.ir import circuit as ir
from ..core.ir.circuit import MAX_MATRIX_QUBITS
from ..errors import InvalidCircuitError

__all__ = [
    "MAX_PREPARED_QUBITS",
    "NORM_ATOL",
    "Block",
    "ZeroQubits",
    "householder_unitary",
    "preparation_blocks",
    "state_vector",
]

#: The widest state :func:`preparation_blocks` prepares: two dense blocks' worth of qubits.
MAX_PREPARED_QUBITS = 2 * MAX_MATRIX_QUBITS

#: How far from 1 the norm of an amplitude vector may be (qiskit's own tolerance).
NORM_ATOL = 1e-10


def state_vector(amplitudes: Any, num_qubits: int, what: str) -> np.ndarray:
    """``amplitudes`` as a normalised complex vector of ``2**num_qubits`` entries.

    Raises:
        InvalidCircuitError: not numbers, not finite, the wrong length or not of norm 1
            (``what`` names the instruction).
    """
    try:
        vector = np.asarray(amplitudes, dtype=np.complex128).ravel()
    except (TypeError, ValueError):
        raise InvalidCircuitError(f"{what}: the amplitudes are not complex numbers") from None
    if vector.size != 2**num_qubits:
        raise InvalidCircuitError(
            f"{what}: {vector.size} amplitudes for {num_qubits} qubit(s); expected {2**num_qubits}"
        )
    if not np.all(np.isfinite(vector)):
        raise InvalidCircuitError(f"{what}: the amplitudes contain NaN or infinity")
    norm = float(np.linalg.norm(vector))
    if not math.isclose(norm, 1.0, abs_tol=NORM_ATOL):
        raise InvalidCircuitError(
            f"{what}: the amplitudes have norm {norm}, not 1 (normalise them first)"
        )
    return vector


def householder_unitary(vector: np.ndarray) -> np.ndarray:
    """A unitary whose first column is ``vector`` (a unit vector of length ``2**n``).

    ``U = -e^{i theta} (I - 2 v v^† / v^† v)`` with ``v = e_0 + e^{-i theta} psi`` and
    ``theta = arg(psi_0)``: the reflection maps ``e_0`` to ``-e^{-i theta} psi`` exactly, and
    ``|v|^2 = 2 + 2 |psi_0| >= 2`` keeps it well conditioned for every ``psi``.
    """
    psi = np.asarray(vector, dtype=np.complex128)
    phase = np.exp(1j * float(np.angle(psi[0]))) if psi[0] != 0 else 1.0 + 0j
    v = psi / phase
    v[0] += 1.0
    reflection = np.eye(psi.size, dtype=np.complex128)
    reflection -= (2.0 / np.vdot(v, v).real) * np.outer(v, v.conj())
    return -phase * reflection


class Block(NamedTuple):
    """One gate of a preparation, on local qubit numbers (bit j of a state index is qubit j).

    ``matrix`` None is an X gate on ``targets`` controlled by ``controls`` (a CNOT).
    """

    targets: tuple[int, ...]
    controls: tuple[int, ...]
    matrix: np.ndarray | None


def preparation_blocks(vector: np.ndarray) -> list[Block] | None:
    """Gates mapping ``|0...0>`` exactly to ``vector`` (a unit vector of ``2**n`` amplitudes),
    each at most ``MAX_MATRIX_QUBITS`` wide; None beyond :data:`MAX_PREPARED_QUBITS` qubits.

    Up to ``MAX_MATRIX_QUBITS`` qubits: one :func:`householder_unitary`. Wider: the Schmidt
    decomposition over the low ``n // 2`` qubits (A) and the rest (B): ``M[a, b] =
    psi[a + 2**nA * b] = sum_i s_i U[a, i] Vh[i, b]``, prepared as ``s`` on A, a CNOT from
    each A qubit to its B partner (``sum_i s_i |i>|i>``), then ``U`` on A and ``Vh^T`` on B.
    """
    n = int(vector.size).bit_length() - 1
    if n <= MAX_MATRIX_QUBITS:
        return [Block(tuple(range(n)), (), householder_unitary(vector))]
    if n > MAX_PREPARED_QUBITS:
        return None
    low = n // 2
    matrix = np.asarray(vector, dtype=np.complex128).reshape(2 ** (n - low), 2**low).T
    u, weights, vh = np.linalg.svd(matrix, full_matrices=True)
    a, b = tuple(range(low)), tuple(range(low, n))
    weights = weights / np.linalg.norm(weights)  # 1 up to rounding; keeps the block exact
    return [
        Block(a, (), householder_unitary(weights.astype(np.complex128))),
        *(Block((low + j,), (j,), None) for j in range(low)),
        Block(a, (), u),
        Block(b, (), np.ascontiguousarray(vh.T)),
    ]


class ZeroQubits:
    """Which qubits of a translation so far are known to be in ``|0>``.

    A qubit is known to be in ``|0>`` if no operation has touched it, or the last one that
    did is an unconditioned reset (barriers do not count). ``ops`` is the translator's list
    of IR operations, only ever appended to; each call reads what was appended since the last.
    """

    def __init__(self, ops: list[ir.Operation]) -> None:
        self._ops = ops
        self._last: dict[int, ir.Operation] = {}
        self._seen = 0

    def __call__(self, qubits: Sequence[int]) -> bool:
        """Whether every qubit of ``qubits`` is known to be in ``|0>`` now."""
        for op in self._ops[self._seen :]:
            if not isinstance(op, ir.Barrier):
                for q in op.all_qubits:
                    self._last[q] = op
        self._seen = len(self._ops)
        for q in qubits:
            last = self._last.get(q)
            if last is not None and not (isinstance(last, ir.Reset) and last.condition is None):
                return False
        return True
