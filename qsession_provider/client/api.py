"""The interface faces use to talk to a runtime, embedded or remote.

:class:`~qsession_provider.core.runtime.Runtime` implements it in this process; a remote
client implements the same methods over HTTP. Faces call nothing else on a runtime.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any, Protocol, runtime_checkable

from ..core.clock import Clock
from ..core.device import Device
from ..core.job import Job, JobStatus
from ..core.runtime.estimates import QueueEstimate
from ..core.session import SessionRecord

__all__ = ["RuntimeAPI"]


@runtime_checkable
class RuntimeAPI(Protocol):
    """Devices, jobs and sessions of one runtime (see ``Runtime`` for each method's rules)."""

    clock: Clock

    @property
    def location(self) -> str:
        """Where the runtime keeps its records (a store path, ``:memory:...``, a URL)."""
        ...

    @property
    def closed(self) -> bool:
        """True once the runtime has been shut down."""
        ...

    # -- devices
    def devices(self) -> list[Device]:
        """Every device, by name."""
        ...

    def device(self, name: str) -> Device:
        """The device called ``name`` (``DeviceNotFoundError`` if none)."""
        ...

    def pending_jobs(self, device: str) -> int:
        """Queued and running jobs of ``device``."""
        ...

    # -- jobs
    def submit(
        self,
        program_id: str,
        device: str,
        payload: Any,
        *,
        session_id: str | None = None,
        instance: str = "default",
        tags: Iterable[str] = (),
        name: str = "",
        priority: int = 0,
        system: bool = False,
        max_execution_time: float | str | None = None,
        job_id: str | None = None,
        metadata: Mapping[str, Any] | None = None,
        fail_with: str | None = None,
        user: str = "",
    ) -> Job:
        """Queue ``payload`` for ``program_id`` on ``device``, alone or in a session."""
        ...

    def job(self, job_id: str) -> Job:
        """The job with ``job_id`` (``JobNotFoundError`` if none)."""
        ...

    def usage(self, instance: str) -> dict[str, Any]:
        """An instance's plan, usage limit and quantum seconds used in the limit's period
        (keys ``plan``, ``usage_consumed_seconds``, ``usage_limit_seconds``,
        ``usage_period_seconds``, ``usage_limit_reached``)."""
        ...

    def queue_estimate(self, job_id: str) -> QueueEstimate | None:
        """A queued job's position on its device and estimated start and completion (clock
        seconds); None once it is not queued."""
        ...

    def jobs(
        self,
        *,
        device: str | None = None,
        status: JobStatus | str | Iterable[JobStatus | str] | None = None,
        pending: bool | None = None,
        program_id: str | None = None,
        tags: Iterable[str] | None = None,
        session_id: str | None = None,
        instance: str | None = None,
        name_prefix: str | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
        owner: str | None = None,
        limit: int | None = None,
        skip: int = 0,
        descending: bool = True,
        user: str | None = None,
    ) -> list[Job]:
        """Jobs matching every filter given (newest first by default)."""
        ...

    def cancel_job(self, job_id: str) -> bool:
        """Cancel a job; False if it was already final."""
        ...

    def delete_job(self, job_id: str, *, instance: str | None = None) -> None:
        """Remove a final job from the store (``instance``: the caller's; a job of another
        instance is refused with ``ForbiddenError``; a server checks its token's)."""
        ...

    def update_job(
        self,
        job_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        instance: str | None = None,
    ) -> Job:
        """Replace a job's name, tags or metadata (``instance``: as for ``delete_job``)."""
        ...

    # -- sessions
    def open_session(self, device: str, **options: Any) -> SessionRecord:
        """Open a session or batch on ``device``."""
        ...

    def session(self, session_id: str) -> SessionRecord:
        """The session with ``session_id`` (``SessionNotFoundError`` if none)."""
        ...

    def sessions(self, **filters: Any) -> list[SessionRecord]:
        """Sessions matching every filter given."""
        ...

    def close_session(self, session_id: str) -> SessionRecord:
        """Stop accepting jobs; queued and running jobs finish, then the session closes."""
        ...

    def cancel_session(self, session_id: str) -> SessionRecord:
        """Close at once; queued jobs fail."""
        ...

    def shutdown(
        self, *, wait: bool = True, cancel_pending: bool = False, timeout: float | None = None
    ) -> None:
        """Stop the runtime (idempotent)."""
        ...
