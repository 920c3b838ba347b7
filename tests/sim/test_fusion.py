"""Fusion, tiling and fast binding: every optimised path against the unfused path and the dense
oracle, on random circuits with controls, diagonals, matrices, parameters and mid-circuit
measurement, in both precisions."""

from __future__ import annotations

import math
from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import (
    GATES,
    Circuit,
    Condition,
    Gate,
    Measure,
    Parameter,
    PauliSum,
    PauliTerm,
    Reset,
)
from qsession_provider.core.ir.gates import gate_spec
from qsession_provider.core.ir.params import ParamExpr
from qsession_provider.errors import InvalidProgramError
from qsession_provider.sim import StatevectorSimulator, execute
from qsession_provider.sim.binding import BATCH_BUILDERS, ExpressionTable, batch_data
from qsession_provider.sim.compiler import FusionOptions, Plan, compile_program
from qsession_provider.sim.fusion import CostModel, FusedBlock, OpInfo, fuse, schedule_tiles
from qsession_provider.sim.statevector import aligned_zeros

KERNELS = ["c", "reference"]


def options(max_dense: int, tile: int = 0, *, force: bool = True, low: int = 2) -> FusionOptions:
    """Fusion up to ``max_dense`` qubits; tiles of ``tile`` local qubits (forced)."""
    return FusionOptions(
        max_dense=max_dense,
        max_dense_memory=max_dense,
        max_diag=6,
        tile_qubits=tile,
        low_qubits=low,
        force_tiles=force,
    )


def parameterised(program: Circuit, seed: int) -> tuple[Circuit, dict[str, float]]:
    """``program`` with every other gate parameter replaced by an expression of 3 symbols."""
    rng = np.random.default_rng(seed)
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    exprs = [2 * a - b, a, b * 0.5 + 1, c.apply("cos"), a * b, -c + 0.25]
    ops = []
    for i, op in enumerate(program.operations):
        if isinstance(op, Gate) and op.params and i % 2 == 0:
            params = tuple(exprs[int(rng.integers(len(exprs)))] for _ in op.params)
            op = Gate(op.name, op.qubits, params, op.controls, op.ctrl_state, op.matrix)
        ops.append(op)
    values = {"a": float(rng.uniform(-2, 2)), "b": float(rng.uniform(-2, 2)), "c": 0.7}
    return Circuit(program.num_qubits, ops, global_phase=a - c), values


# ---------------------------------------------------------------------------------------------
# Final states: fused and tiled vs unfused vs the dense oracle
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [3, 5, 7])
@pytest.mark.parametrize("seed", range(3))
def test_fused_matches_unfused_and_dense_oracle(
    kernel: str, n: int, seed: int, dense_oracle: Callable, make_random_program: Callable
) -> None:
    program, values = parameterised(make_random_program(n, 14 * n, seed), seed)
    expected = dense_oracle(program, values)
    unfused = StatevectorSimulator(kernel=kernel, fusion=False).final_state(program, values)
    np.testing.assert_allclose(unfused, expected, atol=1e-10)
    for max_dense in (2, 3, 4, 6):
        for tile in (0, max(2, n - 2), n - 1):
            sim = StatevectorSimulator(kernel=kernel, fusion=options(max_dense, tile))
            np.testing.assert_allclose(sim.final_state(program, values), expected, atol=1e-10)


@pytest.mark.parametrize("seed", range(6))
def test_tiled_large_circuits_match_unfused(make_random_program: Callable, seed: int) -> None:
    n = 11
    program, values = parameterised(make_random_program(n, 120, seed), seed)
    reference = StatevectorSimulator(fusion=False).final_state(program, values)
    for tile, low in ((6, 2), (8, 3), (9, 0), (10, 4)):
        for max_dense in (2, 4, 5):
            sim = StatevectorSimulator(fusion=options(max_dense, tile, low=low))
            np.testing.assert_allclose(sim.final_state(program, values), reference, atol=1e-10)


