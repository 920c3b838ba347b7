"""A small handle on a runtime session for the Cirq face.

A :class:`Session` names one core session (a dedicated session or a batch) of a runtime
(:class:`~qsession_provider.client.RuntimeAPI`). It holds only the runtime and the id and
reads the record afresh on every access, so any number of handles (and the Qiskit and
Azure-style faces on the same store) see the same state. Jobs join a session by id:
``Sampler(session=...)`` accepts a :class:`Session`, any object with a ``session_id`` or
``id`` attribute (a session of another face) or a plain id string.

Defaults follow Azure Quantum, whose Cirq targets open sessions with
``target.open_session(...)``: the job failure policy is ``"abort"`` (a failed job ends the
session) and a session times out when no job is submitted for 10 minutes.
"""

from __future__ import annotations

import uuid
from enum import Enum
from typing import Any

from ..client import RuntimeAPI
from ..core.session import SessionRecord
from ..errors import InputError
from .job import Job

__all__ = [
    "Session",
    "session_id_of",
    "runtime_of",
    "find_runtime",
    "DEFAULT_IDLE_TIMEOUT",
    "DEFAULT_FAILURE_POLICY",
]

#: Seconds without a new job before a session times out (Azure: 10 minutes).
DEFAULT_IDLE_TIMEOUT = 600.0
#: The job failure policy when none is given (Azure's service default).
DEFAULT_FAILURE_POLICY = "abort"


class Session:
    """A runtime session seen from the Cirq face.

    Sessions are usually opened with ``Target.open_session(...)`` or
    :meth:`Session.open`, and found again with :meth:`Session.from_id`. The handle is a
    context manager that closes the session on exit: queued and running jobs finish,
    new jobs are rejected.

    Args:
        runtime: the runtime that owns the session.
        session_id: the session id.

    Raises:
        SessionNotFoundError: no session with that id in the runtime's store.
    """

    def __init__(self, runtime: RuntimeAPI, session_id: str) -> None:
        self._runtime = runtime
        self._id = str(session_id)
        runtime.session(self._id)  # SessionNotFoundError now rather than later

    # -- construction -----------------------------------------------------------------------
    @classmethod
    def open(
        cls,
        runtime: RuntimeAPI,
        device: str,
        name: str | None = None,
        *,
        mode: str = "dedicated",
        max_time: float | str | None = None,
        job_failure_policy: Any = None,
    ) -> Session:
        """Open a new session on ``device``.

        Args:
            runtime: the runtime to open it in.
            device: device (target) name.
            name: session name (default ``session-<id>``, as Azure names sessions).
            mode: ``"dedicated"`` (a session) or ``"batch"``.
            max_time: maximum session time from its first job's start, in seconds or a
                string like ``"25m"`` (default 8 h).
            job_failure_policy: ``"abort"`` (default) or ``"continue"``; Azure's
                ``SessionJobFailurePolicy`` values are accepted too.

        Returns:
            The open session.

        Raises:
            DeviceNotFoundError: unknown device.
            InputError: invalid mode, max_time or failure policy.
        """
        session_id = str(uuid.uuid4())
        record = runtime.open_session(
            device,
            mode=_enum_value(mode, "mode"),
            max_ttl=max_time,
            idle_timeout=DEFAULT_IDLE_TIMEOUT,
            idle_scope="any",
            failure_policy=_enum_value(
                DEFAULT_FAILURE_POLICY if job_failure_policy is None else job_failure_policy,
                "job_failure_policy",
            ),
            name=f"session-{session_id}" if name is None else name,
            session_id=session_id,
        )
        return cls(runtime, record.id)

    @classmethod
    def from_id(cls, runtime_or_service: Any, session_id: str) -> Session:
        """The session with this id.

        Args:
            runtime_or_service: a runtime or a Cirq :class:`~qsession_provider.cirq.Service`.
            session_id: the session id.

        Raises:
            SessionNotFoundError: no such session.
            TypeError: the first argument is neither a runtime nor a service.
        """
        return cls(runtime_of(runtime_or_service), session_id)

    # -- reading ----------------------------------------------------------------------------
    @property
    def id(self) -> str:
        """The session id."""
        return self._id

    @property
    def session_id(self) -> str:
        """The session id (Qiskit spelling, so other faces accept this handle)."""
        return self._id

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime that owns the session."""
        return self._runtime

    @property
    def record(self) -> SessionRecord:
        """The current core record."""
        return self._runtime.session(self._id)

    @property
    def name(self) -> str:
        """The session name."""
        return self.record.name

    @property
    def target(self) -> str:
        """Name of the device (target) every job of the session runs on."""
        return self.record.device

    @property
    def mode(self) -> str:
        """``"dedicated"`` or ``"batch"``."""
        return self.record.mode.value

    def status(self) -> str:
        """The core state: ``open``, ``active``, ``inactive``, ``draining`` or ``closed``."""
        return self.record.state.value

    @property
    def accepting_jobs(self) -> bool:
        """False once the session is closing, closed, cancelled or failed."""
        return self.record.accepting_jobs

    @property
    def details(self) -> dict[str, Any]:
        """Every field of the current record (enums as their string values)."""
        record = self.record
        data = record.to_json()
        data["metadata"] = dict(record.metadata)
        return data

    def list_jobs(self) -> list[Job]:
        """The session's jobs, in submission order (jobs of every face)."""
        return [
            Job(self._runtime, job)
            for job in self._runtime.jobs(session_id=self._id, descending=False)
        ]

    def draw_timeline(self, **options: Any) -> Any:
        """A matplotlib figure of the session's jobs over time (needs the ``plot`` extra).

        Options as for :func:`qsession_provider.visual.draw_timeline` (``others``, ``ax``,
        ``title``).
        """
        from ..visual.timeline import draw_timeline  # matplotlib loads only when drawing

        return draw_timeline(self._id, runtime=self._runtime, **options)

    # -- changing ---------------------------------------------------------------------------
    def close(self) -> Session:
        """Stop accepting jobs; queued and running jobs finish, then the session closes.

        Closing a closed session does nothing. Returns this handle.
        """
        self._runtime.close_session(self._id)
        return self

    def cancel(self) -> Session:
        """Close the session now: queued jobs fail, running jobs finish. Returns this handle."""
        self._runtime.cancel_session(self._id)
        return self

    def __enter__(self) -> Session:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Session):
            return NotImplemented
        return self._id == other._id and self._runtime is other._runtime

    def __hash__(self) -> int:
        return hash(self._id)

    def __repr__(self) -> str:
        try:
            state = self.status()
        except Exception:  # a repr must not raise (e.g. after the runtime shut down)
            state = "?"
        return f"<cirq Session {self._id} {state}>"


