"""The runtime's mutable side of one open session: its record, job counts and timers.

The store and the faces see a session as an immutable
:class:`~qsession_provider.core.session.SessionRecord`. While the session lives in this
runtime, a :class:`LiveSession` holds its current record together with what is never
stored: how many of its jobs are queued and running, and its armed timers. The session
rules (:mod:`.session_rules`) change it; the scheduler and the queues read it.
"""

from __future__ import annotations

from typing import Any

from ...errors import SessionError
from ..clock import Timer
from ..session import TRANSITIONS, SessionMode, SessionRecord, SessionState

__all__ = ["LiveSession"]


class LiveSession:
    """One session this runtime owns (guarded by the runtime lock; internal).

    Args:
        record: the session's record when it was opened.
    """

    def __init__(self, record: SessionRecord) -> None:
        self.record = record
        #: Jobs of the session waiting in a device queue.
        self.queued = 0
        #: Jobs of the session occupying a slot.
        self.running = 0
        #: Armed timers by kind (``idle``, ``max_ttl``, ``interactive``, ``active_ttl``).
        self.timers: dict[str, Timer] = {}

    @property
    def id(self) -> str:
        """The session id."""
        return self.record.id

    @property
    def state(self) -> SessionState:
        """The current state."""
        return self.record.state

    @property
    def outstanding(self) -> int:
        """Jobs queued or running."""
        return self.queued + self.running

    @property
    def dedicated(self) -> bool:
        """True for a dedicated session (not a batch)."""
        return self.record.mode is SessionMode.DEDICATED

    def update(self, **changes: Any) -> None:
        """Change non-state fields of the record."""
        self.record = self.record.replace(**changes)

    def move(self, state: SessionState, now: float, **changes: Any) -> SessionState:
        """Change state (checked against :data:`~qsession_provider.core.session.TRANSITIONS`)
        and log the timestamp.

        Returns:
            The previous state.

        Raises:
            SessionError: the transition is not allowed.
        """
        old = self.record.state
        if state not in TRANSITIONS[old]:
            raise SessionError(f"session {self.id}: cannot go from {old.value} to {state.value}")
        self.record = self.record.replace(
            state=state,
            timestamps=self.record.timestamps + ((state, now),),
            **changes,
        )
        return old

    def start_holding(self, now: float) -> None:
        """A dedicated session took the device: start counting its active stretch."""
        if self.dedicated and self.record.active_since is None:
            self.update(active_since=now)

    def stop_holding(self, now: float) -> None:
        """The session gave the device back; its active stretch counts as usage."""
        since = self.record.active_since
        if since is not None and self.dedicated:
            self.update(usage_time=self.record.usage_time + max(0.0, now - since))
        self.update(active_since=None)

    def add_usage(self, seconds: float) -> None:
        """Batch sessions are charged the execution time of each job."""
        if not self.dedicated:
            self.update(usage_time=self.record.usage_time + max(0.0, seconds))

    def __repr__(self) -> str:
        counts = f"queued={self.queued} running={self.running}"
        return f"<LiveSession {self.id} {self.state.value} {counts}>"
