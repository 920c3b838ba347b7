"""What every route shares: the server's state, authentication, JSON answers, errors, logs.

A route is ``async def route(request, ctx) -> Response`` wrapped by :func:`endpoint`,
which authenticates the request, turns any exception into its JSON error answer
(:mod:`.errors`) and logs one line per request at debug level. Blocking runtime calls go
through :meth:`Context.blocking` (the server's thread pool), so the event loop never
waits for a job, a store or a lock.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any, TypeVar

from anyio import CapacityLimiter
from starlette.requests import Request
from starlette.responses import Response

from ..core.ir.encoding import Interner, compact
from .auth import Authenticator, Principal
from .errors import error_response
from .limits import QueuedJobs
from .waits import Waits

__all__ = [
    "ServerState",
    "Context",
    "endpoint",
    "answer",
    "log",
    "log_request",
    "BLOCKING_THREADS",
    "SUBMIT_WAIT",
]

#: The server's logger: one line per request at debug level.
log = logging.getLogger("qsession_provider.server")

#: Threads for blocking runtime calls (as many as anyio's default thread pool).
BLOCKING_THREADS = 40
#: Real seconds ``POST /jobs`` waits for a job that started at once to finish, so that a
#: short job's answer is final (one round trip); see :mod:`.jobs`.
SUBMIT_WAIT = 0.03

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
            never starve the other requests' threads).
        interner: decodes payloads sharing the circuits and observables of earlier ones
            (a VQE loop's circuit is decoded and validated once, and the engine's
            identity-keyed compile cache hits).
        submit_wait: real seconds ``POST /jobs`` waits for a short job (0: never).
        executor: the threads of blocking calls (:meth:`Context.blocking`); a plain pool
            costs less per call than anyio's worker threads.
    """

    runtime: Any
    auth: Authenticator
    waits: Waits
    queued: QueuedJobs
    max_body: int
    wait_threads: CapacityLimiter = field(default_factory=lambda: CapacityLimiter(256))
    interner: Interner = field(default_factory=Interner)
    submit_wait: float = SUBMIT_WAIT
    executor: ThreadPoolExecutor = field(
        default_factory=lambda: ThreadPoolExecutor(BLOCKING_THREADS, "qsession-http")
    )


@dataclass
class Context:
    """One request's server state and principal."""

    state: ServerState
    principal: Principal

    @property
    def runtime(self) -> Any:
        """The served runtime."""
        return self.state.runtime

    async def blocking(self, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
        """Run a blocking call in the server's thread pool."""
        loop = asyncio.get_running_loop()
        if kwargs:
            return await loop.run_in_executor(
                self.state.executor, functools.partial(fn, *args, **kwargs)
            )
        return await loop.run_in_executor(self.state.executor, fn, *args)


Route = Callable[[Request, Context], Awaitable[Response]]


def answer(data: Any, status: int = 200) -> Response:
    """A JSON answer (compact)."""
    return Response(compact(data), status_code=status, media_type="application/json")


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
