"""Pure-numpy twin of the compiled ``_kernel`` module: the test oracle.

Same functions, signatures and errors as ``qsession_provider.sim._kernel``, written for clarity
with vectorised numpy (reshape, moveaxis, fancy indexing) and computed in complex128 whatever
the state's precision.  Qubit q is bit q of the amplitude index; bit j of a gate's matrix index
belongs to ``targets[j]`` (Qiskit's ``Operator`` convention on ``qargs``).
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "apply_diagonal",
    "apply_matrix",
    "collapse",
    "expectation_paulis",
    "get_num_threads",
    "has_openmp",
    "measure_probability",
    "norm_squared",
    "probabilities",
    "run_plan",
    "sample",
    "set_num_threads",
    "simd_level",
]

MAX_TARGETS = 6

# ---------------------------------------------------------------------------------------------
# Checks (the same errors as module.c)
# ---------------------------------------------------------------------------------------------


def _check_state(state: object, writeable: bool = False) -> int:
    """Return the qubit count of a valid state, or raise TypeError / ValueError."""
    if not isinstance(state, np.ndarray):
        raise TypeError(f"state must be a numpy.ndarray, not {type(state).__name__}")
    if state.dtype not in (np.complex128, np.complex64) or not state.dtype.isnative:
        raise TypeError("state must have dtype complex128 or complex64 (native byte order)")
    if state.ndim != 1:
        raise ValueError(f"state must be 1-D, got {state.ndim} dimensions")
    if not (state.flags.c_contiguous and state.flags.aligned):
        raise ValueError("state must be C-contiguous and aligned")
    if writeable and not state.flags.writeable:
        raise ValueError("state must be writeable (it is updated in place)")
    size = state.shape[0]
    if size < 1 or size & (size - 1):
        raise ValueError(f"state length must be a power of two, got {size}")
    return size.bit_length() - 1


def _check_array(arr: object, name: str, dtype: type, shape: tuple[int | None, ...]) -> None:
    if not isinstance(arr, np.ndarray) or arr.dtype != dtype or not arr.dtype.isnative:
        raise TypeError(f"{name} must be a numpy.ndarray of {np.dtype(dtype).name}")
    if arr.ndim != len(shape) or any(s is not None and s != d for s, d in zip(shape, arr.shape)):
        raise ValueError(f"{name} must have shape {shape}, got {arr.shape}")
    if not (arr.flags.c_contiguous and arr.flags.aligned):
        raise ValueError(f"{name} must be C-contiguous and aligned")


def _check_qubits(qubits: Sequence[int], name: str, n: int, used: set[int]) -> list[int]:
    out = []
    for q in qubits:
        q = operator.index(q)
        if not 0 <= q < n:
            raise ValueError(f"{name}: qubit {q} out of range for {n} qubits")
        if q in used:
            raise ValueError(f"{name}: qubit {q} used more than once")
        used.add(q)
        out.append(q)
    return out


def _check_gate(
    n: int, targets: Sequence[int], controls: Sequence[int], ctrl_state: int, where: str = ""
) -> tuple[list[int], list[int]]:
    used: set[int] = set()
    t = _check_qubits(targets, where + "targets", n, used)
    c = _check_qubits(controls, where + "controls", n, used)
    if not 1 <= len(t) <= MAX_TARGETS:
        raise ValueError(f"{where}targets: 1..{MAX_TARGETS} qubits required, got {len(t)}")
    if ctrl_state != -1 and not 0 <= ctrl_state < 2 ** len(c):
        raise ValueError(f"{where}ctrl_state {ctrl_state} out of range for {len(c)} controls")
    return t, c


# ---------------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------------


def _on_targets(
    state: NDArray[np.complexfloating],
    targets: list[int],
    controls: list[int],
    ctrl_state: int,
    op: Callable[[NDArray[np.complex128]], NDArray[np.complex128]],
) -> None:
    """Apply ``op`` to the (2**k, rest) block of the controlled subspace, in place.

    Row r of the block holds the amplitudes whose target bits spell r (bit j = targets[j]).
    """
    n = state.shape[0].bit_length() - 1
    psi = state.reshape((2,) * n)  # axis a holds qubit n - 1 - a
    index: list[int | slice] = [slice(None)] * n
    for i, c in enumerate(controls):
        index[n - 1 - c] = 1 if ctrl_state == -1 else (ctrl_state >> i) & 1
    sub = psi[tuple(index)]  # a view: the control axes are fixed
    remaining = [q for q in range(n - 1, -1, -1) if q not in controls]
    axes = [remaining.index(t) for t in reversed(targets)]  # most significant target first
    k = len(targets)
    moved = np.moveaxis(sub, axes, list(range(k)))
    block = moved.reshape(2**k, -1).astype(np.complex128)
    result = op(block).reshape(moved.shape)
    sub[...] = np.moveaxis(result, list(range(k)), axes)


def apply_matrix(
    state: NDArray[np.complexfloating],
    targets: Sequence[int],
    matrix: NDArray[np.complex128],
    controls: Sequence[int] = (),
    ctrl_state: int = -1,
) -> None:
    """Apply a dense (2**k, 2**k) complex128 matrix on ``targets`` in place."""
    n = _check_state(state, writeable=True)
    t, c = _check_gate(n, targets, controls, ctrl_state)
    _check_array(matrix, "matrix", np.complex128, (2 ** len(t), 2 ** len(t)))
    _on_targets(state, t, c, ctrl_state, lambda block: matrix @ block)


def apply_diagonal(
    state: NDArray[np.complexfloating],
    targets: Sequence[int],
    diag: NDArray[np.complex128],
    controls: Sequence[int] = (),
    ctrl_state: int = -1,
) -> None:
    """Multiply amplitudes by ``diag[bits of targets]`` in place."""
    n = _check_state(state, writeable=True)
    t, c = _check_gate(n, targets, controls, ctrl_state)
    _check_array(diag, "diag", np.complex128, (2 ** len(t),))
    _on_targets(state, t, c, ctrl_state, lambda block: diag[:, None] * block)


def run_plan(
    state: NDArray[np.complexfloating],
    kinds: NDArray[np.int32],
    qubits: NDArray[np.int32],
    qubit_offsets: NDArray[np.int64],
    matrices: NDArray[np.complex128],
    matrix_offsets: NDArray[np.int64],
    ctrl_counts: NDArray[np.int32],
    ctrl_states: NDArray[np.int64],
) -> None:
    """Apply gates one after another (kind 0 dense, 1 diagonal); all are checked first."""
    n = _check_state(state, writeable=True)
    _check_array(kinds, "kinds", np.int32, (None,))
    g_count = kinds.shape[0]
    _check_array(qubits, "qubits", np.int32, (None,))
    _check_array(qubit_offsets, "qubit_offsets", np.int64, (g_count + 1,))
    _check_array(matrices, "matrices", np.complex128, (None,))
    _check_array(matrix_offsets, "matrix_offsets", np.int64, (g_count + 1,))
    _check_array(ctrl_counts, "ctrl_counts", np.int32, (g_count,))
    _check_array(ctrl_states, "ctrl_states", np.int64, (g_count,))
    if qubit_offsets[0] != 0 or qubit_offsets[-1] != qubits.shape[0]:
        raise ValueError("qubit_offsets must start at 0 and end at len(qubits)")
    if matrix_offsets[0] != 0 or matrix_offsets[-1] != matrices.shape[0]:
        raise ValueError("matrix_offsets must start at 0 and end at len(matrices)")
    if np.any(np.diff(qubit_offsets) < 0) or np.any(np.diff(matrix_offsets) < 0):
        raise ValueError("offsets must be non-decreasing")
    gates = []
    for g in range(g_count):
        where = f"gate {g}: "
        kind = int(kinds[g])
        if kind not in (0, 1):
            raise ValueError(f"{where}kind must be 0 (matrix) or 1 (diagonal), got {kind}")
        nc = int(ctrl_counts[g])
        qs = [int(q) for q in qubits[qubit_offsets[g] : qubit_offsets[g + 1]]]
        if not 0 <= nc < len(qs):
            raise ValueError(f"{where}{len(qs)} qubits with {nc} controls leave no target")
        t, c = _check_gate(n, qs[nc:], qs[:nc], int(ctrl_states[g]), where)
        data = matrices[matrix_offsets[g] : matrix_offsets[g + 1]]
        size = 4 ** len(t) if kind == 0 else 2 ** len(t)
        if data.shape[0] != size:
            raise ValueError(f"{where}expected {size} matrix entries, got {data.shape[0]}")
        gates.append((kind, t, c, int(ctrl_states[g]), data))
    for kind, t, c, cs, data in gates:
        if kind == 0:
            matrix = data.reshape(2 ** len(t), 2 ** len(t))
            _on_targets(state, t, c, cs, lambda block, m=matrix: m @ block)
        else:
            _on_targets(state, t, c, cs, lambda block, d=data: d[:, None] * block)


# ---------------------------------------------------------------------------------------------
# Probabilities, sampling, expectation values, measurement
# ---------------------------------------------------------------------------------------------


def probabilities(state: NDArray[np.complexfloating]) -> NDArray[np.float64]:
    """Return ``|state|**2`` as a new float64 array."""
    _check_state(state)
    psi = state.astype(np.complex128)
    return psi.real**2 + psi.imag**2


def norm_squared(state: NDArray[np.complexfloating]) -> float:
    """Return the sum of ``|state|**2``."""
    return float(np.sum(probabilities(state)))


def sample(state: NDArray[np.complexfloating], uniforms: NDArray[np.float64]) -> NDArray[np.int64]:
    """Map sorted uniforms in [0, 1) to basis-state indices through the cumulative distribution."""
    p = probabilities(state)
    _check_array(uniforms, "uniforms", np.float64, (None,))
    if not np.all((uniforms >= 0.0) & (uniforms < 1.0)):
        raise ValueError("uniforms must lie in [0, 1)")
    if np.any(np.diff(uniforms) < 0):
        raise ValueError("uniforms must be sorted ascending")
    total = float(np.sum(p))
    if not 0.0 < total < np.inf:
        raise ValueError("state has zero (or non-finite) norm")
    cumulative = np.cumsum(p)
    idx = np.searchsorted(cumulative, uniforms * total, side="right")
    last_nonzero = int(np.flatnonzero(p)[-1])
    return np.minimum(idx, last_nonzero).astype(np.int64)


def _parity(v: NDArray[np.uint64]) -> NDArray[np.uint64]:
    for shift in (32, 16, 8, 4, 2, 1):
        v = v ^ (v >> np.uint64(shift))
    return v & np.uint64(1)


def expectation_paulis(
    state: NDArray[np.complexfloating], x_masks: NDArray[np.uint64], z_masks: NDArray[np.uint64]
) -> NDArray[np.float64]:
    """Return ``Re <psi|P|psi>`` for the Pauli strings given by x and z bit masks (Y = iXZ)."""
    n = _check_state(state)
    _check_array(x_masks, "x_masks", np.uint64, (None,))
    _check_array(z_masks, "z_masks", np.uint64, (x_masks.shape[0],))
    if np.any(x_masks >> np.uint64(n)) or np.any(z_masks >> np.uint64(n)):
        raise ValueError(f"Pauli terms act on qubits beyond the {n} of the state")
    psi = state.astype(np.complex128)
    idx = np.arange(psi.shape[0], dtype=np.uint64)
    out = np.empty(x_masks.shape[0], dtype=np.float64)
    for t, (x, z) in enumerate(zip(x_masks, z_masks)):
        sign = 1.0 - 2.0 * _parity(idx & z).astype(np.float64)
        phase = 1j ** (int(x & z).bit_count() % 4)
        out[t] = (phase * np.sum(np.conj(psi[idx ^ x]) * psi * sign)).real
    return out


def _qubit_weights(state: NDArray[np.complexfloating], qubit: int) -> tuple[float, float]:
    n = _check_state(state)
    q = operator.index(qubit)
    if not 0 <= q < n:
        raise ValueError(f"qubit {q} out of range for {n} qubits")
    p = probabilities(state).reshape(-1, 2, 2**q)  # middle axis: the qubit's value
    return float(p[:, 0, :].sum()), float(p[:, 1, :].sum())


def measure_probability(state: NDArray[np.complexfloating], qubit: int) -> float:
    """Return the probability that ``qubit`` reads 1 (relative to the state's norm)."""
    w0, w1 = _qubit_weights(state, qubit)
    if not 0.0 < w0 + w1 < np.inf:
        raise ValueError("state has zero (or non-finite) norm")
    return w1 / (w0 + w1)


def collapse(
    state: NDArray[np.complexfloating], qubit: int, outcome: int, renormalize: bool = True
) -> None:
    """Project onto ``qubit == outcome`` in place; if ``renormalize``, rescale to unit norm."""
    _check_state(state, writeable=True)
    w0, w1 = _qubit_weights(state, qubit)
    if outcome not in (0, 1):
        raise ValueError(f"outcome must be 0 or 1, got {outcome}")
    weight = w1 if outcome else w0
    if not 0.0 < weight < np.inf:
        raise ValueError("outcome has zero probability")
    view = state.reshape(-1, 2, 2 ** int(qubit))
    view[:, 1 - outcome, :] = 0
    if renormalize:
        view[:, outcome, :] *= 1.0 / np.sqrt(weight)


# ---------------------------------------------------------------------------------------------
# Threads and dispatch (nothing to choose in numpy)
# ---------------------------------------------------------------------------------------------


def set_num_threads(n: int, /) -> None:
    """Accept a thread count for API parity; numpy decides its own threading."""
    if not 1 <= operator.index(n) <= 4096:
        raise ValueError(f"number of threads must be in 1..4096, got {n}")


def get_num_threads() -> int:
    """Return 1: the reference runs single-threaded."""
    return 1


def simd_level() -> str:
    """Return ``"generic"``: the reference has no SIMD dispatch."""
    return "generic"


def has_openmp() -> bool:
    """Return False: the reference does not use OpenMP."""
    return False
