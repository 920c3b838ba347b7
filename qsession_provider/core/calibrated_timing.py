"""A timing model that also counts each shot's circuit time, from calibrated gate durations.

:class:`CalibratedTiming` is a :class:`~qsession_provider.core.device.TimingModel` whose
``per_shot`` is the repetition delay alone: every shot also takes its circuit's duration,
the length of its as-soon-as-possible schedule where each operation takes its calibrated
duration on its qubits (``measure`` its qubit's readout, a barrier lines its qubits up).
A duration not calibrated for those qubits is the gate's mean, then the mean of the
gates of its width, then 0. A circuit's duration is computed once per circuit structure.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from ..errors import InputError
from .device import TimingModel
from .ir.circuit import Barrier, Circuit, Gate, Measure, Reset
from .ir.payload import EstimatorPayload, RunPayload, SamplerPayload

__all__ = ["CalibratedTiming"]

#: Shots of an exact estimator pub per execution (``EstimatorPayload.total_shots``'s rule).
EXACT_SHOTS = 4096
#: Seconds per (instruction, qubits); ``qubits`` are (controls..., targets...) as IBM's
#: calibrations list them (``cx`` is (control, target)).
Durations = Mapping[tuple[str, tuple[int, ...]], float]


@dataclass(frozen=True, eq=False)
class CalibratedTiming(TimingModel):
    """``per_job + per_circuit * executions + shots * (per_shot + circuit duration)``.

    Attributes:
        durations: seconds per ``(instruction name, qubits)`` (Qiskit's names: ``ecr``,
            ``cx``, ``sx``, ``measure``, ``reset``, ...).
    """

    durations: Durations = field(default_factory=dict)

    def __post_init__(self) -> None:
        super().__post_init__()
        checked = {}
        for (name, qubits), seconds in dict(self.durations).items():
            if not isinstance(seconds, (int, float)) or not seconds >= 0 or seconds == float("inf"):
                raise InputError(f"duration of {name} on {qubits} must be >= 0, got {seconds!r}")
            checked[(str(name), tuple(int(q) for q in qubits))] = float(seconds)
        object.__setattr__(self, "durations", checked)

    @property
    def is_zero(self) -> bool:
        """True when every job takes no modelled time."""
        return super().is_zero and not any(self.durations.values())

    def duration(self, payload: Any) -> float:
        """Modelled seconds ``payload`` occupies the device (circuit time included)."""
        base = super().duration(payload)
        return base + sum(shots * self.circuit_seconds(c) for c, shots in _shot_circuits(payload))

    def circuit_seconds(self, circuit: Circuit) -> float:
        """One shot of ``circuit``: its as-soon-as-possible schedule's length (computed once
        per circuit and model; barriers count, so the compile cache's key is not used)."""
        key = f"calibrated_timing:{id(self)}"
        model, seconds = circuit._memoized(key, lambda _: (self, self._schedule(circuit)))
        if model is not self:  # another model once had this id
            circuit._memo.pop(key, None)
            model, seconds = circuit._memoized(key, lambda _: (self, self._schedule(circuit)))
        return float(seconds)

    def _schedule(self, circuit: Circuit) -> float:
        ready: dict[int, float] = {}
        for op in circuit.operations:
            if isinstance(op, Barrier):
                qubits = op.qubits or tuple(range(circuit.num_qubits))
                at = max((ready.get(q, 0.0) for q in qubits), default=0.0)
                ready.update(dict.fromkeys(qubits, at))
                continue
            if isinstance(op, Measure):
                qubits = (op.qubit,)
                seconds = self._seconds(("measure",), qubits)
            elif isinstance(op, Reset):
                qubits = (op.qubit,)
                seconds = self.durations.get(("reset", qubits), self._mean_by_name.get("reset"))
                if seconds is None:
                    seconds = self._seconds(("measure",), qubits)  # a reset measures
            elif isinstance(op, Gate):
                qubits = op.controls + op.qubits
                names = ("c" * len(op.controls) + op.name, op.label or "")
                seconds = self._seconds(names, qubits)
            else:
                qubits, seconds = tuple(getattr(op, "all_qubits", ())), 0.0
            end = max((ready.get(q, 0.0) for q in qubits), default=0.0) + seconds
            ready.update(dict.fromkeys(qubits, end))
        return max(ready.values(), default=0.0)

    def _seconds(self, names: Iterable[str], qubits: tuple[int, ...]) -> float:
        names = [n for n in names if n]
        for name in names:
            found = self.durations.get((name, qubits))
            if found is not None:
                return found
        for name in names:
            if name in self._mean_by_name:
                return self._mean_by_name[name]
        return self._mean_by_width.get(len(qubits), 0.0)

    @cached_property
    def _mean_by_name(self) -> dict[str, float]:
        grouped: dict[str, list[float]] = {}
        for (name, _), seconds in self.durations.items():
            grouped.setdefault(name, []).append(seconds)
        return {name: statistics.fmean(values) for name, values in grouped.items()}

    @cached_property
    def _mean_by_width(self) -> dict[int, float]:
        grouped: dict[int, list[float]] = {}
        for (name, qubits), seconds in self.durations.items():
            if name not in ("measure", "reset", "delay") and seconds > 0:
                grouped.setdefault(len(qubits), []).append(seconds)
        return {width: statistics.fmean(values) for width, values in grouped.items()}


def _shot_circuits(payload: Any) -> Iterator[tuple[Circuit, int]]:
    """Each circuit of ``payload`` with the shots it takes over all its executions (an
    estimator pub: what its precision costs, as ``EstimatorPayload.total_shots`` counts)."""
    if isinstance(payload, SamplerPayload):
        for pub in payload.pubs:
            yield pub.circuit, math.prod(pub.shape) * pub.shots
    elif isinstance(payload, EstimatorPayload):
        for pub in payload.pubs:
            per = EXACT_SHOTS if pub.precision == 0 else math.ceil(1.0 / pub.precision**2)
            yield pub.circuit, math.prod(pub.values.shape[:-1]) * per
    elif isinstance(payload, RunPayload):
        for circuit in payload.circuits:
            yield circuit, payload.shots
