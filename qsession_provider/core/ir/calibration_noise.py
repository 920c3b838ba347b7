"""A device's noise model from its calibration data, as Qiskit Aer's ``NoiseModel.from_backend``
builds it for a ``BackendV2`` (``qiskit_aer/noise/device/models.py``), computed by us.

The calibration is plain data (SI units), as the fake-backend devices keep it in
``properties["calibration"]``: per qubit ``T1``, ``T2`` and ``readout_error``; per gate and
qubits ``error`` and ``duration``. The recipe, per gate entry (measurements excepted):

- thermal relaxation of each of the gate's qubits for the gate's duration (``T2`` cut to
  ``2 T1``; a missing ``T1``/``T2`` is infinite; zero temperature);
- for gates (not resets or delays) with an error above the relaxation's own average gate
  infidelity ``r``, a depolarizing channel before it whose parameter makes the pair's average
  gate error the calibrated one: ``dim (error - r) / (dim (1 - r) - 1)``, the error first cut
  to ``dim / (dim + 1)`` and the parameter to ``4**k / (4**k - 1)``;
- a symmetric readout error ``[[1 - e, e], [e, 1 - e]]`` per qubit from its readout error.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from .noise import NoiseChannel, NoiseModel, depolarizing, thermal_relaxation

__all__ = ["CalibrationNoise", "average_gate_fidelity", "noise_model_from_calibration"]

_NOT_GATES = frozenset({"reset", "delay"})


def average_gate_fidelity(channels: Sequence[NoiseChannel]) -> float:
    """Average gate fidelity (to the identity) of channels on distinct qubits together."""
    dim = 2 ** sum(ch.num_qubits for ch in channels)
    process = 1.0
    for ch in channels:
        d = 2**ch.num_qubits
        process *= sum(abs(np.trace(k)) ** 2 for k in ch.kraus) / d**2
    return (dim * process + 1) / (dim + 1)


def _time(value: Any) -> float:
    return math.inf if value is None or value <= 0 else float(value)


def _relaxation(
    qubits: Sequence[int], duration: float, qubit_data: Sequence[Mapping[str, Any]]
) -> list[NoiseChannel]:
    out = []
    for j, q in enumerate(qubits):
        data = qubit_data[q] if q < len(qubit_data) else {}
        t1 = _time(data.get("T1"))
        t2 = min(_time(data.get("T2")), 2 * t1)
        if math.isinf(t1) and math.isinf(t2):
            continue
        out.append(thermal_relaxation(j, t1, t2, duration))
    return out


def _depolarizing(k: int, error: float, relax: list[NoiseChannel]) -> NoiseChannel | None:
    relax_fid = average_gate_fidelity(relax) if relax else 1.0
    relax_infid = 1 - relax_fid
    if error is None or error <= relax_infid:
        return None
    dim = 2**k
    error = min(error, dim / (dim + 1))
    param = dim * (error - relax_infid) / (dim * relax_fid - 1)
    param = min(param, 4**k / (4**k - 1))
    if param <= 0:
        return None
    return depolarizing(tuple(range(k)), param)


def noise_model_from_calibration(
    calibration: Mapping[str, Any],
    *,
    name: str = "",
    gate_error: bool = True,
    thermal_relaxation_error: bool = True,
    readout_error: bool = True,
) -> NoiseModel:
    """The noise model of a device's calibration (see the module docstring).

    Args:
        calibration: ``{"qubits": [{"T1", "T2", "readout_error", ...}], "gates": [{"gate",
            "qubits", "error", "duration"}]}`` in SI units.
        name: the model's name (the device's).
        gate_error, thermal_relaxation_error, readout_error: which parts to include.
    """
    qubit_data = list(calibration.get("qubits", ()))
    local: dict[tuple[str, tuple[int, ...]], tuple[NoiseChannel, ...]] = {}
    for entry in calibration.get("gates", ()):
        gate = str(entry["gate"])
        if gate == "measure":
            continue
        qubits = tuple(int(q) for q in entry["qubits"])
        duration = entry.get("duration") or 0.0
        relax = (
            _relaxation(qubits, float(duration), qubit_data)
            if thermal_relaxation_error and duration > 0
            else []
        )
        chans: list[NoiseChannel] = []
        if gate_error and gate not in _NOT_GATES and entry.get("error"):
            depol = _depolarizing(len(qubits), float(entry["error"]), relax)
            if depol is not None:
                chans.append(depol)
        chans += relax
        if chans:
            local[(gate, qubits)] = tuple(chans)
    readout: dict[int, Any] = {}
    if readout_error:
        for q, data in enumerate(qubit_data):
            e = data.get("readout_error")
            if e:
                e = min(max(float(e), 0.0), 1.0)
                readout[q] = [[1 - e, e], [e, 1 - e]]
    return NoiseModel(local=local, readout=readout, name=name)


class CalibrationNoise:
    """A device's noise model from its calibration, built on first use and kept (a device
    hands this to its engine; it pickles without the model, for executors)."""

    def __init__(self, calibration: Mapping[str, Any], name: str = "") -> None:
        self.calibration = calibration
        self.name = name
        self._lock = threading.Lock()
        self._model: NoiseModel | None = None

    def __call__(self) -> NoiseModel:
        """The model (computed once)."""
        with self._lock:
            if self._model is None:
                self._model = noise_model_from_calibration(self.calibration, name=self.name)
            return self._model

    def __getstate__(self) -> dict[str, Any]:
        return {"calibration": self.calibration, "name": self.name}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__(state["calibration"], state["name"])  # type: ignore[misc]
