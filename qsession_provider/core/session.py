"""Sessions and batches: the state machine, its record, and the flags both dialects read.

=========  ===============================================  ===========================
state      meaning                                          IBM ``status()``
=========  ===============================================  ===========================
open       created, no job started yet                      Pending
active     a job started; a dedicated session holds the     In progress, accepting new
           device                                           jobs
inactive   interactive TTL passed with nothing queued;      Pending
           the device went back to the fair-share queue
draining   ``close()`` called (not accepting); outstanding  In progress, not accepting
           jobs still run                                   new jobs
closed     drained, cancelled, timed out, expired, failed   Closed
=========  ===============================================  ===========================

The Azure dialect reads ``failed`` (a job failed: ``Failure(s)`` while open, ``Failed``
once closed) and ``timed_out`` (``TimedOut`` wins). :class:`SessionRecord` is the
immutable snapshot the store keeps and the runtime hands out. The runtime's mutable side
of a session, whose transitions are checked against :data:`TRANSITIONS`, is
:class:`~qsession_provider.core.runtime.live_session.LiveSession`; the rules that drive
the transitions live in :mod:`qsession_provider.core.runtime.session_rules`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from .record import Record, field_names
from .text_enum import TextEnum

__all__ = [
    "SessionState",
    "SessionMode",
    "FailurePolicy",
    "IdleScope",
    "CloseReason",
    "TRANSITIONS",
    "TIMED_OUT_REASONS",
    "SessionRecord",
    "DEFAULT_MAX_TTL",
    "DEFAULT_INTERACTIVE_TTL",
    "DEFAULT_IDLE_TIMEOUT",
]

#: Default maximum session time: 8 hours (IBM's historical limit for physical QPUs).
DEFAULT_MAX_TTL = 8 * 3600.0
#: Default interactive TTL: 5 minutes (IBM's documented session idle window).
DEFAULT_INTERACTIVE_TTL = 300.0
#: Default idle-open timeout: 30 minutes (IBM). The Azure dialect passes 10 minutes.
DEFAULT_IDLE_TIMEOUT = 1800.0


class SessionState(TextEnum):
    """Core session state (see the module table)."""

    OPEN = "open"
    ACTIVE = "active"
    INACTIVE = "inactive"
    DRAINING = "draining"
    CLOSED = "closed"


class SessionMode(TextEnum):
    """``dedicated`` (IBM ``Session``) or ``batch`` (IBM ``Batch``)."""

    DEDICATED = "dedicated"
    BATCH = "batch"


class FailurePolicy(TextEnum):
    """What a failed job does to its session (Azure ``SessionJobFailurePolicy``)."""

    #: A failed job ends the session: queued and running jobs are cancelled.
    ABORT = "abort"
    #: The session keeps accepting jobs; it only records that a job failed.
    CONTINUE = "continue"


class IdleScope(TextEnum):
    """When the idle timeout applies."""

    #: Only before the first job is submitted (IBM: "opened but no job for 30 min").
    OPEN = "open"
    #: Whenever nothing is queued or running and nothing was submitted for that long
    #: (Azure: "no new job submitted within the session for 10 minutes").
    ANY = "any"


class CloseReason(TextEnum):
    """Why a session is closed."""

    #: ``close()`` was called and every outstanding job finished.
    CLOSED = "closed"
    #: ``cancel()`` was called.
    CANCELLED = "cancelled"
    #: ``max_ttl`` seconds passed since the first job started.
    MAX_TTL = "max_ttl"
    #: ``active_ttl`` seconds of active time were used up.
    ACTIVE_TTL = "active_ttl"
    #: Nothing was submitted for ``idle_timeout`` seconds.
    IDLE_TIMEOUT = "idle_timeout"
    #: A job failed under the ``abort`` policy.
    JOB_FAILED = "job_failed"
    #: The root (first) job was cancelled.
    ROOT_JOB_CANCELLED = "root_job_cancelled"
    #: The process that owned the session exited without closing it.
    OWNER_EXITED = "owner_exited"
    #: The runtime shut down.
    SHUTDOWN = "shutdown"


#: Reasons that make a closed session "timed out" (Azure ``TimedOut``).
TIMED_OUT_REASONS = frozenset(
    {CloseReason.MAX_TTL, CloseReason.ACTIVE_TTL, CloseReason.IDLE_TIMEOUT}
)

_S = SessionState
TRANSITIONS: Mapping[SessionState, frozenset[SessionState]] = {
    _S.OPEN: frozenset({_S.ACTIVE, _S.DRAINING, _S.CLOSED}),
    _S.ACTIVE: frozenset({_S.INACTIVE, _S.DRAINING, _S.CLOSED}),
    _S.INACTIVE: frozenset({_S.ACTIVE, _S.DRAINING, _S.CLOSED}),
    _S.DRAINING: frozenset({_S.CLOSED}),
    _S.CLOSED: frozenset(),
}


@dataclass(frozen=True)
class SessionRecord(Record):
    """An immutable snapshot of a session: what the store keeps and the faces read.

    Attributes:
        id: session id.
        device: the device every job of the session runs on.
        mode: dedicated or batch.
        state: see :class:`SessionState`.
        accepting_jobs: False once closing, closed, cancelled or failed (abort).
        failure_policy: abort or continue.
        name, instance, tags, metadata: labels (metadata is free data for faces).
        created_at: when the session was opened.
        started_at: when its first job began execution (the max-TTL clock starts here).
        activated_at: the last time it became active (took the device).
        last_job_started, last_job_completed: job timestamps.
        closed_at: when it reached ``closed``.
        max_ttl: maximum lifetime in seconds, counted from ``started_at``.
        interactive_ttl: seconds the device waits for the next job of an active
            dedicated session before the session is deactivated.
        active_ttl: maximum seconds of active time, or None for no separate limit.
        idle_timeout: seconds without submissions before the session times out, or None.
        idle_scope: when ``idle_timeout`` applies (see :class:`IdleScope`).
        usage_time: seconds used so far (dedicated: time holding the device; batch:
            summed job execution time), not counting the current active stretch.
        active_since: start of the current stretch of holding the device, or None.
        failed: a job of the session failed.
        timed_out: the session closed because of a time limit.
        close_reason: a :class:`CloseReason` value once closed.
        root_job_id: the first job submitted to the session.
        close_on_root_cancel: cancelling the root job closes the session (IBM rule).
        timestamps: ``(state, time)`` for every state change, oldest first.
        owner: id of the runtime process that owns the session.
        user: the authenticated user who opened it through a service ("" for embedded
            use); only that user's jobs may join it.
    """

    id: str
    device: str
    mode: SessionMode
    state: SessionState
    created_at: float
    accepting_jobs: bool = True
    failure_policy: FailurePolicy = FailurePolicy.CONTINUE
    name: str = ""
    instance: str = "default"
    tags: tuple[str, ...] = ()
    started_at: float | None = None
    activated_at: float | None = None
    last_job_started: float | None = None
    last_job_completed: float | None = None
    closed_at: float | None = None
    max_ttl: float = DEFAULT_MAX_TTL
    interactive_ttl: float = DEFAULT_INTERACTIVE_TTL
    active_ttl: float | None = None
    idle_timeout: float | None = DEFAULT_IDLE_TIMEOUT
    idle_scope: IdleScope = IdleScope.OPEN
    usage_time: float = 0.0
    active_since: float | None = None
    failed: bool = False
    timed_out: bool = False
    close_reason: CloseReason | None = None
    root_job_id: str | None = None
    close_on_root_cancel: bool = True
    timestamps: tuple[tuple[SessionState, float], ...] = ()
    owner: str = ""
    user: str = ""
    metadata: dict[str, Any] = field(default_factory=dict)

    @property
    def is_closed(self) -> bool:
        """True once the session reached ``closed``."""
        return self.state is SessionState.CLOSED

    def usage(self, now: float) -> float:
        """Seconds used at time ``now``, including the current active stretch."""
        extra = 0.0 if self.active_since is None else max(0.0, now - self.active_since)
        return self.usage_time + extra

    def expires_at(self) -> float | None:
        """When the max-TTL timer fires, or None before the first job started."""
        return None if self.started_at is None else self.started_at + self.max_ttl

    def _encode_fields(self, data: dict[str, Any]) -> None:
        for key in ("mode", "state", "failure_policy", "idle_scope", "close_reason"):
            data[key] = None if data[key] is None else data[key].value
        data["timestamps"] = [[state.value, when] for state, when in self.timestamps]

    @classmethod
    def _decode_fields(cls, values: dict[str, Any]) -> None:
        values["mode"] = SessionMode(values["mode"])
        values["state"] = SessionState(values["state"])
        values["failure_policy"] = FailurePolicy(values["failure_policy"])
        values["idle_scope"] = IdleScope(values["idle_scope"])
        reason = values.get("close_reason")
        values["close_reason"] = None if reason is None else CloseReason(reason)
        values["timestamps"] = tuple(
            (SessionState(state), float(when)) for state, when in values.get("timestamps") or ()
        )


SessionRecord._FIELDS = field_names(SessionRecord)