def session_id_of(session: Any) -> str | None:
    """The id of a session given as a handle, an object of another face or a string.

    Objects are asked for ``session_id`` first (Qiskit spelling), then ``id`` (Azure);
    either may be an attribute, a property or a method.

    Returns:
        The id, or None for ``session=None``.

    Raises:
        InputError: the object has neither attribute, or its id is not set (yet).
    """
    if session is None:
        return None
    if isinstance(session, str):
        if not session:
            raise InputError("a session id must be a non-empty string")
        return session
    for attr in ("session_id", "id"):
        if hasattr(session, attr):
            value = getattr(session, attr)
            if callable(value):
                value = value()
            if value is not None:
                return str(value)
    raise InputError(
        f"cannot tell which session {session!r} is: it has no session_id or id (pass a "
        "Session, a session object of another face, or a session id string)"
    )


def runtime_of(obj: Any) -> RuntimeAPI:
    """The runtime behind a runtime, a Cirq ``Service``/``Target``/``Session`` or a sampler.

    Raises:
        TypeError: ``obj`` has no runtime.
    """
    runtime = find_runtime(obj)
    if runtime is None:
        raise TypeError(f"expected a Runtime or a Cirq Service, got {type(obj).__name__}")
    return runtime


def find_runtime(obj: Any) -> RuntimeAPI | None:
    """The runtime an object (of any face) belongs to, or None if it does not say.

    Looks at ``obj`` itself, then ``obj.runtime``, ``obj.service.runtime`` (a Qiskit
    session) and ``obj.workspace.runtime`` (an Azure-style session), without importing
    the other faces.
    """
    if _is_runtime(obj):
        return obj
    for owner in ("", "service", "workspace"):
        try:
            holder = getattr(obj, owner, None) if owner else obj
            runtime = getattr(holder, "runtime", None)
        except Exception:  # a property of a foreign object may raise; it just does not say
            continue
        if _is_runtime(runtime):
            return runtime
    return None


def _is_runtime(obj: Any) -> bool:
    """True if ``obj`` has the runtime interface (checking it reads the object's properties)."""
    try:
        return isinstance(obj, RuntimeAPI)
    except Exception:  # a property of a foreign object may raise: then it is not a runtime
        return False


def _enum_value(value: Any, what: str) -> str:
    """A plain lower-case string for a string, a core enum or another face's enum."""
    if isinstance(value, Enum):
        value = value.value
    if not isinstance(value, str):
        raise InputError(f"invalid {what} {value!r}; expected a string")
    return value.lower()
