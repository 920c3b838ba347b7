"""Cirq noise → IR noise channels, and noise models applied as ``cirq.DensityMatrixSimulator``
applies them.

Any gate that is a channel and not a unitary (``cirq.depolarize``, ``asymmetric_depolarize``,
``amplitude_damp``, ``generalized_amplitude_damp``, ``phase_damp``, ``bit_flip``,
``phase_flip``, ``cirq.KrausChannel``, ``cirq.MixedUnitaryChannel``, ...) on one or two qubits
becomes a :class:`~qsession_provider.core.ir.noise.NoiseChannel` with its Kraus operators
(``cirq.kraus``); the engine recognises Pauli mixtures among them. Channels on more qubits,
and classically controlled channels, are refused with a clear error. A sampler's noise
model (``cirq.NOISE_MODEL_LIKE``) is applied to the circuit's moments before translation,
exactly as Cirq's simulators do (:func:`noisy_program`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import cirq
import numpy as np

from ...core.ir.noise import MAX_CHANNEL_QUBITS, NoiseChannel, kraus_channel
from ...errors import InvalidCircuitError

__all__ = ["is_noise", "noise_channel", "noise_model", "noisy_program"]

#: Cirq's noise channel classes (recognised even with symbolic parameters, to refuse those).
_CHANNELS = (
    cirq.DepolarizingChannel,
    cirq.AsymmetricDepolarizingChannel,
    cirq.AmplitudeDampingChannel,
    cirq.GeneralizedAmplitudeDampingChannel,
    cirq.PhaseDampingChannel,
    cirq.BitFlipChannel,
    cirq.PhaseFlipChannel,
)


def is_noise(gate: Any) -> bool:
    """True if ``gate`` is a quantum channel that is not unitary (and not a measurement or
    reset, which the circuit translator takes itself)."""
    if isinstance(gate, (cirq.MeasurementGate, cirq.ResetChannel, cirq.StatePreparationChannel)):
        return False
    if cirq.is_parameterized(gate):  # the protocols need numbers: known channels only
        return isinstance(gate, _CHANNELS)
    try:
        return bool(cirq.has_kraus(gate)) and not cirq.has_unitary(gate)
    except TypeError:  # a gate whose protocols cannot be evaluated: not a channel we know
        return False


def noise_channel(gate: Any, targets: Sequence[int], condition: Any = None) -> NoiseChannel:
    """The IR channel of a Cirq noise ``gate`` on IR ``targets`` (Cirq's qubits reversed,
    as gates are translated: Cirq's matrices are big-endian).

    Raises:
        InvalidCircuitError: more than two qubits, symbolic parameters, or not a channel.
    """
    if cirq.is_parameterized(gate):
        raise InvalidCircuitError(f"noise channel {gate} has symbolic parameters")
    if len(targets) > MAX_CHANNEL_QUBITS:
        raise InvalidCircuitError(
            f"noise channel {gate} acts on {len(targets)} qubits; at most "
            f"{MAX_CHANNEL_QUBITS} are supported"
        )
    ops = [np.asarray(k, dtype=complex) for k in cirq.kraus(gate)]
    channel = kraus_channel(tuple(targets), ops, label=type(gate).__name__)
    return channel.on(channel.qubits, condition) if condition is not None else channel


def noise_model(noise: Any) -> cirq.NoiseModel | None:
    """``noise`` (``cirq.NOISE_MODEL_LIKE``) as a Cirq noise model, None for no noise.

    Raises:
        InvalidCircuitError: not something Cirq takes as a noise model.
    """
    if noise is None:
        return None
    try:
        model = cirq.NoiseModel.from_noise_model_like(noise)
    except (TypeError, ValueError) as exc:
        raise InvalidCircuitError(f"noise {noise!r} is not a Cirq noise model: {exc}") from None
    return None if model is cirq.NO_NOISE else model


def noisy_program(program: cirq.AbstractCircuit, model: cirq.NoiseModel | None) -> Any:
    """``program`` with ``model``'s noise on its moments, as Cirq's simulators apply it: when
    every measurement is terminal, they sample the state after all noisy moments (noise
    the model puts after the measurement moment acts first), so the measurements move last.
    """
    if model is None:
        return program
    qubits = sorted(program.all_qubits())
    noisy = cirq.Circuit(model.noisy_moments(program, qubits))
    if not (program.has_measurements() and program.are_all_measurements_terminal()):
        return noisy
    body = cirq.Circuit(
        cirq.Moment(op for op in moment if not cirq.is_measurement(op)) for moment in noisy
    )
    last = [op for op in noisy.all_operations() if cirq.is_measurement(op)]
    return body + cirq.Circuit(cirq.Moment(last))
