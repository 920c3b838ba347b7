"""``/api/v1/instances`` and ``/api/v1/reservations``: plans, usage limits and reservations.

- ``GET /instances/{instance}/usage``: the instance's plan, limit and usage (a user reads
  their own instance's; an administrator any);
- ``PUT /instances/{instance}/plan`` (administrators): ``{"plan": "open", "usage_limit":
  "10m", "period": "28d"}`` sets its plan and limit;
- ``GET /reservations``, ``POST /reservations`` (administrators): ``{"device", "instance",
  "start", "end"}`` reserves a device for an instance during a window on the runtime's
  clock (seconds).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.plans import DEFAULT_PERIOD, InstancePlan, Reservation
from ..errors import ForbiddenError
from . import inputs as f
from .endpoints import Context, answer, endpoint

__all__ = ["reservation_json", "routes"]


def reservation_json(reservation: Reservation) -> dict[str, Any]:
    """A reservation as JSON."""
    return {
        "device": reservation.device,
        "instance": reservation.instance,
        "start": reservation.start,
        "end": reservation.end,
    }


@endpoint
async def get_usage(request: Request, ctx: Context) -> Response:
    """GET /instances/{instance}/usage: plan, limit and use in the limit's period."""
    instance = request.path_params["instance"]
    principal = ctx.principal
    if not principal.admin and instance != principal.instance:
        raise ForbiddenError(f"the token's instance is {principal.instance!r}, not {instance!r}")
    return answer({"usage": await ctx.blocking(ctx.runtime.usage, instance)})


@endpoint
async def put_plan(request: Request, ctx: Context) -> Response:
    """PUT /instances/{instance}/plan: set an instance's plan and usage limit (admins)."""
    ctx.principal.require_admin("set an instance's plan")
    body = await f.read_object(request, ctx.state.max_body)
    data = f.fields(
        body,
        required={"plan": f.STR},
        optional={"usage_limit": f.DURATION, "period": f.DURATION},
    )
    period = data.get("period")
    plan = InstancePlan(
        data["plan"], data.get("usage_limit"), DEFAULT_PERIOD if period is None else period
    )
    instance = request.path_params["instance"]
    await ctx.blocking(ctx.runtime.set_plan, instance, plan)
    return answer({"usage": await ctx.blocking(ctx.runtime.usage, instance)})


@endpoint
async def list_reservations(request: Request, ctx: Context) -> Response:
    """GET /reservations: every reservation (a user sees their instance's only)."""
    reservations = await ctx.blocking(ctx.runtime.reservations)
    principal = ctx.principal
    if not principal.admin:
        reservations = [r for r in reservations if r.instance == principal.instance]
    return answer({"reservations": [reservation_json(r) for r in reservations]})


@endpoint
async def add_reservation(request: Request, ctx: Context) -> Response:
    """POST /reservations: reserve a device for an instance (administrators)."""
    ctx.principal.require_admin("reserve a device")
    body = await f.read_object(request, ctx.state.max_body)
    data = f.fields(
        body,
        required={"device": f.STR, "instance": f.STR, "start": f.NUMBER, "end": f.NUMBER},
    )
    reservation = Reservation(data["device"], data["instance"], data["start"], data["end"])
    await ctx.blocking(ctx.runtime.reserve, reservation)
    return answer({"reservation": reservation_json(reservation)}, 201)


def routes(prefix: str) -> list[Route]:
    """The instance and reservation routes under ``prefix``."""
    return [
        Route(prefix + "/instances/{instance}/usage", get_usage, methods=["GET"]),
        Route(prefix + "/instances/{instance}/plan", put_plan, methods=["PUT"]),
        Route(prefix + "/reservations", list_reservations, methods=["GET"]),
        Route(prefix + "/reservations", add_reservation, methods=["POST"]),
    ]
