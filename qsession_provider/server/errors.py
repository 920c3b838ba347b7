"""Errors as HTTP answers: every failure becomes ``{"error": {"type", "message", "code"?}}``.

``type`` names a class of :mod:`qsession_provider.errors` (the nearest one for a subclass
defined elsewhere), so a remote client raises the very class an embedded runtime raises.
Answers that are not an exception of ours (an unknown route) use the names below.
"""

from __future__ import annotations

import json
import logging
from typing import Any

from starlette.responses import Response

from .. import errors as qe

__all__ = ["Conflict", "error_body", "error_response", "status_of", "type_name", "NOT_FOUND"]

_log = logging.getLogger("qsession_provider.server")

#: The ``type`` of a 404 for a route the API does not have.
NOT_FOUND = "NotFound"


class Conflict(qe.QSessionError):
    """The request conflicts with how the server runs (409), e.g. moving a real clock.

    Travels as type ``QSessionError``: it is no class of :mod:`qsession_provider.errors`.
    """


# Most specific first: a class is answered with the status of the first entry it is one of.
_STATUS: tuple[tuple[type[BaseException], int], ...] = (
    (qe.ForbiddenError, 403),
    (qe.NotAuthorizedError, 401),
    (qe.RequestTooLargeError, 413),
    (qe.TooManyJobsError, 429),
    (qe.UsageLimitError, 403),
    (qe.PlanError, 409),
    (qe.DeviceNotFoundError, 404),
    (qe.JobNotFoundError, 404),
    (qe.ResultUnavailableError, 410),
    (qe.SessionNotFoundError, 404),
    (qe.AlreadyExistsError, 409),
    (qe.SessionClosedError, 409),
    (qe.InvalidJobStateError, 409),
    (Conflict, 409),
    (qe.InputError, 400),
)


def status_of(exc: BaseException) -> int:
    """The HTTP status for ``exc`` (500 for anything not listed)."""
    for cls, status in _STATUS:
        if isinstance(exc, cls):
            return status
    return 500


def type_name(exc: BaseException) -> str:
    """The name of the nearest class of :mod:`qsession_provider.errors` ``exc`` is one of."""
    for cls in type(exc).__mro__:
        if getattr(qe, cls.__name__, None) is cls:
            return cls.__name__
    return "QSessionError"


def error_body(type_: str, message: str, code: str | None = None) -> bytes:
    """The JSON text of an error answer."""
    error: dict[str, Any] = {"type": type_, "message": message}
    if code is not None:
        error["code"] = code
    return json.dumps({"error": error}, separators=(",", ":")).encode()


def error_response(exc: BaseException) -> Response:
    """The answer for an exception raised while handling a request.

    Exceptions that are not ours are server faults: logged with their traceback and
    answered 500 with type ``QSessionError``.
    """
    if isinstance(exc, qe.QSessionError):
        status, type_, message = status_of(exc), type_name(exc), str(exc)
    else:
        _log.error("internal error while handling a request", exc_info=exc)
        status, type_ = 500, "QSessionError"
        message = f"internal server error: {type(exc).__name__}: {exc}"
    code = getattr(exc, "error_code", None)
    return Response(
        error_body(type_, message, code if isinstance(code, str) else None),
        status_code=status,
        media_type="application/json",
    )
