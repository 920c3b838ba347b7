"""``/api/v1/sessions``: open, list, read, close and cancel sessions and batches.

As for jobs, a user reaches only their own sessions (an administrator all); another
user's session id answers 404 exactly as an unknown id does, and so does submitting a job
into it (the runtime refuses it the same way).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..errors import SessionNotFoundError
from . import inputs as f
from .endpoints import Context, answer, endpoint

__all__ = ["routes"]

_OPEN_REQUIRED = {"device": f.STR}
_OPEN_OPTIONAL = {
    "mode": f.STR,
    "max_ttl": f.DURATION,
    "interactive_ttl": f.DURATION,
    "active_ttl": f.DURATION,
    "idle_timeout": f.DURATION,
    "idle_scope": f.STR,
    "failure_policy": f.STR,
    "name": f.STR,
    "tags": f.STR_LIST,
    "session_id": f.OPT_STR,
    "close_on_root_cancel": f.BOOL,
    "metadata": f.OBJECT,
    "instance": f.STR,
}
_LIST = {
    "device": f.Q_STR,
    "state": f.Q_STRS,
    "mode": f.Q_STR,
    "name_prefix": f.Q_STR,
    "instance": f.Q_STR,
    "user": f.Q_STR,
    "owner": f.Q_STR,
    "created_after": f.Q_FLOAT,
    "created_before": f.Q_FLOAT,
    "limit": f.Q_INT,
    "skip": f.Q_INT,
    "descending": f.Q_BOOL,
}


def _visible_session(ctx: Context, session_id: str) -> Any:
    """The record of ``session_id`` if the principal may see it; else as an unknown id."""
    try:
        record = ctx.runtime.session(session_id)
    except SessionNotFoundError:
        record = None
    if record is None or not ctx.principal.sees(record.user):
        raise SessionNotFoundError(f"no session with id {session_id!r}")
    return record


def _open(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    args = f.fields(body, required=_OPEN_REQUIRED, optional=_OPEN_OPTIONAL)
    principal = ctx.principal
    instance = args.pop("instance", None)
    if instance is not None:
        principal.require_admin("choose the instance of a session")
    if "metadata" in args:
        args["metadata"] = f.metadata(args["metadata"])
    record = ctx.runtime.open_session(
        args.pop("device"),
        instance=instance or principal.instance,
        user=principal.user,
        **args,
    )
    return {"session": record.to_json()}


@endpoint
async def open_session(request: Request, ctx: Context) -> Response:
    """POST /sessions: open a session or batch; 201 with its record."""
    body = await f.read_object(request, ctx.state.max_body)
    return answer(await ctx.blocking(_open, ctx, body), 201)


def _list(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    principal = ctx.principal
    user = params.pop("user", None)
    if not principal.admin:
        if user is not None and user != principal.user:
            return {"sessions": []}
        user = principal.user
    records = ctx.runtime.sessions(user=user, **params)
    return {"sessions": [r.to_json() for r in records]}


@endpoint
async def list_sessions(request: Request, ctx: Context) -> Response:
    """GET /sessions: the principal's sessions matching the query."""
    params = f.query(request, _LIST)
    return answer(await ctx.blocking(_list, ctx, params))


def _get(ctx: Context, session_id: str) -> dict[str, Any]:
    return {"session": _visible_session(ctx, session_id).to_json()}


@endpoint
async def get_session(request: Request, ctx: Context) -> Response:
    """GET /sessions/{id}: one session's record."""
    return answer(await ctx.blocking(_get, ctx, request.path_params["session_id"]))


def _close(ctx: Context, session_id: str, cancel: bool) -> dict[str, Any]:
    _visible_session(ctx, session_id)
    runtime = ctx.runtime
    record = runtime.cancel_session(session_id) if cancel else runtime.close_session(session_id)
    return {"session": record.to_json()}


@endpoint
async def close_session(request: Request, ctx: Context) -> Response:
    """POST /sessions/{id}/close: accept no more jobs; closes once the last one ends."""
    return answer(await ctx.blocking(_close, ctx, request.path_params["session_id"], False))


@endpoint
async def cancel_session(request: Request, ctx: Context) -> Response:
    """POST /sessions/{id}/cancel: close now; queued jobs fail."""
    return answer(await ctx.blocking(_close, ctx, request.path_params["session_id"], True))


def routes(prefix: str) -> list[Route]:
    """The session routes under ``prefix``."""
    one = prefix + "/sessions/{session_id}"
    return [
        Route(prefix + "/sessions", open_session, methods=["POST"]),
        Route(prefix + "/sessions", list_sessions, methods=["GET"]),
        Route(one, get_session, methods=["GET"]),
        Route(one + "/close", close_session, methods=["POST"]),
        Route(one + "/cancel", cancel_session, methods=["POST"]),
    ]
