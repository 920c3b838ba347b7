"""The Azure Quantum ``Workspace``, over the local runtime or a ``qsession serve`` server.

A workspace is a view of one runtime - by default the runtime of a store, which every face
on that store shares (:func:`qsession_provider.client.open_runtime`). The cloud arguments
(subscription, resource group, name, location, credential, ...) are accepted and kept
for display only; ``store``/``clock`` (or ``runtime``) choose the local runtime.

A server is reached with Azure's own words: a connection string whose ``QuantumEndpoint``
is the server's URL and whose ``ApiKey`` is a token
(``Workspace.from_connection_string("QuantumEndpoint=http://127.0.0.1:8765;ApiKey=qs_...")``,
or ``Workspace(connection_string=...)`` as azure-quantum also accepts), or the keywords
``Workspace(endpoint=..., api_key=...)`` (an ``AzureKeyCredential``-like ``credential``
gives the key too). A plain ``Workspace()`` connects to ``$QSESSION_URL`` when it is set
(:func:`qsession_provider.client.runtime_for`). Endpoints of Azure's own cloud
(``https://<region>.quantum.azure.com``) stay display-only.
Sessions opened here are sessions of the runtime: a Qiskit service, a Cirq sampler or a
second workspace on the same store sees them and their jobs.

The workspace stands on the items: jobs and sessions talk to the runtime themselves
(:mod:`~qsession_provider.azure.job`, :mod:`~qsession_provider.azure.session`, where
Azure's session rules are set), and the workspace's job and session methods hand over to
them; what is its own is finding targets and listing items.
"""

from __future__ import annotations

import re
from datetime import datetime
from types import TracebackType
from typing import Any

from ..client import KEEP_DEFAULT, RuntimeAPI, runtime_for
from ..client.handles import Handle
from ..core.clock import Clock
from ._listing import check_orderby, check_page, matches, ordered
from ._mapping import PROVIDER_ID, as_list, session_details
from ._models import JobDetails, SessionDetails
from .enums import SessionStatus
from .job import Job, delete_job, find_jobs, submit_run, update_job
from .session import AZURE_IDLE_TIMEOUT, Session
from .target import Target

__all__ = ["Workspace", "AZURE_IDLE_TIMEOUT"]

_RESOURCE_ID = re.compile(
    r"/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.Quantum/Workspaces/(?P<name>[^/]+)",
    re.IGNORECASE,
)


def _connection_fields(connection_string: str) -> dict[str, str]:
    """The ``Key=value`` fields of an Azure connection string."""
    if not isinstance(connection_string, str):
        raise ValueError(f"Invalid connection string: {connection_string!r}")
    parts = (p.strip() for p in connection_string.split(";"))
    return dict(p.split("=", 1) for p in parts if "=" in p)


def _cloud_location(endpoint: str | None) -> str | None:
    """The region of an Azure cloud endpoint (``https://<region>.quantum.azure.com``)."""
    found = re.match(r"https://([^./]+)\.quantum(?:-test)?\.azure\.com", endpoint or "")
    return found.group(1) if found else None