@pytest.mark.parametrize("seed", range(3))
def test_single_precision_fused_and_tiled(
    make_random_program: Callable, dense_oracle: Callable, seed: int
) -> None:
    program, values = parameterised(make_random_program(9, 100, seed), seed)
    expected = dense_oracle(program, values)
    for fusion in (True, False, options(4, 6, low=3), options(2, 7, low=4)):
        state = StatevectorSimulator(precision="single", fusion=fusion).final_state(program, values)
        assert state.dtype == np.complex64
        np.testing.assert_allclose(state, expected, atol=2e-5)


def test_default_plan_on_a_large_state_matches_unfused(make_random_program: Callable) -> None:
    # 17 qubits: wider than a default tile (15), so the cost model chooses tiles or wide blocks.
    program, values = parameterised(make_random_program(17, 150, 4), 4)
    fused = StatevectorSimulator().final_state(program, values)
    plain = StatevectorSimulator(fusion=False).final_state(program, values)
    np.testing.assert_allclose(fused, plain, atol=1e-10)
    single = StatevectorSimulator(precision="single").final_state(program, values)
    np.testing.assert_allclose(single, plain, atol=1e-4)


def test_gates_wider_than_a_tile_run_on_the_whole_state() -> None:
    n = 14
    ops = [Gate("h", (q,)) for q in range(n)]
    ops.append(Gate("x", (13,), controls=tuple(range(10)), ctrl_state=0b1010101010))
    ops.append(Gate("rzz", (2, 11), (0.4,)))
    ops.append(Gate("z", (12,), controls=tuple(range(3, 12))))
    ops += [Gate("ry", (q,), (0.1 * q,)) for q in range(n)]
    program = Circuit(n, ops)
    plain = StatevectorSimulator(fusion=False).final_state(program)
    sim = StatevectorSimulator(fusion=options(3, 8, low=2))
    (plan,) = sim.compile(program).segments
    assert isinstance(plan, Plan) and plan.tile_qubit_offsets is not None
    assert any(a == b for a, b in zip(plan.tile_qubit_offsets, plan.tile_qubit_offsets[1:]))
    np.testing.assert_allclose(sim.final_state(program), plain, atol=1e-12)


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
    program = Circuit(n, ops)
    plain = StatevectorSimulator(fusion=False).final_state(program)
    for fusion in (True, options(2, 15, low=3), options(4, 12, low=3), options(5, 0)):
        np.testing.assert_allclose(
            StatevectorSimulator(fusion=fusion).final_state(program), plain, atol=1e-10
        )


# ---------------------------------------------------------------------------------------------
# Sampling, branching and expectation values through fused plans
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("kernel", KERNELS)
def test_mid_circuit_measurement_and_conditions_with_fusion(kernel: str) -> None:
    a = Parameter("a")
    program = Circuit(
        4,
        [
            Gate("h", (0,)),
            Gate("ry", (1,), (a,)),
            Gate("x", (2,), controls=(0,)),
            Gate("rzz", (1, 2), (2 * a,)),
            Measure(0, "c", 0),
            Gate("h", (3,)),
            Gate("x", (1,), condition=Condition("c", 1, 0)),
            Gate("p", (3,), (a,), controls=(1,)),
            Reset(2),
            Gate("h", (2,)),
            Gate("x", (3,), controls=(2,)),
            Measure(1, "c", 1),
            Measure(2, "c", 2),
            Measure(3, "c", 3),
        ],
        {"c": 4},
    )
    values = {"a": 0.9}
    counts = {}
    for fusion in (False, True, options(3, 2, low=1)):
        sim = StatevectorSimulator(kernel=kernel, fusion=fusion)
        bits = sim.sample(program, 4000, values, seed=11)["c"]
        ints = (bits.astype(int) << np.arange(4)).sum(axis=1)
        counts[str(fusion)] = np.bincount(ints, minlength=16) / 4000
    first = counts.pop("False")
    for other in counts.values():
        # the same seed does not give the same shots on different plans, but the same law
        np.testing.assert_allclose(other, first, atol=0.04)


