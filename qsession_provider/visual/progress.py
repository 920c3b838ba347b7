"""Progress bars (tqdm) while waiting for jobs: one job's state, or one bar over many jobs.

``progress=`` (on faces' ``result``/``wait_for_final_state``, :func:`wait_job`,
:func:`wait_all`) takes:

* ``True``: a bar on stderr, shown only on a terminal (tqdm's ``disable=None``): code
  run in a pipe, a file or CI prints nothing;
* a dict of tqdm options (``{"file": sys.stdout}``, ``{"leave": False}``): asked for
  explicitly, so shown wherever it writes (unless the dict says ``disable``);
* a ``tqdm`` bar of the caller's: used as is, and left open.

One job's bar is a status line: ``job 01a2f3c4 · queued, 2 ahead`` while it waits (the
queued jobs on its device submitted before it that the caller can see: on a server, a
user's own unless an admin), then ``running``, then its final status. A list of jobs shows
one bar counting finished jobs, with how many are queued and running.

The core never imports tqdm: a wait takes a
:class:`~qsession_provider.core.wait_observer.WaitObserver`, and :class:`JobProgress` is
the one over a tqdm bar.
"""

from __future__ import annotations

import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

from tqdm import tqdm

from ..core.job_record import FINAL_STATES, JobRecord, JobStatus
from ..errors import InputError, JobTimeoutError, QSessionError
from .sources import core_handle

__all__ = [
    "JobProgress",
    "observing",
    "progress_bar",
    "progress_observer",
    "queue_ahead",
    "wait_all",
    "wait_job",
]

#: Seconds of the job's clock between two updates.
INTERVAL = 1.0
#: At most this many queued jobs are read to tell a job's place in the queue.
AHEAD_LIMIT = 1000
#: Jobs of a list refreshed per step (beside the one waited on): remote refreshes cost a
#: request each.
_REFRESH_PER_STEP = 8

_ONE_JOB_FORMAT = "{desc} [{elapsed}]"
_MANY_JOBS_FORMAT = "{desc}: {percentage:3.0f}%|{bar}| {n_fmt}/{total_fmt} [{elapsed}{postfix}]"


def progress_bar(progress: Any, **defaults: Any) -> tuple[tqdm, bool]:
    """The tqdm bar ``progress`` asks for (see the module docstring), and whether it is ours
    to close.

    Raises:
        InputError: ``progress`` is none of True, a dict of tqdm options or a tqdm bar.
    """
    if isinstance(progress, tqdm):
        return progress, False
    options = dict(defaults)
    if progress is True:
        options["disable"] = None  # tqdm: off when not on a terminal
    elif isinstance(progress, Mapping):
        options.update(progress)
        options.setdefault("disable", False)
    else:
        raise InputError(
            "progress must be True, a dict of tqdm options or a tqdm bar, got "
            f"{type(progress).__name__}"
        )
    return tqdm(**options), True


class JobProgress:
    """A :class:`~qsession_provider.core.wait_observer.WaitObserver` drawing one job's
    state on a tqdm bar.

    Args:
        bar: the bar (its description becomes the job's state).
        runtime: the job's runtime, to tell its place in the queue (None: not told).
        interval: seconds of the job's clock between two updates.
    """

    def __init__(self, bar: tqdm, *, runtime: Any = None, interval: float = INTERVAL) -> None:
        if not interval > 0:
            raise InputError(f"interval must be > 0 seconds, got {interval!r}")
        self.bar = bar
        self.runtime = runtime
        self.interval = float(interval)

    def update(self, record: JobRecord) -> None:
        """Show ``record``'s state (its place in the queue while queued)."""
        state = record.status.value.lower()
        if record.status is JobStatus.QUEUED:
            ahead = queue_ahead(self.runtime, record)  # once a step: the clock's interval
            if ahead is not None:
                state += f", {ahead}{'+' if ahead >= AHEAD_LIMIT else ''} ahead"
        elif record.status in FINAL_STATES:
            state = record.status.value
            if self.bar.total is not None and self.bar.n < self.bar.total:
                self.bar.update(self.bar.total - self.bar.n)
        self.bar.set_description_str(f"job {record.id[:8]} · {state}", refresh=False)
        self.bar.refresh()


def queue_ahead(runtime: Any, record: JobRecord) -> int | None:
    """How many queued jobs on ``record``'s device were submitted before it (that
    ``runtime`` shows the caller); None without a runtime or if it cannot tell."""
    if runtime is None:
        return None
    try:
        queued = runtime.jobs(
            device=record.device,
            status="QUEUED",
            created_before=record.created_at,
            descending=False,
            limit=AHEAD_LIMIT,
        )
    except QSessionError:  # e.g. a server that went away: the bar just says less
        return None
    ids = [j.id for j in queued]
    return ids.index(record.id) if record.id in ids else len(ids)


