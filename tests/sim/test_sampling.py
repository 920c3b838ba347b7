"""The sampling fast paths give exactly what the general path gives.

Small non-branching circuits are read from lookup tables; circuits without parameters
skip the kernel through precomputed sampling thresholds; few shots are looked up in plain
Python. Each must give the same bits as the plain algorithm (uniforms -> stable sort ->
``kernel.sample`` -> bits of each terminal read).
"""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.sampling import sampling_thresholds
from tests.sim.conftest import assert_same_registers, circuits


def plain_sample(
    sim: StatevectorSimulator, circuit: Circuit, shots: int, values: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """The general algorithm, written out: what every fast path must reproduce."""
    compiled = sim.compile(circuit)
    state = sim.evolve(compiled, values)
    rng = np.random.default_rng(seed)
    uniforms = rng.random(shots)
    order = np.argsort(uniforms, kind="stable")
    indices = np.empty(shots, dtype=np.int64)
    indices[order] = sim.kernel.sample(state, uniforms[order])
    out = {
        name: np.zeros((shots, size), dtype=np.uint8) for name, size in circuit.registers.items()
    }
    for position, reg, bit in compiled.terminal:
        out[reg][:, bit] = 0 if position is None else (indices >> position) & 1
    return out


@pytest.mark.parametrize("kernel", ["c", "reference"])
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("name", list(circuits()))
@pytest.mark.parametrize("shots", [1, 16, 128, 129, 1000])
def test_sample_compiled_matches_the_plain_algorithm(
    kernel: str, precision: str, name: str, shots: int
) -> None:
    circuit = circuits()[name]
    sim = StatevectorSimulator(kernel=kernel, precision=precision)
    compiled = sim.compile(circuit)
    assert not compiled.branching
    values = np.linspace(0.4, 2.9, len(circuit.parameters))
    for seed in (1, 2, 3):  # repeated calls use the cached tables
        got = sim.sample_compiled(compiled, shots, values, np.random.default_rng(seed))
        assert_same_registers(got, plain_sample(sim, circuit, shots, values, seed))


def random_state(rng: np.random.Generator, width: int, zeros: float) -> np.ndarray:
    """A normalised state with about a fraction ``zeros`` of zero amplitudes, and a zero
    last amplitude (never sampled) when there is more than one."""
    state = rng.normal(size=2**width) + 1j * rng.normal(size=2**width)
    state[rng.random(2**width) < zeros] = 0
    if width:
        state[-1] = 0
    if not np.any(state):
        state[0] = 1
    return state / np.linalg.norm(state)


@pytest.mark.parametrize("kernel", ["c", "reference"])
@pytest.mark.parametrize("width", [0, 1, 2, 5, 8])
@pytest.mark.parametrize("zeros", [0.0, 0.5, 0.9])
def test_thresholds_reproduce_the_kernel_sampler(kernel: str, width: int, zeros: float) -> None:
    sim = StatevectorSimulator(kernel=kernel)
    rng = np.random.default_rng(width * 10 + int(zeros * 10))
    for dtype in (np.complex128, np.complex64):
        state = random_state(rng, width, zeros).astype(dtype)
        t = sampling_thresholds(sim.kernel, state)
        assert t[0] == 0.0 and np.all(np.diff(t) >= 0) and t[-1] <= 1.0
        step = 2.0**-53
        inner = t[(t > 0) & (t < 1)]
        uniforms = np.concatenate([rng.random(5000), inner, inner - step, [0.0, 1.0 - step, 0.5]])
        uniforms.sort()
        want = sim.kernel.sample(state, uniforms)
        np.testing.assert_array_equal(t.searchsorted(uniforms, "right") - 1, want)
