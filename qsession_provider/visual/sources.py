"""The timeline of whatever a user holds: a session of any face, a session id, a list of jobs.

Faces are recognised by what they expose, never imported: a session object gives its id
(``session_id`` or ``id``) and its runtime (``runtime``, ``service.runtime``,
``workspace.runtime`` or ``_backend.runtime``); a job gives its record directly
(``JobRecord``, a core or remote handle) or through ``core_job`` / ``core``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from ..client.api import RuntimeAPI
from ..core.job_record import JobRecord, JobRecordView
from ..core.session import SessionRecord
from ..core.timeline import Timeline, build_timeline
from ..errors import InputError

__all__ = ["timeline_of", "session_timeline", "record_of", "runtime_of"]

#: At most this many of the device's other jobs are read to explain waiting.
OTHERS_LIMIT = 2000


def timeline_of(
    source: Any,
    *,
    runtime: RuntimeAPI | None = None,
    others: bool = True,
    now: float | None = None,
) -> Timeline:
    """The :class:`Timeline` of ``source``.

    Args:
        source: a :class:`Timeline` (returned as is); a session of any face (IBM
            ``Session``/``Batch``, Azure or Cirq session); a session id or
            :class:`SessionRecord` (then ``runtime`` is needed); one job or a list of jobs
            (records, core or remote handles, face jobs).
        runtime: the runtime to read from (found on session objects when not given).
        others: draw other users' and sessions' jobs on the session's device too.
        now: the current time; default: the runtime's clock, or (for jobs without a
            runtime) the latest time the jobs carry.

    Raises:
        InputError: ``source`` is none of these, or a session id without a runtime.
    """
    if isinstance(source, Timeline):
        return source
    if isinstance(source, (str, SessionRecord)):
        session_id = source if isinstance(source, str) else source.id
        if runtime is None:
            raise InputError(
                f"session {session_id!r} given by id: pass runtime= (or the session object)"
            )
        return session_timeline(runtime, session_id, others=others, now=now)
    if isinstance(source, Iterable) and not isinstance(source, (bytes, dict)):
        return _jobs_timeline([record_of(j) for j in source], runtime, now)
    record = _maybe_record(source)
    if record is not None:
        return _jobs_timeline([record], runtime, now)
    session_id = _session_id(source)
    if session_id is None:
        raise InputError(
            f"cannot draw a timeline of {type(source).__name__}: pass a session (of any "
            "face), a session id with runtime=, or a list of jobs"
        )
    found = runtime or runtime_of(source)
    if found is None:
        raise InputError(f"cannot tell which runtime session {session_id!r} belongs to")
    return session_timeline(found, session_id, others=others, now=now)


def session_timeline(
    runtime: Any,
    session_id: str,
    *,
    others: bool = True,
    now: float | None = None,
    idle_lanes: bool = True,
) -> Timeline:
    """A session's timeline read from ``runtime`` (raises ``SessionNotFoundError``).

    ``runtime`` needs the reading half of ``RuntimeAPI``: ``session``, ``jobs``, ``clock``
    (unless ``now`` is given) and, with ``idle_lanes``, ``device`` (for its slot count: a
    lane for every slot, busy or not).
    """
    record = runtime.session(session_id)
    jobs = [j.record for j in runtime.jobs(session_id=session_id, descending=False)]
    now = runtime.clock.now() if now is None else now
    theirs = _others(runtime, record, jobs, now) if others else []
    slots: dict[str, int] = {}
    if idle_lanes:
        try:
            slots = {record.device: runtime.device(record.device).slots}
        except Exception:  # a device no longer installed: lanes from the jobs alone
            slots = {}
    return build_timeline(jobs, session=record, others=theirs, now=now, slots=slots)


def _others(
    runtime: Any, session: SessionRecord, jobs: Sequence[JobRecord], now: float
) -> list[JobRecord]:
    """Jobs of others that ran on the device while the session's jobs waited or ran."""
    times = [session.created_at] + [j.created_at for j in jobs]
    times += [t for j in jobs for t in (j.started_at, j.finished_at) if t is not None]
    start = min(times)
    end = now if session.closed_at is None else max([session.closed_at, *times])
    candidates = runtime.jobs(device=session.device, created_before=end, limit=OTHERS_LIMIT)
    return [
        j.record
        for j in candidates
        if j.session_id != session.id
        and j.started_at is not None
        and j.started_at <= end
        and (j.finished_at is None or j.finished_at >= start)
    ]


def _jobs_timeline(
    records: Sequence[JobRecord], runtime: RuntimeAPI | None, now: float | None
) -> Timeline:
    if now is None:
        if runtime is not None:
            now = runtime.clock.now()
        else:
            times = [t for r in records for t in (r.created_at, r.started_at, r.finished_at)]
            now = max((t for t in times if t is not None), default=0.0)
    sessions = {r.session_id for r in records}
    session = None
    if runtime is not None and len(sessions) == 1 and None not in sessions:
        session = runtime.session(next(iter(sessions)))  # type: ignore[arg-type]
    return build_timeline(records, session=session, now=now)


def record_of(job: Any) -> JobRecord:
    """The :class:`JobRecord` of a record, a core or remote handle, or a face's job.

    Raises:
        InputError: ``job`` is none of these.
    """
    record = _maybe_record(job)
    if record is None:
        raise InputError(
            f"not a job: {type(job).__name__} (pass job records, handles or a face's jobs)"
        )
    return record


def _maybe_record(job: Any) -> JobRecord | None:
    if isinstance(job, JobRecord):
        return job
    handle = core_handle(job)
    return None if handle is None else handle.record


def core_handle(job: Any) -> Any | None:
    """The core (or remote) job handle behind ``job``, or None if it is not a job."""
    if isinstance(job, JobRecordView):
        return job
    for attr in ("core_job", "core"):
        inner = getattr(job, attr, None)
        if isinstance(inner, JobRecordView):
            return inner
    return None


def runtime_of(obj: Any) -> RuntimeAPI | None:
    """The runtime an object of any face belongs to, or None if it does not say."""
    for path in ((), ("service",), ("workspace",), ("_backend",), ("_service",)):
        holder = obj
        try:
            for attr in path:
                holder = getattr(holder, attr)
            runtime = holder if not path and isinstance(holder, RuntimeAPI) else None
            runtime = runtime or getattr(holder, "runtime", None)
        except Exception:  # a property of a foreign object may raise; then it does not say
            continue
        if callable(runtime) and not isinstance(runtime, RuntimeAPI):
            continue
        if isinstance(runtime, RuntimeAPI):
            return runtime
    return None


def _session_id(obj: Any) -> str | None:
    for attr in ("session_id", "id"):
        try:
            value = getattr(obj, attr, None)
            if callable(value):
                value = value()
        except Exception:  # a foreign property that raises does not say
            continue
        if isinstance(value, str) and value:
            return value
    return None
