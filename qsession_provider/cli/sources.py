"""Where a command reads and acts: a store file (embedded) or a server (``--url``).

Reading never starts a runtime: a store is opened read-only (:class:`StoreReader`, the
reading half of ``RuntimeAPI``'s names over the records), so a listing never runs, fails
or sweeps anybody's jobs, and a store file this user may not write is still listed. A
server is read through :func:`~qsession_provider.client.choose.connect`.

Acting (cancel, close) goes through a runtime: the store's own (``open_runtime``, which
refuses work another live process runs) or the server's, never through raw store writes.
"""

from __future__ import annotations

import argparse
import json
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from ..core.clock import RealClock
from ..core.device import Device
from ..core.ir.encoding import to_jsonable
from ..core.job_record import PENDING_STATES, JobRecord, JobRecordView, JobStatus
from ..core.session import SessionMode, SessionRecord, SessionState
from ..core.store.postgres_open import is_postgres_url, open_store
from ..core.store.protocol import JobQuery, SessionQuery
from ..core.store.sqlite import resolve_store_path
from ..errors import InputError

if TYPE_CHECKING:  # the client (plugins, the engine) loads only to act or to reach a server
    from ..client.api import RuntimeAPI

__all__ = ["StoreReader", "StoredJob", "reader", "actor", "result_tree", "job_counts"]

#: A store whose latest record is older than this is taken to run on a virtual clock.
_REAL_TIME_WINDOW = 7 * 24 * 3600.0


class StoredJob(JobRecordView):
    """A job record read from a store file (the record views of a job handle)."""

    def __init__(self, record: JobRecord) -> None:
        self._record = record


