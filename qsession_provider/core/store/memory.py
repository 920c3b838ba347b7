"""The in-memory store: the default for tests and the reference for the store contract."""

from __future__ import annotations

import copy
import dataclasses
import itertools
import threading
from collections.abc import Collection, Iterable
from typing import Any

from ...errors import (
    AlreadyExistsError,
    InputError,
    JobNotFoundError,
    ResultUnavailableError,
    SessionNotFoundError,
    StoreError,
)
from ..job_record import FINAL_STATES, PENDING_STATES, JobRecord, JobStatus
from ..session import SessionRecord, SessionState
from ..user import TokenRecord
from .processes import ProcessRecord
from .protocol import (
    Adoption,
    JobQuery,
    OrphanReport,
    SessionQuery,
    orphan_job,
    orphan_session,
)

__all__ = ["MemoryStore"]


class MemoryStore:
    """A store in this process's memory: the default for tests and the contract's reference.

    Records are kept as immutable dataclasses; metadata is deep-copied in and out so a
    caller cannot change stored data by mutating what it passed or got.

    Retention: with ``keep_results=N`` only the last ``N`` results stored are kept (job
    records and payloads always are); asking for an older one raises
    :class:`~qsession_provider.errors.ResultUnavailableError` naming the setting. A job
    handle that is still referenced keeps its own result, so only results looked up again
    by job id are lost. ``None`` keeps every result.

    Args:
        location: the store's name (default ``":memory:<n>"``).
        keep_results: how many of the latest results to keep (None: all).

    Raises:
        InputError: ``keep_results`` is not None or a non-negative integer.
    """

    _ids = itertools.count(1)

    def __init__(self, location: str | None = None, *, keep_results: int | None = None) -> None:
        if keep_results is not None and (
            isinstance(keep_results, bool) or not isinstance(keep_results, int) or keep_results < 0
        ):
            raise InputError(
                f"keep_results must be None or a non-negative integer, got {keep_results!r}"
            )
        #: How many of the latest results are kept (None: all).
        self.keep_results = keep_results
        self._dropped: set[str] = set()  # ids of DONE jobs whose result retention dropped
        self.location = location or f":memory:{next(self._ids)}"
        self._lock = threading.RLock()
        self._jobs: dict[str, JobRecord] = {}  # insertion order = submission order
        self._payloads: dict[str, str] = {}
        self._results: dict[str, str] = {}
        self._sessions: dict[str, SessionRecord] = {}
        self._processes: dict[str, ProcessRecord] = {}
        self._tokens: dict[str, TokenRecord] = {}  # by user name
        self._closed = False

    # -- jobs --------------------------------------------------------------------------------
    def add_job(self, record: JobRecord, payload: str, *, fresh: bool = False) -> None:
        with self._lock:
            self._check_open()
            if record.id in self._jobs:
                raise AlreadyExistsError(f"a job with id {record.id!r} already exists")
            self._jobs[record.id] = _copy_meta(record)
            self._payloads[record.id] = payload

    def update_job(self, record: JobRecord, *, result: str | None = None) -> bool:
        with self._lock:
            self._check_open()
            stored = self._job(record.id)
            if stored.status in FINAL_STATES and stored.status != record.status:
                return False
            self._jobs[record.id] = _copy_meta(record)
            if result is not None:
                self._keep_result(record.id, result)
            return True

    def _keep_result(self, job_id: str, result: str) -> None:
        """Store ``result``, dropping the oldest beyond ``keep_results`` (under the lock)."""
        results = self._results
        results.pop(job_id, None)  # a result stored again counts as the latest
        results[job_id] = result
        self._dropped.discard(job_id)
        keep = self.keep_results
        if keep is not None:
            while len(results) > keep:
                oldest = next(iter(results))
                del results[oldest]
                self._dropped.add(oldest)

    def get_job(self, job_id: str) -> JobRecord:
        with self._lock:
            return _copy_meta(self._job(job_id))

    def get_payload(self, job_id: str) -> str:
        with self._lock:
            self._job(job_id)
            return self._payloads[job_id]

    def get_result(self, job_id: str) -> str | None:
        with self._lock:
            self._job(job_id)
            found = self._results.get(job_id)
            if found is None and job_id in self._dropped:
                raise ResultUnavailableError(
                    f"the result of job {job_id} is no longer kept: this in-memory store keeps "
                    f"the last {self.keep_results} results (keep_results={self.keep_results}); "
                    "keep the job handle, raise keep_results, or use a store file"
                )
            return found

    def query_jobs(self, query: JobQuery) -> list[JobRecord]:
        with self._lock:
            self._check_open()
            found = [r for r in self._jobs.values() if query.matches(r)]
        found = _page(_ordered(found, query.descending), query.skip, query.limit)
        return [_copy_meta(r) for r in found]

    def count_jobs(self, query: JobQuery) -> int:
        with self._lock:
            self._check_open()
            return sum(1 for r in self._jobs.values() if query.matches(r))

    def count_jobs_by_session(
        self, session_ids: Collection[str]
    ) -> dict[str, dict[JobStatus, int]]:
        wanted = set(session_ids)
        counts: dict[str, dict[JobStatus, int]] = {}
        with self._lock:
            self._check_open()
            for r in self._jobs.values():
                if r.session_id in wanted:
                    per = counts.setdefault(r.session_id, {})
                    per[r.status] = per.get(r.status, 0) + 1
        return counts

    def delete_job(self, job_id: str) -> None:
        with self._lock:
            self._job(job_id)
            del self._jobs[job_id]
            self._payloads.pop(job_id, None)
            self._results.pop(job_id, None)
            self._dropped.discard(job_id)

    # -- sessions ------------------------------------------------------------------------------
    def add_session(self, record: SessionRecord) -> None:
        with self._lock:
            self._check_open()
            if record.id in self._sessions:
                raise AlreadyExistsError(f"a session with id {record.id!r} already exists")
            self._sessions[record.id] = _copy_meta(record)

    def update_session(self, record: SessionRecord) -> bool:
        with self._lock:
            self._check_open()
            stored = self._session(record.id)
            if stored.state is SessionState.CLOSED and record.state is not SessionState.CLOSED:
                return False
            self._sessions[record.id] = _copy_meta(record)
            return True

    def get_session(self, session_id: str) -> SessionRecord:
        with self._lock:
            return _copy_meta(self._session(session_id))

    def query_sessions(self, query: SessionQuery) -> list[SessionRecord]:
        with self._lock:
            self._check_open()
            found = [r for r in self._sessions.values() if query.matches(r)]
        found = _page(_ordered(found, query.descending), query.skip, query.limit)
        return [_copy_meta(r) for r in found]

    # -- processes -----------------------------------------------------------------------------
    def register_process(self, record: ProcessRecord) -> None:
        with self._lock:
            self._check_open()
            self._processes[record.id] = record

    def heartbeat(self, process_id: str, now: float) -> None:
        with self._lock:
            self._check_open()
            record = self._processes.get(process_id)
            if record is not None:
                self._processes[process_id] = dataclasses.replace(record, heartbeat=now)

    def unregister_process(self, process_id: str) -> None:
        with self._lock:
            self._check_open()
            self._processes.pop(process_id, None)

    def processes(self) -> list[ProcessRecord]:
        with self._lock:
            self._check_open()
            return list(self._processes.values())

    def mark_orphans(self, process_ids: Collection[str], now: float) -> OrphanReport:
        owners = set(process_ids)
        jobs: list[str] = []
        sessions: list[str] = []
        with self._lock:
            self._check_open()
            for job_id, r in self._jobs.items():
                if r.owner in owners and r.status in PENDING_STATES:
                    self._jobs[job_id] = orphan_job(r, now, self._processes.get(r.owner))
                    jobs.append(job_id)
            for session_id, s in self._sessions.items():
                if s.owner in owners and s.state is not SessionState.CLOSED:
                    self._sessions[session_id] = orphan_session(s, now)
                    sessions.append(session_id)
            for owner in owners:
                self._processes.pop(owner, None)
        return OrphanReport(tuple(jobs), tuple(sessions))

    def adopt_orphans(self, process_ids: Collection[str], owner: str) -> Adoption:
        jobs: list[JobRecord] = []
        sessions: list[SessionRecord] = []
        with self._lock:
            self._check_open()
            for process_id in process_ids:
                self._processes.pop(process_id, None)
            alive = self._processes
            for job_id, r in self._jobs.items():
                if r.status in PENDING_STATES and r.owner not in alive:
                    jobs.append(_copy_meta(r))
                    self._jobs[job_id] = r.replace(owner=owner)
            for session_id, s in self._sessions.items():
                if s.state is not SessionState.CLOSED and s.owner not in alive:
                    sessions.append(_copy_meta(s))
                    self._sessions[session_id] = s.replace(owner=owner)
        return Adoption(tuple(jobs), tuple(sessions))

    # -- tokens --------------------------------------------------------------------------------
    def add_token(self, record: TokenRecord) -> None:
        with self._lock:
            self._check_open()
            if record.name in self._tokens:
                raise AlreadyExistsError(f"a token for user {record.name!r} already exists")
            if any(t.token_hash == record.token_hash for t in self._tokens.values()):
                raise AlreadyExistsError("a token with that hash already exists")
            self._tokens[record.name] = record

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        with self._lock:
            self._check_open()
            for record in self._tokens.values():
                if record.token_hash == token_hash:
                    return record
            return None

    def tokens(self) -> list[TokenRecord]:
        with self._lock:
            self._check_open()
            return [self._tokens[name] for name in sorted(self._tokens)]

    def remove_token(self, name: str) -> bool:
        with self._lock:
            self._check_open()
            return self._tokens.pop(name, None) is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True

    # -- helpers --------------------------------------------------------------------------------
    def _check_open(self) -> None:
        if self._closed:
            raise StoreError("the store is closed")

    def _job(self, job_id: str) -> JobRecord:
        self._check_open()
        try:
            return self._jobs[job_id]
        except KeyError:
            raise JobNotFoundError(f"no job with id {job_id!r}") from None

    def _session(self, session_id: str) -> SessionRecord:
        self._check_open()
        try:
            return self._sessions[session_id]
        except KeyError:
            raise SessionNotFoundError(f"no session with id {session_id!r}") from None

    def __repr__(self) -> str:
        if self.keep_results is None:
            return f"MemoryStore({self.location!r})"
        return f"MemoryStore({self.location!r}, keep_results={self.keep_results})"


def _copy_meta(record: Any) -> Any:
    """The record with its own copy of its (mutable) metadata."""
    if not record.metadata:
        return record
    return record.replace(metadata=_copy(record.metadata))


def _copy(value: Any) -> Any:
    """A deep copy of JSON-like data (plain dicts, lists and scalars copied directly, which
    is several times faster than ``copy.deepcopy``; anything else goes to deepcopy)."""
    kind = type(value)
    if kind is dict:
        return {key: _copy(item) for key, item in value.items()}
    if kind is list:
        return [_copy(item) for item in value]
    if kind is str or kind is int or kind is float or kind is bool or value is None:
        return value
    return copy.deepcopy(value)


def _ordered(records: Iterable[Any], descending: bool) -> list[Any]:
    # Insertion order breaks ties between equal timestamps (Python's sort is stable).
    ordered = sorted(records, key=lambda r: r.created_at)
    if descending:
        # Reverse of the ascending order, so ties come out newest-submitted first.
        ordered.reverse()
    return ordered


def _page(records: list[Any], skip: int, limit: int | None) -> list[Any]:
    end = None if limit is None else skip + limit
    return records[skip:end]
