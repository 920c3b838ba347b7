"""The runtime's side of calibrations (:mod:`qsession_provider.core.calibrations`).

:class:`Calibrations` submits each device's scheduled calibrations as system jobs on the
runtime's clock (a system job goes before everything queued, a dedicated session's jobs
included; a running job finishes first), remembers the latest finished calibration of each
device, and tells the scheduler which one a starting job runs with.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..calibrations import CALIBRATION_PROGRAM, CalibrationSchedule
from ..clock import Timer
from ..job import Job, JobStatus
from .context import RuntimeContext

__all__ = ["Calibrations", "calibrate"]


def calibrate(job_id: str, device: str, program_id: str, payload: Any) -> dict[str, Any]:
    """What a calibration job computes: the id later jobs name."""
    del program_id, payload
    return {"calibration_id": job_id, "device": device}


class Calibrations:
    """Calibration schedules and the calibration in force per device.

    Args:
        ctx: the runtime's context.
        submit: ``submit(device, seconds)`` queues one calibration system job (called
            from a timer, without the lock).
        latest: ``latest(device)`` reads the id of the device's latest finished
            calibration from the store (None if it has none).
    """

    def __init__(
        self,
        ctx: RuntimeContext,
        submit: Callable[[str, float], None],
        latest: Callable[[str], str | None],
    ) -> None:
        self.ctx = ctx
        self.schedules: dict[str, CalibrationSchedule] = {}
        self._submit = submit
        self._latest = latest
        self._current: dict[str, str | None] = {}
        self._timers: dict[str, Timer] = {}

    def schedule(self, device: str, schedule: CalibrationSchedule) -> None:
        """Calibrate ``device`` on ``schedule`` from now on (replacing its schedule)."""
        with self.ctx.locked():
            old = self._timers.pop(device, None)
            if old is not None:
                old.cancel()
            self.schedules[device] = schedule
            self._arm(device, self.ctx.clock.now() + float(schedule.first))

    def in_force(self, device: str) -> str | None:
        """The id of ``device``'s latest finished calibration (lock held)."""
        if device not in self._current:
            self._current[device] = self._latest(device)
        return self._current[device]

    def finished(self, job: Job) -> None:
        """A job ended (lock held): a finished calibration is now in force."""
        if job.program_id == CALIBRATION_PROGRAM and job.status is JobStatus.DONE:
            self._current[job.record.device] = job.id

    def close(self) -> None:
        """Stop scheduling (the runtime shuts down)."""
        for timer in self._timers.values():
            timer.cancel()
        self._timers.clear()
        self.schedules.clear()

    def _arm(self, device: str, when: float) -> None:
        box: list[Timer] = []
        timer = self.ctx.clock.call_at(when, lambda: self._due(device, when, box[0]))
        box.append(timer)
        self._timers[device] = timer

    def _due(self, device: str, when: float, timer: Timer) -> None:
        with self.ctx.locked():
            if self._timers.get(device) is not timer:
                return  # rescheduled or stopped since
            schedule = self.schedules[device]
            self._arm(device, when + float(schedule.every))
        self._submit(device, float(schedule.duration))