class StoreReader:
    """A store file opened read-only, answering with ``RuntimeAPI``'s reading names.

    Args:
        path: the store file (None: ``$QSESSION_STORE`` or the user data directory).

    Raises:
        StoreError: no such file, not a store, damaged (the message names the path).
    """

    def __init__(self, path: str | None) -> None:
        self.store = open_store(path, read_only=True)
        self.location = self.store.location
        self.clock = RealClock()
        self._devices: dict[str, Device] | None = None

    def close(self) -> None:
        """Close the store."""
        self.store.close()

    # -- jobs
    def job(self, job_id: str) -> StoredJob:
        """The job ``job_id`` (``JobNotFoundError`` if none)."""
        return StoredJob(self.store.get_job(job_id))

    def jobs(
        self,
        *,
        device: str | None = None,
        status: Iterable[JobStatus | str] | None = None,
        pending: bool | None = None,
        session_id: str | None = None,
        created_before: float | None = None,
        limit: int | None = None,
        descending: bool = True,
    ) -> list[StoredJob]:
        """Jobs matching every filter given (newest first by default)."""
        statuses = None if status is None else frozenset(JobStatus(s) for s in status)
        if pending is not None:
            statuses = PENDING_STATES if pending else frozenset(JobStatus) - PENDING_STATES
        query = JobQuery(
            device=device,
            statuses=statuses,
            session_id=session_id,
            created_before=created_before,
            limit=limit,
            descending=descending,
        )
        return [StoredJob(r) for r in self.store.query_jobs(query)]

    def result_text(self, job_id: str) -> str | None:
        """The stored result (our stable encoding's text), or None."""
        return self.store.get_result(job_id)

    # -- sessions
    def session(self, session_id: str) -> SessionRecord:
        """The session ``session_id`` (``SessionNotFoundError`` if none)."""
        return self.store.get_session(session_id)

    def sessions(
        self,
        *,
        device: str | None = None,
        state: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[SessionRecord]:
        """Sessions matching every filter given, newest first."""
        states = None if state is None else frozenset(SessionState(s) for s in state)
        query = SessionQuery(device=device, states=states, limit=limit)
        return self.store.query_sessions(query)

    # -- devices
    def devices(self) -> list[Device]:
        """The devices of the installed plugins (what a runtime on this store would run)."""
        return sorted(self._device_map().values(), key=lambda d: d.name)

    def device(self, name: str) -> Device:
        """The device ``name`` (``DeviceNotFoundError`` if no plugin gives it)."""
        from ..errors import DeviceNotFoundError

        device = self._device_map().get(name)
        if device is None:
            raise DeviceNotFoundError(f"no device named {name!r}")
        return device

    def pending_jobs(self, device: str) -> int:
        """Queued and running jobs of ``device`` in the store."""
        return self.store.count_jobs(JobQuery(device=device, statuses=PENDING_STATES))

    def holder(self, device: str) -> str | None:
        """The active dedicated session holding ``device``, or None."""
        query = SessionQuery(
            device=device, states=frozenset({SessionState.ACTIVE}), mode=SessionMode.DEDICATED
        )
        found = self.store.query_sessions(query)
        return found[0].id if found else None

    def now(self) -> float:
        """The store's "now": wall time, or its latest record time for a virtual clock's
        store (whose times are far from the wall clock)."""
        latest = [r.created_at for r in self.store.query_jobs(JobQuery(limit=1))]
        latest += [r.created_at for r in self.store.query_sessions(SessionQuery(limit=1))]
        wall = time.time()
        if not latest or wall - max(latest) < _REAL_TIME_WINDOW:
            return wall
        jobs = self.store.query_jobs(JobQuery(limit=50))
        times = [t for r in jobs for t in (r.started_at, r.finished_at) if t is not None]
        return max([*latest, *times])

    def _device_map(self) -> dict[str, Device]:
        if self._devices is None:
            # plugins (pluggy, the engine) load only when devices are asked for
            from ..plugins.manager import build_device_registry, get_plugin_manager

            self._devices = {d.name: d for d in build_device_registry(get_plugin_manager())}
        return self._devices


def server_args(args: argparse.Namespace) -> tuple[str, str] | None:
    """(url, token) if the command is to talk to a server, else None (a store)."""
    from ..client.choose import TOKEN_ENV, URL_ENV

    url = args.url or (os.environ.get(URL_ENV) if args.store is None else None)
    if not url:
        return None
    if args.store is not None and args.url:
        raise InputError("give either --store or --url, not both")
    token = args.token or os.environ.get(TOKEN_ENV)
    if not token:
        raise InputError(f"--url needs a token: --token or ${TOKEN_ENV}")
    return url, token


@contextmanager
def reader(args: argparse.Namespace) -> Iterator[Any]:
    """A read-only view: the store opened read-only, or the server's runtime."""
    remote = server_args(args)
    if remote is not None:
        with _connected(*remote) as runtime:
            yield runtime
        return
    view = StoreReader(args.store)
    try:
        yield view
    finally:
        view.close()


@contextmanager
def actor(args: argparse.Namespace) -> Iterator[RuntimeAPI]:
    """A runtime to act through: the server's, or the store's own (shut down after)."""
    remote = server_args(args)
    if remote is not None:
        with _connected(*remote) as runtime:
            yield runtime
        return
    from ..client.local import open_runtime
    from ..core.runtime.runtime import registered_runtime

    path = resolve_store_path(args.store)
    if not is_postgres_url(path) and not os.path.isfile(path):
        raise InputError(f"no store at {path}: nothing to act on")
    running = registered_runtime(path)  # this process runs the store already (embedded use)
    runtime = open_runtime(path)
    try:
        yield runtime
    finally:
        if running is None:
            runtime.shutdown()


@contextmanager
def _connected(url: str, token: str) -> Iterator[RuntimeAPI]:
    from ..client.choose import connect

    runtime = connect(url, token)
    try:
        yield runtime
    finally:
        runtime.shutdown()


def now_of(source: Any) -> float:
    """The current time of a reader (store) or runtime (server)."""
    if isinstance(source, StoreReader):
        return source.now()
    return float(source.clock.now())


def result_tree(source: Any, job: Any) -> Any:
    """A DONE job's result as our stable encoding's JSON tree (None if there is none)."""
    if job.status is not JobStatus.DONE:
        return None
    if isinstance(source, StoreReader):
        text = source.result_text(job.id)
        return None if text is None else json.loads(text)
    return to_jsonable(job.result())


def job_counts(source: Any, sessions: list[SessionRecord]) -> dict[str, dict[str, int]]:
    """Per session id: job counts by status value."""
    if isinstance(source, StoreReader):
        counted = source.store.count_jobs_by_session([s.id for s in sessions])
        return {sid: {st.value: n for st, n in c.items()} for sid, c in counted.items()}
    out: dict[str, dict[str, int]] = {}
    for s in sessions:
        counts: dict[str, int] = {}
        for j in source.jobs(session_id=s.id):
            counts[j.status.value] = counts.get(j.status.value, 0) + 1
        out[s.id] = counts
    return out
