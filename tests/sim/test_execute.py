"""Running neutral payloads: broadcasting shapes, seeds and result layout; a pub of one
parameter set and a sweep give what one job per set gives."""

from __future__ import annotations

import numpy as np
import pytest

from qsession_provider.core import Circuit, Gate, Measure, Parameter, PauliSum, PauliTerm
from qsession_provider.core.ir.encoding import dumps, loads
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    payload_from_json,
)
from qsession_provider.errors import InputError
from qsession_provider.sim import StatevectorSimulator, execute
from tests.sim.conftest import circuits

a, b = Parameter("a"), Parameter("b")


def ry_program(measure: bool) -> Circuit:
    ops = [Gate("ry", (0,), (a,)), Gate("x", (1,), controls=(0,))]
    if measure:
        ops += [Measure(0, "c", 0), Measure(1, "c", 1)]
    return Circuit(2, ops, {"c": 2} if measure else {})


def test_sampler_payload_broadcast_shape_and_seed() -> None:
    values = np.linspace(0, np.pi, 6).reshape(2, 3, 1)
    payload = SamplerPayload((SamplerPub(ry_program(True), values, 500),), seed=42)
    sim = StatevectorSimulator()
    out = execute("sampler", payload, sim)
    bits = out["pubs"][0]["registers"]["c"].unpack()  # packed bits (tests/sim/test_packed_results)
    assert bits.shape == (2, 3, 500, 2)
    np.testing.assert_array_equal(bits[..., 0], bits[..., 1])
    assert bits[0, 0].sum() == 0 and bits[1, 2].sum() == 1000  # angle 0 -> 00, pi -> 11
    again = execute("sampler", payload, sim)["pubs"][0]["registers"]["c"]
    np.testing.assert_array_equal(bits, again)


def test_estimator_broadcasts_values_against_observables() -> None:
    values = np.array([[0.0], [np.pi / 2], [np.pi]])  # shape (3,)
    zz = PauliSum([PauliTerm("ZZ", (0, 1))])
    z0 = PauliSum([PauliTerm("Z", (0,))])
    x0 = PauliSum([PauliTerm("X", (0,), 0.5)])
    obs = np.empty((2, 1), dtype=object)
    obs[0, 0], obs[1, 0] = z0, x0
    payload = EstimatorPayload(
        (
            EstimatorPub(ry_program(False), values, obs),
            EstimatorPub(ry_program(False), values[1], zz),
        )
    )
    out = execute("estimator", payload, StatevectorSimulator())
    evs = out["pubs"][0]["evs"]
    assert evs.shape == (2, 3)
    np.testing.assert_allclose(evs[0], [1, 0, -1], atol=1e-12)
    np.testing.assert_allclose(evs[1], [0, 0, 0], atol=1e-12)  # X on the entangled qubit
    np.testing.assert_allclose(out["pubs"][1]["evs"], 1.0)
    assert out["pubs"][1]["stds"].shape == ()


def test_estimator_precision_adds_gaussian_noise_with_that_std() -> None:
    z0 = PauliSum([PauliTerm("Z", (0,))])
    values = np.zeros((4000, 1))
    payload = EstimatorPayload(
        (EstimatorPub(ry_program(False), values, z0, precision=0.1),), seed=5
    )
    pub = execute("estimator", payload, StatevectorSimulator())["pubs"][0]
    assert abs(pub["evs"].mean() - 1.0) < 0.01 and abs(pub["evs"].std() - 0.1) < 0.01
    assert np.all(pub["stds"] == 0.1)


def test_seeded_estimator_noise_starts_afresh_for_every_pub() -> None:
    z0 = PauliSum([PauliTerm("Z", (0,))])
    values = np.array([[0.2], [0.9], [1.7]])
    pub = EstimatorPub(ry_program(False), values, z0, precision=0.1)
    exact = np.cos(values[:, 0])
    sim = StatevectorSimulator()
    seeded = execute("estimator", EstimatorPayload((pub, pub), seed=5), sim)["pubs"]
    want = np.random.default_rng(5).normal(exact, 0.1)  # qiskit's rule: default_rng per pub
    for got in seeded:
        np.testing.assert_allclose(got["evs"], want, atol=1e-12)
    unseeded = execute("estimator", EstimatorPayload((pub, pub)), sim)["pubs"]
    assert not np.allclose(unseeded[0]["evs"], unseeded[1]["evs"])  # one fresh stream


def test_run_payload_and_json_round_trip() -> None:
    bell = Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
        name="bell",
    )
    payload = RunPayload((bell, bell), shots=64, memory=True, seed=3)
    restored = payload_from_json("run", loads(dumps(payload.to_json())))
    sim = StatevectorSimulator()
    r1, r2 = execute("run", payload, sim), execute("run", restored, sim)
    for x, y in zip(r1["results"], r2["results"]):
        np.testing.assert_array_equal(x["registers"]["c"], y["registers"]["c"])
    assert r1["results"][0]["name"] == "bell"
    decoded = loads(dumps(r1))
    np.testing.assert_array_equal(
        decoded["results"][1]["registers"]["c"], r1["results"][1]["registers"]["c"]
    )


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: SamplerPub(ry_program(True), None, 10), "no values"),
        (lambda: SamplerPub(ry_program(True), [[0.1, 0.2]], 10), "last axis must have length 1"),
        (lambda: SamplerPub(ry_program(True), [0.1], -3), "positive integer"),
        (lambda: SamplerPub(ry_program(True), [np.nan], 3), "NaN"),
        (
            lambda: EstimatorPub(ry_program(True), [0.1], PauliSum([PauliTerm("Z", (0,), 1j)])),
            "observable 0 is not Hermitian: the term Z0",
        ),
        (lambda: EstimatorPub(ry_program(False), [0.1], PauliSum(), precision=-1), "precision"),
        (
            lambda: EstimatorPub(ry_program(False), [0.1], PauliSum([PauliTerm("Z", (5,))])),
            "qubit 5",
        ),
        (
            lambda: EstimatorPub(ry_program(False), np.zeros((3, 1)), np.array([PauliSum()] * 2)),
            "do not broadcast",
        ),
        (lambda: RunPayload((ry_program(True),)), "unbound parameters"),
        (lambda: SamplerPayload(()), "no pubs"),
    ],
)
def test_payload_validation(make, message: str) -> None:  # noqa: ANN001
    with pytest.raises(InputError, match=message):
        make()


