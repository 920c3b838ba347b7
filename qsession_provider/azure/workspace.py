"""The Azure Quantum ``Workspace``, over the local runtime.

A workspace is a view of one store's runtime - the runtime every face on that store
shares (:func:`qsession_provider.client.open_runtime`). The cloud arguments
(subscription, resource group, name, location, credential, ...) are accepted and kept
for display only; ``store``/``clock`` (or ``runtime``) choose the local runtime.
Sessions opened here are sessions of the runtime: a Qiskit service, a Cirq sampler or a
second workspace on the same store sees them and their jobs.

Sessions are opened as dedicated runtime sessions with Azure's rules: no job submitted for
10 minutes -> TimedOut; failure policy Abort (default) or Continue; cancelling the first
job does not close the session.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import TracebackType
from typing import Any

from ..client import open_runtime
from ..core.clock import Clock
from ..core.runtime.runtime import Runtime
from ..errors import InputError
from ._listing import check_orderby, matches, ordered
from ._mapping import (
    META_KEY,
    PROVIDER_ID,
    as_list,
    failure_policy,
    session_details,
)
from ._mapping import priority as coerce_priority
from ._workspace_jobs import WorkspaceJobs
from .enums import SessionStatus
from .job import Job
from .session import Session
from .target import Target

__all__ = ["Workspace", "AZURE_IDLE_TIMEOUT"]

#: A session with no job submitted for this long times out (Azure: 10 minutes).
AZURE_IDLE_TIMEOUT = 600.0

_RESOURCE_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Quantum/Workspaces/(?P<name>[^/]+)",
    re.IGNORECASE,
)


class Workspace(WorkspaceJobs):
    """An Azure Quantum workspace backed by the local runtime of a store.

    Args:
        subscription_id, resource_group, name, storage, resource_id, location,
            credential, user_agent: Azure coordinates, kept for display (a
            ``resource_id`` fills in subscription, resource group and name).
        store: the store path (None: ``$QSESSION_STORE`` or the user data directory;
            ``":memory:"``: one in-memory store per process).
        clock: the runtime's clock if this workspace creates it (e.g. a
            :class:`~qsession_provider.core.clock.VirtualClock`); see ``open_runtime``.
        runtime: use this runtime instead (then give neither ``store`` nor ``clock``).
        **kwargs: other cloud options, kept in :attr:`options`.

    Example:
        >>> from qsession_provider.azure import Workspace
        >>> workspace = Workspace(resource_id="/subscriptions/s/resourceGroups/rg/"
        ...     "providers/Microsoft.Quantum/Workspaces/ws", store=":memory:")  # doctest: +SKIP
        >>> target = workspace.get_targets("statevector")  # doctest: +SKIP
    """

    def __init__(
        self,
        subscription_id: str | None = None,
        resource_group: str | None = None,
        name: str | None = None,
        storage: str | None = None,
        resource_id: str | None = None,
        location: str | None = None,
        credential: Any = None,
        user_agent: str | None = None,
        *,
        store: str | None = None,
        clock: Clock | None = None,
        runtime: Runtime | None = None,
        **kwargs: Any,
    ) -> None:
        if runtime is not None and (store is not None or clock is not None):
            raise ValueError("pass either runtime or store/clock, not both")
        match = _RESOURCE_ID.search(resource_id or "")
        if resource_id and match is None:
            raise ValueError(f"Invalid resource id: {resource_id}")
        self.subscription_id = subscription_id or (match and match["sub"])
        self.resource_group = resource_group or (match and match["rg"])
        self.name = name or (match and match["name"])
        self.storage = storage
        self.location = location
        self.credential = credential
        self.user_agent = user_agent
        self.options = dict(kwargs)
        self._runtime = runtime if runtime is not None else open_runtime(store, clock=clock)

    @classmethod
    def from_connection_string(cls, connection_string: str, **kwargs: Any) -> Workspace:
        """A workspace from an Azure connection string (its fields are kept for display)."""
        fields = dict(part.split("=", 1) for part in connection_string.split(";") if "=" in part)
        endpoint = fields.get("QuantumEndpoint", "")
        location = re.match(r"https://([^.]+)\.quantum", endpoint)
        return cls(
            subscription_id=fields.get("SubscriptionId"),
            resource_group=fields.get("ResourceGroupName"),
            name=fields.get("WorkspaceName"),
            location=location.group(1) if location else None,
            **kwargs,
        )

    # -- the runtime -------------------------------------------------------------------
    @property
    def runtime(self) -> Runtime:
        """The local runtime behind this workspace (shared by every face on its store)."""
        return self._runtime

    @property
    def store(self) -> str:
        """Location of the store."""
        return self._runtime.store.location

    def close(self) -> None:
        """Nothing to release: the runtime is shared per store and stops at exit."""

    def __enter__(self) -> Workspace:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Workspace {self.name or 'local'!r} store={self.store!r}>"

    # -- targets -------------------------------------------------------------------------
    def get_targets(
        self, name: str | None = None, provider_id: str | None = None
    ) -> Target | list[Target]:
        """The runtime's devices as targets (new objects on every call).

        As in azure-quantum, one match gives a single :class:`Target` and anything else a
        list (so an unknown name gives ``[]``).
        """
        targets = [
            Target(self, d.name, provider_id=PROVIDER_ID, capability="BasicExecution")
            for d in self._runtime.devices()
            if (name is None or d.name.lower() == name.lower())
            and (provider_id is None or provider_id.lower() == PROVIDER_ID)
        ]
        return targets[0] if len(targets) == 1 else targets

    def get_quotas(self) -> list[dict[str, Any]]:
        """Quotas: none locally."""
        return []

    # -- sessions ------------------------------------------------------------------------
    def open_session(self, session: Session) -> None:
        """Open ``session`` in the runtime; replaces ``session.details``.

        Raises:
            DeviceNotFoundError: unknown target.
            InputError: a session with this id exists.
        """
        d = session.details
        if not d.target:
            raise InputError(f"session {d.id} has no target")
        policy = failure_policy(d.job_failure_policy)
        record = self._runtime.open_session(
            d.target,
            idle_timeout=AZURE_IDLE_TIMEOUT,
            idle_scope="any",
            failure_policy=policy.value.lower(),
            name=d.name or "",
            tags=d.tags or (),
            session_id=d.id,
            close_on_root_cancel=False,
            metadata={
                META_KEY: {
                    "provider_id": d.provider_id or PROVIDER_ID,
                    "priority": coerce_priority(d.priority).value,
                }
            },
        )
        session.details = session_details(record)

    def close_session(self, session: Session) -> None:
        """Close ``session`` unless it already ended (then just refresh it).

        Submitted jobs still run; the status becomes Succeeded (or Failed) once they end.
        The host target's ``latest_session`` (the same object, or one with this id) is
        updated too.
        """
        if session.is_in_terminal_state():
            record = self._runtime.session(session.id)
        else:
            record = self._runtime.close_session(session.id)
        session.details = session_details(record)
        host = session.target
        latest = getattr(host, "latest_session", None)
        if latest is not None and latest is not session and latest.id == session.id:
            latest.details = session.details

    def refresh_session(self, session: Session) -> None:
        """Replace ``session.details`` with the current ones."""
        session.details = session_details(self._runtime.session(session.id))

    def get_session(self, session_id: str) -> Session:
        """The session with this id (no target object attached).

        Raises:
            SessionNotFoundError: no such session.
        """
        return Session(self, details=session_details(self._runtime.session(session_id)))

    def list_sessions(
        self,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[Session]:
        """Every session of the store (all faces') matching the filters, oldest first.

        Raises:
            ValueError: an invalid ``orderby_property`` (see :meth:`list_jobs`) or status.
        """
        check_orderby(orderby_property)
        wanted = as_list(status)
        statuses = None if wanted is None else {SessionStatus(s) for s in wanted}
        records = self._runtime.sessions(
            created_after=created_after, created_before=created_before, descending=False
        )
        # The listing reads the store without the runtime lock: re-read open sessions so a
        # session closing right now is not reported in its previous state.
        sessions = [
            Session(
                self, details=session_details(r if r.is_closed else self._runtime.session(r.id))
            )
            for r in records
        ]
        sessions = [
            s
            for s in sessions
            if matches(s.details.provider_id, provider)
            and matches(s.details.target, target)
            and (statuses is None or s.details.status in statuses)
        ]
        return ordered(sessions, orderby_property, is_asc)

    def list_session_jobs(
        self,
        session_id: str,
        name_match: str | None = None,
        status: Any = None,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[Job]:
        """The jobs of a session, oldest first (``[]`` for an unknown id)."""
        check_orderby(orderby_property)
        jobs = self._jobs(name_match, status, None, None, session_id=session_id)
        return ordered(jobs, orderby_property, is_asc)

    def list_top_level_items(
        self,
        name_match: str | None = None,
        item_type: Any = None,
        job_type: Any = None,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[Job | Session]:
        """Sessions and the jobs outside any session, matching the filters, oldest first."""
        check_orderby(orderby_property)
        jobs = [
            j
            for j in self._jobs(name_match, None, created_after, created_before)
            if j.details.session_id is None
        ]
        sessions = self.list_sessions(created_after=created_after, created_before=created_before)
        items: list[Job | Session] = sorted(
            [*jobs, *sessions], key=lambda i: i.details.creation_time
        )
        items = [
            i
            for i in items
            if (name_match is None or (i.details.name or "").startswith(name_match))
            and matches(i.item_type, item_type)
            and matches(getattr(i.details, "job_type", None), job_type)
            and matches(i.details.provider_id, provider)
            and matches(i.details.target, target)
            and matches(i.details.status, status)
        ]
        return ordered(items, orderby_property, is_asc)
