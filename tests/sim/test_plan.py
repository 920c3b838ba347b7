"""Plans: gates wider than a tile, and SWAP gates relabelled away -- every result of a plan
that drops its swaps (final states, sampling, expectations, mid-circuit measurement) against
the dense oracle and the numpy reference kernel, with the qubit order restored."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure, PauliSum, PauliTerm
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.compiler import compile_circuit
from qsession_provider.sim.fusion_policy import FusionOptions
from qsession_provider.sim.plan import Plan
from tests.sim.conftest import KERNELS, dense_final_state, fusion_options


def relabelling(minimum: int = 1, **kwargs: object) -> FusionOptions:
    """Default complex128 options that relabel from ``minimum`` swaps on."""
    base = FusionOptions.for_state(16)
    fields = {**base.__dict__, "relabel_swaps": minimum, **kwargs}
    return FusionOptions(**fields)  # type: ignore[arg-type]


def swap_heavy(n: int, depth: int, seed: int) -> Circuit:
    """Random layers of swaps (some controlled), two-qubit gates and rotations."""
    rng = np.random.default_rng(seed)
    ops: list[Gate] = []
    for _ in range(depth):
        for _ in range(max(1, n // 2)):
            a, b = (int(q) for q in rng.choice(n, 2, replace=False))
            kind = int(rng.integers(5))
            if kind < 2:
                ops.append(Gate("swap", (a, b)))
            elif kind == 2 and n > 2:
                c = int(rng.choice([q for q in range(n) if q not in (a, b)]))
                ops.append(Gate("swap", (a, b), controls=(c,)))  # a Fredkin gate stays
            elif kind == 3:
                ops.append(Gate("x", (b,), controls=(a,)))
            else:
                ops.append(Gate("rzz", (a, b), (float(rng.uniform(0, 6)),)))
            for q in (a, b):
                ops.append(Gate("ry", (q,), (float(rng.uniform(0, 6)),)))
                ops.append(Gate("rz", (q,), (float(rng.uniform(0, 6)),)))
    return Circuit(n, ops)


def test_gates_wider_than_a_tile_run_on_the_whole_state() -> None:
    n = 14
    ops = [Gate("h", (q,)) for q in range(n)]
    ops.append(Gate("x", (13,), controls=tuple(range(10)), ctrl_state=0b1010101010))
    ops.append(Gate("rzz", (2, 11), (0.4,)))
    ops.append(Gate("z", (12,), controls=tuple(range(3, 12))))
    ops += [Gate("ry", (q,), (0.1 * q,)) for q in range(n)]
    circuit = Circuit(n, ops)
    plain = StatevectorSimulator(fusion=False).final_state(circuit)
    sim = StatevectorSimulator(fusion=fusion_options(3, 8, low=2))
    (plan,) = sim.compile(circuit).segments
    assert isinstance(plan, Plan) and plan.tile_qubit_offsets is not None
    assert any(a == b for a, b in zip(plan.tile_qubit_offsets, plan.tile_qubit_offsets[1:]))
    np.testing.assert_allclose(sim.final_state(circuit), plain, atol=1e-12)


def test_swaps_leave_the_plan_and_restore_is_recorded() -> None:
    circuit = Circuit(
        3, [Gate("h", (0,)), Gate("swap", (0, 2)), Gate("swap", (1, 2)), Gate("x", (2,))]
    )
    plan = compile_circuit(circuit, options=relabelling()).segments[0]
    assert isinstance(plan, Plan)
    assert all(s.name != "swap" for s in plan.steps)
    assert plan.steps[-1].targets == (1,)  # x on qubit 2, which now lives at position 1
    assert plan.restore is not None and plan.restore.tolist() == [2, 0, 1]
    # Below the threshold nothing changes; swaps that cancel need no restoring.
    plan = compile_circuit(circuit, options=relabelling(3)).segments[0]
    assert isinstance(plan, Plan) and plan.restore is None
    assert sum(s.name == "swap" for s in plan.steps) == 2
    twice = Circuit(2, [Gate("swap", (0, 1)), Gate("swap", (0, 1))])
    plan = compile_circuit(twice, options=relabelling()).segments[0]
    assert isinstance(plan, Plan) and plan.restore is None and not len(plan.kinds)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [2, 4, 7])
@pytest.mark.parametrize("seed", range(3))
def test_relabelled_final_state_matches_oracle(kernel: str, n: int, seed: int) -> None:
    circuit = swap_heavy(n, 4, seed)
    want = dense_final_state(circuit)
    sim = StatevectorSimulator(kernel=kernel, fusion=relabelling())
    got = sim.final_state(circuit)
    np.testing.assert_allclose(got, want, atol=1e-10)
    plain = StatevectorSimulator(kernel=kernel, fusion=relabelling(0)).final_state(circuit)
    np.testing.assert_allclose(got, plain, atol=1e-10)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_relabelled_tiled_large_state_matches_reference(precision: str) -> None:
    n = 16
    circuit = swap_heavy(n, 6, 11)
    tiled = relabelling(tile_qubits=10, low_qubits=2, force_tiles=True)
    got = StatevectorSimulator(precision=precision, fusion=tiled).final_state(circuit)
    want = StatevectorSimulator(kernel="reference", fusion=False).final_state(circuit)
    np.testing.assert_allclose(got, want, atol=1e-5 if precision == "single" else 1e-10)


def test_relabelled_sampling_and_expectations_keep_qubit_order() -> None:
    n = 5
    body = swap_heavy(n, 3, 4).operations
    circuit = Circuit(n, list(body))
    measured = Circuit(n, [*body, *(Measure(q, "m", q) for q in range(n))], {"m": n})
    sim = StatevectorSimulator(fusion=relabelling())
    plain = StatevectorSimulator(fusion=relabelling(0))
    assert sim.compile(circuit).segments[0].restore is not None  # type: ignore[union-attr]
    np.testing.assert_allclose(sim.probabilities(circuit), plain.probabilities(circuit))
    a = sim.sample(measured, 200, seed=3)["m"]
    b = plain.sample(measured, 200, seed=3)["m"]
    np.testing.assert_array_equal(a, b)
    obs = [PauliSum([PauliTerm("ZX", (0, 3), 0.5), PauliTerm("YZ", (1, 4))])]
    np.testing.assert_allclose(
        sim.expectation_values(circuit, obs), plain.expectation_values(circuit, obs), atol=1e-12
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_mid_circuit_measurement_between_relabelled_runs(kernel: str) -> None:
    """Each run of gates restores its order before a measurement reads a qubit."""
    first = swap_heavy(4, 2, 1).operations
    second = swap_heavy(4, 2, 2).operations
    ops = [*first, Measure(1, "c", 0), *second, Measure(2, "c", 1), Measure(0, "c", 2)]
    circuit = Circuit(4, ops, {"c": 3})
    sim = StatevectorSimulator(kernel=kernel, fusion=relabelling())
    plain = StatevectorSimulator(kernel=kernel, fusion=relabelling(0))
    got = sim.sample(circuit, 64, seed=9)["c"]
    want = plain.sample(circuit, 64, seed=9)["c"]
    np.testing.assert_array_equal(got, want)
