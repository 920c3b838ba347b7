"""Azure-style sessions: :class:`Session`, and the :class:`SessionHost` mixin for targets.

A :class:`Session` is a client-side object until it is opened (``session.open()`` or
``workspace.open_session(session)``); then it is a session of the local runtime, seen by
every face on the same store. Its ``details.status`` is None before opening, then follows
:mod:`qsession_provider.azure._mapping`.

Example:
    >>> from qsession_provider.azure import Session, SessionJobFailurePolicy
    >>> session = Session(workspace, target="statevector",  # doctest: +SKIP
    ...                   job_failure_policy=SessionJobFailurePolicy.CONTINUE)
    >>> session.details.status is None  # doctest: +SKIP
    True
    >>> with session.open():  # doctest: +SKIP
    ...     target.latest_session = session
    ...     target.submit(qasm, name="Job 1")
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from types import TracebackType
from typing import Any

from ..errors import InputError
from ._mapping import META_KEY, PROVIDER_ID, failure_policy, session_details
from ._mapping import priority as coerce_priority
from ._models import SessionDetails
from .enums import TERMINAL_SESSION_STATUSES
from .job import Job, find_jobs
from .workspace_item import WorkspaceItem, WorkspaceLike

__all__ = ["AZURE_IDLE_TIMEOUT", "WorkspaceItem", "Session", "SessionHost", "SessionDetails"]

#: A session with no job submitted for this long times out (Azure: 10 minutes).
AZURE_IDLE_TIMEOUT = 600.0


def _provider_of(target: str) -> str:
    """``"ionq.simulator"`` -> ``"ionq"``; a name without a dot -> this runtime's provider."""
    head, dot, _ = target.partition(".")
    return head if dot and head else PROVIDER_ID


