"""The store protocol, its queries, and what every store does to orphans.

A store persists job records, encoded payloads and results, session records, the
process records used for orphan detection, and the token records of a service's users
(:class:`~qsession_provider.core.user.TokenRecord`: a hash, never the token). The runtime
encodes payloads and results itself (:mod:`~qsession_provider.core.ir.encoding`: JSON,
never pickle) and hands the store text, so every store keeps exactly the same bytes. Two
stores implement the protocol: :class:`~.memory.MemoryStore` (tests, throw-away runtimes)
and :class:`~.sqlite.SQLiteStore` (the default, shared between processes).
``tests/core/store/test_store_contract.py`` runs one contract suite against both;
:func:`qsession_provider.testing.check_store` offers it to third-party stores.

Invariant kept by every store: a final job status and a closed session state, once
stored, never change (:meth:`Store.update_job` and :meth:`Store.update_session` refuse).

Optional: a store may offer ``batch()``, a context manager that groups the writes made
inside it into one atomic commit at its exit (raising ``StoreError`` if the commit fails);
the runtime then batches a submission's writes and a job's end
(:meth:`~qsession_provider.core.store.sqlite.SQLiteStore.batch` is the reference).
"""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

from ..job_record import JobErrorCode, JobRecord, JobStatus
from ..session import CloseReason, SessionMode, SessionRecord, SessionState
from ..user import TokenRecord
from .processes import ProcessRecord

__all__ = [
    "Adoption",
    "JobQuery",
    "RecordQuery",
    "SessionQuery",
    "OrphanReport",
    "Store",
    "describe_process",
    "orphan_job",
    "orphan_session",
]


@dataclass(frozen=True, kw_only=True)
class RecordQuery:
    """The filters :class:`JobQuery` and :class:`SessionQuery` share; every given one must match.

    Attributes:
        device: device name.
        instance: instance the record is charged to.
        name_prefix: the name starts with this.
        created_after, created_before: inclusive bounds on ``created_at``.
        owner: owner (process) id.
        user: the user who submitted or opened it ("" for embedded use).
        limit: at most this many records (None: all).
        skip: leave out this many first matches.
        descending: newest first (default) or oldest first; ties keep submission order.
    """

    device: str | None = None
    instance: str | None = None
    name_prefix: str | None = None
    created_after: float | None = None
    created_before: float | None = None
    owner: str | None = None
    user: str | None = None
    limit: int | None = None
    skip: int = 0
    descending: bool = True

    def _matches_shared(self, r: JobRecord | SessionRecord) -> bool:
        """The reference semantics of the shared filters."""
        return (
            (self.device is None or r.device == self.device)
            and (self.instance is None or r.instance == self.instance)
            and (self.name_prefix is None or r.name.startswith(self.name_prefix))
            and (self.created_after is None or r.created_at >= self.created_after)
            and (self.created_before is None or r.created_at <= self.created_before)
            and (self.owner is None or r.owner == self.owner)
            and (self.user is None or r.user == self.user)
        )


@dataclass(frozen=True, kw_only=True)
class JobQuery(RecordQuery):
    """Filters for :meth:`Store.query_jobs`: those of :class:`RecordQuery`, and

    Attributes:
        statuses: allowed statuses (e.g. :data:`PENDING_STATES` for "pending").
        program_id: ``sampler``, ``estimator`` or ``run``.
        tags: tags that must all be present.
        session_id: session the job belongs to.
    """

    statuses: frozenset[JobStatus] | None = None
    program_id: str | None = None
    tags: tuple[str, ...] = ()
    session_id: str | None = None

    def matches(self, r: JobRecord) -> bool:
        """The reference semantics of the filters (paging aside)."""
        return (
            self._matches_shared(r)
            and (self.statuses is None or r.status in self.statuses)
            and (self.program_id is None or r.program_id == self.program_id)
            and all(tag in r.tags for tag in self.tags)
            and (self.session_id is None or r.session_id == self.session_id)
        )


