"""State memory: the guard refuses states that do not fit, before allocating; states are
aligned for whole vector loads."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate
from qsession_provider.errors import ResourceTooLargeError
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.memory import aligned_zeros


def test_memory_is_checked_before_allocating() -> None:
    small = StatevectorSimulator(max_memory=2**20)
    circuit = Circuit(20, [Gate("h", (q,)) for q in range(20)])
    with pytest.raises(ResourceTooLargeError, match="16.0 MiB|0.0 GiB|20-qubit"):
        small.final_state(circuit)
    huge = Circuit(45, [Gate("h", (q,)) for q in range(45)])
    with pytest.raises(ResourceTooLargeError, match="45-qubit complex128"):
        StatevectorSimulator().final_state(huge)
    # the simulator still works afterwards
    assert small.final_state(Circuit(2, [Gate("h", (0,))])).shape == (4,)


def test_states_are_allocated_aligned() -> None:
    for size, dtype in ((8, np.complex128), (2**19, np.complex64), (2**20, np.complex128)):
        state = aligned_zeros(size, dtype)
        assert state.shape == (size,) and state.dtype == dtype and state.flags.writeable
        assert state.ctypes.data % 64 == 0 and not state.any()
