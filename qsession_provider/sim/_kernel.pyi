"""Compiled statevector kernels (``qsession_provider/sim/csrc``).

States are 1-D C-contiguous complex128 or complex64 arrays of length 2**n, updated in place.
Qubit q is bit q of the amplitude index; bit j of a gate's matrix index belongs to
``targets[j]``.  Matrices and diagonals are complex128 whatever the state's precision.  A wrong
dtype raises TypeError; wrong shapes, layouts, qubit indices, offsets or counts raise ValueError
naming the argument (any int64 value is checked without overflow; Python ints beyond int64 are
a ValueError), before anything is written.  What a kernel reads while it runs is either a
private copy of the checked arguments or values that cannot send it out of bounds, so another
thread changing an argument array meanwhile cannot make it read or write outside an array.
Every call releases the GIL while it works.  The environment variable ``QSESSION_SIMD``
(``avx512f``, ``avx2`` or ``generic``) forces a code path at import, for testing;
``QSESSION_SPLIT=0`` turns off the split-form (three-multiplication) dense kernels, for
comparisons.
"""

from collections.abc import Sequence

import numpy as np
from numpy.typing import NDArray

def apply_matrix(
    state: NDArray[np.complexfloating],
    targets: Sequence[int],
    matrix: NDArray[np.complex128],
    controls: Sequence[int] = (),
    ctrl_state: int = -1,
) -> None:
    """Apply a dense (2**k, 2**k) matrix on ``targets`` (1 <= k <= 6) where controls match."""

def apply_diagonal(
    state: NDArray[np.complexfloating],
    targets: Sequence[int],
    diag: NDArray[np.complex128],
    controls: Sequence[int] = (),
    ctrl_state: int = -1,
) -> None:
    """Multiply amplitudes by ``diag[bits of targets]`` (1 <= k <= 6) where controls match."""

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
    """Apply G gates (kind 0 dense, 1 diagonal) in one call; everything is checked first."""

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
    """Apply the gates of ``run_plan`` tile by tile, each tile in one pass over the state.

    Tile t holds gates ``tile_offsets[t]:tile_offsets[t+1]`` and local qubits
    ``tile_qubits[tile_qubit_offsets[t]:tile_qubit_offsets[t+1]]`` (ascending, L of them). Its
    gates use local numbers: local qubit j is global qubit ``local[j]``. The kernel gathers each
    group of 2**L amplitudes that share the values of all other qubits into a cache-sized
    buffer (in place when the local qubits are 0..L-1), applies the tile's gates there and
    writes it back. A tile with no local qubits runs its gates one by one on global qubits.
    Everything is checked before the first gate runs.
    """

def fuse_blocks(
    code: NDArray[np.int64], components: NDArray[np.complex128], out: NDArray[np.complex128]
) -> None:
    """Multiply component gates into fused block matrices or diagonals, written into ``out``.

    ``code``: the number of blocks, then per block ``out_offset kind k ncomp`` followed by
    ``ncomp`` components ``ckind nt nc t[0..nt) c[0..nc) ctrl_state data_offset``. A block of
    kind 0 receives the (2**k, 2**k) product of its components (the first applied first), kind
    1 the 2**k diagonal (diagonal components only). Component targets ``t`` and controls ``c``
    are positions 0..k-1 inside the block; offsets count complex entries of ``components``
    and ``out``. Bad code raises ValueError naming the entry (``code[i] = value``) before
    anything is written; the kernel runs on a private copy of the checked code, so ``out`` may
    even share memory with ``code``.
    """

def probabilities(state: NDArray[np.complexfloating]) -> NDArray[np.float64]:
    """Return ``|state|**2`` as a new float64 array."""

def norm_squared(state: NDArray[np.complexfloating]) -> float:
    """Return the sum of ``|state|**2``."""

def sample(state: NDArray[np.complexfloating], uniforms: NDArray[np.float64]) -> NDArray[np.int64]:
    """Map sorted uniforms in [0, 1) to basis-state indices in one pass over the state."""

def expectation_paulis(
    state: NDArray[np.complexfloating], x_masks: NDArray[np.uint64], z_masks: NDArray[np.uint64]
) -> NDArray[np.float64]:
    """Return ``Re <psi|P|psi>`` for each Pauli string given by x and z bit masks (Y = iXZ)."""

def measure_probability(state: NDArray[np.complexfloating], qubit: int) -> float:
    """Return the probability that ``qubit`` reads 1 (relative to the state's norm)."""

def collapse(
    state: NDArray[np.complexfloating], qubit: int, outcome: int, renormalize: bool = True
) -> None:
    """Project onto ``qubit == outcome`` in place; if ``renormalize``, rescale to unit norm."""

def permute_qubits(state: NDArray[np.complexfloating], source: Sequence[int]) -> None:
    """Move bit ``source[q]`` of every amplitude index to bit ``q``, in place (a permutation
    of the qubits, at most two passes over the state)."""

def set_num_threads(n: int, /) -> None:
    """Set the OpenMP thread count used for states of 2**14 amplitudes or more."""

def get_num_threads() -> int:
    """Return the OpenMP thread count (1 when built without OpenMP)."""

def simd_level() -> str:
    """Return the code path chosen at import: ``"avx512f"``, ``"avx2"`` or ``"generic"``."""

def has_openmp() -> bool:
    """Return True if the extension was built with OpenMP."""

def run_trajectories(
    state: NDArray[np.complexfloating],
    code: NDArray[np.int64],
    data: NDArray[np.float64],
    cond_bits: NDArray[np.int64],
    nclbits: int,
    terminal: int,
    shots: int,
    seed: int,
    out_bits: NDArray[np.uint8] | None = None,
    x_masks: NDArray[np.uint64] | None = None,
    z_masks: NDArray[np.uint64] | None = None,
    out_evs: NDArray[np.float64] | None = None,
    out_counts: NDArray[np.int64] | None = None,
) -> int:
    """Run a noisy program by grouped quantum trajectories (``csrc/trajectories.h``): sample
    into ``out_bits`` (shots x nclbits), or, given Pauli masks, write each group's values and
    shot count at its first shot's row of ``out_evs`` / ``out_counts``. Returns the shots run."""
