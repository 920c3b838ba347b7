"""A runtime served by ``qsession serve``: :func:`connect` and :class:`RemoteRuntime`.

:class:`RemoteRuntime` implements :class:`~.api.RuntimeAPI` over the service's HTTP API
(``/api/v1``), so every face works on it unchanged: devices come back as
:class:`~qsession_provider.core.device.Device` objects (their ``execute`` runs on the
server only), jobs as :class:`~.remote_job.RemoteJob` handles, sessions as
:class:`~qsession_provider.core.session.SessionRecord` snapshots, and errors as the
classes of :mod:`qsession_provider.errors` the server names. Payloads and results travel
as the store's stable JSON encoding, never pickle.

Who submits is the token's user: jobs and sessions get the user and instance of the
token (``whoami``), whatever ``instance`` a face passes, unless the token is an admin's.
A user sees only their own jobs and sessions; another user's id answers "not found".

One ``httpx.Client`` per runtime, with keep-alive, shared by the threads of the process.
The device list is read once per runtime (a server's devices are fixed while it runs).
"""

from __future__ import annotations

import threading
import weakref
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

import httpx

from ..core.device import Device
from ..core.job import JobRecord, JobStatus
from ..core.plans import InstancePlan, Reservation
from ..core.runtime.checks import encode, timestamp
from ..core.runtime.estimates import QueueEstimate
from ..core.session import SessionRecord
from ..errors import InputError
from .remote_clock import RemoteClock
from .remote_job import RemoteJob
from .transport import Transport
from .wire import (
    check_url,
    device_from_json,
    jsonable,
    listed,
    many,
    params,
    segment,
    session_of,
    wire,
)

__all__ = ["connect", "RemoteRuntime", "RemoteClock", "RemoteJob"]


def connect(
    url: str, token: str, *, timeout: float = 30.0, client: httpx.Client | None = None
) -> RemoteRuntime:
    """Connect to a ``qsession serve`` server and check the token.

    Args:
        url: the server's URL, as ``qsession serve`` prints it (``http://127.0.0.1:8765``).
        token: a token made by ``qsession token create``.
        timeout: seconds to connect, send and read one request (long-polls add their own).
        client: an ``httpx.Client`` to send requests with (e.g. Starlette's
            ``TestClient`` over an app in this process); default: a new keep-alive client.

    Raises:
        InputError: a malformed URL, token or timeout.
        NotAuthorizedError: the server does not know the token.
        QSessionError: the server cannot be reached.
    """
    return RemoteRuntime(url, token, timeout=timeout, client=client)


