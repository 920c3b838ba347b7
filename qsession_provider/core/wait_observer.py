"""Watching a wait: the :class:`WaitObserver` a job's ``wait(progress=...)`` reports to.

The core knows no progress bar: a waiter passes an observer (``visual/progress.py`` makes
one over a tqdm bar), and :func:`wait_observed` waits in steps of ``observer.interval``
seconds of the job's clock, handing the observer the job's record before the first step,
after each one and once the job is final. On a virtual clock the steps are virtual time,
so nothing sleeps; the job ends at the same (virtual) moment as with one long wait.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, Protocol, runtime_checkable

from .job_record import JobRecord

__all__ = ["WaitObserver", "wait_observed"]


@runtime_checkable
class WaitObserver(Protocol):
    """Told about a job while someone waits for it."""

    #: Seconds of the job's clock between two updates.
    interval: float

    def update(self, record: JobRecord) -> None:
        """The job's current record (called from the waiting thread)."""
        ...


def wait_observed(handle: Any, timeout: float | None, observer: WaitObserver) -> bool:
    """Wait for ``handle`` (a core or remote job) in steps, telling ``observer``.

    Args:
        handle: a job handle: ``wait(timeout)``, ``record`` and ``clock``.
        timeout: seconds of the job's clock (None: no limit).
        observer: told the record before, during and after the wait.

    Returns:
        True if the job is final.
    """
    step = float(observer.interval)
    if not step > 0:
        raise ValueError(f"a wait observer's interval must be > 0, got {observer.interval!r}")
    now = _now_of(handle.clock)
    deadline = None if timeout is None else now() + timeout
    observer.update(handle.record)
    while True:
        wait = step if deadline is None else max(0.0, min(step, deadline - now()))
        finished = handle.wait(wait)
        observer.update(handle.record)
        if finished:
            return True
        if deadline is not None and now() >= deadline:
            return False


def _now_of(clock: Any) -> Callable[[], float]:
    """The clock's time if virtual (waits are virtual seconds), else a monotonic clock."""
    return clock.now if getattr(clock, "virtual", False) else time.monotonic
