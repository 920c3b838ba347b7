"""``/sessions`` of the IBM API: create, details, close (``PATCH accepting_jobs=false``) and
cancel (``DELETE /sessions/{id}/close``), for the client's ``Session`` and ``Batch``.

Sessions are the runtime's own (``core/runtime/session_rules.py``): max time from the first
job's start, the interactive window, the 30-minute idle-open timeout, close with queued
jobs, cancel; a batch runs its jobs with fair share. A user reaches only their own sessions;
another's id answers 404 as an unknown one.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.session import SessionMode
from ...errors import InputError, SessionNotFoundError
from ..inputs import read_body
from .endpoint import IBMContext, ibm_endpoint, json_answer
from .identity import instance_of_crn
from .records import session_json

__all__ = ["routes", "visible_session"]

_MODES = {"dedicated": SessionMode.DEDICATED, "batch": SessionMode.BATCH}


async def _object(request: Request, ctx: IBMContext) -> dict[str, Any]:
    raw = await read_body(request, ctx.state.max_body)
    try:
        body = json.loads(raw) if raw else {}
    except ValueError as exc:
        raise InputError(f"the request body is not JSON: {exc}") from None
    if not isinstance(body, dict):
        raise InputError("the request body must be a JSON object")
    return body


def visible_session(ctx: IBMContext, session_id: str) -> Any:
    """The record of session ``session_id`` if the caller may see it.

    Raises:
        SessionNotFoundError: unknown, or another user's (the same answer).
    """
    try:
        record = ctx.runtime.session(session_id)
    except SessionNotFoundError:
        record = None
    if record is None or not ctx.principal.sees(record.user):
        raise SessionNotFoundError(f"Session not found: no session with id {session_id!r}")
    return record


def _create(ctx: IBMContext, body: dict[str, Any]) -> dict[str, Any]:
    mode = body.get("mode", "dedicated")
    if mode not in _MODES:
        raise InputError(f"field 'mode' must be 'dedicated' or 'batch', got {mode!r}")
    backend = body.get("backend")
    if not isinstance(backend, str) or not backend:
        raise InputError("field 'backend' must name a backend (service.backends() lists them)")
    max_ttl = body.get("max_ttl")
    if max_ttl is not None and (
        isinstance(max_ttl, bool) or not isinstance(max_ttl, (int, float)) or max_ttl <= 0
    ):
        raise InputError(f"field 'max_ttl' must be a positive number of seconds, got {max_ttl!r}")
    instance = ctx.instance
    if body.get("instance"):
        named = instance_of_crn(str(body["instance"]))
        if named != instance:
            raise InputError(
                f"field 'instance' names {named!r} but the request's Service-CRN names {instance!r}"
            )
    record = ctx.runtime.open_session(
        backend, mode=_MODES[mode], max_ttl=max_ttl, instance=instance, user=ctx.principal.user
    )
    return session_json(record, ctx.runtime.clock.now())


@ibm_endpoint
async def create_session(request: Request, ctx: IBMContext) -> Response:
    """POST /sessions: open a session (``mode=dedicated``) or batch."""
    body = await _object(request, ctx)
    return json_answer(await ctx.blocking(_create, ctx, body))


def _details(ctx: IBMContext, session_id: str) -> dict[str, Any]:
    return session_json(visible_session(ctx, session_id), ctx.runtime.clock.now())


@ibm_endpoint
async def session_details(request: Request, ctx: IBMContext) -> Response:
    """GET /sessions/{id}: the details ``Session.details()`` and ``status()`` read."""
    return json_answer(await ctx.blocking(_details, ctx, request.path_params["session_id"]))


def _close(ctx: IBMContext, session_id: str, body: dict[str, Any]) -> None:
    if body.get("accepting_jobs") is not False:
        raise InputError("only {'accepting_jobs': false} (close the session) may be patched")
    visible_session(ctx, session_id)
    ctx.runtime.close_session(session_id)


@ibm_endpoint
async def close_session(request: Request, ctx: IBMContext) -> Response:
    """PATCH /sessions/{id} ``{"accepting_jobs": false}``: queued jobs run, then it closes."""
    body = await _object(request, ctx)
    await ctx.blocking(_close, ctx, request.path_params["session_id"], body)
    return Response(status_code=204)


def _cancel(ctx: IBMContext, session_id: str) -> None:
    visible_session(ctx, session_id)
    ctx.runtime.cancel_session(session_id)


@ibm_endpoint
async def cancel_session(request: Request, ctx: IBMContext) -> Response:
    """DELETE /sessions/{id}/close: closed now, its queued jobs fail."""
    await ctx.blocking(_cancel, ctx, request.path_params["session_id"])
    return Response(status_code=204)


def routes(prefix: str) -> list[Route]:
    """The session routes under ``prefix``."""
    one = prefix + "/sessions/{session_id}"
    return [
        Route(prefix + "/sessions", create_session, methods=["POST"]),
        Route(one, session_details, methods=["GET"]),
        Route(one, close_session, methods=["PATCH"]),
        Route(one + "/close", cancel_session, methods=["DELETE"]),
    ]