@contextmanager
def observing(
    progress: Any, *, runtime: Any = None, interval: float = INTERVAL
) -> Iterator[JobProgress]:
    """A :class:`JobProgress` on the bar ``progress`` asks for, closed afterwards (unless
    it is the caller's own bar)."""
    bar, owned = progress_bar(progress, total=1, bar_format=_ONE_JOB_FORMAT, desc="job")
    try:
        yield JobProgress(bar, runtime=runtime, interval=interval)
    finally:
        if owned:
            bar.close()


def progress_observer(
    progress: Any, *, runtime: Any = None, interval: float = INTERVAL
) -> JobProgress:
    """A :class:`JobProgress` for ``job.wait(progress=...)`` on a core or remote handle
    (close its ``bar`` when done)."""
    bar, _ = progress_bar(progress, total=1, bar_format=_ONE_JOB_FORMAT, desc="job")
    return JobProgress(bar, runtime=runtime, interval=interval)


def wait_job(
    job: Any,
    timeout: float | None = None,
    progress: Any = True,
    *,
    runtime: Any = None,
    interval: float = INTERVAL,
) -> bool:
    """Wait for one job (core, remote or a face's) with a progress bar.

    Returns:
        True if the job is final; False after ``timeout`` seconds of its clock.
    """
    handle = _handle(job)
    with observing(progress, runtime=runtime, interval=interval) as observer:
        return bool(handle.wait(timeout, progress=observer))


def wait_all(
    jobs: Sequence[Any],
    *,
    timeout: float | None = None,
    progress: Any = True,
    interval: float = INTERVAL,
) -> None:
    """Wait until every job is final, showing one bar over them (``progress=False``: none).

    Args:
        jobs: core or remote handles or a face's jobs (on one runtime).
        timeout: seconds of the jobs' clock (the first job's) for all of them.
        progress: see the module docstring.
        interval: seconds of the clock between two updates of the bar.

    Raises:
        JobTimeoutError: some job is not final after ``timeout`` seconds.
        InputError: something in ``jobs`` is not a job.
    """
    handles = [_handle(j) for j in jobs]
    if not interval > 0:
        raise InputError(f"interval must be > 0 seconds, got {interval!r}")
    if not handles:
        return
    clock = handles[0].clock
    now = clock.now if getattr(clock, "virtual", False) else time.monotonic
    deadline = None if timeout is None else now() + timeout
    bar: tqdm | None = None
    owned = False
    if progress is not False and progress is not None:
        bar, owned = progress_bar(
            progress, total=len(handles), bar_format=_MANY_JOBS_FORMAT, desc="jobs", unit="job"
        )
    try:
        while True:
            pending = [h for h in handles if h.status not in FINAL_STATES]
            for h in pending[1 : 1 + _REFRESH_PER_STEP]:
                if getattr(h, "is_foreign", False):
                    h.refresh()
            pending = [h for h in pending if h.status not in FINAL_STATES]
            if bar is not None:
                _show(bar, handles, pending)
            if not pending:
                return
            step = interval
            if deadline is not None:
                left = deadline - now()
                if left <= 0:
                    raise JobTimeoutError(
                        f"{len(pending)} of {len(handles)} jobs did not finish within "
                        f"{timeout} s (first: {pending[0].id})"
                    )
                step = min(step, left)
            pending[0].wait(step)
    finally:
        if owned and bar is not None:
            bar.close()


def _show(bar: tqdm, handles: Sequence[Any], pending: Sequence[Any]) -> None:
    done = len(handles) - len(pending)
    running = sum(h.status is JobStatus.RUNNING for h in pending)
    failed = sum(h.status is not JobStatus.DONE for h in handles if h.status in FINAL_STATES)
    parts = [f"{len(pending) - running} queued", f"{running} running"]
    if failed:
        parts.append(f"{failed} failed or cancelled")
    bar.update(done - bar.n)
    bar.set_postfix_str(", ".join(parts), refresh=False)
    bar.refresh()


def _handle(job: Any) -> Any:
    handle = core_handle(job)
    if handle is None:
        runtime = getattr(getattr(job, "workspace", None), "runtime", None)
        job_id = getattr(job, "id", None)
        if runtime is not None and isinstance(job_id, str):  # an Azure-style job
            return runtime.job(job_id)
        raise InputError(f"not a job: {type(job).__name__}")
    return handle
