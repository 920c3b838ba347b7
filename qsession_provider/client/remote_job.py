"""The handle on a job a server runs: :class:`RemoteJob`, with ``core.job.Job``'s interface.

Faces use a remote job exactly as an embedded one: the record views, ``wait``,
``result``, ``cancel``, ``refresh`` and ``add_done_callback``. Nothing busy-polls:

- ``wait``/``result`` long-poll ``POST /jobs/{id}/wait``; the server holds each request
  until the job is final or its wait ended (at most :data:`~.transport.LONG_POLL` real
  seconds), and the handle asks again until the job is final or the caller's timeout,
  measured on the server's clock (virtual seconds on a ``--virtual-clock`` server), passed;
- a DONE job's answer carries its result, so a job that is final when the submission
  answers costs no request after it: a tiny job (run at submission), or a short one the
  server waited for briefly before answering (see :mod:`qsession_provider.server.jobs`);
- a wait outlives a server restart (the server keeps queued jobs): while the server cannot
  be reached, the poll is tried again for up to the connection's timeout;
- ``add_done_callback`` on an unfinished job starts one daemon thread for that job that
  long-polls until it is final, then runs the callbacks (at most one thread per handle).
  Its polls are *passive* (``"passive": true``): they wait in real time and never move
  a virtual clock, as an embedded callback never does (only waiters move virtual time).

``result`` raises what ``Job.result`` raises, with the same messages
(:class:`JobFailedError`, :class:`JobCancelledError`, :class:`JobTimeoutError`).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..core.ir.encoding import loads
from ..core.job import FINAL_STATES, JobRecord, JobStatus
from ..core.job_record import JobRecordView
from ..core.runtime.checks import decode_payload
from ..core.wait_observer import WaitObserver, wait_observed
from ..errors import InputError, JobCancelledError, JobFailedError, JobTimeoutError
from .transport import LONG_POLL

if TYPE_CHECKING:
    from .remote import RemoteRuntime

__all__ = ["RemoteJob"]


class RemoteJob(JobRecordView):
    """A handle on one job of a remote runtime (see the module docstring).

    Made by :class:`~.remote.RemoteRuntime` (``submit``, ``job``, ``jobs``); one handle
    per job id while it is referenced, updated by every answer that carries the job.

    Args:
        runtime: the runtime whose server runs the job.
        record: the job's record as last read.
        payload: the payload object if this process submitted it (else fetched on use).
    """

    def __init__(self, runtime: RemoteRuntime, record: JobRecord, payload: Any = None) -> None:
        self._runtime = runtime
        self._record = record
        self._payload = payload
        self._lock = threading.Lock()
        self._result_text: str | None = None
        self._has_result_text = False
        self._result: Any = None
        self._has_result = False
        self._callbacks: list[Callable[[RemoteJob], object]] = []
        self._watcher: threading.Thread | None = None

    # -- what the shared record views do not cover ----------------------------------
    @property
    def payload(self) -> Any:
        """The neutral payload (fetched from the server on first use if not submitted here)."""
        if self._payload is None:
            answer = self._runtime._http.request("GET", f"/jobs/{self.id}/payload")
            self._payload = decode_payload(self._record.program_id, answer["payload"])
        return self._payload

    @property
    def is_foreign(self) -> bool:
        """Always True: the server runs the job, so :meth:`refresh` reads its state."""
        return True

    @property
    def clock(self) -> Any:
        """The server's clock (waits are measured on it)."""
        return self._runtime.clock

    # -- waiting and results ----------------------------------------------------------------
    def wait(self, timeout: float | None = None, *, progress: WaitObserver | None = None) -> bool:
        """Block until the job is final or ``timeout`` seconds of the server's clock pass.

        With ``progress``, the wait goes in steps that report the record to it.

        Returns:
            True if the job is in a final state.
        """
        if progress is not None:
            return wait_observed(self, timeout, progress)
        if self.in_final_state():
            return True
        if timeout is None:
            while not self._poll(None):
                pass
            return True
        if timeout <= 0:
            return self._poll(0.0)
        clock = self._runtime.clock
        now: Callable[[], float] = clock.now if clock.virtual else time.monotonic
        deadline = now() + timeout
        left = float(timeout)
        while not self._poll(left):
            left = deadline - now()
            if left <= 0:
                return False
        return True

    def result(self, timeout: float | None = None, *, progress: WaitObserver | None = None) -> Any:
        """The job's result, waiting for it if needed (reporting to ``progress`` if given).

        Raises:
            JobTimeoutError: not final after ``timeout`` seconds.
            JobFailedError: the job ended in ERROR (message from the job).
            JobCancelledError: the job was cancelled.
        """
        if not self.wait(timeout, progress=progress):
            raise JobTimeoutError(f"job {self.id} did not finish within {timeout} s")
        record = self._record
        if record.status is JobStatus.CANCELLED:
            err: Exception = JobCancelledError(
                f"job {record.id} was cancelled: {record.error_message or 'cancelled'}"
            )
        elif record.status is JobStatus.ERROR:
            err = JobFailedError(f"job {record.id} failed: {record.error_message}")
        else:
            if not self._has_result_text:
                self._poll(0.0)  # a DONE job's wait answer carries the result
            with self._lock:
                if not self._has_result:
                    text = self._result_text
                    self._result = None if text is None else loads(text)
                    self._has_result = True
                return self._result
        err.job_id = record.id  # type: ignore[attr-defined]
        err.error_code = record.error_code  # type: ignore[attr-defined]
        raise err

    def cancel(self) -> bool:
        """Ask the server to cancel the job.

        Returns:
            True if the job is now CANCELLED because of this call.
        """
        return self._runtime.cancel_job(self.id)

    def refresh(self) -> JobRecord:
        """Read the job's record from the server (unless it is final); returns it."""
        if not self.in_final_state():
            answer = self._runtime._http.request("GET", f"/jobs/{self.id}")
            self._absorb(JobRecord.from_json(answer["job"]))
        return self._record

    def add_done_callback(self, fn: Callable[[RemoteJob], object]) -> None:
        """Call ``fn(job)`` once the job is final (at once if it already is).

        Callbacks run in the thread that sees the job final (a waiter or this job's
        watcher thread); they must not block waiting for other jobs.
        """
        with self._lock:
            if self._record.status not in FINAL_STATES:
                self._callbacks.append(fn)
                if self._watcher is None:
                    self._watcher = threading.Thread(
                        target=self._watch, name=f"qsession-watch-{self.id}", daemon=True
                    )
                    self._watcher.start()
                return
        fn(self)

    # -- updates from answers (the runtime and this handle only) ------------------------------
    def _absorb(self, record: JobRecord, answer: dict[str, Any] | None = None) -> None:
        """Take a newer record (and a wait/submit answer's result); run callbacks if final."""
        callbacks: list[Callable[[RemoteJob], object]] = []
        with self._lock:
            if self._record.status not in FINAL_STATES:
                self._record = record
            elif record.status in FINAL_STATES:
                self._record = record  # name, tags and metadata may still change
            if answer is not None and self._record.status is JobStatus.DONE:
                if not self._has_result_text and "result" in answer:
                    self._result_text = answer["result"]
                    self._has_result_text = True
            if self._record.status in FINAL_STATES:
                callbacks, self._callbacks = self._callbacks, []
        for fn in callbacks:
            fn(self)

    def _poll(self, timeout: float | None, *, passive: bool = False) -> bool:
        """One long-poll: the server answers when the job is final or its wait ended."""
        wait = LONG_POLL if timeout is None else min(timeout, LONG_POLL)
        body: dict[str, Any] = {"timeout": timeout}
        if passive:
            body["passive"] = True
        answer = self._runtime._http.request(
            "POST", f"/jobs/{self.id}/wait", body=body, wait=wait, retry=True
        )
        self._absorb(JobRecord.from_json(answer["job"]), answer)
        return self.in_final_state()

    def _watch(self) -> None:
        """The watcher thread: long-poll passively until final (callbacks run in
        :meth:`_absorb`); a server without passive waits gets ordinary ones."""
        try:
            while not self.in_final_state():
                if not self._runtime._passive_waits:
                    self.wait()
                    return
                try:
                    self._poll(None, passive=True)
                except InputError as exc:
                    if "passive" not in str(exc):
                        raise
                    self._runtime._passive_waits = False
        except Exception:  # the runtime was shut down or the server went away
            pass

    def __repr__(self) -> str:
        r = self._record
        return f"<RemoteJob {r.id} {r.program_id} on {r.device} {r.status.value}>"
