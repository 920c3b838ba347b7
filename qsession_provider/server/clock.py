"""``/api/v1/clock`` and ``/api/v1/whoami``: the server's time, and who is asking.

``POST /clock/advance`` moves a virtual clock (``qsession serve --virtual-clock``): only
an administrator may (403 otherwise), and only a virtual clock moves (409 otherwise).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.clock import parse_duration
from ..errors import InputError
from . import inputs as f
from .endpoints import Context, answer, endpoint
from .errors import Conflict

__all__ = ["routes"]


def _seconds(name: str, value: Any) -> float:
    if isinstance(value, str):
        try:
            return parse_duration(value)
        except InputError as exc:
            raise InputError(f"field {name!r}: {exc}") from None
    seconds = f.NUMBER(name, value)
    if seconds < 0:
        raise InputError(f"field {name!r} must be >= 0, got {value!r}")
    return seconds


@endpoint
async def whoami(request: Request, ctx: Context) -> Response:
    """GET /whoami: the principal of the token."""
    p = ctx.principal
    return answer({"user": p.user, "instance": p.instance, "admin": p.admin})


@endpoint
async def get_clock(request: Request, ctx: Context) -> Response:
    """GET /clock: the runtime clock's time and whether it is virtual."""
    clock = ctx.runtime.clock
    return answer({"now": clock.now(), "virtual": bool(clock.virtual)})


@endpoint
async def advance_clock(request: Request, ctx: Context) -> Response:
    """POST /clock/advance: move a virtual clock forward (administrators only)."""
    ctx.principal.require_admin("move the clock")
    clock = ctx.runtime.clock
    if not clock.virtual or not hasattr(clock, "advance"):
        raise Conflict("the server's clock is real time; start it with --virtual-clock to move it")
    body = await f.read_object(request, ctx.state.max_body)
    seconds = f.fields(body, required={"seconds": _seconds})["seconds"]
    now = await ctx.blocking(clock.advance, seconds)
    return answer({"now": now})


def routes(prefix: str) -> list[Route]:
    """The clock and identity routes under ``prefix``."""
    return [
        Route(prefix + "/whoami", whoami, methods=["GET"]),
        Route(prefix + "/clock", get_clock, methods=["GET"]),
        Route(prefix + "/clock/advance", advance_clock, methods=["POST"]),
    ]
