"""Job transitions: a job's state moves in memory, in the store, then to its waiters.

:meth:`JobTransitions.set_status` moves a job to a new state and writes it to the store.
Inside :meth:`JobTransitions.batch` - a job's start, a job's end with everything it
triggers - the writes form one store group when the store offers ``batch()`` (the SQLite
store does: one transaction, committed behind the caller with write-behind, before the
block ends without), and jobs that reached a final state are *settled* (their waiters
released) only after the group is handed to the store; outside a batch a final job is
settled right after its write. So ``result()`` never returns a result the store does not
hold (a write-behind store serves it to every reader of this process before it is on
disk): when the store raises on a final write (a failing disk turns the SQLite store
synchronous), the job is settled with that error, which its ``result()`` raises (the
store may still commit the write it holds once the disk recovers).

Error messages are stored at most :data:`ERROR_MESSAGE_LIMIT` characters long (the rest is
replaced by ``"… (N characters omitted)"``), so a huge message (1 MB of bad QASM) does not
weigh on every listing; the job's handle in this process, and the exception its
``result()`` raises, keep the full text.
"""

from __future__ import annotations

import logging
from typing import Any

from ...errors import StoreError
from ..job import FINAL_STATES, Job, JobStatus
from .context import RuntimeContext

__all__ = ["JobTransitions", "ERROR_MESSAGE_LIMIT", "stored_message"]

#: Longest error message written to the store, in characters (see the module docstring).
ERROR_MESSAGE_LIMIT = 4096


def stored_message(message: str, limit: int = ERROR_MESSAGE_LIMIT) -> str:
    """``message`` cut to ``limit`` characters, saying how many were left out."""
    if len(message) <= limit:
        return message
    return f"{message[:limit]}… ({len(message) - limit} characters omitted)"


_log = logging.getLogger(__name__)


class JobTransitions:
    """Moves jobs between states and persists each move (internal; one per runtime).

    Args:
        ctx: the shared runtime context (its store, its event emitter).
    """

    def __init__(self, ctx: RuntimeContext) -> None:
        self.ctx = ctx
        #: Jobs to settle once the current :meth:`batch` is committed (None: no batch).
        self._to_settle: list[Job] | None = None

    def batch(self, *, strict: bool = False) -> _Batch:
        """Group the store writes of the block; settle final jobs after the commit.

        Call with the runtime lock held. Nested batches join the outermost one. A failed
        commit is logged (as a failed write is) and the runtime carries on from memory;
        with ``strict`` (an outermost batch holding a job's insert) it raises the
        ``StoreError`` after logging.
        """
        return _Batch(self, strict)

    def set_status(
        self,
        job: Job,
        status: JobStatus,
        *,
        stored_result: str | None = None,
        persist: bool = True,
        **changes: Any,
    ) -> None:
        """Move a job to ``status``, persist it (unless ``persist`` is False), queue its
        done-callbacks.

        A final state is persisted before the job's waiters are released (see the module
        docstring). Call with the runtime lock held.
        """
        final = status in FINAL_STATES
        for callback in job._transition(status, settle=not final, **changes):
            self.ctx.emitter.post_call(callback)
        if persist:
            try:
                record = job.record
                message = record.error_message
                if message is not None and len(message) > ERROR_MESSAGE_LIMIT:
                    record = record.replace(error_message=stored_message(message))
                if not self.ctx.store.update_job(record, result=stored_result):
                    _log.warning(
                        "job %s was finalised in the store by another process; "
                        "its %s state is kept in memory only",
                        job.id,
                        status.value,
                    )
            except StoreError as exc:
                _log.error("could not persist job %s (%s): %s", job.id, status.value, exc)
                if final:
                    write_failed(job, exc)
            except Exception:
                _log.exception("could not persist job %s (%s)", job.id, status.value)
        if final:
            if self._to_settle is not None:
                self._to_settle.append(job)
            else:
                job._settle()


class _Batch:
    """The context manager of :meth:`JobTransitions.batch` (entered twice per job)."""

    __slots__ = ("_transitions", "_store_batch", "_outer", "_strict")

    def __init__(self, transitions: JobTransitions, strict: bool) -> None:
        self._transitions = transitions
        self._store_batch: Any = None
        self._outer = False
        self._strict = strict

    def __enter__(self) -> None:
        transitions = self._transitions
        if transitions._to_settle is not None:
            return
        self._outer = True
        transitions._to_settle = []
        store_batch = getattr(transitions.ctx.store, "batch", None)
        if store_batch is not None:
            cm = store_batch()
            try:
                cm.__enter__()
            except BaseException:
                transitions._to_settle = None
                raise
            self._store_batch = cm

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> None:
        if not self._outer:
            return
        transitions = self._transitions
        try:
            cm = self._store_batch
            if cm is not None:
                try:
                    cm.__exit__(exc_type, exc, tb)  # commits what was written
                except StoreError as error:
                    _log.exception("could not persist a batch of job and session changes")
                    for job in transitions._to_settle or ():
                        write_failed(job, error)
                    if self._strict and exc_type is None:  # an error of the block wins
                        raise
        finally:
            jobs, transitions._to_settle = transitions._to_settle, None
            for job in jobs or ():
                job._settle()


def write_failed(job: Job, error: StoreError) -> None:
    """Make ``job.result()`` raise the store's ``error`` (its final write failed)."""
    if job._write_error is None:
        failed = StoreError(
            f"job {job.id} ended {job.record.status.value}, but the store could not write "
            f"it: {error}"
        )
        failed.__cause__ = error
        job._write_error = failed
