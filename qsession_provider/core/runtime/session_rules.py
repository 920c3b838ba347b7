"""The session rules: what job events, timers, ``close()`` and ``cancel()`` do to a session.

Each rule is the services' documented behaviour (see ``DESIGN.md``, "Rules to honour"):

* **Start**: a session starts when its first job *begins execution*; ``started_at`` is
  set and the ``max_ttl`` timer starts then (not at open).
* **Max TTL**: when it fires the session closes (``timed_out``); queued jobs fail
  (``ERROR``, ``session_expired``); running jobs finish; new jobs are rejected.
* **Interactive TTL** (dedicated only): once nothing of the session is queued or running,
  the device waits ``interactive_ttl`` for its next job; then the session goes
  ``inactive`` and the device returns to fair share. The next session job queues like any
  other and re-activates the session when it starts.
* **Idle timeout**: no job submitted for ``idle_timeout`` after opening (IBM, 30 min) - or,
  with ``idle_scope="any"``, after the last job ended (Azure, 10 min) - closes the
  session as timed out.
* **close()**: stop accepting; outstanding jobs run (``draining``); then ``closed``.
* **cancel()**: closed at once; queued jobs fail; running jobs finish.
* **Root job**: cancelling the first job of a session fails its queued jobs and closes it
  (``close_on_root_cancel``, the IBM rule).
* **Failure policy**: under ``abort`` a failed job closes the session (``failed``): queued
  jobs and, where the device allows, running jobs are cancelled. Under ``continue`` the
  session only records ``failed``.
* **Active TTL** (dedicated only, optional): the session closes once it has held the
  device for ``active_ttl`` seconds in total.

The rules own the runtime's :class:`~.scheduler.Scheduler` (they drop jobs and release
devices through it) and build it with themselves as its
:class:`~.scheduler.SessionHooks`: the scheduler tells them when a session's job starts
and ends. All methods run under the runtime lock; timer callbacks take it themselves.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from ...errors import InputError, SessionClosedError
from ..clock import Timer
from ..job import Job, JobErrorCode, JobStatus
from ..session import (
    TIMED_OUT_REASONS,
    CloseReason,
    FailurePolicy,
    IdleScope,
    SessionRecord,
    SessionState,
)
from .context import RuntimeContext
from .live_session import LiveSession
from .scheduler import Scheduler, SessionHooks

__all__ = ["SessionRules", "why_closed"]

_log = logging.getLogger(__name__)

_FAILURE_CODES = frozenset(
    {JobErrorCode.EXECUTION_FAILED.value, JobErrorCode.MAX_EXECUTION_TIME.value}
)


class SessionRules:
    """Applies the session rules for the sessions this runtime owns (internal).

    Args:
        ctx: the shared runtime context.
        make_scheduler: builds the scheduler the rules drop jobs and release devices
            through, given the hooks it reports job starts and ends to (the rules).
    """

    def __init__(
        self, ctx: RuntimeContext, make_scheduler: Callable[[SessionHooks], Scheduler]
    ) -> None:
        self.ctx = ctx
        self.sessions: dict[str, LiveSession] = {}
        self.scheduler = make_scheduler(self)

    # -- opening and submitting ------------------------------------------------------------------
    def open(self, record: SessionRecord) -> LiveSession:
        """Store a new session and start its idle timer."""
        self.ctx.store.add_session(record)
        session = LiveSession(record)
        self.sessions[record.id] = session
        self.ctx.emitter.post("session_state_changed", record, None, record.state)
        if record.idle_timeout is not None:
            self._arm(session, "idle", record.created_at + record.idle_timeout)
        return session

    def check_accepts(self, session: LiveSession, device_name: str) -> None:
        """Refuse a submission the session cannot take.

        Raises:
            SessionClosedError: the session does not accept jobs (says why).
            InputError: the job is for another device.
        """
        r = session.record
        if not r.accepting_jobs:
            raise SessionClosedError(f"session {r.id} {why_closed(r)}; it does not accept new jobs")
        if r.device != device_name:
            raise InputError(
                f"session {r.id} runs on device {r.device!r}; a job for {device_name!r} "
                "cannot join it"
            )

    def job_submitted(self, session: LiveSession, job: Job) -> None:
        """A job joined the session: the session is no longer idle."""
        session.queued += 1
        self._cancel(session, "idle")
        self._cancel(session, "interactive")
        if session.record.root_job_id is None:
            session.update(root_job_id=job.id)
            self._save(session)

    # -- job events (from the scheduler) ---------------------------------------------------------
    def job_started(
        self, session: LiveSession, job: Job, now: float, *, persist: bool = True
    ) -> None:
        """A job of the session began executing.

        ``persist=False`` (a small job, see :mod:`.scheduler`) leaves the store's copy of the
        record to the job's end, which saves it anyway.
        """
        session.queued -= 1
        session.running += 1
        record = session.record
        if record.started_at is None:
            session.update(last_job_started=now, started_at=now)
            self._arm(session, "max_ttl", now + record.max_ttl)
        else:
            session.update(last_job_started=now)
        if record.state in (SessionState.OPEN, SessionState.INACTIVE):
            self._move(session, SessionState.ACTIVE, now, activated_at=now)
        elif record.state is SessionState.DRAINING and record.active_since is None:
            session.update(activated_at=now)
        if session.dedicated and session.record.active_since is None:
            session.start_holding(now)
            if record.active_ttl is not None:
                left = max(0.0, record.active_ttl - session.record.usage_time)
                self._arm(session, "active_ttl", now + left)
        if persist:
            self._save(session)

    def job_ended(self, session: LiveSession, job: Job, now: float, *, was_running: bool) -> None:
        """A job of the session reached a final state through execution or cancellation."""
        if was_running:
            session.running -= 1
            session.update(last_job_completed=now)
            session.add_usage(job.record.execution_time or 0.0)
        else:
            session.queued -= 1
        r = job.record
        failed = r.status is JobStatus.ERROR and r.error_code in _FAILURE_CODES
        if failed:
            session.update(failed=True)
        if session.state is not SessionState.CLOSED:
            if failed and session.record.failure_policy is FailurePolicy.ABORT:
                self._close(
                    session,
                    CloseReason.JOB_FAILED,
                    now,
                    queued=(
                        JobStatus.CANCELLED,
                        JobErrorCode.SESSION_FAILED,
                        f"cancelled: job {job.id} of the session failed and its "
                        "failure policy is abort",
                    ),
                    cancel_running=True,
                )
            elif (
                r.status is JobStatus.CANCELLED
                and r.error_code == JobErrorCode.CANCELLED_BY_USER.value
                and job.id == session.record.root_job_id
                and session.record.close_on_root_cancel
            ):
                self._close(
                    session,
                    CloseReason.ROOT_JOB_CANCELLED,
                    now,
                    queued=(
                        JobStatus.ERROR,
                        JobErrorCode.ROOT_JOB_CANCELLED,
                        f"the session's root job {job.id} was cancelled",
                    ),
                )
            elif session.outstanding == 0:
                self._became_idle(session, now)
        self._save(session)
        self._forget_if_done(session)

    # -- user actions -----------------------------------------------------------------------------
    def close(self, session: LiveSession) -> None:
        """Stop accepting jobs; close now if nothing is outstanding, else drain."""
        if session.state is SessionState.CLOSED:
            return
        now = self.ctx.clock.now()
        self._cancel(session, "idle")
        self._cancel(session, "interactive")
        session.update(accepting_jobs=False)
        if session.outstanding == 0:
            self._close(session, CloseReason.CLOSED, now)
            return
        if session.state is not SessionState.DRAINING:
            self._move(session, SessionState.DRAINING, now)
        self._save(session)
        # A draining holder no longer needs its interactive window: let others fill gaps.
        self.scheduler.dispatch(session.record.device)

    def cancel(self, session: LiveSession) -> None:
        """Close at once; queued jobs fail; running jobs finish."""
        if session.state is SessionState.CLOSED:
            return
        self._close(
            session,
            CloseReason.CANCELLED,
            self.ctx.clock.now(),
            queued=(
                JobStatus.ERROR,
                JobErrorCode.SESSION_CANCELLED,
                "the session was cancelled before the job started",
            ),
        )

    def shutdown(self, session: LiveSession) -> None:
        """The runtime is going away: close the session without touching its jobs."""
        if session.state is not SessionState.CLOSED:
            self._close(session, CloseReason.SHUTDOWN, self.ctx.clock.now())

    def abandon(self, session: LiveSession) -> None:
        """The runtime is going away and leaves the session open in the store, for a later
        runtime to adopt (``shutdown(keep_queued=True)``): stop its timers, forget it."""
        for kind in list(session.timers):
            self._cancel(session, kind)
        self._save(session)
        self.sessions.pop(session.id, None)

    # -- adoption (a runtime taking over the work of a process that is gone) ----------------------
    def adopt(self, record: SessionRecord) -> LiveSession:
        """Make an open session of the store live here (the store already gave it to us).

        Call :meth:`rearm` once its jobs are queued again.
        """
        session = LiveSession(record)
        self.sessions[record.id] = session
        return session

    def rearm(self, session: LiveSession) -> None:
        """Arm an adopted session's timers from its record's times (past ones fire at once)."""
        r = session.record
        if r.state is SessionState.CLOSED:
            return
        if r.started_at is not None:
            self._arm(session, "max_ttl", r.started_at + r.max_ttl)
        if session.dedicated and r.active_ttl is not None and r.active_since is not None:
            self._arm(session, "active_ttl", r.active_since + r.active_ttl - r.usage_time)
        if session.outstanding:
            return
        now = self.ctx.clock.now()
        if r.state is SessionState.DRAINING:
            self._close(session, CloseReason.CLOSED, now)
            return
        if r.idle_timeout is not None:
            if r.root_job_id is None:
                self._arm(session, "idle", r.created_at + r.idle_timeout)
            elif r.idle_scope is IdleScope.ANY:
                self._arm(session, "idle", (r.last_job_completed or r.created_at) + r.idle_timeout)
        if r.state is SessionState.ACTIVE and session.dedicated:
            since = r.last_job_completed or r.activated_at or now
            self._arm(session, "interactive", since + r.interactive_ttl)

    # -- timers -----------------------------------------------------------------------------------
    def _on_timer(self, session: LiveSession, kind: str, timer: Timer) -> None:
        with self.ctx.locked():
            if session.timers.get(kind) is not timer:
                return  # re-armed or cancelled since it was set
            del session.timers[kind]
            now = self.ctx.clock.now()
            state = session.state
            if state is SessionState.CLOSED:
                return
            if kind == "interactive":
                if state is SessionState.ACTIVE and session.outstanding == 0:
                    self._deactivate(session, now)
            elif kind == "max_ttl":
                self._close(
                    session,
                    CloseReason.MAX_TTL,
                    now,
                    queued=(
                        JobStatus.ERROR,
                        JobErrorCode.SESSION_EXPIRED,
                        f"the session reached its maximum time of "
                        f"{session.record.max_ttl:g} s before the job started",
                    ),
                )
            elif kind == "active_ttl":
                self._close(
                    session,
                    CloseReason.ACTIVE_TTL,
                    now,
                    queued=(
                        JobStatus.ERROR,
                        JobErrorCode.SESSION_EXPIRED,
                        f"the session used up its active time of "
                        f"{session.record.active_ttl:g} s before the job started",
                    ),
                )
            elif kind == "idle" and session.outstanding == 0:
                self._close(session, CloseReason.IDLE_TIMEOUT, now)

    def _arm(self, session: LiveSession, kind: str, when: float) -> None:
        self._cancel(session, kind)
        box: list[Timer] = []
        timer = self.ctx.clock.call_at(when, lambda: self._on_timer(session, kind, box[0]))
        box.append(timer)
        session.timers[kind] = timer

    def _cancel(self, session: LiveSession, kind: str) -> None:
        timer = session.timers.pop(kind, None)
        if timer is not None:
            timer.cancel()

    # -- transitions ------------------------------------------------------------------------------
    def _became_idle(self, session: LiveSession, now: float) -> None:
        """Nothing of the session is queued or running any more."""
        state = session.state
        if state is SessionState.DRAINING:
            self._close(session, CloseReason.CLOSED, now)
            return
        if state is SessionState.ACTIVE and session.dedicated:
            self._arm(session, "interactive", now + session.record.interactive_ttl)
        r = session.record
        if r.idle_timeout is not None and r.idle_scope is IdleScope.ANY:
            self._arm(session, "idle", now + r.idle_timeout)

    def _deactivate(self, session: LiveSession, now: float) -> None:
        self._cancel(session, "active_ttl")
        session.stop_holding(now)
        self._move(session, SessionState.INACTIVE, now)
        self._save(session)
        self.scheduler.release(session)

    def _close(
        self,
        session: LiveSession,
        reason: CloseReason,
        now: float,
        *,
        queued: tuple[JobStatus, JobErrorCode, str] | None = None,
        cancel_running: bool = False,
    ) -> None:
        for kind in list(session.timers):
            self._cancel(session, kind)
        session.stop_holding(now)
        self._move(
            session,
            SessionState.CLOSED,
            now,
            closed_at=now,
            accepting_jobs=False,
            close_reason=reason,
            timed_out=reason in TIMED_OUT_REASONS,
        )
        if queued is not None:
            self.scheduler.drop_queued(session, *queued)
        if cancel_running:
            self.scheduler.cancel_running(
                session, JobErrorCode.SESSION_FAILED, "cancelled: the session failed (abort policy)"
            )
        self._save(session)
        self.scheduler.release(session)
        self._forget_if_done(session)

    def _move(self, session: LiveSession, state: SessionState, now: float, **changes: Any) -> None:
        old = session.move(state, now, **changes)
        self.ctx.emitter.post("session_state_changed", session.record, old, state)

    def _save(self, session: LiveSession) -> None:
        try:
            if not self.ctx.store.update_session(session.record):
                _log.warning("session %s was closed in the store by another process", session.id)
        except Exception:
            _log.exception("could not persist session %s", session.id)

    def _forget_if_done(self, session: LiveSession) -> None:
        if session.state is SessionState.CLOSED and session.outstanding == 0:
            self.sessions.pop(session.id, None)


def why_closed(r: SessionRecord) -> str:
    """Human wording for a session that no longer accepts jobs."""
    if r.state is not SessionState.CLOSED:
        return "is closing (close() was called)"
    return {
        CloseReason.CLOSED: "is closed",
        CloseReason.CANCELLED: "was cancelled",
        CloseReason.MAX_TTL: f"is closed: it reached its maximum time ({r.max_ttl:g} s)",
        CloseReason.ACTIVE_TTL: "is closed: it used up its active time",
        CloseReason.IDLE_TIMEOUT: "timed out: no job was submitted for "
        f"{(r.idle_timeout or 0):g} s",
        CloseReason.JOB_FAILED: "failed: a job failed and the failure policy is abort",
        CloseReason.ROOT_JOB_CANCELLED: "is closed: its root job was cancelled",
        CloseReason.OWNER_EXITED: "is closed: the process that owned it exited",
        CloseReason.SHUTDOWN: "is closed: its runtime shut down",
    }.get(r.close_reason or CloseReason.CLOSED, "is closed")
