"""precision="auto": wide circuits are sampled in complex64, everything exact stays complex128."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core.ir import Circuit, Gate, Measure, NoiseModel
from qsession_provider.core.ir.noise import depolarizing
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.errors import InputError, ResourceTooLargeError
from qsession_provider.sim import StatevectorSimulator, execute
from qsession_provider.sim.precision import AUTO_SINGLE_FROM, PRECISION_ENV

WIDE = AUTO_SINGLE_FROM
NARROW = AUTO_SINGLE_FROM - 1


@pytest.fixture(autouse=True)
def _no_precision_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(PRECISION_ENV, raising=False)


def _layers(n: int, seed: int = 5) -> list[Gate]:
    """Random ry/rz layers with CX chains: a state with many non-zero amplitudes."""
    rng = np.random.default_rng(seed)
    ops: list[Gate] = []
    for layer in range(3):
        ops += [Gate("ry", (q,), (float(rng.uniform(0, 3)),)) for q in range(n)]
        ops += [Gate("rz", (q,), (float(rng.uniform(0, 3)),)) for q in range(n)]
        ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(layer % 2, n - 1, 2)]
    return ops


def _measured(n: int, ops: list[Gate]) -> Circuit:
    return Circuit(n, [*ops, *(Measure(q, "c", q) for q in range(n))], {"c": n})


def test_auto_samples_only_wide_circuits_in_single_precision() -> None:
    sim = StatevectorSimulator()
    assert sim.precision == "auto" and sim.dtype == np.complex128
    narrow, wide = _measured(NARROW, _layers(NARROW)), _measured(WIDE, _layers(WIDE))
    assert sim.sampling_simulator(narrow) is sim
    twin = sim.sampling_simulator(wide)
    assert twin is not sim and twin.precision == "single" and twin.dtype == np.complex64
    assert sim.sampling_simulator(wide) is twin  # made once
    assert twin.sampling_simulator(wide) is twin
    # the narrow circuit's bits are exactly those of precision="double"
    double = StatevectorSimulator(precision="double")
    for a, b in zip(
        sim.sample(narrow, 50, seed=3).values(), double.sample(narrow, 50, seed=3).values()
    ):
        np.testing.assert_array_equal(a, b)


def test_final_states_probabilities_and_expectations_stay_double() -> None:
    sim = StatevectorSimulator()
    circuit = Circuit(WIDE, _layers(WIDE))
    state = sim.final_state(circuit)
    assert state.dtype == np.complex128
    exact = StatevectorSimulator(precision="double").final_state(circuit)
    np.testing.assert_array_equal(state, exact)
    observable = PauliSum([PauliTerm("ZZ", (0, WIDE - 1)), PauliTerm("X", (3,), 0.5)])
    evs = sim.expectation_values(circuit, [observable])
    assert evs.dtype == np.float64
    assert evs == pytest.approx(
        StatevectorSimulator(precision="double").expectation_values(circuit, [observable]),
        abs=1e-14,
    )
    result = execute("estimator", EstimatorPayload((EstimatorPub(circuit, None, observable),)), sim)
    assert "simulation_precision" not in result["pubs"][0]
    assert result["pubs"][0]["evs"] == pytest.approx(evs[0], abs=1e-14)


def test_results_say_which_precision_sampled_them() -> None:
    sim = StatevectorSimulator()
    narrow, wide = _measured(NARROW, _layers(NARROW)), _measured(WIDE, _layers(WIDE))
    pubs = execute(
        "sampler", SamplerPayload((SamplerPub(wide, None, 20), SamplerPub(narrow, None, 20))), sim
    )["pubs"]
    assert pubs[0]["simulation_precision"] == "single"
    assert "simulation_precision" not in pubs[1]
    results = execute("run", RunPayload((wide, narrow), 20, seed=1), sim)["results"]
    assert results[0]["simulation_precision"] == "single"
    assert "simulation_precision" not in results[1]
    # a parameter sweep: every row of the pub sampled by the twin
    from qsession_provider.core.ir.params import Parameter

    theta = Parameter("theta")
    swept = _measured(WIDE, [*_layers(WIDE), Gate("ry", (0,), (theta,))])
    pub = SamplerPub(swept, np.array([[0.1], [0.2], [0.3]]), 10)
    entry = execute("sampler", SamplerPayload((pub,)), sim)["pubs"][0]
    assert entry["simulation_precision"] == "single"
    assert entry["registers"]["c"].data.shape[:2] == (3, 10)
    # forced double: no key; forced single: the key, at any width
    forced = StatevectorSimulator(precision="double")
    pub = execute("sampler", SamplerPayload((SamplerPub(wide, None, 20),)), forced)["pubs"][0]
    assert "simulation_precision" not in pub
    single = StatevectorSimulator(precision="single")
    pub = execute("sampler", SamplerPayload((SamplerPub(narrow, None, 20),)), single)["pubs"][0]
    assert pub["simulation_precision"] == "single"


def test_noisy_and_stabilizer_paths_are_unaffected() -> None:
    sim = StatevectorSimulator()
    model = NoiseModel(default={"cx": (depolarizing((0, 1), 0.05),)})
    noisy = model.apply(_measured(WIDE, _layers(WIDE)))
    pub = execute("sampler", SamplerPayload((SamplerPub(noisy, None, 8),), 1), sim)["pubs"][0]
    assert pub["method"] == "trajectories" and "simulation_precision" not in pub
    ghz = [Gate("h", (0,)), *(Gate("x", (q + 1,), controls=(q,)) for q in range(19))]
    pub = execute("sampler", SamplerPayload((SamplerPub(_measured(20, ghz), None, 50),)), sim)
    assert pub["pubs"][0]["method"] == "stabilizer"
    assert "simulation_precision" not in pub["pubs"][0]


def test_the_environment_and_explicit_precision_force_one(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    wide = _measured(WIDE, _layers(WIDE))
    monkeypatch.setenv(PRECISION_ENV, "double")
    sim = StatevectorSimulator()
    assert sim.precision == "double" and sim.sampling_simulator(wide) is sim
    pub = execute("sampler", SamplerPayload((SamplerPub(wide, None, 20),)), sim)["pubs"][0]
    assert "simulation_precision" not in pub
    monkeypatch.setenv(PRECISION_ENV, " Single ")
    assert StatevectorSimulator().precision == "single"
    assert StatevectorSimulator(precision="auto").precision == "auto"  # explicit wins
    monkeypatch.setenv(PRECISION_ENV, "")
    assert StatevectorSimulator().precision == "auto"


@pytest.mark.parametrize("bad", ["quad", "Double", "", 64])
def test_a_bad_precision_is_refused_naming_it(bad: object) -> None:
    with pytest.raises(InputError, match="precision must be one of 'auto', 'double', 'single'"):
        StatevectorSimulator(precision=bad)  # type: ignore[arg-type]


def test_a_bad_environment_value_is_refused_naming_the_variable(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv(PRECISION_ENV, "half")
    with pytest.raises(InputError, match=rf"{PRECISION_ENV}='half' is not a precision"):
        StatevectorSimulator()


def test_seeded_sampling_is_reproducible_and_equals_forced_single() -> None:
    wide = _measured(WIDE, _layers(WIDE))
    first = execute(
        "sampler", SamplerPayload((SamplerPub(wide, None, 300),), 42), StatevectorSimulator()
    )
    again = execute(
        "sampler", SamplerPayload((SamplerPub(wide, None, 300),), 42), StatevectorSimulator()
    )
    single = execute(
        "sampler",
        SamplerPayload((SamplerPub(wide, None, 300),), 42),
        StatevectorSimulator(precision="single"),
    )
    other = execute(
        "sampler", SamplerPayload((SamplerPub(wide, None, 300),), 43), StatevectorSimulator()
    )
    bits = [r["pubs"][0]["registers"]["c"].data for r in (first, again, single, other)]
    np.testing.assert_array_equal(bits[0], bits[1])
    np.testing.assert_array_equal(bits[0], bits[2])
    assert not np.array_equal(bits[0], bits[3])


def test_single_precision_counts_agree_with_the_exact_distribution() -> None:
    """20 qubits, a few outcomes of large probability: counts within 5 sigma of shot noise."""
    n, shots = 20, 20_000
    ops = [Gate("h", (0,)), Gate("h", (1,))]
    ops += [Gate("ry", (q,), (0.25 + 0.01 * q,)) for q in range(2, n)]
    ops += [Gate("z", (q + 1,), controls=(q,)) for q in range(n - 1)]
    ops += [Gate("rz", (q,), (0.3 * q,)) for q in range(n)]
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(0, n - 1, 3)]
    sim = StatevectorSimulator()
    probs = np.abs(StatevectorSimulator(precision="double").final_state(Circuit(n, ops))) ** 2
    bits = sim.sample(_measured(n, ops), shots, seed=11)["c"]
    assert sim.sampling_simulator(_measured(n, ops)).precision == "single"
    index = (bits.astype(np.int64) << np.arange(n)).sum(axis=1)
    counts = np.bincount(index, minlength=2**n)
    top = np.flatnonzero(probs > 0.005)  # a few large outcomes
    assert 4 <= len(top) <= 64 and probs[top].sum() > 0.5
    sigma = np.sqrt(shots * probs[top] * (1 - probs[top]))
    assert np.all(np.abs(counts[top] - shots * probs[top]) <= 5 * sigma)


def test_memory_limits_follow_the_twin_and_name_the_precision() -> None:
    wide = _measured(WIDE, _layers(WIDE))
    sim = StatevectorSimulator(max_memory=2**WIDE * 8)  # a complex64 state fits, not complex128
    assert sim.sample(wide, 10, seed=1)["c"].shape == (10, WIDE)
    with pytest.raises(ResourceTooLargeError, match="complex128.*precision='single'"):
        sim.final_state(Circuit(WIDE, _layers(WIDE)))
    sim.max_memory = 2**WIDE * 4  # now neither fits; the twin follows the new limit
    with pytest.raises(ResourceTooLargeError, match="complex64") as info:
        sim.sample(wide, 10, seed=1)
    assert "precision='single'" not in str(info.value)
