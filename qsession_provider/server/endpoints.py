"""What every route shares: the server's state, authentication, JSON answers, errors, logs.

A route is ``async def route(request, ctx) -> Response`` wrapped by :func:`endpoint`,
which authenticates the request, turns any exception into its JSON error answer
(:mod:`.errors`) and logs one line per request at debug level. Blocking runtime calls go
through :func:`blocking` (the thread pool), so the event loop never waits for a job, a
store or a lock.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio import CapacityLimiter
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from .auth import Authenticator, Principal
from .errors import error_response
from .limits import QueuedJobs
from .waits import Waits

__all__ = ["ServerState", "Context", "endpoint", "blocking", "answer", "log", "log_request"]

#: The server's logger: one line per request at debug level.
log = logging.getLogger("qsession_provider.server")

T = TypeVar("T")


@dataclass
class ServerState:
    """Everything the routes share (``app.state.qsession``).

    Attributes:
        runtime: the runtime the server serves.
        auth: turns bearer tokens into principals.
        waits: the long-poll waits in progress (ended when the server stops).
        queued: unfinished jobs per user, against ``--max-queued``.
        max_body: largest request body, in bytes.
        wait_threads: the threads long-polls may hold (their own, so that waiting clients
            never starve the other requests of the default thread pool).
    """

    runtime: Any
    auth: Authenticator
    waits: Waits
    queued: QueuedJobs
    max_body: int
    wait_threads: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(256))


@dataclass
class Context:
    """One request's server state and principal."""

    state: ServerState
    principal: Principal

    @property
    def runtime(self) -> Any:
        """The served runtime."""
        return self.state.runtime


Route = Callable[[Request, Context], Awaitable[Response]]


async def blocking(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run a blocking call in the thread pool."""
    return await run_in_threadpool(fn, *args, **kwargs)


def answer(data: Any, status: int = 200) -> Response:
    """A JSON answer (compact)."""
    return Response(
        json.dumps(data, separators=(",", ":")), status_code=status, media_type="application/json"
    )


def log_request(request: Request, status: int, started: float, user: str | None) -> None:
    """The debug line of one request."""
    if log.isEnabledFor(logging.DEBUG):
        log.debug(
            "%s %s %d %.2f ms user=%s",
            request.method,
            request.url.path,
            status,
            (time.perf_counter() - started) * 1e3,
            user or "-",
        )


def endpoint(route: Route) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint from ``route``: authenticated, errors as JSON, logged."""

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        state: ServerState = request.app.state.qsession
        user = None
        try:
            principal = await state.auth.authenticate(request.headers.get("authorization"))
            user = principal.user
            response = await route(request, Context(state, principal))
        except Exception as exc:  # every failure is an answer
            response = error_response(exc)
        log_request(request, response.status_code, started, user)
        return response

    handle.__name__ = route.__name__
    handle.__doc__ = route.__doc__
    return handle
