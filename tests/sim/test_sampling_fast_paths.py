"""The sampling fast paths give exactly what the general path gives.

Small non-branching programs are read from lookup tables; programs without parameters
skip the kernel through precomputed sampling thresholds; few shots are looked up in plain
Python; job generators are cached or shared. Each must give the same bits as the plain
algorithm (uniforms -> stable sort -> ``kernel.sample`` -> bits of each terminal read).
"""

from __future__ import annotations

import multiprocessing
import sys
import threading
from typing import Any

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure, Parameter, PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.sim import StatevectorSimulator, execute
from qsession_provider.sim.statevector import _SCRATCH_QUBITS, _thresholds

execute_module = sys.modules["qsession_provider.sim.execute"]
a, b = Parameter("a"), Parameter("b")


def bell() -> Circuit:
    ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,))]
    return Circuit(2, [*ops, Measure(0, "meas", 0), Measure(1, "meas", 1)], {"meas": 2})


def programs() -> dict[str, Circuit]:
    """Non-branching programs covering the lookup-table cases."""
    wide = _SCRATCH_QUBITS + 1
    return {
        "bell": bell(),
        # two registers, bits out of order, an unmeasured bit
        "two registers": Circuit(
            3,
            [
                Gate("ry", (0,), (a,)),
                Gate("rx", (2,), (b,)),
                Gate("x", (1,), controls=(0,)),
                Measure(0, "c", 1),
                Measure(2, "c", 0),
                Measure(1, "d", 0),
            ],
            {"c": 2, "d": 3},
        ),
        # a qubit no gate touches (reads 0) and a bit written twice (the last read wins)
        "untouched and repeated": Circuit(
            4,
            [
                Gate("h", (1,)),
                Gate("ry", (2,), (0.8,)),
                Measure(3, "c", 0),
                Measure(1, "c", 1),
                Measure(2, "c", 1),
            ],
            {"c": 3},
        ),
        "fixed, uneven": Circuit(
            3,
            [
                Gate("ry", (0,), (0.3,)),
                Gate("ry", (2,), (2.1,)),
                Gate("x", (1,), controls=(2,)),
                *[Measure(q, "c", q) for q in range(3)],
            ],
            {"c": 3},
        ),
        "at the width limit": Circuit(
            _SCRATCH_QUBITS,
            [Gate("ry", (q,), (a * (q + 1),)) for q in range(_SCRATCH_QUBITS)]
            + [Measure(q, "c", q) for q in range(_SCRATCH_QUBITS)],
            {"c": _SCRATCH_QUBITS},
        ),
        "fixed at the width limit": Circuit(
            _SCRATCH_QUBITS,
            [Gate("ry", (q,), (0.2 * (q + 1),)) for q in range(_SCRATCH_QUBITS)]
            + [Measure(q, "c", q) for q in range(_SCRATCH_QUBITS)],
            {"c": _SCRATCH_QUBITS},
        ),
        "too wide for tables": Circuit(
            wide,
            [Gate("h", (q,)) for q in range(wide)] + [Measure(q, "c", q) for q in range(wide)],
            {"c": wide},
        ),
    }


def plain_sample(
    sim: StatevectorSimulator, program: Circuit, shots: int, values: np.ndarray, seed: int
) -> dict[str, np.ndarray]:
    """The general algorithm, written out: what every fast path must reproduce."""
    compiled = sim.compile(program)
    state = sim.evolve(compiled, values)
    rng = np.random.default_rng(seed)
    uniforms = rng.random(shots)
    order = np.argsort(uniforms, kind="stable")
    indices = np.empty(shots, dtype=np.int64)
    indices[order] = sim.kernel.sample(state, uniforms[order])
    out = {
        name: np.zeros((shots, size), dtype=np.uint8) for name, size in program.registers.items()
    }
    for position, reg, bit in compiled.terminal:
        out[reg][:, bit] = 0 if position is None else (indices >> position) & 1
    return out


