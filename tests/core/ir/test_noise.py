"""Noise in the IR: channels, readout errors and noise models (checks, forms, encoding)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsession_provider.core.ir import Circuit, Gate, Measure, NoiseModel, ReadoutError, Reset
from qsession_provider.core.ir.calibration_noise import (
    CalibrationNoise,
    average_gate_fidelity,
    noise_model_from_calibration,
)
from qsession_provider.core.ir.circuit import Condition
from qsession_provider.core.ir.encoding import dumps, loads
from qsession_provider.core.ir.noise import (
    NoiseChannel,
    amplitude_damping,
    depolarizing,
    gate_key,
    has_noise,
    kraus_channel,
    mixed_unitary,
    pauli_channel,
    phase_damping,
    thermal_relaxation,
)
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
    payload_from_json,
)
from qsession_provider.errors import InputError, InvalidCircuitError


def _cptp_sum(ch: NoiseChannel) -> np.ndarray:
    return sum(k.conj().T @ k for k in ch.kraus)


@pytest.mark.parametrize(
    "channel",
    [
        depolarizing(0, 0.1),
        depolarizing((0, 1), 0.2),
        amplitude_damping(0, 0.3, 0.1),
        phase_damping(0, 0.4),
        thermal_relaxation(0, 100e-6, 80e-6, 1e-6),
        thermal_relaxation(0, 100e-6, 180e-6, 1e-6),
        pauli_channel((0, 1), {"XI": 0.1, "ZZ": 0.05}),
        mixed_unitary(0, [0.9, 0.1], [np.eye(2), [[0, 1], [1, 0]]]),
    ],
    ids=lambda ch: ch.name,
)
def test_every_constructor_gives_a_cptp_channel(channel: NoiseChannel) -> None:
    dim = 2**channel.num_qubits
    assert np.allclose(_cptp_sum(channel), np.eye(dim), atol=1e-12)


def test_pauli_mixtures_are_recognised_whatever_their_form() -> None:
    assert depolarizing(0, 0.3).pauli_probabilities == pytest.approx(
        {"I": 0.775, "X": 0.075, "Y": 0.075, "Z": 0.075}
    )
    # phase damping is a Z flip with p = (1 - sqrt(1 - lam)) / 2
    p = (1 - math.sqrt(1 - 0.4)) / 2
    assert phase_damping(0, 0.4).pauli_probabilities == pytest.approx({"I": 1 - p, "Z": p})
    two = pauli_channel((0, 1), {"XI": 0.1, "ZZ": 0.05}).pauli_probabilities
    assert two == pytest.approx({"II": 0.85, "XI": 0.1, "ZZ": 0.05})
    assert amplitude_damping(0, 0.1).pauli_probabilities is None
    assert thermal_relaxation(0, 1.0, 1.0, 0.1).pauli_probabilities is None


def test_thermal_relaxation_decays_and_dephases_as_t1_t2_say() -> None:
    t1, t2, t = 100e-6, 80e-6, 20e-6
    ch = thermal_relaxation(0, t1, t2, t)
    one = np.array([[0, 0], [0, 1]], dtype=complex)
    plus = np.full((2, 2), 0.5, dtype=complex)
    rho1 = sum(k @ one @ k.conj().T for k in ch.kraus)
    rhop = sum(k @ plus @ k.conj().T for k in ch.kraus)
    assert rho1[1, 1].real == pytest.approx(math.exp(-t / t1))
    assert abs(rhop[0, 1]) == pytest.approx(0.5 * math.exp(-t / t2))


def test_a_set_that_is_not_trace_preserving_is_refused_with_the_reason() -> None:
    with pytest.raises(InvalidCircuitError, match="not trace preserving.*not a CPTP map"):
        kraus_channel(0, [np.eye(2), 0.5 * np.eye(2)])
    with pytest.raises(InputError, match="shape"):
        kraus_channel(0, [np.eye(4)])
    with pytest.raises(InvalidCircuitError, match="at most 2"):
        kraus_channel((0, 1, 2), [np.eye(8)])
    with pytest.raises(InvalidCircuitError, match="NaN"):
        kraus_channel(0, [np.array([[np.nan, 0], [0, 1]])])


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: depolarizing(0, 1.5), r"depolarizing parameter must lie in \[0, 1.33333\]"),
        (lambda: depolarizing(0, -0.1), "depolarizing parameter"),
        (lambda: amplitude_damping(0, 1.2), r"gamma must be a probability in \[0, 1\]"),
        (lambda: phase_damping(0, -0.5), r"lambda must be a probability in \[0, 1\]"),
        (lambda: pauli_channel(0, {"X": 0.7, "Z": 0.6}), "sum to 1.3.*more than 1"),
        (lambda: pauli_channel(0, {"X": float("nan")}), "probability"),
        (lambda: pauli_channel(0, {"Q": 0.1}), "not a Pauli string"),
        (lambda: mixed_unitary(0, [0.5, 0.4], [np.eye(2), np.eye(2)]), "sum to 0.9"),
        (lambda: thermal_relaxation(0, 1.0, 3.0, 0.1), r"T2 \(3.0\) must be <= 2 T1"),
        (lambda: thermal_relaxation(0, -1.0, 1.0, 0.1), "T1 must be >= 0"),
        (lambda: ReadoutError("c", 0, [[0.9, 0.2], [0.1, 0.9]]), "each row"),
        (lambda: ReadoutError("c", 0, [[1.1, -0.1], [0.1, 0.9]]), r"P\(read 0 \| 0\)"),
    ],
)
def test_probabilities_outside_zero_one_are_refused(build: object, message: str) -> None:
    with pytest.raises(InvalidCircuitError, match=message):
        build()  # type: ignore[operator]


def _noisy_circuit() -> Circuit:
    return Circuit(
        2,
        [
            Gate("h", (0,)),
            depolarizing(0, 0.05),
            Gate("x", (1,), controls=(0,), label="cx"),
            kraus_channel((0, 1), _two_qubit_kraus()),
            Measure(0, "c", 0),
            ReadoutError("c", 0, [[0.9, 0.1], [0.2, 0.8]], qubit=0),
            Gate("x", (1,), condition=Condition("c", 1, 0)),
            amplitude_damping(1, 0.1).on((1,), Condition("c", 1, 0)),
            Reset(0),
            Measure(1, "c", 1),
        ],
        {"c": 2},
    )


def _two_qubit_kraus() -> list[np.ndarray]:
    a = amplitude_damping(0, 0.3)
    return [np.kron(k1, k0) for k0 in a.kraus for k1 in a.kraus]


def test_channels_are_circuit_operations_that_round_trip_through_the_encoding() -> None:
    circuit = _noisy_circuit()
    assert has_noise(circuit)
    assert not has_noise(Circuit(1, [Gate("h", (0,))]))
    back = loads(dumps(circuit))
    assert back.structure_key() == circuit.structure_key()
    assert dumps(back) == dumps(circuit)
    again = Circuit.from_json(circuit.to_json())
    assert again.structure_key() == circuit.structure_key()
    cond = [op for op in back.operations if isinstance(op, NoiseChannel)][-1].condition
    assert cond == Condition("c", 1, 0)


def test_a_readout_error_on_an_unknown_register_is_refused() -> None:
    with pytest.raises(InvalidCircuitError, match="does not declare"):
        Circuit(1, [Measure(0, "c", 0), ReadoutError("d", 0, np.eye(2))], {"c": 1})
    with pytest.raises(InvalidCircuitError, match="out of range"):
        Circuit(1, [depolarizing(3, 0.1)])


def _model() -> NoiseModel:
    return NoiseModel(
        local={("cx", (0, 1)): (depolarizing((0, 1), 0.1),)},
        default={"h": (amplitude_damping(0, 0.2),), "measure": (depolarizing(0, 0.01),)},
        readout={1: [[0.95, 0.05], [0.1, 0.9]]},
        default_readout=[[0.99, 0.01], [0.02, 0.98]],
        name="test",
    )


def test_a_noise_model_puts_channels_after_gates_before_measures_readout_after() -> None:
    circuit = Circuit(
        3,
        [
            Gate("h", (2,)),
            Gate("x", (1,), controls=(0,), label="cx"),
            Gate("x", (0,), controls=(1,)),  # cx on (1, 0): no local error, no default
            Measure(2, "c", 0, condition=None),
        ],
        {"c": 1},
    )
    noisy = _model().apply(circuit)
    names = [type(op).__name__ + ":" + getattr(op, "name", "") for op in noisy.operations]
    assert names == [
        "Gate:h",
        "NoiseChannel:amplitude_damping",
        "Gate:x",
        "NoiseChannel:depolarizing",
        "Gate:x",
        "NoiseChannel:depolarizing",  # measure error before the measurement
        "Measure:",
        "ReadoutError:",
    ]
    assert noisy.operations[1].qubits == (2,)
    assert noisy.operations[3].qubits == (0, 1)
    assert noisy.operations[-1].matrix[0, 1] == pytest.approx(0.01)  # the default readout
    assert gate_key(Gate("x", (0,), controls=(1,))) == "cx"


def test_conditioned_gates_carry_their_condition_to_their_noise() -> None:
    circuit = Circuit(
        1, [Measure(0, "c", 0), Gate("h", (0,), condition=Condition("c", 1))], {"c": 1}
    )
    noisy = _model().apply(circuit)
    channel = [op for op in noisy.operations if isinstance(op, NoiseChannel)][-1]
    assert channel.condition == Condition("c", 1)


def test_a_model_without_effect_returns_the_circuit_itself() -> None:
    circuit = Circuit(1, [Gate("x", (0,))])
    assert NoiseModel().apply(circuit) is circuit
    assert _model().apply(circuit) is circuit  # no error on "x"
    assert NoiseModel().is_ideal


def test_noise_models_and_noisy_payloads_round_trip_through_the_encoding() -> None:
    model = _model()
    back = loads(dumps({"m": model}))["m"]
    assert back.to_json() == model.to_json()
    circuit = model.apply(
        Circuit(2, [Gate("h", (0,)), Measure(0, "c", 0), Measure(1, "c", 1)], {"c": 2})
    )
    obs = PauliSum([PauliTerm("Z", (0,))])
    for program, payload in [
        ("sampler", SamplerPayload((SamplerPub(circuit, None, 10),), 3, None, model)),
        ("sampler", SamplerPayload((SamplerPub(circuit, None, 10),), 3, None, False)),
        ("estimator", EstimatorPayload((EstimatorPub(circuit, None, obs),), None, None, model)),
        ("run", RunPayload((circuit,), 10, options={"noise_model": model})),
    ]:
        data = loads(dumps(payload.to_json()))
        again = payload_from_json(program, data)
        assert dumps(again.to_json()) == dumps(payload.to_json())
        if program == "sampler":
            assert again.to_json_text() == payload.to_json_text() == dumps(payload.to_json())


def test_a_payload_refuses_a_noise_that_is_not_a_model() -> None:
    circuit = Circuit(1, [Measure(0, "c", 0)], {"c": 1})
    with pytest.raises(InputError, match="noise must be None.*got str"):
        SamplerPayload((SamplerPub(circuit, None, 10),), noise="loud")


def test_a_malformed_noise_document_is_a_clear_error() -> None:
    with pytest.raises(InvalidCircuitError, match="malformed noise model"):
        NoiseModel.from_json({"local": [["x"]]})


CALIBRATION = {
    "qubits": [
        {"T1": 100e-6, "T2": 150e-6, "readout_error": 0.02},
        {"T1": 80e-6, "T2": 200e-6, "readout_error": None},
    ],
    "gates": [
        {"gate": "sx", "qubits": [0], "error": 3e-4, "duration": 36e-9},
        {"gate": "rz", "qubits": [0], "error": 0.0, "duration": 0.0},
        {"gate": "ecr", "qubits": [0, 1], "error": 8e-3, "duration": 500e-9},
        {"gate": "measure", "qubits": [0], "error": 0.02, "duration": 1e-6},
        {"gate": "reset", "qubits": [1], "error": None, "duration": 1e-6},
    ],
}


def test_calibration_noise_follows_aers_recipe() -> None:
    model = noise_model_from_calibration(CALIBRATION, name="dev")
    assert set(model.local) == {("sx", (0,)), ("ecr", (0, 1)), ("reset", (1,))}
    sx = model.local[("sx", (0,))]
    assert [ch.name for ch in sx] == ["depolarizing", "thermal_relaxation"]
    # the depolarizing part makes the pair's average gate error the calibrated one
    total = sx[0].superoperator()
    total = sx[1].superoperator() @ total
    process = np.trace(total).real / 4
    assert 1 - (2 * process + 1) / 3 == pytest.approx(3e-4, rel=1e-6)
    ecr = model.local[("ecr", (0, 1))]
    assert [ch.qubits for ch in ecr] == [(0, 1), (0,), (1,)]
    assert ecr[2].params[1] == pytest.approx(160e-6)  # T2 cut to 2 T1
    assert [ch.name for ch in model.local[("reset", (1,))]] == ["thermal_relaxation"]
    assert model.readout_for(0)[0, 1] == pytest.approx(0.02)
    assert model.readout_for(1) is None
    assert average_gate_fidelity([]) == 1.0


def test_calibration_noise_is_built_once_and_pickles_without_the_model() -> None:
    import pickle

    lazy = CalibrationNoise(CALIBRATION, "dev")
    assert lazy() is lazy()
    copy = pickle.loads(pickle.dumps(lazy))
    assert copy().name == "dev"
