"""Running neutral payloads: broadcasting shapes, seeds and result layout."""

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

a = Parameter("a")


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
    bits = out["pubs"][0]["registers"]["c"]
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
        (lambda: EstimatorPub(ry_program(True), [0.1], PauliSum()), "unitary circuit"),
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
