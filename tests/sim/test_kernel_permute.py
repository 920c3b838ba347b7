"""The kernels' in-place qubit permutation (csrc/permute.c) against the numpy reference."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref
from qsession_provider.sim.memory import aligned_zeros


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
@pytest.mark.parametrize("n", [1, 2, 5, 6, 7, 9, 13, 15])
def test_permute_qubits_matches_reference(n: int, dtype: type) -> None:
    rng = np.random.default_rng(n)
    perms = [rng.permutation(n) for _ in range(4)]
    perms.append(np.r_[np.arange(1, n), 0])  # one long cycle
    perms.append(np.arange(n)[::-1])  # disjoint pairs, low with high
    for source in perms:
        state = aligned_zeros(2**n, dtype)
        state[:] = rng.standard_normal(2**n) + 1j * rng.standard_normal(2**n)
        want = state.copy()
        ref.permute_qubits(want, source.tolist())
        ck.permute_qubits(state, source.astype(np.int32))
        assert np.array_equal(state, want)


def test_permute_qubits_moves_bits() -> None:
    """Bit source[q] of each index becomes bit q."""
    state = np.zeros(8, dtype=np.complex128)
    state[0b001] = 1  # qubit 0 set
    ck.permute_qubits(state, [1, 2, 0])  # bit 0 moves to bit 2
    assert state[0b100] == 1
    for module in (ck, ref):
        with pytest.raises(ValueError):
            module.permute_qubits(state, [0, 0, 1])
        with pytest.raises(ValueError):
            module.permute_qubits(state, [0, 1])
