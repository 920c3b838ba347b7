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
    "fuse_blocks",
    "get_num_threads",
    "has_openmp",
    "measure_probability",
    "norm_squared",
    "permute_qubits",
    "probabilities",
    "run_plan",
    "run_tiled",
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
    gates = _plan_gates(
        n, kinds, qubits, qubit_offsets, matrices, matrix_offsets, ctrl_counts, ctrl_states
    )
    _apply_gates(state, gates)


def _plan_gates(
    n: int,
    kinds: NDArray[np.int32],
    qubits: NDArray[np.int32],
    qubit_offsets: NDArray[np.int64],
    matrices: NDArray[np.complex128],
    matrix_offsets: NDArray[np.int64],
    ctrl_counts: NDArray[np.int32],
    ctrl_states: NDArray[np.int64],
    limits: Sequence[int] | None = None,
) -> list[tuple[int, list[int], list[int], int, NDArray[np.complex128]]]:
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
        lim = n if limits is None else limits[g]
        t, c = _check_gate(lim, qs[nc:], qs[:nc], int(ctrl_states[g]), where)
        data = matrices[matrix_offsets[g] : matrix_offsets[g + 1]]
        size = 4 ** len(t) if kind == 0 else 2 ** len(t)
        if data.shape[0] != size:
            raise ValueError(f"{where}expected {size} matrix entries, got {data.shape[0]}")
        gates.append((kind, t, c, int(ctrl_states[g]), data))
    return gates


def _apply_gates(
    state: NDArray[np.complexfloating],
    gates: list[tuple[int, list[int], list[int], int, NDArray[np.complex128]]],
) -> None:
    for kind, t, c, cs, data in gates:
        if kind == 0:
            matrix = data.reshape(2 ** len(t), 2 ** len(t))
            _on_targets(state, t, c, cs, lambda block, m=matrix: m @ block)
        else:
            _on_targets(state, t, c, cs, lambda block, d=data: d[:, None] * block)


def run_tiled(
    state: NDArray[np.complexfloating],
    kinds: NDArray[np.int32],
    qubits: NDArray[np.int32],
    qubit_offsets: NDArray[np.int64],
    matrices: NDArray[np.complex128],
    matrix_offsets: NDArray[np.int64],
    ctrl_counts: NDArray[np.int32],
    ctrl_states: NDArray[np.int64],
    tile_offsets: NDArray[np.int64],
    tile_qubits: NDArray[np.int32],
    tile_qubit_offsets: NDArray[np.int64],
) -> None:
    """Apply gates tile by tile; a tile's gates use local qubit j = global ``local[j]``."""
    n = _check_state(state, writeable=True)
    _check_array(kinds, "kinds", np.int32, (None,))
    _check_array(tile_offsets, "tile_offsets", np.int64, (None,))
    _check_array(tile_qubits, "tile_qubits", np.int32, (None,))
    t_count = tile_offsets.shape[0] - 1
    if t_count < 0:
        raise ValueError("tile_offsets must have at least one entry")
    _check_array(tile_qubit_offsets, "tile_qubit_offsets", np.int64, (t_count + 1,))
    if tile_offsets[0] != 0 or tile_offsets[-1] != kinds.shape[0]:
        raise ValueError("tile_offsets must start at 0 and end at len(kinds)")
    if tile_qubit_offsets[0] != 0 or tile_qubit_offsets[-1] != tile_qubits.shape[0]:
        raise ValueError("tile_qubit_offsets must start at 0 and end at len(tile_qubits)")
    limits = [n] * kinds.shape[0]
    locals_: list[list[int]] = []
    for t in range(t_count):
        g0, g1 = int(tile_offsets[t]), int(tile_offsets[t + 1])
        q0, q1 = int(tile_qubit_offsets[t]), int(tile_qubit_offsets[t + 1])
        if g1 < g0 or g1 > kinds.shape[0] or q1 < q0 or q1 > tile_qubits.shape[0]:
            raise ValueError(f"tile {t}: offsets must be non-decreasing and in range")
        local = [int(q) for q in tile_qubits[q0:q1]]
        if len(local) > n:
            raise ValueError(f"tile {t}: {len(local)} local qubits for a {n}-qubit state")
        if any(q < 0 or q >= n for q in local) or any(a >= b for a, b in zip(local, local[1:])):
            raise ValueError(f"tile {t}: local qubits must be ascending, distinct and below {n}")
        for g in range(g0, g1):
            limits[g] = len(local) or n
        locals_.append(local)
    gates = _plan_gates(
        n, kinds, qubits, qubit_offsets, matrices, matrix_offsets, ctrl_counts, ctrl_states, limits
    )
    for t, local in enumerate(locals_):
        part = gates[int(tile_offsets[t]) : int(tile_offsets[t + 1])]
        if local:
            part = [
                (kind, [local[q] for q in tg], [local[q] for q in cg], cs, data)
                for kind, tg, cg, cs, data in part
            ]
        _apply_gates(state, part)