class Workspace(Handle):
    """An Azure Quantum workspace backed by the local runtime of a store.

    Args:
        subscription_id, resource_group, name, storage, resource_id, location,
            credential, user_agent: Azure coordinates, kept for display (a
            ``resource_id`` fills in subscription, resource group and name).
        store: the store path (None: ``$QSESSION_STORE`` or the user data directory;
            ``":memory:"``: a private in-memory store of this workspace).
        clock: the runtime's clock (e.g. a
            :class:`~qsession_provider.core.clock.VirtualClock`); without ``store``, a
            clock other than the default store's gives a timeline of its own; see
            ``open_runtime``.
        runtime: use this runtime instead (then give neither ``store`` nor ``clock``).
        keep_results: how many of the latest results an in-memory store keeps (default 100;
            None: all; see :func:`~qsession_provider.client.open_runtime`).
        endpoint: the URL of a ``qsession serve`` server (an Azure cloud endpoint is kept
            for display only).
        api_key: the server's token (default: ``credential.key``, else ``$QSESSION_TOKEN``).
        connection_string: an Azure connection string (see :meth:`from_connection_string`).
        **kwargs: other cloud options, kept in :attr:`options`.

    A workspace pickles as its runtime's address (store file, or server URL and key) and
    its display fields, without ``credential``, and reconnects on unpickling
    (:mod:`qsession_provider.client.handles`); so do its targets and jobs.

    Raises:
        ValueError: ``runtime`` with ``store``/``clock``, or a server endpoint with them; an
            invalid resource id; a malformed endpoint or key.
        NotAuthorizedError: the server does not know the key.
        QSessionError: the server cannot be reached.

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
        runtime: RuntimeAPI | None = None,
        endpoint: str | None = None,
        api_key: str | None = None,
        connection_string: str | None = None,
        keep_results: int | None = KEEP_DEFAULT,
        **kwargs: Any,
    ) -> None:
        if runtime is not None and (store is not None or clock is not None):
            raise ValueError("pass either runtime or store/clock, not both")
        if connection_string is not None:
            fields = _connection_fields(connection_string)
            subscription_id = subscription_id or fields.get("SubscriptionId")
            resource_group = resource_group or fields.get("ResourceGroupName")
            name = name or fields.get("WorkspaceName")
            endpoint = endpoint or fields.get("QuantumEndpoint")
            api_key = api_key or fields.get("ApiKey")
            location = location or _cloud_location(endpoint)
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
        #: The endpoint given (a server's URL, or Azure's, kept for display).
        self.endpoint = endpoint
        if runtime is None:
            server = None if endpoint is None or _cloud_location(endpoint) else endpoint
            if server is not None and api_key is None:
                api_key = getattr(credential, "key", None)
            runtime = runtime_for(
                url=server,
                token=api_key if server else None,
                store=store,
                clock=clock,
                keep_results=keep_results,
            )
        self._runtime = runtime

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        fields = {
            "subscription_id": self.subscription_id,
            "resource_group": self.resource_group,
            "name": self.name,
            "storage": self.storage,
            "location": self.location,
            "user_agent": self.user_agent,
            "endpoint": self.endpoint,
            **self.options,
        }
        return self._runtime, type(self)._from_pickle, (fields,)

    @classmethod
    def _from_pickle(cls, runtime: RuntimeAPI, fields: dict[str, Any]) -> Workspace:
        return cls(runtime=runtime, **fields)

    @classmethod
    def from_connection_string(cls, connection_string: str, **kwargs: Any) -> Workspace:
        """A workspace from an Azure connection string.

        ``QuantumEndpoint`` names a ``qsession serve`` server and ``ApiKey`` is its token
        (an Azure cloud endpoint and the other fields are kept for display only).
        """
        return cls(connection_string=connection_string, **kwargs)

    # -- the runtime -------------------------------------------------------------------
    @property
    def runtime(self) -> RuntimeAPI:
        """The local runtime behind this workspace (shared by every face on its store)."""
        return self._runtime

    @property
    def store(self) -> str:
        """Location of the store."""
        # Not part of RuntimeAPI yet: the embedded runtime's store names it.
        return self._runtime.location

    def close(self) -> None:
        """Nothing to release: the runtime may be shared with other faces; it stops at exit."""

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
        session.open()

    def close_session(self, session: Session) -> None:
        """Close ``session`` unless it already ended (then just refresh it).

        Submitted jobs still run; the status becomes Succeeded (or Failed) once they end.
        The host target's ``latest_session`` (the same object, or one with this id) is
        updated too.
        """
        session.close()

    def refresh_session(self, session: Session) -> None:
        """Replace ``session.details`` with the current ones."""
        session.refresh()

    # -- jobs ----------------------------------------------------------------------------
    def submit_job(self, job: Job) -> Job:
        """Submit a job built by ``Job.from_input_data`` (what ``Target.submit`` uses).

        Input that cannot run still creates the job; it fails when it reaches the device,
        with ``error_data`` code ``InvalidInputData``.

        Raises:
            DeviceNotFoundError: unknown target.
            SessionNotFoundError, SessionClosedError: the session is unknown or does not
                accept jobs.
            InputError: a job with this id exists, or invalid name/tags/metadata.
        """
        handle = submit_run(self._runtime, job.details, job._input_data)
        return Job.from_runtime_job(self, handle)

    def get_job(self, job_id: str) -> Job:
        """The job with this id (of any face).

        Raises:
            JobNotFoundError: no such job.
        """
        return Job.from_runtime_job(self, self._runtime.job(job_id))

    def cancel_job(self, job: Job) -> Job:
        """Cancel a job (queued: always; running: if the device allows); returns it refreshed."""
        self._runtime.cancel_job(job.id)
        return self.get_job(job.id)

    def delete_job(self, job: Job) -> None:
        """Delete a job, cancelling it first if it has not finished.

        Raises:
            InvalidJobStateError: it is running and its device cannot cancel it.
        """
        delete_job(self._runtime, job.id)

    def update_job(
        self,
        job: Job,
        *,
        name: str | None = None,
        priority: Any = None,
        tags: list[str] | None = None,
    ) -> Job:
        """Change a job's name, tags or (reported) priority; returns it refreshed."""
        update_job(self._runtime, job.id, name=name, priority=priority, tags=tags)
        return self.get_job(job.id)

    # -- listing -------------------------------------------------------------------------
    def list_jobs(
        self,
        name_match: str | None = None,
        job_type: Any = None,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[Job]:
        """Jobs matching every filter (all faces' jobs; there is no session filter here).

        ``name_match`` is a name prefix; ``job_type``, ``provider``, ``target`` and
        ``status`` take one value or a list. Without ``orderby_property`` the jobs come
        oldest first.

        Raises:
            ValueError: ``"Invalid orderby property: ..."`` (one of Name, ItemType,
                JobType, ProviderId, Target, State, CreationTime is expected), or an
                unknown status.
        """
        check_orderby(orderby_property)
        jobs = find_jobs(self, name_match, status, created_after, created_before, target=target)
        jobs = [
            j
            for j in jobs
            if matches(j.details.job_type, job_type) and matches(j.details.provider_id, provider)
        ]
        return ordered(jobs, orderby_property, is_asc)

    def list_jobs_paginated(
        self,
        *,
        name_match: str | None = None,
        job_type: Any = None,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        skip: int = 0,
        top: int = 100,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[JobDetails]:
        """One page (``skip``, ``top``) of :meth:`list_jobs`, as details."""
        check_page(skip, top)
        jobs = self.list_jobs(
            name_match, job_type, provider, target, status, created_after, created_before,
            orderby_property, is_asc,
        )  # fmt: skip
        return [j.details for j in jobs[skip : skip + top]]

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
        jobs = find_jobs(self, name_match, status, session_id=session_id)
        return ordered(jobs, orderby_property, is_asc)

    def list_sessions_paginated(
        self,
        *,
        provider: Any = None,
        target: Any = None,
        status: Any = None,
        created_after: datetime | None = None,
        created_before: datetime | None = None,
        skip: int = 0,
        top: int = 100,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[SessionDetails]:
        """One page (``skip``, ``top``) of :meth:`list_sessions`, as details."""
        check_page(skip, top)
        sessions = self.list_sessions(
            provider, target, status, created_after, created_before, orderby_property, is_asc
        )
        return [s.details for s in sessions[skip : skip + top]]

    def list_session_jobs_paginated(
        self,
        session_id: str,
        *,
        name_match: str | None = None,
        status: Any = None,
        skip: int = 0,
        top: int = 100,
        orderby_property: str | None = None,
        is_asc: bool | None = True,
    ) -> list[JobDetails]:
        """One page (``skip``, ``top``) of :meth:`list_session_jobs`, as details."""
        check_page(skip, top)
        jobs = self.list_session_jobs(session_id, name_match, status, orderby_property, is_asc)
        return [j.details for j in jobs[skip : skip + top]]

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
            for j in find_jobs(self, name_match, None, created_after, created_before)
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
