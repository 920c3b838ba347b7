"""What every IBM route shares: authentication in IBM's words and errors in IBM's shape.

A route is ``async def route(request, ctx) -> Response`` wrapped by :func:`ibm_endpoint`,
which authenticates the request (:func:`.identity.authenticate`), turns any exception into
the error answer qiskit-ibm-runtime reads (``{"error": {"message", "code"}}``: its
``RetrySession`` appends ``message`` and ``code`` to the ``RequestsApiError`` it raises,
and raises ``IBMNotAuthorizedError`` on 401) and logs one line per request.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from starlette.requests import Request
from starlette.responses import Response

from ... import errors as qe
from ..endpoints import Context, ServerState, log_request
from ..errors import status_of
from .identity import authenticate

__all__ = ["IBMContext", "MissingExtra", "ibm_endpoint", "ibm_error", "json_answer"]

_log = logging.getLogger("qsession_provider.server")


class MissingExtra(qe.QSessionError):
    """A request needs a package the server lacks (answered 501, naming the extra)."""


@dataclass
class IBMContext(Context):
    """One IBM request's server state, principal and instance (from ``Service-CRN``)."""

    instance: str = ""


def json_answer(data: Any, status: int = 200) -> Response:
    """A JSON answer."""
    body = json.dumps(data, separators=(",", ":"))
    return Response(body, status_code=status, media_type="application/json")


def ibm_error(status: int, message: str, code: Any = None) -> Response:
    """An error answer qiskit-ibm-runtime turns into its own exceptions."""
    error = {"message": message, "code": status if code is None else code}
    return json_answer({"error": error, "errors": [error]}, status)


def _error_answer(exc: BaseException) -> Response:
    if isinstance(exc, MissingExtra):
        return ibm_error(501, str(exc))
    if isinstance(exc, qe.QSessionError):
        code = getattr(exc, "error_code", None)
        return ibm_error(status_of(exc), str(exc), code if isinstance(code, str) else None)
    _log.error("internal error while handling an IBM request", exc_info=exc)
    return ibm_error(500, f"internal server error: {type(exc).__name__}: {exc}")


Route = Callable[[Request, IBMContext], Awaitable[Response]]


def ibm_endpoint(route: Route) -> Callable[[Request], Awaitable[Response]]:
    """A Starlette endpoint from ``route``: authenticated as IBM does, errors as IBM's."""

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        state: ServerState = request.app.state.qsession
        user = None
        try:
            principal, instance = await authenticate(state.auth, request.headers)
            user = principal.user
            response = await route(request, IBMContext(state, principal, instance))
        except Exception as exc:  # every failure is an answer
            response = _error_answer(exc)
        log_request(request, response.status_code, started, user)
        return response

    handle.__name__ = route.__name__
    handle.__doc__ = route.__doc__
    return handle
