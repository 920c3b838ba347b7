"""Noise models in the Qiskit face: a user's ``qiskit_aer.noise.NoiseModel`` translated to ours,
and a fake backend's calibration noise.

Where Aer users pass a noise model, ours take it too: ``backend.run(..., noise_model=nm)``
and the primitives' ``options.simulator.noise_model`` (an Aer ``NoiseModel`` or its
``to_dict()``). It replaces the device's own noise (fake backends apply their calibration's
noise automatically, as IBM's local mode does); an empty model (``NoiseModel()`` or ``{}``)
runs ideally, and so does ``noise_model=False`` on ``backend.run``.

Translated: Aer's per-qubit and all-qubit quantum errors on instructions (any
``QuantumError`` on one or two qubits, as its Kraus operators: Pauli mixtures are recognised
and drawn cheaply by the engine) and single-qubit readout errors. Refused with a clear
error: errors on more than two qubits, correlated (multi-qubit) readout errors, non-local
errors, and anything Aer cannot turn into a quantum channel. Aer's relaxation pass on
``delay`` instructions has no counterpart (delays do not reach the engine). Qiskit Aer is
imported only when a user gives one of its objects: it is not a run-time dependency.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import numpy as np

from ..core.ir.calibration_noise import noise_model_from_calibration
from ..core.ir.noise import NoiseChannel, NoiseModel, kraus_channel, mixture_channel
from ..errors import InputError, InvalidCircuitError

__all__ = ["from_aer", "noise_model_from_backend", "noise_option", "with_noise_option"]


def noise_option(value: Any, where: str) -> NoiseModel | bool | None:
    """A user's ``noise_model`` as the payload's ``noise``: None (the device's), False
    (ideal) or our :class:`NoiseModel`.

    Raises:
        InputError: not a noise model we take, or one that cannot be translated (naming
            ``where`` and the error).
    """
    if value is None:
        return None
    if value is False:
        return False
    if isinstance(value, NoiseModel):
        return value
    if isinstance(value, Mapping):
        if not value:
            return False  # an empty model: ideal
        try:
            from qiskit_aer.noise import NoiseModel as AerNoiseModel
        except ImportError:
            raise InputError(
                f"{where}: a noise model given as a dict needs qiskit-aer to read it"
            ) from None
        try:
            value = AerNoiseModel.from_dict(dict(value))
        except Exception as exc:
            raise InputError(f"{where}: the noise model dict cannot be read: {exc}") from None
    if type(value).__name__ == "NoiseModel" and type(value).__module__.startswith("qiskit_aer"):
        return from_aer(value, where)
    raise InputError(
        f"{where}: noise models are taken as a qiskit_aer.noise.NoiseModel (or its "
        f"to_dict()), a qsession NoiseModel, False or None; got {type(value).__name__}"
    )


_PAULI_BITS = {"I": (0, 0), "X": (1, 0), "Z": (0, 1), "Y": (1, 1)}
_BITS_PAULI = {bits: p for p, bits in _PAULI_BITS.items()}


def _then(current: str, pauli: str) -> str:
    """One qubit's branch character after ``pauli`` (phases dropped; a reset's value flips
    under X or Y)."""
    if current in "01":
        return str(int(current) ^ _PAULI_BITS[pauli][0])
    a, b = _PAULI_BITS[current], _PAULI_BITS[pauli]
    return _BITS_PAULI[(a[0] ^ b[0], a[1] ^ b[1])]


def _branch(circuit: Any, k: int) -> str | None:
    """An Aer error circuit of Pauli gates and resets as a mixture branch, else None."""
    chars = ["I"] * k
    for inst in circuit.data:
        qubits = [circuit.find_bit(q).index for q in inst.qubits]
        name = inst.operation.name
        if name == "id":
            continue
        if name in ("x", "y", "z"):
            chars[qubits[0]] = _then(chars[qubits[0]], name.upper())
        elif name == "pauli":
            label = str(inst.operation.params[0])
            for j, p in zip(qubits, reversed(label)):  # rightmost character: first qubit
                if p != "I":
                    chars[j] = _then(chars[j], p)
        elif name == "reset":
            chars[qubits[0]] = "0"
        else:
            return None
    return "".join(chars)


def _mixture(error: Any, k: int) -> dict[str, float] | None:
    """Aer's own decomposition of an error into Pauli strings and resets, if it is one."""
    out: dict[str, float] = {}
    for p, circuit in zip(getattr(error, "probabilities", ()), getattr(error, "circuits", ())):
        branch = _branch(circuit, k)
        if branch is None:
            return None
        out[branch] = out.get(branch, 0.0) + float(p)
    return out or None


