"""The engine's memory guards (issue 20, item 8): shots are estimated as the payload says,
branching counts every state it holds, and a program touching no qubit has the state [1]."""

from __future__ import annotations

import tracemalloc

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import BYTES_PER_SHOT, SamplerPayload, SamplerPub
from qsession_provider.errors import ResourceTooLargeError
from qsession_provider.sim import StatevectorSimulator, execute


# -- a: the estimate the submission check uses covers what sampling takes --------------------
def test_shot_memory_estimate_covers_the_measured_peak() -> None:
    """Sampling 2 million shots of a parameterised circuit (the kernel's path, not a lookup
    table) allocates at its peak no more than the payload's estimate (numpy's allocations,
    as tracemalloc counts them)."""
    shots = 2_000_000
    circuit = Circuit(
        12,
        [Gate("rx", (q,), (0.1 * (q + 1),)) for q in range(12)]
        + [Measure(q, "c", q) for q in range(12)],
        {"c": 12},
    )
    payload = SamplerPayload((SamplerPub(circuit, None, shots),))
    sim = StatevectorSimulator()
    execute("sampler", SamplerPayload((SamplerPub(circuit, None, 10),)), sim)  # warm caches
    tracemalloc.start()
    try:
        result = execute("sampler", payload, sim)
        grown = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert result["pubs"][0]["registers"]["c"].shape[0] == shots
    assert shots * BYTES_PER_SHOT <= grown <= payload.shot_memory, grown / shots


# -- f: branching counts the copies of every branch -------------------------------------------
def three_coins() -> Circuit:
    """Three mid-circuit measurements of fair coins: 8 branches, 8 states at the end."""
    ops: list[object] = []
    for q in range(3):
        ops += [Gate("h", (q,)), Measure(q, "c", q), Gate("h", (q,))]
    return Circuit(3, ops, {"c": 3})


def state_bytes(sim: StatevectorSimulator, width: int) -> int:
    return int(2**width * sim.memory.dtype.itemsize)


@pytest.mark.parametrize("states, fits", [(8, True), (7, False), (5, False)])
def test_branching_refuses_before_holding_more_states_than_the_limit(
    states: int, fits: bool
) -> None:
    sim = StatevectorSimulator()
    sim.max_memory = states * state_bytes(sim, 3)
    if fits:
        bits = sim.sample(three_coins(), 4000, seed=1)["c"]
        assert len({tuple(row) for row in bits}) == 8  # all eight branches were taken
        return
    with pytest.raises(ResourceTooLargeError, match="per-shot branching"):
        sim.sample(three_coins(), 4000, seed=1)  # before: 8 states under a limit of 5


def test_a_refused_branching_leaves_the_simulator_usable() -> None:
    sim = StatevectorSimulator()
    sim.max_memory = 5 * state_bytes(sim, 3)
    with pytest.raises(ResourceTooLargeError):
        sim.sample(three_coins(), 4000, seed=1)
    sim.max_memory = None
    assert sim.sample(three_coins(), 100, seed=1)["c"].shape == (100, 3)


# -- c: a program that touches no qubit ---------------------------------------------------------
@pytest.mark.parametrize("num_qubits", [0, 1, 3])
def test_final_state_of_a_program_touching_no_qubit(num_qubits: int) -> None:
    state = StatevectorSimulator().final_state(Circuit(num_qubits, [], global_phase=0.5))
    expected = np.zeros(2**num_qubits, dtype=complex)
    expected[0] = np.exp(0.5j)
    np.testing.assert_allclose(state, expected, atol=1e-12)