class Session(WorkspaceItem[SessionDetails]):
    """An Azure Quantum job session: a group of jobs on one target.

    Args:
        workspace: the workspace the session is opened in.
        details: all fields at once (then give none of the others).
        target: the target name, or a :class:`~qsession_provider.azure.Target` (kept as
            ``session.target``).
        provider_id: default: the part of the target name before a dot, else ``qsession``.
        id: default ``str(uuid.uuid1())``.
        name: default ``f"session-{id}"``.
        job_failure_policy: ``Abort`` (the default when None) or ``Continue``.
        priority: ``Standard`` or ``High`` (kept in the details).
        tags: labels.

    Raises:
        ValueError: ``details`` together with other fields, neither ``details`` nor
            ``target``, or an invalid policy or priority.
        TypeError: an unknown keyword argument.
    """

    def __init__(
        self,
        workspace: WorkspaceLike,
        details: SessionDetails | None = None,
        target: Any = None,
        provider_id: str | None = None,
        id: str | None = None,
        name: str | None = None,
        job_failure_policy: Any = None,
        priority: Any = None,
        tags: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"Session() got an unexpected keyword argument {next(iter(kwargs))!r}")
        target_name = target if target is None or isinstance(target, str) else target.name
        self._target = None if target is None or isinstance(target, str) else target
        given = (provider_id, id, name, job_failure_policy, priority, tags)
        if details is not None and (isinstance(target, str) or any(v is not None for v in given)):
            raise ValueError(
                "If `session_details` is passed, you should not pass `target`, `provider_id`, "
                "`id`, `session_name`, `job_failure_policy`, `priority` or `tags`."
            )
        if details is None and target is None:
            raise ValueError(
                "If `session_details` is not passed, you should at least pass the `target`."
            )
        if details is None:
            id = id if id is not None else str(uuid.uuid1())
            details = SessionDetails(
                id=id,
                name=name if name is not None else f"session-{id}",
                provider_id=provider_id if provider_id is not None else _provider_of(target_name),
                target=target_name,
                job_failure_policy=(
                    None if job_failure_policy is None else failure_policy(job_failure_policy)
                ),
                priority=None if priority is None else coerce_priority(priority),
                tags=None if tags is None else list(tags),
            )
        super().__init__(workspace, details)

    @property
    def target(self) -> Any:
        """The Target object the session was created with, or None (given by name)."""
        return self._target

    def open(self) -> Session:
        """Open the session in the workspace's runtime; it then accepts jobs. Returns self.

        Azure's rules come with it: no job submitted for 10 minutes -> TimedOut; failure
        policy Abort (default) or Continue; cancelling the first job does not close it.

        Raises:
            DeviceNotFoundError: unknown target.
            InputError: a session with this id exists.
        """
        d = self.details
        if not d.target:
            raise InputError(f"session {d.id} has no target")
        record = self.workspace.runtime.open_session(
            d.target,
            idle_timeout=AZURE_IDLE_TIMEOUT,
            idle_scope="any",
            failure_policy=failure_policy(d.job_failure_policy).value.lower(),
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
        self.details = session_details(record)
        return self

    def close(self) -> Session:
        """Stop accepting jobs unless the session already ended (then just refresh it).

        Submitted jobs still run; the status becomes Succeeded (or Failed) once they end.
        The host target's ``latest_session`` (this object, or one with this id) is updated
        too. Returns self.
        """
        runtime = self.workspace.runtime
        if self.is_in_terminal_state():
            record = runtime.session(self.id)
        else:
            record = runtime.close_session(self.id)
        self.details = session_details(record)
        latest = getattr(self._target, "latest_session", None)
        if latest is not None and latest is not self and latest.id == self.id:
            latest.details = self.details
        return self

    def refresh(self) -> Session:
        """Read the latest details. Returns self."""
        self.details = session_details(self.workspace.runtime.session(self.id))
        return self

    def list_jobs(self) -> list[Job]:
        """The session's jobs, oldest first."""
        return find_jobs(self.workspace, session_id=self.id)

    # The seed's helpers, on the session as on the workspace ("workspace.list_sessions() or
    # session.list_sessions()").
    def list_sessions(self, **filters: Any) -> list[Session]:
        """Every session of the workspace (filters as ``Workspace.list_sessions``)."""
        return self.workspace.list_sessions(**filters)  # type: ignore[no-any-return]

    def get_session(self, session_id: str) -> Session:
        """The session with this id (``Workspace.get_session``)."""
        return self.workspace.get_session(session_id)  # type: ignore[no-any-return]

    def list_session_jobs(self, session_id: str, **filters: Any) -> list[Job]:
        """The jobs of the session ``session_id`` (filters as ``Workspace.list_session_jobs``)."""
        return self.workspace.list_session_jobs(session_id, **filters)  # type: ignore[no-any-return]

    def is_in_terminal_state(self) -> bool:
        """True once Succeeded, Failed or TimedOut (``Failure(s)`` is not terminal)."""
        return self.details.status in TERMINAL_SESSION_STATUSES

    def draw_timeline(self, **options: Any) -> Any:
        """A matplotlib figure of the session's jobs over time (needs the ``plot`` extra).

        Options as for :func:`qsession_provider.visual.draw_timeline` (``others``, ``ax``,
        ``title``).
        """
        from ..visual.timeline import draw_timeline  # matplotlib loads only when drawing

        return draw_timeline(self.id, runtime=self.workspace.runtime, **options)

    def __enter__(self) -> Session:
        """A no-op (it does not open the session), as in azure-quantum."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close the session; an exception raised in the block propagates."""
        self.close()

    def __repr__(self) -> str:
        d = self.details
        status = None if d.status is None else d.status.value
        return f"<Session {d.id} {d.name!r} on {d.target} status={status}>"


class SessionHost:
    """A mixin for objects that host a session: jobs they submit join its latest session.

    :class:`~qsession_provider.azure.Target` is one; the Qiskit face's backends hold one
    (:class:`~qsession_provider.azure.qiskit_backend.BackendSessionHost`); so can any
    object of any face. The host implements two methods:

    * ``_get_azure_workspace()`` -> the :class:`~qsession_provider.azure.Workspace` (for a
      face holding a runtime: ``Workspace(runtime=runtime)``, made once);
    * ``_get_azure_target_id()`` -> the target (device) name.

    and passes ``session_id=self.get_latest_session_id()`` with every job it submits
    (``Runtime.submit(..., session_id=...)``). ``latest_session`` is stored on the
    instance (never on the class): two hosts never share it. As in azure-quantum, leaving a
    ``with host.open_session():`` block closes the session but keeps it as
    ``latest_session``, so later submissions through the host are rejected until a new
    session is opened (or ``latest_session`` is set to None).
    """

    def _get_azure_workspace(self) -> WorkspaceLike:
        """The workspace sessions of this host open in."""
        raise NotImplementedError

    def _get_azure_target_id(self) -> str:
        """The target name sessions of this host run on."""
        raise NotImplementedError

    @property
    def latest_session(self) -> Session | None:
        """The session opened last through this host (jobs it submits join it), or None."""
        return getattr(self, "_qsession_latest_session", None)  # type: ignore[no-any-return]

    @latest_session.setter
    def latest_session(self, session: Session | None) -> None:
        self._qsession_latest_session = session

    def get_latest_session_id(self) -> str | None:
        """Id of :attr:`latest_session`, or None."""
        session = self.latest_session
        return session.id if session is not None else None

    def open_session(
        self,
        details: SessionDetails | None = None,
        id: str | None = None,
        name: str | None = None,
        job_failure_policy: Any = None,
        priority: Any = None,
        tags: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> Session:
        """Close the previous latest session, then open a new one and make it the latest.

        Example:
            >>> with target.open_session(name="MySession") as session:  # doctest: +SKIP
            ...     job1 = target.submit(qasm, name="Job 1")

        Returns:
            The open session (a context manager whose exit closes it).
        """
        previous = self.latest_session
        if previous is not None:
            previous.close()
        session = Session(
            self._get_azure_workspace(),
            details=details,
            target=self._get_azure_target_id() if details is None else None,
            id=id,
            name=name,
            job_failure_policy=job_failure_policy,
            priority=priority,
            tags=tags,
            **kwargs,
        )
        self.latest_session = session
        return session.open()
