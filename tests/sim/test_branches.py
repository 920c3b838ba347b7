"""Mid-circuit measurement, reset and classical conditions: per-shot branches."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import (
    Circuit,
    Condition,
    Gate,
    Measure,
    Parameter,
    Reset,
)
from qsession_provider.sim import StatevectorSimulator
from tests.sim.conftest import KERNELS, fusion_options


def test_mid_circuit_measurement_branches(sim: StatevectorSimulator) -> None:
    # H, measure, H, measure: the two bits are independent fair coins.
    circuit = Circuit(
        1, [Gate("h", (0,)), Measure(0, "c", 0), Gate("h", (0,)), Measure(0, "c", 1)], {"c": 2}
    )
    bits = sim.sample(circuit, 8000, seed=9)["c"]
    counts = np.bincount(bits[:, 0] + 2 * bits[:, 1], minlength=4) / 8000
    np.testing.assert_allclose(counts, 0.25, atol=0.03)


def test_reset_and_classical_condition(sim: StatevectorSimulator) -> None:
    circuit = Circuit(
        3,
        [
            Gate("h", (0,)),
            Measure(0, "c", 0),
            Gate("x", (1,), condition=Condition("c", 1, 0)),
            Reset(0),
            Gate("h", (2,)),
            Reset(2),
            Measure(0, "c", 1),
            Measure(1, "c", 2),
            Measure(2, "d", 0),
        ],
        {"c": 3, "d": 1},
    )
    out = sim.sample(circuit, 4000, seed=2)
    c, d = out["c"], out["d"]
    np.testing.assert_array_equal(c[:, 0], c[:, 2])  # x applied exactly when c[0] == 1
    assert np.all(c[:, 1] == 0) and np.all(d == 0)  # reset qubits read 0
    assert 1700 < c[:, 0].sum() < 2300


def test_register_condition_and_overwritten_bit(sim: StatevectorSimulator) -> None:
    circuit = Circuit(
        2,
        [
            Gate("x", (0,)),
            Measure(0, "c", 0),
            Measure(1, "c", 1),
            Gate("x", (1,), condition=Condition("c", 1)),
            Measure(1, "c", 0),
        ],
        {"c": 2},
    )
    bits = sim.sample(circuit, 10, seed=0)["c"]
    # c was 0b01 -> condition true -> q1 flipped; last write of c[0] is q1's value 1
    np.testing.assert_array_equal(bits, [[1, 0]] * 10)


@pytest.mark.parametrize("kernel", KERNELS)
def test_mid_circuit_measurement_and_conditions_with_fusion(kernel: str) -> None:
    a = Parameter("a")
    circuit = Circuit(
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
    for fusion in (False, True, fusion_options(3, 2, low=1)):
        sim = StatevectorSimulator(kernel=kernel, fusion=fusion)
        bits = sim.sample(circuit, 4000, values, seed=11)["c"]
        ints = (bits.astype(int) << np.arange(4)).sum(axis=1)
        counts[str(fusion)] = np.bincount(ints, minlength=16) / 4000
    first = counts.pop("False")
    for other in counts.values():
        # the same seed does not give the same shots on different plans, but the same law
        np.testing.assert_allclose(other, first, atol=0.04)
