"""Compiled statevector kernels (``qsession_provider/sim/csrc``).

States are 1-D C-contiguous complex128 or complex64 arrays of length 2**n, updated in place.
Qubit q is bit q of the amplitude index; bit j of a gate's matrix index belongs to
``targets[j]``.  Matrices and diagonals are complex128 whatever the state's precision.  A wrong
dtype raises TypeError; wrong shapes, layouts or qubit indices raise ValueError.  Every call
releases the GIL while it works.  The environment variable ``QSESSION_SIMD`` (``avx512f``,
``avx2`` or ``generic``) forces a code path at import, for testing.
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

def set_num_threads(n: int, /) -> None:
    """Set the OpenMP thread count used for states of 2**14 amplitudes or more."""

def get_num_threads() -> int:
    """Return the OpenMP thread count (1 when built without OpenMP)."""

def simd_level() -> str:
    """Return the code path chosen at import: ``"avx512f"``, ``"avx2"`` or ``"generic"``."""

def has_openmp() -> bool:
    """Return True if the extension was built with OpenMP."""
