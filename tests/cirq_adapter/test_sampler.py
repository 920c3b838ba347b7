"""The Cirq face's Sampler: a real cirq.Sampler over the runtime, checked against cirq.Simulator."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

cirq = pytest.importorskip("cirq")
sympy = pytest.importorskip("sympy")
duet = pytest.importorskip("duet")
pd = pytest.importorskip("pandas")

from qsession_provider.cirq import JobResult, Sampler, UnsuccessfulJobError  # noqa: E402
from qsession_provider.core import (  # noqa: E402
    Device,
    DeviceRegistry,
    MemoryStore,
    Runtime,
    TimingModel,
    VirtualClock,
)
from qsession_provider.errors import (  # noqa: E402
    DeviceNotFoundError,
    InputError,
    UnboundParameterError,
)
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402

pytestmark = pytest.mark.timeout(60)

Q = cirq.LineQubit.range(3)
T = sympy.Symbol("t")


@pytest.fixture(scope="module")
def builtin_devices() -> list[Device]:
    return list(build_device_registry(get_plugin_manager(load_entry_points=False)))


def _failing_execute(program_id: str, payload: Any) -> Any:
    raise RuntimeError("boom: calibration lost")


@pytest.fixture
def make_rt(builtin_devices: list[Device]) -> Iterator[Any]:
    """``make_rt(clock=None)``: a runtime on a memory store with the built-in devices plus
    ``timed_sim`` (2 slots, 1 s per job) and ``broken`` (every job fails)."""
    made: list[Runtime] = []

    def make(clock: Any = None) -> Runtime:
        registry = DeviceRegistry()
        for device in builtin_devices:
            registry.register(device)
        sv = registry.get("statevector")
        registry.register(
            Device("timed_sim", 8, sv.execute, slots=2, simulator=True, timing=TimingModel(1.0))
        )
        registry.register(Device("broken", 4, _failing_execute, simulator=True))
        rt = Runtime(store=MemoryStore(), clock=clock, devices=registry)
        made.append(rt)
        return rt

    yield make
    for rt in made:
        rt.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def rt(make_rt: Any) -> Runtime:
    return make_rt(VirtualClock(start=0))


def tvd(a: Counter[int], b: Counter[int]) -> float:
    na, nb = sum(a.values()), sum(b.values())
    return 0.5 * sum(abs(a[k] / na - b[k] / nb) for k in set(a) | set(b))


def ghz_plus(theta: Any = 0.7) -> Any:
    """A 3-qubit circuit with two measurement keys and an uneven distribution."""
    return cirq.Circuit(
        cirq.H(Q[0]),
        cirq.CNOT(Q[0], Q[1]),
        cirq.ry(theta).on(Q[2]),
        cirq.CZ(Q[1], Q[2]) ** 0.5,
        cirq.H(Q[2]),
        cirq.measure(Q[0], Q[1], key="pair"),
        cirq.measure(Q[2], key="last"),
    )


# -- it is a cirq.Sampler ---------------------------------------------------------------------
def test_is_a_cirq_sampler_usable_by_code_typed_for_one(rt: Runtime) -> None:
    def heads(sampler: cirq.Sampler, repetitions: int) -> int:
        circuit = cirq.Circuit(cirq.X(Q[0]), cirq.measure(Q[0], key="m"))
        return int(sampler.run(circuit, repetitions=repetitions).histogram(key="m")[1])

    sampler = Sampler(runtime=rt, seed=1)
    assert isinstance(sampler, cirq.Sampler)
    assert heads(sampler, 17) == heads(cirq.Simulator(seed=1), 17) == 17


def test_jobs_carry_the_sampler_name_and_tags(rt: Runtime) -> None:
    sampler = Sampler(runtime=rt, name="vqe-step", tags=["exp-1", "cirq"])
    result = sampler.run(cirq.Circuit(cirq.measure(Q[0], key="m")), repetitions=2)
    (job,) = rt.jobs(tags=["exp-1"])
    assert job.id == result.job_id and job.name == "vqe-step" and job.session_id is None
    assert job.metadata["cirq"]["repetitions"] == 2


def test_run_distribution_matches_cirq_simulator(rt: Runtime) -> None:
    circuit = ghz_plus()
    ours = Sampler(runtime=rt, seed=11).run(circuit, repetitions=4000)
    ref = cirq.Simulator(seed=11).run(circuit, repetitions=4000)
    assert isinstance(ours, JobResult) and isinstance(ours, cirq.Result)
    assert set(ours.measurements) == set(ref.measurements) == {"pair", "last"}
    for key in ("pair", "last"):
        assert ours.measurements[key].shape == ref.measurements[key].shape
        assert ours.measurements[key].dtype == ref.measurements[key].dtype
    joint = ["pair", "last"]
    assert (
        tvd(
            ours.multi_measurement_histogram(keys=joint),
            ref.multi_measurement_histogram(keys=joint),
        )
        < 0.05
    )
    assert ours.params == cirq.ParamResolver({})
    assert ours.job_id == rt.jobs()[0].id


@pytest.mark.parametrize(
    "sweep",
    [cirq.Linspace("t", 0, 1, 5), cirq.Points("t", [0.0, 0.25, 1.0])],
    ids=["linspace", "points"],
)
def test_run_sweep_resolves_params_and_matches(rt: Runtime, sweep: Any) -> None:
    circuit = cirq.Circuit(
        cirq.X(Q[0]) ** T, cirq.CNOT(Q[0], Q[1]), cirq.measure(Q[0], Q[1], key="m")
    )
    sampler = Sampler(runtime=rt, seed=5)
    results = sampler.run_sweep(circuit, sweep, repetitions=2000)
    reference = cirq.Simulator(seed=5).run_sweep(circuit, sweep, repetitions=2000)
    assert len(results) == len(reference) == len(list(sweep))
    (job,) = sampler.last_jobs  # one runtime job for the whole sweep
    for ours, ref, resolver in zip(results, reference, cirq.to_resolvers(sweep)):
        assert ours.params == resolver == ref.params
        assert ours.job_id == job.job_id()
        p1 = np.sin(np.pi * resolver.value_of("t") / 2) ** 2
        ones = ours.histogram(key="m", fold_func=lambda bits: bits[0])[1] / 2000
        assert abs(ones - p1) < 5 * np.sqrt(p1 * (1 - p1) / 2000) + 1e-9
        assert tvd(ours.histogram(key="m"), ref.histogram(key="m")) < 0.06
        assert set(ours.histogram(key="m")) <= {0, 3}  # CNOT keeps the pair equal


def test_measurement_keys_and_qubit_order_preserved(rt: Runtime) -> None:
    a, b, c = cirq.GridQubit(0, 1), cirq.GridQubit(1, 0), cirq.GridQubit(0, 0)
    circuit = cirq.Circuit(
        cirq.X(a),
        cirq.measure(c, a, key="ca"),
        cirq.measure(b, key="b"),
        cirq.measure(a, b, c, key="abc"),
    )
    ours = Sampler(runtime=rt).run(circuit, repetitions=3)
    ref = cirq.Simulator().run(circuit, repetitions=3)
    for key in ("ca", "b", "abc"):
        np.testing.assert_array_equal(ours.measurements[key], ref.measurements[key])


# -- run_batch, sample, expectation values, async -------------------------------------------
def test_run_batch_runs_jobs_concurrently(rt: Runtime) -> None:
    circuits = [cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))] * 4
    params = [{"t": 0}, {"t": 1}, cirq.Points("t", [0, 1]), {"t": 1}]
    sampler = Sampler("timed_sim", runtime=rt, seed=2)
    start = rt.clock.now()
    results = sampler.run_batch(circuits, params, repetitions=[10, 10, 10, 20])
    # Four 1-second jobs on two slots take 2 s (one after another: 4 s).
    assert rt.clock.now() - start == pytest.approx(2.0)
    assert [len(r) for r in results] == [1, 1, 2, 1]
    assert [r[0].histogram(key="m")[1] for r in results] == [0, 10, 0, 20]
    assert results[2][1].histogram(key="m")[1] == 10
    jobs = [rt.job(i) for i in sampler.job_ids]
    assert [j.id for j in jobs] == list(dict.fromkeys(r.job_id for rs in results for r in rs))
    assert len({j.created_at for j in jobs}) == 1  # all submitted before any was awaited
    first, second = jobs[0], jobs[1]
    assert first.started_at < second.finished_at and second.started_at < first.finished_at


def test_run_batch_on_a_one_slot_qpu_queues_them_together(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.H(Q[0]), cirq.measure(Q[0], key="m"))
    sampler = Sampler("emulated_falcon_27", runtime=rt)
    sampler.run_batch([circuit] * 3, repetitions=100)
    jobs = sorted((rt.job(i) for i in sampler.job_ids), key=lambda j: j.started_at)
    assert len({j.created_at for j in jobs}) == 1
    for before, after in zip(jobs, jobs[1:]):
        assert after.started_at >= before.finished_at  # one slot: one after the other


def test_sample_returns_a_dataframe(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
    frame = Sampler(runtime=rt).sample(circuit, repetitions=4, params=cirq.Points("t", [0, 1]))
    assert isinstance(frame, pd.DataFrame)
    assert list(frame.columns) == ["t", "m"]
    assert list(frame["m"]) == [0] * 4 + [1] * 4
    assert list(frame["t"]) == [0] * 4 + [1] * 4


def test_sample_expectation_values_near_exact(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.ry(T).on(Q[0]), cirq.CNOT(Q[0], Q[1]))
    observables = [cirq.Z(Q[0]), cirq.X(Q[0]) * cirq.X(Q[1]), 0.5 * cirq.Z(Q[1]) + cirq.X(Q[0])]
    sweep = cirq.Points("t", [0.3, 1.2])
    n = 4000
    got = Sampler(runtime=rt, seed=3).sample_expectation_values(
        circuit, observables, num_samples=n, params=sweep
    )
    exact = [
        cirq.Simulator().simulate_expectation_values(circuit, observables, resolver)
        for resolver in cirq.to_resolvers(sweep)
    ]
    assert np.allclose(got, np.real(exact), atol=6 / np.sqrt(n))


def test_simulate_expectation_values_is_exact(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.ry(T).on(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.rx(0.4).on(Q[1]))
    observables = [cirq.Z(Q[0]), cirq.X(Q[0]) * cirq.Y(Q[1]), 0.5 * cirq.Z(Q[1]) + cirq.X(Q[0])]
    sampler = Sampler(runtime=rt)
    sweep = cirq.Linspace("t", 0, 2, 3)
    got = sampler.simulate_expectation_values_sweep(circuit, observables, sweep)
    exact = cirq.Simulator().simulate_expectation_values_sweep(circuit, observables, sweep)
    assert np.allclose(got, np.real(exact), atol=1e-6)
    one = sampler.simulate_expectation_values(circuit, observables[0], {"t": 0.5})
    assert one == pytest.approx([np.cos(0.5)])
    assert rt.job(sampler.job_ids[0]).program_id == "estimator"
    measured = circuit + cirq.measure(Q[0], key="m")
    with pytest.raises(ValueError, match="terminal measurements"):
        sampler.simulate_expectation_values(measured, observables, {"t": 0.5})
    kept = sampler.simulate_expectation_values(
        measured, observables, {"t": 0.5}, permit_terminal_measurements=True
    )
    assert np.allclose(kept, sampler.simulate_expectation_values(circuit, observables, {"t": 0.5}))


def test_simulate_expectation_values_keeps_the_imaginary_part(rt: Runtime) -> None:
    q = cirq.LineQubit(0)
    sampler = Sampler(runtime=rt)
    got = sampler.simulate_expectation_values(
        cirq.Circuit(cirq.I(q)), [1j * cirq.Z(q) + 0.5 * cirq.X(q)]
    )
    assert got == [1j] and isinstance(got[0], complex)  # the reproducer
    circuit = cirq.Circuit(cirq.ry(T).on(Q[0]), cirq.CNOT(Q[0], Q[1]), cirq.rx(0.4).on(Q[1]))
    observables = [
        (0.3 + 2j) * cirq.X(Q[0]) * cirq.Y(Q[1]) + 0.5 * cirq.Z(Q[1]),
        cirq.Z(Q[0]),
        -1j * cirq.Y(Q[1]) + 1j * cirq.X(Q[0]),
    ]
    sweep = cirq.Linspace("t", 0, 2, 3)
    got_rows = sampler.simulate_expectation_values_sweep(circuit, observables, sweep)
    for resolver, row in zip(cirq.to_resolvers(sweep), got_rows):
        state = cirq.Simulator().simulate(circuit, resolver, qubit_order=Q[:2]).final_state_vector
        exact = [np.vdot(state, cirq.PauliSum.wrap(o).matrix(Q[:2]) @ state) for o in observables]
        assert np.allclose(row, exact, atol=1e-6)
        assert isinstance(row[1], float)  # a Hermitian observable stays real
        assert all(isinstance(v, complex) for v in (row[0], row[2]))


def test_collector_drives_the_sampler(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.ry(0.8).on(Q[0]))
    energy = cirq.Z(Q[0]) + 0.5 * cirq.X(Q[0])
    collector = cirq.PauliSumCollector(circuit, energy, samples_per_term=2000)
    collector.collect(Sampler(runtime=rt, seed=4), concurrency=3)
    assert collector.estimated_energy() == pytest.approx(np.cos(0.8) + 0.5 * np.sin(0.8), abs=0.1)


def test_async_variants_inside_duet_run(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
    sampler = Sampler(runtime=rt, seed=9)

    async def main() -> Any:
        one = await sampler.run_async(circuit, {"t": 1}, repetitions=5)
        sweep = await sampler.run_sweep_async(circuit, cirq.Points("t", [0, 1]), 5)
        batch = await sampler.run_batch_async([circuit, circuit], [{"t": 0}, {"t": 1}], 5)
        many = await duet.pstarmap_async(
            sampler.run_async, [(circuit, {"t": 1}, 3) for _ in range(4)]
        )
        return one, sweep, batch, many

    one, sweep, batch, many = duet.run(main)
    assert one.histogram(key="m")[1] == 5
    assert [r.histogram(key="m")[1] for r in sweep] == [0, 5]
    assert [b[0].histogram(key="m")[1] for b in batch] == [0, 5]
    assert len({r.job_id for r in many}) == 4


def test_async_on_a_real_clock(make_rt: Any) -> None:
    rt = make_rt()  # RealClock: completion comes only from the job's done-callback
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
    sampler = Sampler(runtime=rt)
    results = sampler.run_batch([circuit] * 3, [{"t": 1}] * 3, repetitions=4)
    assert [r[0].histogram(key="m")[1] for r in results] == [4, 4, 4]


def test_threads_share_one_sampler(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
    sampler = Sampler(runtime=rt)
    found: list[int] = []
    lock = threading.Lock()

    def work(value: int) -> None:
        r = sampler.run(circuit, {"t": value}, repetitions=7)
        with lock:
            found.append(r.histogram(key="m")[1])

    threads = [threading.Thread(target=work, args=(i % 2,)) for i in range(6)]
    for th in threads:
        th.start()
    for th in threads:
        th.join(20)
    assert sorted(found) == [0, 0, 0, 7, 7, 7]


# -- seeds, empty sweeps, zero repetitions --------------------------------------------------
def test_seed_makes_runs_reproducible(rt: Runtime) -> None:
    circuit = ghz_plus()

    def two_runs(seed: Any) -> list[np.ndarray]:
        sampler = Sampler(runtime=rt, seed=seed)
        return [sampler.run(circuit, repetitions=50).measurements["pair"] for _ in range(2)]

    a, b, c = two_runs(21), two_runs(21), two_runs(22)
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    assert not np.array_equal(a[0], a[1])  # like cirq.Simulator(seed=...): a stream, not a copy
    assert not np.array_equal(a[0], c[0])
    d = two_runs(np.random.RandomState(21))
    np.testing.assert_array_equal(a[0], d[0])


def test_empty_sweep_and_zero_repetitions_like_cirq_simulator(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], Q[1], key="m"))
    sampler = Sampler(runtime=rt)
    assert sampler.run_sweep(circuit, cirq.Points("t", []), repetitions=5) == []
    assert cirq.Simulator().run_sweep(circuit, cirq.Points("t", []), repetitions=5) == []
    (empty,) = sampler.run_sweep(circuit, {"t": 1}, repetitions=0)
    assert empty.measurements["m"].shape == (0, 2)
    assert empty.repetitions == 0 and empty.params == cirq.ParamResolver({"t": 1})
    assert rt.jobs() == []  # neither submitted a job
    with pytest.raises(ValueError, match="t"):  # still validated
        sampler.run(circuit, repetitions=0)


# -- bad input and failures ---------------------------------------------------------------
def test_bad_input_is_a_clear_error_and_the_sampler_still_works(rt: Runtime) -> None:
    sampler = Sampler(runtime=rt, seed=1)
    good = cirq.Circuit(cirq.X(Q[0]), cirq.measure(Q[0], key="m"))
    with pytest.raises(ValueError, match="no measurements"):
        sampler.run(cirq.Circuit(cirq.H(Q[0])))
    with pytest.raises(UnboundParameterError, match="t"):
        sampler.run(cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m")))
    with pytest.raises(ValueError, match="negative"):
        sampler.run(good, repetitions=-1)
    with pytest.raises(InputError, match="repetitions"):
        sampler.run(good, repetitions=1.5)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        sampler.run_batch([good, good], [None], repetitions=1)
    assert rt.jobs() == []
    assert sampler.run(good, repetitions=3).histogram(key="m")[1] == 3


def test_bad_construction_arguments(rt: Runtime) -> None:
    with pytest.raises(DeviceNotFoundError, match="statevector"):
        Sampler("no_such_qpu", runtime=rt)
    with pytest.raises(ValueError):
        Sampler("no_such_qpu", runtime=rt)
    with pytest.raises(InputError, match="either"):
        Sampler(runtime=rt, store=":memory:")
    with pytest.raises(InputError, match="tags"):
        Sampler(runtime=rt, tags="exp-1")
    with pytest.raises(InputError, match="device must be"):
        Sampler(42, runtime=rt)  # type: ignore[arg-type]


def test_too_wide_for_the_qpu(rt: Runtime) -> None:
    wide = cirq.Circuit(cirq.measure(*cirq.LineQubit.range(30), key="m"))
    with pytest.raises(InputError, match="27"):
        Sampler("emulated_falcon_27", runtime=rt).run(wide)


def test_failed_job_raises_a_runtime_error_naming_the_cause(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]), cirq.measure(Q[0], key="m"))
    sampler = Sampler("broken", runtime=rt)
    with pytest.raises(UnsuccessfulJobError, match="calibration lost") as info:
        sampler.run(circuit)
    assert isinstance(info.value, RuntimeError)
    assert info.value.job_id == sampler.job_ids[0] and info.value.status == "failed"
    assert Sampler(runtime=rt).run(circuit).histogram(key="m")[1] == 1


def test_timeout_then_the_sampler_still_works(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]), cirq.measure(Q[0], key="m"))
    with pytest.raises(TimeoutError, match="did not finish"):
        Sampler("emulated_falcon_27", runtime=rt, timeout=0.5).run(circuit, repetitions=10)
    result = Sampler("emulated_falcon_27", runtime=rt, timeout=60).run(circuit, repetitions=10)
    assert result.histogram(key="m")[1] == 10


def test_emulated_qpu_takes_modelled_time_without_sleeping(rt: Runtime) -> None:
    circuit = cirq.Circuit(cirq.X(Q[0]) ** T, cirq.measure(Q[0], key="m"))
    sampler = Sampler("emulated_eagle_127", runtime=rt)
    wall, start = time.monotonic(), rt.clock.now()
    sampler.run_sweep(circuit, cirq.Points("t", [0, 0.5, 1]), repetitions=1000)
    elapsed = rt.clock.now() - start
    assert elapsed == pytest.approx(2.0 + 3 * 0.08 + 3000 * 300e-6)  # the Eagle timing model
    assert time.monotonic() - wall < 5
    job = sampler.last_jobs[0].core
    assert job.finished_at - job.started_at == pytest.approx(elapsed)
