"""The session half of the :class:`~.runtime.Runtime` facade: open, read, close, cancel."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import SessionClosedError, SessionError, SessionNotFoundError
from ..clock import Clock
from ..device import DeviceRegistry
from ..session import (
    DEFAULT_IDLE_TIMEOUT,
    DEFAULT_INTERACTIVE_TTL,
    DEFAULT_MAX_TTL,
    FailurePolicy,
    IdleScope,
    SessionMode,
    SessionRecord,
    SessionState,
)
from ..store.processes import ProcessRecord
from ..store.protocol import SessionQuery, Store
from . import checks as args
from .checks import coerce_enum
from .context import RuntimeContext
from .ids import new_id
from .live_session import LiveSession
from .session_rules import SessionRules, why_closed

__all__ = ["SessionsAPI"]

_DEFAULT: Any = object()


class SessionsAPI:
    """Session methods of :class:`~.runtime.Runtime` (a mixin; the state is set up there)."""

    clock: Clock
    store: Store
    _ctx: RuntimeContext
    _devices: DeviceRegistry
    _rules: SessionRules
    _process: ProcessRecord

    if TYPE_CHECKING:  # provided by Runtime

        def _check_open(self) -> None: ...

    # -- public ---------------------------------------------------------------------------------
    def open_session(
        self,
        device: str,
        *,
        mode: SessionMode | str = SessionMode.DEDICATED,
        max_ttl: float | str | None = None,
        interactive_ttl: float | str | None = None,
        active_ttl: float | str | None = None,
        idle_timeout: Any = _DEFAULT,
        idle_scope: IdleScope | str = IdleScope.OPEN,
        failure_policy: FailurePolicy | str = FailurePolicy.CONTINUE,
        name: str = "",
        instance: str = "default",
        tags: Iterable[str] = (),
        session_id: str | None = None,
        close_on_root_cancel: bool = True,
        metadata: Mapping[str, Any] | None = None,
        user: str = "",
    ) -> SessionRecord:
        """Open a session (``mode="dedicated"``) or batch (``mode="batch"``) on a device.

        Args:
            device: device name.
            mode: ``dedicated`` or ``batch``.
            max_ttl: maximum session time, from its first job's start (default 8 h).
            interactive_ttl: interactive window of a dedicated session (default 5 min).
            active_ttl: maximum total active time (dedicated), or None.
            idle_timeout: close if no job is submitted for this long (default 30 min);
                None disables it.
            idle_scope: ``open`` (only before the first job) or ``any``.
            failure_policy: ``continue`` (default) or ``abort``.
            name, instance, tags, metadata: labels.
            session_id: an id chosen by the caller (default: a new UUID).
            close_on_root_cancel: cancelling the first job closes the session.
            user: the authenticated user opening it through a service ("" for embedded
                use); only this user's jobs may join it.

        Returns:
            The new session's record.

        Raises:
            DeviceNotFoundError: unknown device.
            InputError: invalid arguments.
            PlanError: a dedicated session for an instance on the ``open`` plan.
        """
        self._check_open()
        self._devices.get(device)
        record = SessionRecord(
            id=new_id(session_id, "session_id"),
            device=device,
            mode=coerce_enum(SessionMode, mode, "session mode"),
            state=SessionState.OPEN,
            created_at=0.0,
            failure_policy=coerce_enum(FailurePolicy, failure_policy, "failure policy"),
            name=args.check_text(name, "name"),
            instance=args.check_name(instance, "instance"),
            tags=args.check_tags(tags),
            max_ttl=args.positive_duration(max_ttl, DEFAULT_MAX_TTL, "max_ttl"),
            interactive_ttl=args.positive_duration(
                interactive_ttl, DEFAULT_INTERACTIVE_TTL, "interactive_ttl"
            ),
            active_ttl=None
            if active_ttl is None
            else args.positive_duration(active_ttl, 0.0, "active_ttl"),
            idle_timeout=(
                DEFAULT_IDLE_TIMEOUT
                if idle_timeout is _DEFAULT
                else None
                if idle_timeout is None
                else args.positive_duration(idle_timeout, 0.0, "idle_timeout")
            ),
            idle_scope=coerce_enum(IdleScope, idle_scope, "idle scope"),
            close_on_root_cancel=bool(close_on_root_cancel),
            owner=self._process.id,
            user=args.check_text(user, "user"),
            metadata=dict(metadata or {}),
        )
        args.check_storable(record.metadata, "metadata")
        with self._ctx.locked():
            self._check_open()
            allowances = self._scheduler.allowances
            if allowances is not None:  # the Open plan has no session mode
                allowances.check_session(record.instance, record.mode)
            now = self.clock.now()
            record = record.replace(created_at=now, timestamps=((SessionState.OPEN, now),))
            return self._rules.open(record).record

    def session(self, session_id: str) -> SessionRecord:
        """The current record of a session (any process's).

        Raises:
            SessionNotFoundError: no such session.
        """
        with self._ctx.locked():
            live = self._rules.sessions.get(session_id)
            if live is not None:
                return live.record
        return self.store.get_session(session_id)

    def sessions(
        self,
        *,
        device: str | None = None,
        state: SessionState | str | Iterable[SessionState | str] | None = None,
        mode: SessionMode | str | None = None,
        instance: str | None = None,
        name_prefix: str | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
        owner: str | None = None,
        limit: int | None = None,
        skip: int = 0,
        descending: bool = True,
        user: str | None = None,
    ) -> list[SessionRecord]:
        """Session records in the store matching every given filter (newest first).

        ``user`` keeps one user's sessions (``""``: embedded ones).
        """
        states = None
        if state is not None:
            items = [state] if isinstance(state, (str, SessionState)) else list(state)
            states = frozenset(coerce_enum(SessionState, s, "session state") for s in items)
        query = SessionQuery(
            device=device,
            states=states,
            mode=None if mode is None else coerce_enum(SessionMode, mode, "session mode"),
            instance=instance,
            name_prefix=name_prefix,
            owner=owner,
            user=user,
            descending=descending,
            **args.window(created_after, created_before, limit, skip),
        )
        # Under the runtime lock, so a listing never sees a job finished but its session
        # not yet updated (both happen in one locked step).
        with self._ctx.lock:
            return self.store.query_sessions(query)

    def close_session(self, session_id: str) -> SessionRecord:
        """Stop accepting jobs; outstanding jobs finish, then the session closes.

        Closing a closed session does nothing. Returns the updated record.
        """
        with self._ctx.locked():
            session = self._owned_session(session_id)
            if session is not None:
                self._rules.close(session)
                return session.record
        return self.store.get_session(session_id)

    def cancel_session(self, session_id: str) -> SessionRecord:
        """Close the session now: queued jobs fail, running jobs finish."""
        with self._ctx.locked():
            session = self._owned_session(session_id)
            if session is not None:
                self._rules.cancel(session)
                return session.record
        return self.store.get_session(session_id)

    def _session_for_submit(self, session_id: str, device: str, user: str) -> LiveSession:
        """The live session a job of ``user`` joins (another user's session is not found)."""
        session = self._rules.sessions.get(session_id)
        if session is None:
            record = self.store.get_session(session_id)  # SessionNotFoundError if unknown
            if user and record.user != user:
                raise SessionNotFoundError(f"no session with id {session_id!r}")
            if not record.accepting_jobs:
                raise SessionClosedError(
                    f"session {session_id} {why_closed(record)}; it does not accept new jobs"
                )
            raise SessionError(
                f"session {session_id} belongs to another process; submit its jobs there"
            )
        if user and session.record.user != user:
            raise SessionNotFoundError(f"no session with id {session_id!r}")
        self._rules.check_accepts(session, device)
        return session

    def _owned_session(self, session_id: str) -> LiveSession | None:
        session = self._rules.sessions.get(session_id)
        if session is not None:
            return session
        record = self.store.get_session(session_id)  # SessionNotFoundError if unknown
        if record.state is not SessionState.CLOSED and record.owner != self._process.id:
            raise SessionError(
                f"session {session_id} belongs to another process; close or cancel it there"
            )
        return None