@dataclass(frozen=True, kw_only=True)
class SessionQuery(RecordQuery):
    """Filters for :meth:`Store.query_sessions`: those of :class:`RecordQuery`, and

    Attributes:
        states: allowed states.
        mode: dedicated or batch.
    """

    states: frozenset[SessionState] | None = None
    mode: SessionMode | None = None

    def matches(self, r: SessionRecord) -> bool:
        """The reference semantics of the filters (paging aside)."""
        return (
            self._matches_shared(r)
            and (self.states is None or r.state in self.states)
            and (self.mode is None or r.mode == self.mode)
        )


@dataclass(frozen=True)
class OrphanReport:
    """What a runtime's start-up sweep changed (:meth:`Store.mark_orphans`, or adoption).

    Attributes:
        jobs: jobs that ended ERROR with code ``orphaned``.
        sessions: sessions closed with reason ``owner_exited``.
        adopted_jobs: QUEUED jobs the runtime took over and queued again.
        rerun: RUNNING jobs the runtime queued again to run once more (deterministic
            payloads; marked ``metadata["rerun"] = 1``).
        adopted_sessions: open sessions the runtime took over (live again, timers re-armed).
    """

    jobs: tuple[str, ...] = ()
    sessions: tuple[str, ...] = ()
    adopted_jobs: tuple[str, ...] = ()
    rerun: tuple[str, ...] = ()
    adopted_sessions: tuple[str, ...] = ()


@dataclass(frozen=True)
class Adoption:
    """What :meth:`Store.adopt_orphans` took over, as the records were before.

    Their ``owner`` is still the process that left them (the stored copies have the new
    owner).

    Attributes:
        jobs: QUEUED and RUNNING jobs, in submission order.
        sessions: sessions not closed, in creation order.
    """

    jobs: tuple[JobRecord, ...] = ()
    sessions: tuple[SessionRecord, ...] = ()


def describe_process(process: ProcessRecord | None, owner: str = "") -> str:
    """How messages name a runtime process: its pid and host, else its owner id."""
    if process is not None:
        return f"process {process.pid} on {process.hostname}"
    return f"the runtime process {owner}" if owner else "its process"


def orphan_job(
    record: JobRecord, now: float, process: ProcessRecord | None, *, message: str | None = None
) -> JobRecord:
    """The ERROR record an orphaned job gets (shared by every store and by adoption).

    Args:
        record: the unfinished job.
        now: its finish time.
        process: the process that left it, if its record is known.
        message: the error message (default: the process exited before the job finished).
    """
    if message is None:
        message = (
            f"{describe_process(process)} exited before the job finished "
            f"(it was {record.status.value}); the job was marked failed when the store was "
            "next opened"
        )
    return record.replace(
        status=JobStatus.ERROR,
        finished_at=now,
        error_code=JobErrorCode.ORPHANED.value,
        error_message=message,
    )


def orphan_session(record: SessionRecord, now: float) -> SessionRecord:
    """The closed record a session of an exited process gets (shared by every store)."""
    return record.replace(
        state=SessionState.CLOSED,
        accepting_jobs=False,
        closed_at=now,
        close_reason=CloseReason.OWNER_EXITED,
        usage_time=record.usage(now) if record.active_since is not None else record.usage_time,
        active_since=None,
        timestamps=record.timestamps + ((SessionState.CLOSED, now),),
    )


