"""Fusion options per state size, and the plan the cost model picks on a large state."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from qsession_provider.core import Circuit, Gate
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.compiler import compile_circuit
from qsession_provider.sim.fusion_policy import FusionOptions
from qsession_provider.sim.plan import Plan
from tests.sim.conftest import parameterised


def test_compile_options_and_plan_arrays() -> None:
    circuit = Circuit(3, [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Gate("t", (2,))])
    fused = compile_circuit(circuit)
    plain = compile_circuit(circuit, options=FusionOptions.for_state(16, fusion=False))
    (plan,) = fused.segments
    (unfused,) = plain.segments
    assert isinstance(plan, Plan) and isinstance(unfused, Plan)
    assert plan.num_blocks < unfused.num_blocks == 3
    matrices, offsets = plan.bind({})
    assert offsets[-1] == len(matrices) and plan.tile_offsets is None
    assert FusionOptions.for_state(8).tile_qubits == 16
    assert FusionOptions.for_state(16, fusion=3).max_dense == 3
    assert FusionOptions.for_state(16, tiling=False).tile_qubits == 0


def test_default_plan_on_a_large_state_matches_unfused(make_random_program: Callable) -> None:
    # 17 qubits: wider than a default tile (15), so the cost model chooses tiles or wide blocks.
    circuit, values = parameterised(make_random_program(17, 150, 4), 4)
    fused = StatevectorSimulator().final_state(circuit, values)
    plain = StatevectorSimulator(fusion=False).final_state(circuit, values)
    np.testing.assert_allclose(fused, plain, atol=1e-10)
    single = StatevectorSimulator(precision="single").final_state(circuit, values)
    np.testing.assert_allclose(single, plain, atol=1e-4)