class RemoteRuntime:
    """The runtime of a server, over HTTP (see the module docstring).

    Args:
        url, token, timeout, client: as :func:`connect`.

    Example:
        >>> runtime = connect("http://127.0.0.1:8765", token)  # doctest: +SKIP
        >>> runtime.submit("sampler", "statevector", payload).result()  # doctest: +SKIP
    """

    def __init__(
        self,
        url: str,
        token: str,
        *,
        timeout: float = 30.0,
        client: httpx.Client | None = None,
    ) -> None:
        url = check_url(url)
        if not isinstance(token, str) or not token.strip() or any(c.isspace() for c in token):
            raise InputError("token must be a non-empty string without spaces")
        if isinstance(timeout, bool) or not isinstance(timeout, (int, float)) or timeout <= 0:
            raise InputError(f"timeout must be a number of seconds > 0, got {timeout!r}")
        self._http = Transport(url, token, timeout=float(timeout), client=client)
        #: What a pickled handle carries to reconnect (:mod:`.handles`): url, token, own client.
        self._address = (url, token, client is None)
        self.clock = RemoteClock(self._http)
        self._lock = threading.Lock()
        self._handles: weakref.WeakValueDictionary[str, RemoteJob] = weakref.WeakValueDictionary()
        self._devices: dict[str, Device] | None = None
        #: False once the server refused a passive wait (see :mod:`.remote_job`).
        self._passive_waits = True
        try:
            self._whoami = self._http.request("GET", "/whoami")
        except BaseException:
            self._http.close()
            raise

    # -- who and where ------------------------------------------------------------------------
    @property
    def location(self) -> str:
        """The server's URL."""
        return self._http.url

    @property
    def closed(self) -> bool:
        """True once :meth:`shutdown` closed the connection."""
        return self._http.closed

    @property
    def user(self) -> str:
        """The token's user."""
        return str(self._whoami["user"])

    @property
    def instance(self) -> str:
        """The token's instance: new jobs and sessions are charged to it."""
        return str(self._whoami["instance"])

    @property
    def admin(self) -> bool:
        """True for an admin token (sees every user's records, may move a virtual clock)."""
        return bool(self._whoami["admin"])

    def whoami(self) -> dict[str, Any]:
        """``{"user", "instance", "admin"}`` of the token, as the server reads it now."""
        return dict(self._http.request("GET", "/whoami"))

    # -- devices --------------------------------------------------------------------------------
    def devices(self) -> list[Device]:
        """Every device of the server, by name."""
        return sorted(self._device_map().values(), key=lambda d: d.name)

    def device(self, name: str) -> Device:
        """The device called ``name`` (``DeviceNotFoundError`` if none)."""
        device = self._device_map().get(name) if isinstance(name, str) else None
        if device is None:
            answer = self._http.request("GET", f"/devices/{segment(name)}")
            device = device_from_json(answer["device"])
        return device

    def pending_jobs(self, device: str) -> int:
        """Queued and running jobs of ``device`` on the server (every user's)."""
        return int(self._http.request("GET", f"/devices/{segment(device)}")["pending_jobs"])

    def holder(self, device: str) -> str | None:
        """Id of the dedicated session ``device`` is dedicated to right now, or None."""
        return self._http.request("GET", f"/devices/{segment(device)}")["holder"]

    # -- jobs -----------------------------------------------------------------------------------
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
    ) -> RemoteJob:
        """Queue ``payload`` on the server (one request; a tiny job comes back final).

        ``instance`` other than the token's needs an admin token; ``user`` is the token's.
        Raises what ``Runtime.submit`` raises, from the server.
        """
        del user  # the server takes it from the token
        body: dict[str, Any] = {
            "program_id": program_id,
            "device": device,
            "payload": encode(payload, "payload"),
        }
        optional = {
            "session_id": session_id,
            "tags": listed(tags) or None,
            "name": name or None,
            "priority": priority or None,
            "max_execution_time": max_execution_time,
            "job_id": job_id,
            "metadata": jsonable(metadata, "metadata") if metadata else None,
            "fail_with": fail_with,
            "system": True if system else None,
            "instance": self._instance_to_send(instance),
        }
        body.update((k, v) for k, v in optional.items() if v is not None)
        answer = self._http.request("POST", "/jobs", body=body)
        return self._handle(answer, payload=payload)

    def job(self, job_id: str) -> RemoteJob:
        """The job with ``job_id`` (``JobNotFoundError`` if none, or another user's)."""
        return self._handle(self._http.request("GET", f"/jobs/{segment(job_id)}"))

    # -- plans, usage limits and reservations ------------------------------------------------
    def usage(self, instance: str) -> dict[str, Any]:
        """An instance's plan, limit and use (a user's own instance; an admin's any)."""
        data = self._http.request("GET", f"/instances/{segment(instance)}/usage")
        return dict(data["usage"])

    def set_plan(self, instance: str, plan: InstancePlan) -> None:
        """Set an instance's plan and usage limit (administrators)."""
        body = {"plan": plan.plan, "usage_limit": plan.usage_limit, "period": plan.period}
        self._http.request("PUT", f"/instances/{segment(instance)}/plan", body=body)

    def reserve(self, reservation: Reservation) -> None:
        """Reserve a device for an instance during a window (administrators)."""
        body = {
            "device": reservation.device,
            "instance": reservation.instance,
            "start": reservation.start,
            "end": reservation.end,
        }
        self._http.request("POST", "/reservations", body=body)

    def reservations(self) -> list[Reservation]:
        """The server's reservations (a user sees their own instance's)."""
        data = self._http.request("GET", "/reservations")
        return [Reservation(**item) for item in data["reservations"]]

    def queue_estimate(self, job_id: str) -> QueueEstimate | None:
        """A queued job's position and estimated start and completion on the server."""
        data = self._http.request("GET", f"/jobs/{segment(job_id)}/estimate")["estimate"]
        return None if data is None else QueueEstimate(**data)

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
    ) -> list[RemoteJob]:
        """The token's jobs (an admin's: everyone's) matching every filter given."""
        matches, instance = self._instance_filter(instance)
        if not matches:
            return []
        query = params(
            device=device,
            session_id=session_id,
            program_id=program_id,
            status=None if status is None else many(status),
            pending=pending,
            tags=None if tags is None else listed(tags),
            instance=instance,
            name_prefix=name_prefix,
            created_after=timestamp(created_after),
            created_before=timestamp(created_before),
            owner=owner,
            user=user,
            limit=limit,
            skip=skip or None,
            descending=None if descending else False,
        )
        answer = self._http.request("GET", "/jobs", params=query)
        return [self._handle({"job": data}) for data in answer["jobs"]]

    def cancel_job(self, job_id: str) -> bool:
        """Cancel a job; False if it was already final (or its device cannot stop it)."""
        answer = self._http.request("POST", f"/jobs/{segment(job_id)}/cancel")
        self._handle(answer)
        return bool(answer["cancelled"])

    def delete_job(self, job_id: str, *, instance: str | None = None) -> None:
        """Delete a final job (``InvalidJobStateError`` if it has not finished; the server
        checks the token's instance, whatever ``instance`` says)."""
        del instance
        self._http.request("DELETE", f"/jobs/{segment(job_id)}")
        with self._lock:
            self._handles.pop(job_id, None)

    def update_job(
        self,
        job_id: str,
        *,
        name: str | None = None,
        tags: Iterable[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        instance: str | None = None,
    ) -> RemoteJob:
        """Replace a job's name, tags or metadata (the server checks the token's instance,
        whatever ``instance`` says)."""
        del instance
        body: dict[str, Any] = {}
        if name is not None:
            body["name"] = name
        if tags is not None:
            body["tags"] = listed(tags)
        if metadata is not None:
            body["metadata"] = jsonable(metadata, "metadata")
        return self._handle(self._http.request("PATCH", f"/jobs/{segment(job_id)}", body=body))

    # -- sessions -------------------------------------------------------------------------------
    def open_session(self, device: str, **options: Any) -> SessionRecord:
        """Open a session or batch on ``device`` (the options of ``Runtime.open_session``)."""
        body: dict[str, Any] = {"device": device}
        for key, value in options.items():
            if key == "instance":
                value = self._instance_to_send(value)
                if value is None:
                    continue
            elif key == "user":
                continue  # the server takes it from the token
            elif key == "metadata":
                value = jsonable(value or {}, "metadata")
            elif key == "tags":
                value = listed(value)
            body[key] = wire(value)
        return session_of(self._http.request("POST", "/sessions", body=body))

    def session(self, session_id: str) -> SessionRecord:
        """The session ``session_id`` (``SessionNotFoundError`` if none, or another user's)."""
        return session_of(self._http.request("GET", f"/sessions/{segment(session_id)}"))

    def sessions(
        self,
        *,
        device: str | None = None,
        state: Any = None,
        mode: Any = None,
        instance: str | None = None,
        name_prefix: str | None = None,
        created_after: float | datetime | None = None,
        created_before: float | datetime | None = None,
        owner: str | None = None,
        limit: int | None = None,
        skip: int = 0,
        descending: bool = True,
        user: str | None = None,
    ) -> list[SessionRecord]:
        """The token's sessions (an admin's: everyone's) matching every filter given."""
        matches, instance = self._instance_filter(instance)
        if not matches:
            return []
        query = params(
            device=device,
            state=None if state is None else many(state),
            mode=mode,
            instance=instance,
            name_prefix=name_prefix,
            created_after=timestamp(created_after),
            created_before=timestamp(created_before),
            owner=owner,
            user=user,
            limit=limit,
            skip=skip or None,
            descending=None if descending else False,
        )
        answer = self._http.request("GET", "/sessions", params=query)
        return [SessionRecord.from_json(data) for data in answer["sessions"]]

    def close_session(self, session_id: str) -> SessionRecord:
        """Stop accepting jobs; queued and running jobs finish, then the session closes."""
        return session_of(self._http.request("POST", f"/sessions/{segment(session_id)}/close"))

    def cancel_session(self, session_id: str) -> SessionRecord:
        """Close at once; queued jobs fail."""
        return session_of(self._http.request("POST", f"/sessions/{segment(session_id)}/cancel"))

    # -- lifecycle ------------------------------------------------------------------------------
    def shutdown(
        self,
        *,
        wait: bool = True,
        cancel_pending: bool = False,
        timeout: float | None = None,
        keep_queued: bool = False,
    ) -> None:
        """Close the connection (idempotent). The server and its jobs go on running."""
        del wait, cancel_pending, timeout, keep_queued
        self._http.close()

    def __enter__(self) -> RemoteRuntime:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self.closed else "open"
        return f"<RemoteRuntime {self.location} {state} user={self._whoami.get('user')!r}>"

    # -- internals ------------------------------------------------------------------------------
    def _device_map(self) -> dict[str, Device]:
        devices = self._devices
        if devices is None:
            answer = self._http.request("GET", "/devices")
            devices = {d.name: d for d in map(device_from_json, answer["devices"])}
            self._devices = devices
        return devices

    def _handle(self, answer: dict[str, Any], payload: Any = None) -> RemoteJob:
        """The one handle of the job in ``answer`` (``{"job": record, "result"?: text}``)."""
        record = JobRecord.from_json(answer["job"])
        with self._lock:
            job = self._handles.get(record.id)
            if job is None:
                job = self._handles[record.id] = RemoteJob(self, record, payload)
        job._absorb(record, answer if "result" in answer else None)
        return job

    def _instance_to_send(self, instance: Any) -> Any:
        """None when the server's default (the token's instance) is meant."""
        return None if instance in (None, "default", self.instance) else instance

    def _instance_filter(self, instance: str | None) -> tuple[bool, str | None]:
        """(whether anything can match, the ``instance`` query value to send).

        A user's records all carry the token's instance, so only an admin needs the filter.
        """
        if instance is None or self.admin:
            return True, instance
        return instance == self.instance, None