@pytest.mark.parametrize("fusion", [True, False])
def test_sampling_a_fused_plan_follows_the_exact_distribution(
    make_random_program: Callable, fusion: bool
) -> None:
    base = make_random_program(5, 60, 21)
    program = Circuit(5, [*base.operations, *(Measure(q, "m", q) for q in range(5))], {"m": 5})
    sim = StatevectorSimulator(fusion=fusion)
    bits = sim.sample(program, 20000, seed=3)["m"]
    freq = np.bincount((bits.astype(int) << np.arange(5)).sum(axis=1), minlength=32) / 20000
    exact = np.abs(StatevectorSimulator(fusion=False).final_state(base)) ** 2
    assert np.all(np.abs(freq - exact) <= 5 * np.sqrt(exact * (1 - exact) / 20000) + 1e-3)


def test_expectations_fused_match_unfused_and_cache_masks(make_random_program: Callable) -> None:
    program, values = parameterised(make_random_program(6, 80, 2), 2)
    rng = np.random.default_rng(1)
    observables = [
        PauliSum.from_labels(
            {"".join(rng.choice(list("IXYZ"), 6)): complex(rng.normal(), rng.normal())}
        )
        for _ in range(5)
    ]
    observables.append(PauliSum([PauliTerm("", ())]))  # identity
    fused = StatevectorSimulator()
    plain = StatevectorSimulator(fusion=False)
    first = fused.expectation_values(program, observables, values)
    np.testing.assert_allclose(
        first, plain.expectation_values(program, observables, values), atol=1e-10
    )
    np.testing.assert_allclose(fused.expectation_values(program, observables, values), first)
    assert len(fused._obs_cache) == 1  # one table for this (program, observables) pair
    compiled = fused.compile(program)
    row = np.array([values[p] for p in program.parameters])
    by_array = fused.expectations_of_state(compiled, fused.evolve(compiled, row), observables)
    np.testing.assert_allclose(by_array, first, atol=1e-12)


def test_estimator_and_sampler_payloads_bind_arrays() -> None:
    from qsession_provider.core.ir.payload import (
        EstimatorPayload,
        EstimatorPub,
        SamplerPayload,
        SamplerPub,
    )

    a, b = Parameter("a"), Parameter("b")
    ops = [Gate("ry", (0,), (a,)), Gate("rx", (1,), (b - a,)), Gate("x", (1,), controls=(0,))]
    program = Circuit(2, ops)
    values = np.random.default_rng(0).uniform(-3, 3, (7, 2))
    zz = PauliSum([PauliTerm("ZZ", (0, 1)), PauliTerm("X", (1,), 0.5)])
    out = execute(
        "estimator", EstimatorPayload((EstimatorPub(program, values, zz),)), StatevectorSimulator()
    )
    plain = StatevectorSimulator(fusion=False)
    expected = [
        plain.expectation_values(program, [zz], dict(zip(program.parameters, row)))[0]
        for row in values
    ]
    np.testing.assert_allclose(out["pubs"][0]["evs"], expected, atol=1e-12)
    measured = Circuit(2, [*ops, Measure(0, "c", 0), Measure(1, "c", 1)], {"c": 2})
    pub = SamplerPub(measured, values[:2], 50)
    bits = execute("sampler", SamplerPayload((pub,), seed=1), StatevectorSimulator())
    assert bits["pubs"][0]["registers"]["c"].shape == (2, 50, 2)


# ---------------------------------------------------------------------------------------------
# The fusion and tiling passes themselves
# ---------------------------------------------------------------------------------------------


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


def test_compile_options_and_plan_arrays() -> None:
    program = Circuit(3, [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Gate("t", (2,))])
    fused = compile_program(program)
    plain = compile_program(program, options=FusionOptions.for_state(16, fusion=False))
    (plan,) = fused.segments
    (unfused,) = plain.segments
    assert isinstance(plan, Plan) and isinstance(unfused, Plan)
    assert plan.num_blocks < unfused.num_blocks == 3
    matrices, offsets = plan.bind({})
    assert offsets[-1] == len(matrices) and plan.tile_offsets is None
    assert FusionOptions.for_state(8).tile_qubits == 16
    assert FusionOptions.for_state(16, fusion=3).max_dense == 3
    assert FusionOptions.for_state(16, tiling=False).tile_qubits == 0