def fuse_blocks(
    code: NDArray[np.int64], components: NDArray[np.complex128], out: NDArray[np.complex128]
) -> None:
    """Multiply component gates into block matrices / diagonals written into ``out``.

    ``code``: the number of blocks, then per block ``out_offset kind k ncomp`` followed by
    ``ncomp`` components ``ckind nt nc t[0..nt) c[0..nc) ctrl_state data_offset`` (positions
    inside the block; offsets in complex entries).
    """
    _check_array(code, "code", np.int64, (None,))
    _check_array(components, "components", np.complex128, (None,))
    _check_array(out, "out", np.complex128, (None,))
    if not out.flags.writeable:
        raise ValueError("out must be writeable")
    blocks = _parse_fuse_code([int(x) for x in code], components.shape[0], out.shape[0])
    for offset, kind, k, comps in blocks:
        dim = 2**k
        if kind == 0:
            m = np.eye(dim, dtype=np.complex128).ravel()  # row bits are qubits k..2k-1
            for ckind, tg, cg, cs, doff in comps:
                size = 4 ** len(tg) if ckind == 0 else 2 ** len(tg)
                data = components[doff : doff + size]
                shifted = ([q + k for q in tg], [q + k for q in cg])
                if ckind == 0:
                    mat = data.reshape(2 ** len(tg), 2 ** len(tg))
                    _on_targets(m, *shifted, cs, lambda b, mat=mat: mat @ b)
                else:
                    _on_targets(m, *shifted, cs, lambda b, d=data: d[:, None] * b)
            out[offset : offset + dim * dim] = m
        else:
            d = np.ones(dim, dtype=np.complex128)
            for _, tg, cg, cs, doff in comps:
                data = components[doff : doff + 2 ** len(tg)]
                _on_targets(d, tg, cg, cs, lambda b, x=data: x[:, None] * b)
            out[offset : offset + dim] = d


def _parse_fuse_code(
    code: list[int], ncomp: int, nout: int
) -> list[tuple[int, int, int, list[tuple[int, list[int], list[int], int, int]]]]:
    def fail(why: str) -> ValueError:
        return ValueError(f"fuse_blocks: {why}")

    if not code or code[0] < 0:
        raise fail("code must start with the number of blocks")
    at, blocks = 1, []
    for _ in range(code[0]):
        if at + 4 > len(code):
            raise fail("code ends inside a block header")
        offset, kind, k, count = code[at : at + 4]
        if kind not in (0, 1):
            raise fail("block kind must be 0 (matrix) or 1 (diagonal)")
        if not 1 <= k <= MAX_TARGETS:
            raise fail("block size must be 1..6 qubits")
        if count < 0:
            raise fail("negative component count")
        if offset < 0 or offset + (4**k if kind == 0 else 2**k) > nout:
            raise fail("block output out of range")
        at += 4
        comps = []
        for _ in range(count):
            if at + 3 > len(code):
                raise fail("code ends inside a component")
            ckind, nt, nc = code[at : at + 3]
            if ckind not in (0, 1):
                raise fail("component kind must be 0 or 1")
            if kind == 1 and ckind != 1:
                raise fail("a diagonal block takes diagonal components only")
            if nt < 1 or nc < 0 or nt + nc > k:
                raise fail("bad component qubit count")
            if at + 5 + nt + nc > len(code):
                raise fail("code ends inside a component")
            qs = code[at + 3 : at + 3 + nt + nc]
            if any(not 0 <= q < k for q in qs):
                raise fail("component qubit outside its block")
            if len(set(qs)) != len(qs):
                raise fail("component uses a qubit twice")
            cs, doff = code[at + 3 + nt + nc], code[at + 4 + nt + nc]
            if cs != -1 and not 0 <= cs < 2**nc:
                raise fail("bad ctrl_state")
            if doff < 0 or doff + (4**nt if ckind == 0 else 2**nt) > ncomp:
                raise fail("component data out of range")
            comps.append((ckind, qs[:nt], qs[nt:], cs, doff))
            at += 5 + nt + nc
        blocks.append((offset, kind, k, comps))
    if at != len(code):
        raise fail("code has trailing entries")
    return blocks


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
    outcome = operator.index(outcome)  # TypeError for 1.0, as the C kernel
    if outcome not in (0, 1):
        raise ValueError(f"outcome must be 0 or 1, got {outcome}")
    weight = w1 if outcome else w0
    if not 0.0 < weight < np.inf:
        raise ValueError("outcome has zero probability")
    view = state.reshape(-1, 2, 2 ** int(qubit))
    view[:, 1 - outcome, :] = 0
    if renormalize:
        view[:, outcome, :] *= 1.0 / np.sqrt(weight)


def permute_qubits(state: NDArray[np.complexfloating], source: Sequence[int]) -> None:
    """Move bit ``source[q]`` of every amplitude index to bit ``q``, in place."""
    n = _check_state(state, writeable=True)
    src = [operator.index(q) for q in source]
    if sorted(src) != list(range(n)):
        raise ValueError(f"source must list all {n} qubits once, got {src}")
    if n:
        # Axis k of the (2,) * n view is bit n - 1 - k.
        axes = [n - 1 - src[n - 1 - k] for k in range(n)]
        state[:] = state.reshape((2,) * n).transpose(axes).reshape(-1)


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
