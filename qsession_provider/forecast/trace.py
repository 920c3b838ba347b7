"""Recording a workload: which jobs it submits, in what order, and how long it thinks.

:func:`record` runs the user's unchanged workload (a script or a callable) against the
default store's runtime, which for the run is a temporary store file on an auto-advancing
:class:`~qsession_provider.core.clock.VirtualClock` (``$QSESSION_STORE`` points at it,
``$QSESSION_URL`` is unset): every face built without ``store=``/``clock=``/``url=`` lands
there, so the workload runs as written, without waiting for modelled device time. A
workload that opens its own store or clock is not seen (the trace is then empty: an error).

The trace keeps, per job, its payload and device, the modelled seconds it occupies the
device, and what it waited for: the last job that had ended when it was submitted, and the
real seconds the workload spent between that end and the submission (the optimiser's think
time), unless ``think_time`` replaces them.
"""

from __future__ import annotations

import os
import runpy
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..client import open_runtime
from ..client.choose import TOKEN_ENV, URL_ENV
from ..core.clock import VirtualClock
from ..core.device import Device
from ..core.job import Job
from ..core.store.sqlite import STORE_ENV_VAR
from ..errors import InputError, QSessionError

__all__ = ["Trace", "TracedJob", "Workload", "record"]

#: A workload: a script's path, or a callable of no arguments.
Workload = str | os.PathLike[str] | Callable[[], Any]


@dataclass(frozen=True)
class TracedJob:
    """One job the workload submitted.

    Attributes:
        index: its place in submission order (0-based).
        program_id: ``sampler``, ``estimator``, ``run``...
        device: the device it ran on.
        payload: the neutral payload (replayed as it is).
        seconds: modelled seconds on the device (its timing model).
        shots: the payload's total shots.
        after: index of the job whose end the workload waited for before submitting it
            (the last one ended by then), or None.
        think: seconds between that end and the submission.
    """

    index: int
    program_id: str
    device: str
    payload: Any
    seconds: float
    shots: int
    after: int | None
    think: float


@dataclass(frozen=True)
class Trace:
    """The jobs of a workload, in submission order, and the devices they used."""

    jobs: tuple[TracedJob, ...]
    devices: dict[str, Device]


class _Recorder:
    """A runtime listener noting submissions and ends (real time, event order)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.order: dict[str, int] = {}
        self.jobs: list[tuple[Job, int | None, float]] = []  # job, after, gap
        self._last_end: tuple[int, float] | None = None

    def job_submitted(self, job: Job) -> None:
        now = time.perf_counter()
        with self._lock:
            self.order[job.id] = len(self.jobs)
            after, gap = (None, 0.0)
            if self._last_end is not None:
                after, gap = self._last_end[0], max(0.0, now - self._last_end[1])
            self.jobs.append((job, after, gap))

    def job_finished(self, job: Job) -> None:
        now = time.perf_counter()
        with self._lock:
            index = self.order.get(job.id)
            if index is not None:
                self._last_end = (index, now)


def record(
    workload: Workload, *, argv: Sequence[str] = (), think_time: float | None = None
) -> Trace:
    """Run ``workload`` once on a virtual clock and return what it submitted.

    Args:
        workload: a script's path (run as ``__main__`` with ``argv``) or a callable.
        argv: the script's arguments.
        think_time: seconds the workload thinks between a job's end and the next
            submission that waited for it (None: the measured real seconds).

    Raises:
        InputError: no such script; a negative ``think_time``; the workload submitted no
            job to the default runtime.
        QSessionError: the workload failed (its error is the cause).
    """
    if think_time is not None and (isinstance(think_time, bool) or not think_time >= 0):
        raise InputError(f"think_time must be a number of seconds >= 0, got {think_time!r}")
    run = _runner(workload, argv)
    folder = tempfile.mkdtemp(prefix="qsession-forecast-")
    saved = {k: os.environ.get(k) for k in (STORE_ENV_VAR, URL_ENV, TOKEN_ENV)}
    recorder = _Recorder()
    runtime = None
    try:
        path = str(Path(folder) / "forecast.sqlite3")
        runtime = open_runtime(path, clock=VirtualClock())
        runtime.add_listener(recorder)
        os.environ[STORE_ENV_VAR] = path
        os.environ.pop(URL_ENV, None)
        os.environ.pop(TOKEN_ENV, None)
        try:
            run()
        except SystemExit as exc:
            if exc.code not in (None, 0):
                raise QSessionError(f"the workload exited with status {exc.code}") from exc
        except QSessionError:
            raise
        except Exception as exc:
            raise QSessionError(f"the workload failed: {type(exc).__name__}: {exc}") from exc
        devices = {d.name: d for d in runtime.devices()}
        jobs = tuple(
            TracedJob(
                index=i,
                program_id=job.program_id,
                device=job.device,
                payload=job.payload,
                seconds=devices[job.device].execution_time(job.payload),
                shots=int(getattr(job.payload, "total_shots", 0) or 0),
                after=after,
                think=gap if think_time is None or after is None else float(think_time),
            )
            for i, (job, after, gap) in enumerate(recorder.jobs)
        )
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value
        if runtime is not None:
            runtime.shutdown(wait=False, cancel_pending=True)
        shutil.rmtree(folder, ignore_errors=True)
    if not jobs:
        raise InputError(
            "the workload submitted no job to the default runtime (a workload that picks its "
            "own store=, clock= or url= is not recorded: leave them out)"
        )
    return Trace(jobs, {name: devices[name] for name in {j.device for j in jobs}})


def _runner(workload: Workload, argv: Sequence[str]) -> Callable[[], Any]:
    if callable(workload):
        return workload
    script = Path(workload)
    if not script.is_file():
        raise InputError(f"no workload script at {script}")

    def run() -> None:
        saved = sys.argv
        sys.argv = [str(script), *argv]
        try:
            runpy.run_path(str(script), run_name="__main__")
        finally:
            sys.argv = saved

    return run
