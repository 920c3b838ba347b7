"""The job half of the :class:`~.runtime.Runtime` facade: submit, look up, list, cancel."""

from __future__ import annotations

import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

from ...errors import (
    ForbiddenError,
    InputError,
    InvalidJobStateError,
    JobError,
    JobNotFoundError,
    StoreError,
)
from ..clock import Clock, parse_duration
from ..device import DeviceRegistry
from ..job import FINAL_STATES, PENDING_STATES, Job, JobErrorCode, JobRecord, JobStatus
from ..store.processes import ProcessRecord
from ..store.protocol import JobQuery, Store
from . import checks as args
from .context import RuntimeContext
from .events import EventEmitter
from .ids import new_id
from .live_session import LiveSession
from .scheduler import Scheduler
from .session_rules import SessionRules

__all__ = ["JobsAPI"]


class JobsAPI:
    """Job methods of :class:`~.runtime.Runtime` (a mixin; the state is set up there)."""

    clock: Clock
    store: Store
    _ctx: RuntimeContext
    _devices: DeviceRegistry
    _emitter: EventEmitter
    _scheduler: Scheduler
    _rules: SessionRules
    _process: ProcessRecord
    _live: dict[str, Job]
    _handles: weakref.WeakValueDictionary[str, Job]

    if TYPE_CHECKING:  # provided by Runtime and SessionsAPI

        def _check_open(self) -> None: ...

        def _session_for_submit(self, session_id: str, device: str, user: str) -> LiveSession: ...

    # -- public ---------------------------------------------------------------------------
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
        """Queue a job.

        Args:
            program_id: ``sampler``, ``estimator``, ``run`` or another program the device runs.
            device: device name.
            payload: the neutral payload (do not mutate it afterwards).
            session_id: run inside this session or batch (None: job mode).
            instance: who the job is charged to (fair share is across instances).
            tags: job tags.
            name: job name.
            priority: higher runs first within an instance's queue.
            system: a system (calibration) job, run before anything else.
            max_execution_time: seconds (or ``"5m"``) the job may run; past it the job
                fails with error code ``max_execution_time``.
            job_id: an id chosen by the caller (default: a new UUID).
            metadata: free data stored with the job (for faces).
            fail_with: accept the job but, when it reaches the device, fail it with this
                message (code ``execution_failed``) instead of executing the payload: how a
                face records input a service accepts but cannot run. The job is queued and
                scheduled like any other, and its session's failure policy applies.
            user: the authenticated user submitting it through a service ("" for embedded
                use). A session takes only its own user's jobs: a session of another user
                is "not found". A job of ``user=""`` in a session gets the session's user.

        Returns:
            The job handle.

        Raises:
            DeviceNotFoundError: unknown device.
            InputError: invalid payload or arguments (nothing is queued).
            SessionNotFoundError: unknown session, or a session of another user.
            SessionClosedError: the session no longer accepts jobs.
            UsageLimitError: the instance has met its usage limit.
            QSessionError: the runtime is shut down.
        """
        self._check_open()
        dev = self._devices.get(device)
        args.check_name(program_id, "program_id")
        tags = args.check_tags(tags)
        args.check_text(name, "name")
        args.check_name(instance, "instance")
        if type(user) is not str or not user.isascii():  # the ASCII common case costs nothing
            args.check_text(user, "user")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise InputError(f"priority must be an integer, got {priority!r}")
        if system and session_id is not None:
            raise InputError("a system job cannot belong to a session")
        limit = None
        if fail_with is not None:
            args.check_name(fail_with, "fail_with")
        if max_execution_time is not None:
            limit = parse_duration(max_execution_time)
            if limit <= 0:
                raise InputError("max_execution_time must be > 0")
        dev.validate(program_id, payload)
        payload_text = args.encode(payload, "payload")
        meta = dict(metadata or {})
        args.check_storable(meta, "metadata")
        fresh = job_id is None
        job_id = new_id(job_id, "job_id")
        with self._ctx.locked():
            self._check_open()
            if self._scheduler.faults is not None:  # an injected outage may refuse it
                self._scheduler.faults.check_submit(device)
            if self._scheduler.allowances is not None:  # an instance over its usage limit
                self._scheduler.allowances.check_submit(instance, self.clock.now())
            session = self._session_for_submit(session_id, device, user) if session_id else None
            record = JobRecord(
                id=job_id,
                program_id=program_id,
                device=device,
                status=JobStatus.QUEUED,
                created_at=self.clock.now(),
                session_id=session_id,
                instance=instance,
                tags=tags,
                name=name,
                system=bool(system),
                priority=priority,
                max_execution_time=limit,
                owner=self._process.id,
                user=session.record.user if session is not None and not user else user,
                metadata=meta,
            )
            # One store group for the insert and what the submission does at once (a start,
            # a tiny job's whole run, the session's update). A store that commits before
            # returning (no write-behind) fails submit if the commit fails: the job is dropped.
            job: Job | None = None
            refused: StoreError | None = None
            try:
                with self._scheduler.transitions.batch(strict=True):
                    self.store.add_job(record, payload_text, fresh=fresh)
                    job = self._new_handle(record, payload)
                    job._fail_with = fail_with
                    self._live[job.id] = job
                    job.add_done_callback(self._job_final)
                    if session is not None:
                        self._rules.job_submitted(session, job)
                    self._emitter.post("job_submitted", job)
                    self._scheduler.enqueue(job, dev, session, submitted=True)
            except StoreError as exc:
                if job is not None and not job.in_final_state():
                    self._scheduler.cancel(
                        job,
                        dev,
                        code=JobErrorCode.EXECUTION_FAILED,
                        message=f"the job could not be stored: {exc}",
                    )
                refused = exc  # raised once the lock is left, so its deferred work runs
        if refused is not None:  # (a started job's launch, which releases its clock hold)
            raise refused
        assert job is not None
        return job

    def job(self, job_id: str) -> Job:
        """The job with this id, from memory or the store (any process's job).

        Raises:
            JobNotFoundError: no such job.
        """
        with self._ctx.lock:
            handle = self._handles.get(job_id)
        if handle is not None:
            return handle
        return self._handle_for(self.store.get_job(job_id))

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
        """Jobs in the store matching every given filter (newest first by default).

        ``pending=True`` keeps QUEUED and RUNNING jobs, ``pending=False`` final ones;
        ``tags`` must all be present; ``user`` keeps one user's jobs (``""``: embedded ones).
        """
        statuses = None if status is None else args.statuses(status)
        if pending is not None:
            wanted = PENDING_STATES if pending else FINAL_STATES
            statuses = wanted if statuses is None else statuses & wanted
        query = JobQuery(
            device=device,
            statuses=statuses,
            program_id=program_id,
            tags=args.check_tags(tags or ()),
            session_id=session_id,
            instance=instance,
            name_prefix=name_prefix,
            owner=owner,
            user=user,
            descending=descending,
            **args.window(created_after, created_before, limit, skip),
        )
        with self._ctx.lock:  # consistent with the runtime's own state changes
            records = self.store.query_jobs(query)
        return [self._handle_for(r) for r in records]

    def cancel_job(self, job_id: str) -> bool:
        """Cancel a job: always if queued, if its device allows when running.

        Returns:
            True if the job is now CANCELLED; False if it was final or cannot be stopped.

        Raises:
            JobNotFoundError: no such job.
            JobError: another process runs the job.
        """
        job = self.job(job_id)
        if job.in_final_state():
            return False
        with self._ctx.locked():
            live = self._live.get(job_id)
            if live is None:
                if job.refresh().status in FINAL_STATES:
                    return False
                raise JobError(f"job {job_id} is run by another process; cancel it there")
            return self._scheduler.cancel(
                live,
                self._devices.get(live.device),
                code=JobErrorCode.CANCELLED_BY_USER,
                message="cancelled by the user",
            )

    def delete_job(
        self, job_id: str, *, instance: str | None = None, user: str | None = None
    ) -> None:
        """Delete a final job with its payload and result.

        Args:
            job_id: the job.
            instance: the caller's instance: only a job of this instance may be deleted
                (None: not checked - embedded, administrative use).
            user: the authenticated caller: another user's job is "not found" (None or
                "": not checked).

        Raises:
            JobNotFoundError: no such job (or a job of another user).
            ForbiddenError: the job belongs to another instance.
            InvalidJobStateError: the job has not finished (cancel it first).
        """
        _check_caller_args(instance, user)
        with self._ctx.locked():
            record = self.store.get_job(job_id)
            _check_caller(record, instance, user)
            if record.status not in FINAL_STATES:
                raise InvalidJobStateError(
                    f"job {job_id} is {record.status.value}; only finished jobs can be deleted"
                )
            self.store.delete_job(job_id)
            self._handles.pop(job_id, None)

    def update_job(
        self,
        job_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        instance: str | None = None,
        user: str | None = None,
    ) -> Job:
        """Change a job's name, tags (replaced) or metadata (replaced).

        ``instance`` and ``user`` identify the caller as for :meth:`delete_job`: a job of
        another instance cannot be changed, a job of another user is "not found".

        Raises:
            JobNotFoundError: no such job (or a job of another user).
            ForbiddenError: the job belongs to another instance.
            InputError: invalid values.
            JobError: another process runs the (unfinished) job.
        """
        _check_caller_args(instance, user)
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = args.check_text(name, "name")
        if tags is not None:
            changes["tags"] = args.check_tags(tags)
        if metadata is not None:
            args.check_storable(dict(metadata), "metadata")
            changes["metadata"] = dict(metadata)
        with self._ctx.locked():
            job = self._live.get(job_id)
            _check_caller(
                job.record if job is not None else self.store.get_job(job_id), instance, user
            )
            if job is not None:
                job._update(**changes)
                self.store.update_job(job.record)
                return job
            record = self.store.get_job(job_id)
            if record.status not in FINAL_STATES and record.owner != self._process.id:
                raise JobError(f"job {job_id} is run by another process; update it there")
            self.store.update_job(record.replace(**changes))
        handle = self._handles.get(job_id)
        if handle is not None:
            handle._update(**changes)
            return handle
        return self.job(job_id)

    def _job_final(self, job: Job) -> None:
        self._live.pop(job.id, None)

    def _new_handle(self, record: JobRecord, payload: Any = None) -> Job:
        job_id = record.id
        foreign = record.owner != self._process.id and record.status not in FINAL_STATES
        job = Job(
            record,
            clock=self.clock,
            payload=payload,
            load_payload=lambda: args.decode_payload(
                record.program_id, self.store.get_payload(job_id)
            ),
            load_result=lambda: args.decode_result(self.store.get_result(job_id)),
            cancel=lambda j: self.cancel_job(j.id),
            reload=(lambda: self.store.get_job(job_id)) if foreign else None,
        )
        self._handles[job_id] = job
        return job

    def _handle_for(self, record: JobRecord) -> Job:
        with self._ctx.lock:
            handle = self._live.get(record.id) or self._handles.get(record.id)
            return handle if handle is not None else self._new_handle(record)


def _check_caller(record: JobRecord, instance: str | None, user: str | None) -> None:
    """Refuse a change of ``record`` by another user (not found) or instance (forbidden)."""
    if user and record.user != user:
        raise JobNotFoundError(f"no job with id {record.id!r}")
    if instance is not None and record.instance != instance:
        raise ForbiddenError(
            f"job {record.id} belongs to another instance than {instance!r}; only its own "
            "instance can change or delete it"
        )


def _check_caller_args(instance: str | None, user: str | None) -> None:
    """Validate the ``instance`` and ``user`` a caller names itself by (InputError)."""
    if instance is not None:
        args.check_name(instance, "instance")
    if user is not None:
        args.check_text(user, "user")