def test_payload_too_wide_for_device() -> None:
    payload = SamplerPayload((SamplerPub(ry_program(True), [0.1], 10),))
    payload.validate(2)
    with pytest.raises(InputError, match="more than the device's 1"):
        payload.validate(1)
    assert payload.num_qubits == 2 and payload.total_shots == 10


def test_sampler_pub_of_one_set_matches_a_pub_of_shape_one() -> None:
    sim = StatevectorSimulator()
    for circuit in circuits().values():
        values = np.linspace(0.1, 1.3, len(circuit.parameters))
        for shots in (16, 300):
            outs = [
                execute("sampler", SamplerPayload((SamplerPub(circuit, v, shots),), seed=9), sim)
                for v in (values, values[None], values[None, None])
            ]
            regs = [{k: v.unpack() for k, v in out["pubs"][0]["registers"].items()} for out in outs]
            for name in circuit.registers:
                assert regs[0][name].shape == (shots, circuit.registers[name])
                np.testing.assert_array_equal(regs[1][name][0], regs[0][name])
                np.testing.assert_array_equal(regs[2][name][0, 0], regs[0][name])
                assert regs[0][name].dtype == regs[1][name].dtype == np.uint8


def test_sampler_parameter_sweep_matches_one_job_per_set() -> None:
    sim = StatevectorSimulator()
    circuit = circuits()["two registers"]
    values = np.random.default_rng(3).uniform(0, np.pi, (2, 3, 2))
    swept = execute("sampler", SamplerPayload((SamplerPub(circuit, values, 50),), seed=4), sim)
    regs = {k: v.unpack() for k, v in swept["pubs"][0]["registers"].items()}
    assert regs["c"].shape == (2, 3, 50, 2) and regs["d"].shape == (2, 3, 50, 3)
    # The sweep draws the sets one after the other from one generator.
    rng = np.random.default_rng(4)
    compiled = sim.compile(circuit)
    for index in np.ndindex(2, 3):
        bits = StatevectorSimulator().sample_compiled(compiled, 50, values[index], rng)
        for name in ("c", "d"):
            np.testing.assert_array_equal(regs[name][index], bits[name])


def test_estimator_single_set_matches_the_broadcast_path() -> None:
    sim = StatevectorSimulator()
    circuit = Circuit(
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
                    EstimatorPayload((EstimatorPub(circuit, v, observables, precision),), seed),
                    sim,
                )["pubs"][0]
                for v in (values, values[None])
            )
            shape = np.shape(observables) if isinstance(observables, np.ndarray) else ()
            assert one["evs"].shape == one["stds"].shape == shape
            assert one["evs"].dtype == np.float64 and isinstance(one["evs"], np.ndarray)
            exact = sim.expectation_values(
                circuit, list(np.ravel(observables)), {"a": 0.4, "b": 1.1}
            ).reshape(shape)
            if seed is None:
                np.testing.assert_allclose(one["evs"], exact, atol=1e-12)
            else:  # the noise of default_rng(seed), as before
                want = np.random.default_rng(seed).normal(exact, precision)
                np.testing.assert_allclose(one["evs"], want, atol=1e-12)
            # values (1, 2) against observables () or (2, 1): shapes (1,) or (2, 1)
            np.testing.assert_array_equal(broad["evs"].reshape(shape), one["evs"])
            np.testing.assert_array_equal(broad["stds"].reshape(shape), one["stds"])


def test_estimator_and_sampler_payloads_bind_arrays() -> None:
    a, b = Parameter("a"), Parameter("b")
    ops = [Gate("ry", (0,), (a,)), Gate("rx", (1,), (b - a,)), Gate("x", (1,), controls=(0,))]
    circuit = Circuit(2, ops)
    values = np.random.default_rng(0).uniform(-3, 3, (7, 2))
    zz = PauliSum([PauliTerm("ZZ", (0, 1)), PauliTerm("X", (1,), 0.5)])
    out = execute(
        "estimator", EstimatorPayload((EstimatorPub(circuit, values, zz),)), StatevectorSimulator()
    )
    plain = StatevectorSimulator(fusion=False)
    expected = [
        plain.expectation_values(circuit, [zz], dict(zip(circuit.parameters, row)))[0]
        for row in values
    ]
    np.testing.assert_allclose(out["pubs"][0]["evs"], expected, atol=1e-12)
    measured = Circuit(2, [*ops, Measure(0, "c", 0), Measure(1, "c", 1)], {"c": 2})
    pub = SamplerPub(measured, values[:2], 50)
    bits = execute("sampler", SamplerPayload((pub,), seed=1), StatevectorSimulator())
    assert bits["pubs"][0]["registers"]["c"].unpack().shape == (2, 50, 2)