# ---------------------------------------------------------------------------------------------
# Binding: expression tables and batched gate matrices
# ---------------------------------------------------------------------------------------------


def test_expression_table_matches_evaluate() -> None:
    a, b = Parameter("a"), Parameter("b")
    exprs = [a, 2 * a - b + 1, 3.5, b * a, (a + 1).apply("sin"), -(b * 2), 0.5 * (a + b)]
    table = ExpressionTable(exprs, ("a", "b"))
    values = {"a": 0.3, "b": -1.2}
    expected = [float(e.evaluate(values)) if isinstance(e, ParamExpr) else e for e in exprs]
    np.testing.assert_allclose(table(values), expected, atol=1e-15)
    np.testing.assert_allclose(table(np.array([0.3, -1.2])), expected, atol=1e-15)
    bad = ExpressionTable([a.apply("log")], ("a",))
    with pytest.raises(InvalidProgramError, match="non-finite"):
        bad({"a": -1.0})


@pytest.mark.parametrize("name", sorted(BATCH_BUILDERS))
def test_batched_gate_data_matches_the_gate_library(name: str) -> None:
    spec = gate_spec(name)
    params = np.random.default_rng(3).uniform(-4, 4, (5, spec.num_params))
    diagonal = spec.diagonal is not None
    got = batch_data(name, diagonal, params)
    for row, data in zip(params, got):
        want = spec.diagonal(*row) if diagonal else spec.matrix(*row)
        np.testing.assert_allclose(data, np.asarray(want).ravel(), atol=1e-14)


def test_unbatched_gates_fall_back_to_the_library() -> None:
    names = [n for n, s in GATES.items() if s.num_params and n not in BATCH_BUILDERS]
    assert names
    for name in names:
        spec = GATES[name]
        params = np.random.default_rng(1).uniform(-2, 2, (3, spec.num_params))
        diagonal = spec.diagonal is not None
        got = batch_data(name, diagonal, params)
        for row, data in zip(params, got):
            want = spec.diagonal(*row) if diagonal else spec.matrix(*row)
            np.testing.assert_allclose(data, np.asarray(want).ravel(), atol=1e-14)


@pytest.mark.parametrize("active", [(1, 4), (0, 1, 5), (2,), (0, 3, 4, 6)])
def test_final_state_with_idle_qubits_matches_oracle(
    active: tuple[int, ...], dense_oracle: Callable
) -> None:
    rng = np.random.default_rng(len(active))
    ops = [Gate("u", (q,), tuple(rng.uniform(0, 3, 3))) for q in active]
    ops += [Gate("x", (b,), controls=(a,)) for a, b in zip(active, active[1:])]
    program = Circuit(7, ops, global_phase=0.3)
    np.testing.assert_allclose(
        StatevectorSimulator().final_state(program), dense_oracle(program), atol=1e-12
    )


def test_one_simulator_from_many_threads(make_random_program: Callable) -> None:
    import threading

    program, values = parameterised(make_random_program(15, 60, 9), 9)
    sim = StatevectorSimulator(fusion=options(3, 12, low=3))
    expected = StatevectorSimulator(fusion=False).final_state(program, values)
    results: list[np.ndarray] = []
    errors: list[BaseException] = []

    def work() -> None:
        try:
            for _ in range(3):
                results.append(sim.final_state(program, values))
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


def test_states_are_allocated_aligned() -> None:
    for size, dtype in ((8, np.complex128), (2**19, np.complex64), (2**20, np.complex128)):
        state = aligned_zeros(size, dtype)
        assert state.shape == (size,) and state.dtype == dtype and state.flags.writeable
        assert state.ctypes.data % 64 == 0 and not state.any()
