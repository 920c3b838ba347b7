"""The generators jobs draw from: seeded jobs reproduce ``default_rng(seed)`` from a cached
state, unseeded jobs share the process's generator, and a forked child draws its own."""

from __future__ import annotations

import multiprocessing
import threading
from typing import Any

import numpy as np
import pytest

from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.sim import StatevectorSimulator, execute
from qsession_provider.sim.rng import JobRandom, SharedGenerator, shared_generator
from tests.sim.conftest import bell, circuits


def test_seeded_jobs_draw_default_rng_of_the_seed() -> None:
    job_rng = JobRandom().generator
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
        SamplerPayload((SamplerPub(circuit, np.full(len(circuit.parameters), 0.7), 64),), seed=s)
        for s, circuit in enumerate(circuits().values())
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
            assert result["pubs"][0]["registers"] == expected  # PackedBits compare by bits


def test_unseeded_jobs_are_independent_and_distributed_right() -> None:
    sim = StatevectorSimulator()
    payload = SamplerPayload((SamplerPub(bell(), None, 16),))
    jobs = [execute("sampler", payload, sim)["pubs"][0]["registers"]["meas"] for _ in range(2000)]
    bits = np.stack(jobs)
    assert bits.shape == (2000, 16, 2)
    np.testing.assert_array_equal(bits[..., 0], bits[..., 1])  # only 00 and 11
    ones = bits[..., 0].mean()
    assert abs(ones - 0.5) < 0.02  # 32000 shots: sd 0.003
    distinct = {job.data.tobytes() for job in jobs}
    assert len(distinct) > 1930  # 2**16 equally likely outcomes: ~30 repeats expected
    # Consecutive jobs are uncorrelated.
    per_job = bits[..., 0].mean(axis=1)
    assert abs(np.corrcoef(per_job[:-1], per_job[1:])[0, 1]) < 0.1


def test_shared_generator_hands_out_each_uniform_once() -> None:
    shared = SharedGenerator()
    draws = [shared.random(n) for n in (1, 16, 256, 300, 16) * 40]
    assert all(d.dtype == np.float64 and d.flags.writeable for d in draws)
    joined = np.concatenate(draws)
    assert len(np.unique(joined)) == len(joined)
    assert np.all((joined >= 0) & (joined < 1))
    assert isinstance(shared.random(), float)
    assert shared.random((2, 3)).shape == (2, 3)
    assert shared.random(4, dtype=np.float32).dtype == np.float32


def _child_draws(queue: Any) -> None:
    queue.put(shared_generator().random(8).tolist())


@pytest.mark.skipif(
    "fork" not in multiprocessing.get_all_start_methods(), reason="needs the fork start method"
)
def test_forked_children_do_not_repeat_the_parents_draws() -> None:
    shared_generator().random(8)  # the parent's shared generator exists
    ctx = multiprocessing.get_context("fork")
    queue = ctx.Queue()
    children = [ctx.Process(target=_child_draws, args=(queue,)) for _ in range(2)]
    for child in children:
        child.start()
    draws = [queue.get(timeout=30) for _ in children]
    for child in children:
        child.join(timeout=30)
    mine = shared_generator().random(8).tolist()
    assert draws[0] != draws[1] and mine not in draws