@runtime_checkable
class Store(Protocol):
    """Persistence for the runtime. Implementations must be safe across threads.

    ``location`` names the store: the resolved file path, or ``":memory:"``-like for
    stores that live in one process. Runtimes are shared per location within a process.
    """

    location: str

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, record: JobRecord, payload: str, *, fresh: bool = False) -> None:
        """Insert a new job with its encoded payload.

        ``fresh``: the caller just drew the id at random (a new UUID), so no stored job can
        have it: the store may skip looking for one.

        Raises:
            StoreError: a job with that id exists.
        """
        ...

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        """Replace a job's record (and store its encoded result, if given).

        Returns:
            False, changing nothing, if the stored status is final and differs from
            ``record.status`` (final states never change).

        Raises:
            JobNotFoundError: no such job.
        """
        ...

    def get_job(self, job_id: str) -> JobRecord:
        """The stored record.

        Raises:
            JobNotFoundError: no such job.
        """
        ...

    def get_payload(self, job_id: str) -> str:
        """The encoded payload.

        Raises:
            JobNotFoundError: no such job.
        """
        ...

    def get_result(self, job_id: str) -> str | None:
        """The encoded result, or None if none was stored.

        Raises:
            JobNotFoundError: no such job.
        """
        ...

    def query_jobs(self, query: JobQuery) -> list[JobRecord]:
        """Records matching ``query``, ordered by ``created_at`` then submission order."""
        ...

    def count_jobs(self, query: JobQuery) -> int:
        """How many records match ``query`` (``limit``/``skip`` ignored)."""
        ...

    def count_jobs_by_session(
        self, session_ids: Collection[str]
    ) -> dict[str, dict[JobStatus, int]]:
        """How many jobs of each session of ``session_ids`` are in each status, counted
        without loading records (a session without jobs is left out)."""
        ...

    def delete_job(self, job_id: str) -> None:
        """Delete a job with its payload and result.

        Raises:
            JobNotFoundError: no such job.
        """
        ...

    # -- sessions ------------------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        """Insert a new session.

        Raises:
            StoreError: a session with that id exists.
        """
        ...

    def update_session(self, record: SessionRecord) -> bool:
        """Replace a session's record.

        Returns:
            False, changing nothing, if the stored session is closed and ``record`` is not
            (a closed session never reopens).

        Raises:
            SessionNotFoundError: no such session.
        """
        ...

    def get_session(self, session_id: str) -> SessionRecord:
        """The stored record.

        Raises:
            SessionNotFoundError: no such session.
        """
        ...

    def query_sessions(self, query: SessionQuery) -> list[SessionRecord]:
        """Records matching ``query``, ordered by ``created_at`` then creation order."""
        ...

    # -- processes -----------------------------------------------------------------------------
    def register_process(self, record: ProcessRecord) -> None:
        """Record a runtime process (replaces a record with the same id)."""
        ...

    def heartbeat(self, process_id: str, now: float) -> None:
        """Update a process's heartbeat time (no error if it is unknown)."""
        ...

    def unregister_process(self, process_id: str) -> None:
        """Forget a process record (no error if it is unknown)."""
        ...

    def processes(self) -> list[ProcessRecord]:
        """Every registered process."""
        ...

    def mark_orphans(self, process_ids: Collection[str], now: float) -> OrphanReport:
        """Sweep processes that are gone, atomically.

        Every QUEUED or RUNNING job owned by one of ``process_ids`` becomes
        :func:`orphan_job`; every session it owns that is not closed becomes
        :func:`orphan_session`; the process records are removed.
        """
        ...

    def adopt_orphans(self, process_ids: Collection[str], owner: str) -> Adoption:
        """Take over the unfinished work of processes that are gone, atomically.

        The process records of ``process_ids`` are removed; then every QUEUED or RUNNING
        job and every session not closed whose owner has no process record (one of
        ``process_ids``, or a runtime shut down with ``keep_queued=True``) gets ``owner``
        as its owner, nothing else changed. Two runtimes adopting at once never both get
        the same record (the caller registered ``owner`` first, so its own work is kept).

        Returns:
            The records taken over, as they were before (see :class:`Adoption`).
        """
        ...

    # -- tokens --------------------------------------------------------------------------------
    def add_token(self, record: TokenRecord) -> None:
        """Store a user's token record (written at once: other processes see it on return).

        Raises:
            AlreadyExistsError: a token of that user name, or with that hash, exists.
        """
        ...

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        """The token record with this hash (see :func:`~..user.hash_token`), or None."""
        ...

    def tokens(self) -> list[TokenRecord]:
        """Every token record, by user name."""
        ...

    def remove_token(self, name: str) -> bool:
        """Delete the token of user ``name``; False if there was none."""
        ...

    def close(self) -> None:
        """Release resources. Idempotent; the store is unusable afterwards."""
        ...