def assert_same_registers(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape
        assert got[name].dtype == np.uint8
        assert got[name].flags.c_contiguous and got[name].flags.writeable
        np.testing.assert_array_equal(got[name], want[name])


@pytest.mark.parametrize("kernel", ["c", "reference"])
@pytest.mark.parametrize("precision", ["double", "single"])
@pytest.mark.parametrize("name", list(programs()))
@pytest.mark.parametrize("shots", [1, 16, 128, 129, 1000])
def test_sample_compiled_matches_the_plain_algorithm(
    kernel: str, precision: str, name: str, shots: int
) -> None:
    program = programs()[name]
    sim = StatevectorSimulator(kernel=kernel, precision=precision)
    compiled = sim.compile(program)
    assert not compiled.branching
    values = np.linspace(0.4, 2.9, len(program.parameters))
    for seed in (1, 2, 3):  # repeated calls use the cached tables
        got = sim.sample_compiled(compiled, shots, values, np.random.default_rng(seed))
        assert_same_registers(got, plain_sample(sim, program, shots, values, seed))


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
        t = _thresholds(sim.kernel, state)
        assert t[0] == 0.0 and np.all(np.diff(t) >= 0) and t[-1] <= 1.0
        step = 2.0**-53
        inner = t[(t > 0) & (t < 1)]
        uniforms = np.concatenate([rng.random(5000), inner, inner - step, [0.0, 1.0 - step, 0.5]])
        uniforms.sort()
        want = sim.kernel.sample(state, uniforms)
        np.testing.assert_array_equal(t.searchsorted(uniforms, "right") - 1, want)


def test_sampler_pub_of_one_set_matches_a_pub_of_shape_one() -> None:
    sim = StatevectorSimulator()
    for program in programs().values():
        values = np.linspace(0.1, 1.3, len(program.parameters))
        for shots in (16, 300):
            outs = [
                execute("sampler", SamplerPayload((SamplerPub(program, v, shots),), seed=9), sim)
                for v in (values, values[None], values[None, None])
            ]
            regs = [out["pubs"][0]["registers"] for out in outs]
            for name in program.registers:
                assert regs[0][name].shape == (shots, program.registers[name])
                np.testing.assert_array_equal(regs[1][name][0], regs[0][name])
                np.testing.assert_array_equal(regs[2][name][0, 0], regs[0][name])
                assert regs[0][name].dtype == regs[1][name].dtype == np.uint8


def test_sampler_parameter_sweep_matches_one_job_per_set() -> None:
    sim = StatevectorSimulator()
    program = programs()["two registers"]
    values = np.random.default_rng(3).uniform(0, np.pi, (2, 3, 2))
    swept = execute("sampler", SamplerPayload((SamplerPub(program, values, 50),), seed=4), sim)
    regs = swept["pubs"][0]["registers"]
    assert regs["c"].shape == (2, 3, 50, 2) and regs["d"].shape == (2, 3, 50, 3)
    # The sweep draws the sets one after the other from one generator.
    rng = np.random.default_rng(4)
    compiled = sim.compile(program)
    for index in np.ndindex(2, 3):
        bits = StatevectorSimulator().sample_compiled(compiled, 50, values[index], rng)
        for name in ("c", "d"):
            np.testing.assert_array_equal(regs[name][index], bits[name])


def test_seeded_jobs_draw_default_rng_of_the_seed() -> None:
    job_rng = execute_module.job_rng
    for seed in (0, 5, 2**40, np.int64(17)):
        for _ in range(3):  # first call builds, later calls reset a cached state
            rng = job_rng(seed)
            want = np.random.default_rng(int(seed))
            np.testing.assert_array_equal(rng.random(7), want.random(7))
            assert rng.binomial(100, 0.3) == want.binomial(100, 0.3)
            np.testing.assert_array_equal(rng.permutation(9), want.permutation(9))


def test_seeded_jobs_are_reproducible_across_threads() -> None:
    sim = StatevectorSimulator()
    payloads = [
        SamplerPayload((SamplerPub(program, np.full(len(program.parameters), 0.7), 64),), seed=s)
        for s, program in enumerate(programs().values())
    ]
    want = [execute("sampler", p, sim) for p in payloads]
    got: dict[int, list[Any]] = {}

    def work(k: int) -> None:
        got[k] = [execute("sampler", p, sim) for p in payloads for _ in range(5)]

    threads = [threading.Thread(target=work, args=(k,)) for k in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    for results in got.values():
        for i, result in enumerate(results):
            expected = want[i // 5]["pubs"][0]["registers"]
            assert_same_registers(result["pubs"][0]["registers"], expected)


def test_unseeded_jobs_are_independent_and_distributed_right() -> None:
    sim = StatevectorSimulator()
    payload = SamplerPayload((SamplerPub(bell(), None, 16),))
    jobs = [execute("sampler", payload, sim)["pubs"][0]["registers"]["meas"] for _ in range(2000)]
    bits = np.stack(jobs)
    assert bits.shape == (2000, 16, 2)
    np.testing.assert_array_equal(bits[..., 0], bits[..., 1])  # only 00 and 11
    ones = bits[..., 0].mean()
    assert abs(ones - 0.5) < 0.02  # 32000 shots: sd 0.003
    distinct = {job.tobytes() for job in jobs}
    assert len(distinct) > 1930  # 2**16 equally likely outcomes: ~30 repeats expected
    # Consecutive jobs are uncorrelated.
    per_job = bits[..., 0].mean(axis=1)
    assert abs(np.corrcoef(per_job[:-1], per_job[1:])[0, 1]) < 0.1


def test_shared_generator_hands_out_each_uniform_once() -> None:
    shared = execute_module._SharedGenerator()
    draws = [shared.random(n) for n in (1, 16, 256, 300, 16) * 40]
    assert all(d.dtype == np.float64 and d.flags.writeable for d in draws)
    joined = np.concatenate(draws)
    assert len(np.unique(joined)) == len(joined)
    assert np.all((joined >= 0) & (joined < 1))
    assert isinstance(shared.random(), float)
    assert shared.random((2, 3)).shape == (2, 3)
    assert shared.random(4, dtype=np.float32).dtype == np.float32


def _child_draws(queue: Any) -> None:
    queue.put(execute_module.job_rng(None).random(8).tolist())


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_forked_children_do_not_repeat_the_parents_draws() -> None:
    execute_module.job_rng(None).random(8)  # the parent's shared generator exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_child_draws, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    draws = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    mine = execute_module.job_rng(None).random(8).tolist()
    assert draws[0] != draws[1] and mine not in draws


def test_compiled_for_remembers_programs_by_identity() -> None:
    sim = StatevectorSimulator()
    program = bell()
    compiled = sim.compiled_for(program)
    assert sim.compiled_for(program) is compiled
    assert sim.compile(program) is compiled
    assert sim.compiled_for(bell()) is compiled  # same structure: the compile cache
    for k in range(100):  # the identity cache stays bounded
        sim.compiled_for(Circuit(1, [Gate("rx", (0,), (0.01 * k,))]))
    assert len(sim._by_program) <= 64


def test_estimator_single_set_matches_the_broadcast_path() -> None:
    sim = StatevectorSimulator()
    program = Circuit(
        2, [Gate("ry", (0,), (a,)), Gate("rx", (1,), (b,)), Gate("x", (1,), controls=(0,))]
    )
    z0 = PauliSum([PauliTerm("Z", (0,))])
    xy = PauliSum([PauliTerm("XY", (0, 1), 0.5), PauliTerm("ZZ", (0, 1), -0.25)])
    obs = np.empty((2, 1), dtype=object)
    obs[0, 0], obs[1, 0] = z0, xy
    values = np.array([0.4, 1.1])
    for observables in (z0, obs):
        for precision, seed in ((0.0, None), (0.05, 11)):
            one, broad = (
                execute(
                    "estimator",
                    EstimatorPayload((EstimatorPub(program, v, observables, precision),), seed),
                    sim,
                )["pubs"][0]
                for v in (values, values[None])
            )
            shape = np.shape(observables) if isinstance(observables, np.ndarray) else ()
            assert one["evs"].shape == one["stds"].shape == shape
            assert one["evs"].dtype == np.float64 and isinstance(one["evs"], np.ndarray)
            exact = sim.expectation_values(
                program, list(np.ravel(observables)), {"a": 0.4, "b": 1.1}
            ).reshape(shape)
            if seed is None:
                np.testing.assert_allclose(one["evs"], exact, atol=1e-12)
            else:  # the noise of default_rng(seed), as before
                want = np.random.default_rng(seed).normal(exact, precision)
                np.testing.assert_allclose(one["evs"], want, atol=1e-12)
            # values (1, 2) against observables () or (2, 1): shapes (1,) or (2, 1)
            np.testing.assert_array_equal(broad["evs"].reshape(shape), one["evs"])
            np.testing.assert_array_equal(broad["stds"].reshape(shape), one["stds"])
