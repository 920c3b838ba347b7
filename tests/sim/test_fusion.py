"""Fusion and tiling: every fused and tiled plan against the unfused path and the dense
oracle, on random circuits with controls, diagonals, matrices and parameters, in both
precisions; and the fusion and tiling passes themselves."""

from __future__ import annotations

import math
import threading
from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import (
    Circuit,
    Gate,
    Measure,
)
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.fusion import CostModel, FusedBlock, OpInfo, fuse, schedule_tiles
from tests.sim.conftest import KERNELS, fusion_options, parameterised


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [3, 5, 7])
@pytest.mark.parametrize("seed", range(3))
def test_fused_matches_unfused_and_dense_oracle(
    kernel: str, n: int, seed: int, dense_oracle: Callable, make_random_program: Callable
) -> None:
    circuit, values = parameterised(make_random_program(n, 14 * n, seed), seed)
    expected = dense_oracle(circuit, values)
    unfused = StatevectorSimulator(kernel=kernel, fusion=False).final_state(circuit, values)
    np.testing.assert_allclose(unfused, expected, atol=1e-10)
    for max_dense in (2, 3, 4, 6):
        for tile in (0, max(2, n - 2), n - 1):
            sim = StatevectorSimulator(kernel=kernel, fusion=fusion_options(max_dense, tile))
            np.testing.assert_allclose(sim.final_state(circuit, values), expected, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_tiled_large_circuits_match_unfused(make_random_program: Callable, seed: int) -> None:
    n = 11
    circuit, values = parameterised(make_random_program(n, 120, seed), seed)
    reference = StatevectorSimulator(fusion=False).final_state(circuit, values)
    for tile, low in ((6, 2), (8, 3), (9, 0), (10, 4)):
        for max_dense in (2, 4, 5):
            sim = StatevectorSimulator(fusion=fusion_options(max_dense, tile, low=low))
            np.testing.assert_allclose(sim.final_state(circuit, values), reference, atol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_single_precision_fused_and_tiled(
    make_random_program: Callable, dense_oracle: Callable, seed: int
) -> None:
    circuit, values = parameterised(make_random_program(9, 100, seed), seed)
    expected = dense_oracle(circuit, values)
    for fusion in (True, False, fusion_options(4, 6, low=3), fusion_options(2, 7, low=4)):
        state = StatevectorSimulator(precision="single", fusion=fusion).final_state(circuit, values)
        assert state.dtype == np.complex64
        np.testing.assert_allclose(state, expected, atol=2e-5)


def test_brickwork_and_qft_shapes_on_large_states() -> None:
    n = 17
    rng = np.random.default_rng(0)
    ops: list[Gate] = []
    for layer in range(6):
        ops += [Gate("u", (q,), tuple(rng.uniform(0, 6, 3))) for q in range(n)]
        ops += [Gate("z", (q + 1,), controls=(q,)) for q in range(layer % 2, n - 1, 2)]
    for j in reversed(range(n)):
        ops.append(Gate("h", (j,)))
        ops += [Gate("p", (j,), (math.pi / 2 ** (j - k),), controls=(k,)) for k in range(j)]
    ops += [Gate("swap", (j, n - 1 - j)) for j in range(n // 2)]
    circuit = Circuit(n, ops)
    plain = StatevectorSimulator(fusion=False).final_state(circuit)
    for fusion in (
        True,
        fusion_options(2, 15, low=3),
        fusion_options(4, 12, low=3),
        fusion_options(5, 0),
    ):
        np.testing.assert_allclose(
            StatevectorSimulator(fusion=fusion).final_state(circuit), plain, atol=1e-10
        )


@pytest.mark.parametrize("fusion", [True, False])
def test_sampling_a_fused_plan_follows_the_exact_distribution(
    make_random_program: Callable, fusion: bool
) -> None:
    base = make_random_program(5, 60, 21)
    circuit = Circuit(5, [*base.operations, *(Measure(q, "m", q) for q in range(5))], {"m": 5})
    sim = StatevectorSimulator(fusion=fusion)
    bits = sim.sample(circuit, 20000, seed=3)["m"]
    freq = np.bincount((bits.astype(int) << np.arange(5)).sum(axis=1), minlength=32) / 20000
    exact = np.abs(StatevectorSimulator(fusion=False).final_state(base)) ** 2
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / 20000) + 1e-3)


def test_one_simulator_from_many_threads(make_random_program: Callable) -> None:
    circuit, values = parameterised(make_random_program(15, 60, 9), 9)
    sim = StatevectorSimulator(fusion=fusion_options(3, 12, low=3))
    expected = StatevectorSimulator(fusion=False).final_state(circuit, values)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(sim.final_state(circuit, values))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    workers = [threading.Thread(target=work) for _ in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors and len(results) == 12
    for state in results:
        np.testing.assert_allclose(state, expected, atol=1e-10)


def _brickwork_infos(n: int, depth: int) -> list[OpInfo]:
    infos: list[OpInfo] = []
    for layer in range(depth):
        infos += [OpInfo(0, (q,), ()) for q in range(n)]
        infos += [OpInfo(1, (q + 1,), (q,)) for q in range(layer % 2, n - 1, 2)]
    return infos


def _check_cover(blocks: list[FusedBlock], count: int) -> None:
    members = sorted(i for b in blocks for i in b.ops)
    assert members == list(range(count))  # every gate exactly once


def test_fusion_absorbs_single_qubit_gates_into_two_qubit_blocks() -> None:
    infos = _brickwork_infos(8, 6)
    blocks = fuse(infos, 4, 6, CostModel())
    _check_cover(blocks, len(infos))
    dense = [b for b in blocks if not b.diagonal]
    assert all(len(b.qubits) == 2 for b in dense)  # U3s ride along with a CZ
    assert len(dense) <= 6 * 4 // 2 + 4  # about one dense block per CZ of every other layer
    # the other layer's CZs (disjoint, commuting diagonals) merge into wide diagonal blocks
    assert any(b.diagonal and len(b.ops) >= 2 for b in blocks)
    assert not any(len(b.qubits) == 1 for b in blocks)  # no single-qubit block left over
    unfused = fuse(infos, 1, 1, CostModel())
    assert len(unfused) == len(infos)


def test_fusion_respects_limits_and_merges_diagonals() -> None:
    # controlled phases from qubit 0 to 1..7 commute: they fuse into diagonal blocks
    infos = [OpInfo(0, (0,), ())] + [OpInfo(1, (q,), (0,)) for q in range(1, 8)]
    blocks = fuse(infos, 2, 4, CostModel())
    _check_cover(blocks, len(infos))
    for b in blocks:
        assert len(b.qubits) <= (4 if b.diagonal else 2)
    assert sum(1 for b in blocks if b.diagonal and len(b.ops) > 1) >= 1


def test_tiles_respect_dependencies_and_size() -> None:
    n = 12
    infos = _brickwork_infos(n, 8)
    blocks = fuse(infos, 2, 6, CostModel())
    tiles = schedule_tiles(blocks, n, 7, 2)
    order = [b for t in tiles for b in t.blocks]
    assert sorted(order) == list(range(len(blocks)))
    for t in tiles:
        if t.local:
            assert len(t.local) <= 7 and {0, 1} <= set(t.local)
            assert all(blocks[b].qubits <= set(t.local) for b in t.blocks)
    # a block never runs before one it does not commute with
    position = {b: i for i, b in enumerate(order)}
    for b1 in range(len(blocks)):
        for b2 in range(b1 + 1, len(blocks)):
            shared = blocks[b1].qubits & blocks[b2].qubits
            if any(q in blocks[b1].xset or q in blocks[b2].xset for q in shared):
                assert position[b1] < position[b2]
    assert schedule_tiles(blocks, n, 0, 2)[0].local == ()
