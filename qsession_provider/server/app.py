"""The ASGI application: :func:`create_app` serves a runtime over HTTP (JSON, ``/api/v1``).

The routes live by resource in :mod:`.jobs`, :mod:`.sessions`, :mod:`.devices` and
:mod:`.clock`; what they share (authentication, errors, logs) in :mod:`.endpoints`.
``qsession serve`` (:mod:`.serve`) runs the app on uvicorn; tests may drive it in process
with ``starlette.testclient.TestClient(create_app(runtime))``.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from ..errors import NotAuthorizedError
from . import clock, dashboard, devices, ibm, instances, jobs, sessions
from .auth import Authenticator, apply_shares
from .endpoints import SUBMIT_WAIT, ServerState, log_request
from .errors import NOT_FOUND, error_body, error_response
from .limits import QueuedJobs
from .waits import Waits

__all__ = ["create_app", "PREFIX", "DEFAULT_MAX_BODY", "DEFAULT_MAX_QUEUED"]

#: Where the API lives.
PREFIX = "/api/v1"
#: Largest request body by default: 64 MiB.
DEFAULT_MAX_BODY = 64 * 2**20
#: Most unfinished jobs per user by default.
DEFAULT_MAX_QUEUED = 10_000


def create_app(
    runtime: Any,
    *,
    max_body: int = DEFAULT_MAX_BODY,
    max_queued_per_user: int = DEFAULT_MAX_QUEUED,
    submit_wait: float = SUBMIT_WAIT,
) -> Starlette:
    """The HTTP API of ``runtime``.

    The shares of the store's tokens are applied to the runtime's policy now (and those of
    tokens made later when they are first used); the unfinished jobs already in the
    runtime (adopted after a restart) count against their users' limits.

    Args:
        runtime: the runtime to serve (its store must keep token records).
        max_body: largest request body in bytes (413 past it).
        max_queued_per_user: most queued or running jobs per user (429 past it).
        submit_wait: real seconds ``POST /jobs`` waits for a short job that started at
            once, so that it answers final (0: answer at once; see :mod:`.jobs`).

    Returns:
        The Starlette application; ``app.state.qsession`` is its :class:`ServerState`.
    """
    if isinstance(max_body, bool) or not isinstance(max_body, int) or max_body < 1:
        raise ValueError(f"max_body must be a positive integer, got {max_body!r}")
    if isinstance(submit_wait, bool) or not isinstance(submit_wait, (int, float)):
        raise ValueError(f"submit_wait must be a number of seconds, got {submit_wait!r}")
    if not 0 <= submit_wait <= 1:
        raise ValueError(f"submit_wait must be within 0 and 1 second, got {submit_wait!r}")
    apply_shares(runtime.policy, runtime.store.tokens())
    queued = QueuedJobs(max_queued_per_user)
    for job in runtime.jobs(pending=True, owner=runtime.process_id):  # adopted at start
        queued.reserve(job.record.user, force=True)
        queued.track(job.record.user, job)
    state = ServerState(
        runtime=runtime,
        auth=Authenticator(runtime.store, runtime.policy),
        waits=Waits(runtime.clock),
        queued=queued,
        max_body=max_body,
        submit_wait=float(submit_wait),
    )
    routes = [
        *jobs.routes(PREFIX),
        *sessions.routes(PREFIX),
        *devices.routes(PREFIX),
        *instances.routes(PREFIX),
        *clock.routes(PREFIX),
        *ibm.routes(),  # the IBM Quantum Platform API for qiskit-ibm-runtime, at /ibm
        *dashboard.routes(),  # the web dashboard at /
    ]
    app = Starlette(
        routes=routes,
        exception_handlers={404: _no_route, 405: _no_route},
    )
    app.state.qsession = state
    return app


async def _no_route(request: Request, exc: Exception) -> Response:
    """404 (or 405) for a route the API does not have, once the caller is authenticated."""
    started = time.perf_counter()
    state: ServerState = request.app.state.qsession
    user = None
    try:
        user = (await state.auth.authenticate(request.headers.get("authorization"))).user
    except NotAuthorizedError as auth_error:
        response = error_response(auth_error)
    else:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        if status == 405:
            message = f"{request.method} is not allowed on {request.url.path}"
            body = error_body("MethodNotAllowed", message)
        else:
            message = f"no route {request.method} {request.url.path} (the API lives under {PREFIX})"
            body = error_body(NOT_FOUND, message)
        response = Response(body, status_code=status, media_type="application/json")
    log_request(request, response.status_code, started, user)
    return response