def _channel(error: Any, where: str) -> NoiseChannel:
    """An Aer ``QuantumError`` as one of our channels: a mixture of Pauli strings and resets
    when Aer built it so (drawn without looking at the state), else its Kraus operators."""
    from qiskit.quantum_info import Kraus

    if error.num_qubits > 2:
        raise InputError(
            f"{where}: a {error.num_qubits}-qubit quantum error cannot be translated "
            "(channels act on at most 2 qubits)"
        )
    mixture = _mixture(error, error.num_qubits)
    if mixture is not None:
        try:
            return mixture_channel(tuple(range(error.num_qubits)), mixture, label=str(error.id))
        except InvalidCircuitError:
            pass  # rounding outside [0, 1]: the Kraus form below
    try:
        kraus = Kraus(error.to_quantumchannel())
    except Exception as exc:
        raise InputError(f"{where}: the quantum error cannot be translated: {exc}") from None
    ops = [np.asarray(k, dtype=complex) for k in kraus.data]
    try:
        return kraus_channel(tuple(range(error.num_qubits)), ops, label=str(error.id))
    except InvalidCircuitError as exc:
        raise InputError(f"{where}: {exc}") from None


def _readout(error: Any, where: str) -> np.ndarray:
    probs = np.asarray(error.probabilities, dtype=float)
    if probs.shape != (2, 2):
        raise InputError(
            f"{where}: a correlated readout error on {error.number_of_qubits} qubits cannot be "
            "translated (readout errors act on one qubit)"
        )
    return probs


def from_aer(model: Any, where: str = "noise_model") -> NoiseModel:
    """Our :class:`NoiseModel` for an Aer ``NoiseModel``.

    Raises:
        InputError: a part of it that cannot be translated (see the module docstring).
    """
    if getattr(model, "_nonlocal_quantum_errors", None):
        raise InputError(f"{where}: non-local quantum errors cannot be translated")
    local: dict[tuple[str, tuple[int, ...]], tuple[NoiseChannel, ...]] = {}
    for gate, per_qubits in getattr(model, "_local_quantum_errors", {}).items():
        for qubits, error in per_qubits.items():
            what = f"{where}: error on {gate!r} qubits {tuple(qubits)}"
            local[(str(gate), tuple(int(q) for q in qubits))] = (_channel(error, what),)
    default = {
        str(gate): (_channel(error, f"{where}: all-qubit error on {gate!r}"),)
        for gate, error in getattr(model, "_default_quantum_errors", {}).items()
    }
    readout: dict[int, np.ndarray] = {}
    for qubits, error in getattr(model, "_local_readout_errors", {}).items():
        if len(qubits) != 1:
            raise InputError(
                f"{where}: a correlated readout error on qubits {tuple(qubits)} cannot be "
                "translated (readout errors act on one qubit)"
            )
        readout[int(qubits[0])] = _readout(error, f"{where}: readout error of qubit {qubits}")
    default_error = getattr(model, "_default_readout_error", None)
    default_readout = (
        None if default_error is None else _readout(default_error, f"{where}: readout error")
    )
    try:
        return NoiseModel(
            local=local,
            default=default,
            readout=readout,
            default_readout=default_readout,
            name="qiskit_aer NoiseModel",
        )
    except InvalidCircuitError as exc:
        raise InputError(f"{where}: {exc}") from None


def noise_model_from_backend(backend: Any) -> NoiseModel:
    """Our noise model of a device of this runtime or a fake backend object, as Aer's
    ``NoiseModel.from_backend`` builds it from the same calibration.

    Raises:
        InputError: the backend has no calibration data.
    """
    device = getattr(backend, "device", None)
    calibration = None if device is None else device.properties.get("calibration")
    name = getattr(backend, "name", "")
    if calibration is None:
        from ..plugins.ibm_fake_devices import fake_device, fake_name

        fake = fake_name(str(name)) if name else None
        if fake is None:
            raise InputError(f"backend {name!r} has no calibration data to build noise from")
        calibration = fake_device(fake).properties["calibration"]
    return noise_model_from_calibration(calibration, name=str(name))


def with_noise_option(payload: Any, options: Mapping[str, Any], where: str) -> Any:
    """``payload`` with the noise the primitive options ask for: ``simulator.noise_model``
    set (an Aer model, its dict, or ours) replaces the device's (an empty one: ideal);
    unset, the device's noise (the payload unchanged).

    Raises:
        InputError: see :func:`noise_option`.
    """
    simulator = options.get("simulator") or {}
    if "noise_model" not in simulator:
        return payload
    value = simulator["noise_model"]
    noise = noise_option(value, f"{where}: simulator.noise_model")
    if isinstance(noise, NoiseModel) and noise.is_ideal:
        noise = False
    return dataclasses.replace(payload, noise=noise)
