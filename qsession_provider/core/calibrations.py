"""Device calibrations: system jobs that take a QPU for a while and name the data later jobs use.

The seed documents say system jobs such as calibrations have priority over session jobs.
A calibration here is a job of the program :data:`CALIBRATION_PROGRAM` on a QPU-like device
(never a simulator): it occupies the device for its payload's ``fixed_seconds`` on the
runtime's clock and produces ``{"calibration_id": <its job id>, "device": ...}``. Every job
that starts on the device afterwards carries the id of the latest finished calibration in
its metadata (``metadata["calibration_id"]``) unless it named one itself.

Calibrations come from a :class:`CalibrationSchedule` (periodic system jobs, set per device
with ``Runtime(calibrations=...)`` or :meth:`Runtime.schedule_calibrations`) or from a user
(qiskit-ibm-runtime's ``Calibrator`` in a session: an ordinary job of this program).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ..errors import InputError
from .clock import parse_duration

__all__ = [
    "CALIBRATION_PROGRAM",
    "CALIBRATION_KEY",
    "CalibrationPayload",
    "CalibrationSchedule",
    "calibration_payload",
]

#: The program id of calibration jobs.
CALIBRATION_PROGRAM = "calibration"
#: The job metadata key holding the calibration a job ran with.
CALIBRATION_KEY = "calibration_id"


@dataclass(frozen=True)
class CalibrationPayload:
    """A calibration's payload: how long it takes the device (seconds, > 0)."""

    fixed_seconds: float

    def __post_init__(self) -> None:
        seconds = _seconds(self.fixed_seconds, "calibration duration")
        if seconds <= 0:
            raise InputError(f"a calibration must take > 0 seconds, got {self.fixed_seconds!r}")
        object.__setattr__(self, "fixed_seconds", seconds)

    #: A calibration runs no circuit and takes no shots.
    num_executions = 0
    total_shots = 0

    def to_json(self) -> dict[str, Any]:
        """Data for the store's encoding."""
        return {"fixed_seconds": self.fixed_seconds}


def calibration_payload(data: Any) -> CalibrationPayload:
    """A :class:`CalibrationPayload` from itself or its stored form.

    Raises:
        InputError: ``data`` is neither.
    """
    if isinstance(data, CalibrationPayload):
        return data
    if isinstance(data, dict) and set(data) == {"fixed_seconds"}:
        return CalibrationPayload(data["fixed_seconds"])
    raise InputError(f"a calibration payload needs only 'fixed_seconds', got {data!r}")


@dataclass(frozen=True)
class CalibrationSchedule:
    """Calibrate a device every ``every`` seconds for ``duration`` seconds.

    Attributes:
        every: the period (seconds or a string such as ``"24h"``), > 0.
        duration: how long each calibration takes the device, > 0 and < ``every``.
        first: seconds from the moment the schedule is set to the first calibration
            (default: one period).

    Raises:
        InputError: a period or duration that is not > 0, or a duration of a whole period.
    """

    every: float | str
    duration: float | str
    first: float | str | None = None

    def __post_init__(self) -> None:
        every = _seconds(self.every, "every")
        duration = _seconds(self.duration, "duration")
        if every <= 0 or duration <= 0:
            raise InputError(f"a calibration schedule needs every > 0 and duration > 0, got "
                             f"{self.every!r} and {self.duration!r}")  # fmt: skip
        if duration >= every:
            raise InputError(
                f"a calibration of {duration:g} s every {every:g} s would hold the device for good"
            )
        object.__setattr__(self, "every", every)
        object.__setattr__(self, "duration", duration)
        first = every if self.first is None else _seconds(self.first, "first")
        object.__setattr__(self, "first", first)


def _seconds(value: Any, what: str) -> float:
    try:
        seconds = parse_duration(value)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    return seconds
