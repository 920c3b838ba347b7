"""SWAP gates relabelled away: the kernels' qubit permutation, and every result of a plan that
drops its swaps (final states, sampling, expectations, mid-circuit measurement) against the
dense oracle and the numpy reference kernel, with the qubit order restored."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure, PauliSum, PauliTerm
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref
from qsession_provider.sim.compiler import FusionOptions, Plan, compile_program
from qsession_provider.sim.statevector import aligned_zeros
from tests.sim.conftest import dense_final_state

KERNELS = ["c", "reference"]


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


# ---------------------------------------------------------------------------------------------
# The kernel
# ---------------------------------------------------------------------------------------------


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


# ---------------------------------------------------------------------------------------------
# Plans that relabel
# ---------------------------------------------------------------------------------------------


def test_swaps_leave_the_plan_and_restore_is_recorded() -> None:
    program = Circuit(
        3, [Gate("h", (0,)), Gate("swap", (0, 2)), Gate("swap", (1, 2)), Gate("x", (2,))]
    )
    plan = compile_program(program, options=relabelling()).segments[0]
    assert isinstance(plan, Plan)
    assert all(s.name != "swap" for s in plan.steps)
    assert plan.steps[-1].targets == (1,)  # x on qubit 2, which now lives at position 1
    assert plan.restore is not None and plan.restore.tolist() == [2, 0, 1]
    # Below the threshold nothing changes; swaps that cancel need no restoring.
    plan = compile_program(program, options=relabelling(3)).segments[0]
    assert isinstance(plan, Plan) and plan.restore is None
    assert sum(s.name == "swap" for s in plan.steps) == 2
    twice = Circuit(2, [Gate("swap", (0, 1)), Gate("swap", (0, 1))])
    plan = compile_program(twice, options=relabelling()).segments[0]
    assert isinstance(plan, Plan) and plan.restore is None and not len(plan.kinds)


@pytest.mark.parametrize("kernel", KERNELS)
@pytest.mark.parametrize("n", [2, 4, 7])
@pytest.mark.parametrize("seed", range(3))
def test_relabelled_final_state_matches_oracle(kernel: str, n: int, seed: int) -> None:
    program = swap_heavy(n, 4, seed)
    want = dense_final_state(program)
    sim = StatevectorSimulator(kernel=kernel, fusion=relabelling())
    got = sim.final_state(program)
    np.testing.assert_allclose(got, want, atol=1e-10)
    plain = StatevectorSimulator(kernel=kernel, fusion=relabelling(0)).final_state(program)
    np.testing.assert_allclose(got, plain, atol=1e-10)


@pytest.mark.parametrize("precision", ["double", "single"])
def test_relabelled_tiled_large_state_matches_reference(precision: str) -> None:
    n = 16
    program = swap_heavy(n, 6, 11)
    tiled = relabelling(tile_qubits=10, low_qubits=2, force_tiles=True)
    got = StatevectorSimulator(precision=precision, fusion=tiled).final_state(program)
    want = StatevectorSimulator(kernel="reference", fusion=False).final_state(program)
    np.testing.assert_allclose(got, want, atol=1e-5 if precision == "single" else 1e-10)


def test_relabelled_sampling_and_expectations_keep_qubit_order() -> None:
    n = 5
    body = swap_heavy(n, 3, 4).operations
    program = Circuit(n, list(body))
    measured = Circuit(n, [*body, *(Measure(q, "m", q) for q in range(n))], {"m": n})
    sim = StatevectorSimulator(fusion=relabelling())
    plain = StatevectorSimulator(fusion=relabelling(0))
    assert sim.compile(program).segments[0].restore is not None  # type: ignore[union-attr]
    np.testing.assert_allclose(sim.probabilities(program), plain.probabilities(program))
    a = sim.sample(measured, 200, seed=3)["m"]
    b = plain.sample(measured, 200, seed=3)["m"]
    np.testing.assert_array_equal(a, b)
    obs = [PauliSum([PauliTerm("ZX", (0, 3), 0.5), PauliTerm("YZ", (1, 4))])]
    np.testing.assert_allclose(
        sim.expectation_values(program, obs), plain.expectation_values(program, obs), atol=1e-12
    )


@pytest.mark.parametrize("kernel", KERNELS)
def test_mid_circuit_measurement_between_relabelled_runs(kernel: str) -> None:
    """Each run of gates restores its order before a measurement reads a qubit."""
    first = swap_heavy(4, 2, 1).operations
    second = swap_heavy(4, 2, 2).operations
    ops = [*first, Measure(1, "c", 0), *second, Measure(2, "c", 1), Measure(0, "c", 2)]
    program = Circuit(4, ops, {"c": 3})
    sim = StatevectorSimulator(kernel=kernel, fusion=relabelling())
    plain = StatevectorSimulator(kernel=kernel, fusion=relabelling(0))
    got = sim.sample(program, 64, seed=9)["c"]
    want = plain.sample(program, 64, seed=9)["c"]
    np.testing.assert_array_equal(got, want)
