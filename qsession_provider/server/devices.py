"""``/api/v1/devices``: what each device is, and how busy it is."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.device import Device
from ..core.ir.encoding import to_jsonable
from .endpoints import Context, answer, endpoint

__all__ = ["describe", "routes"]


def describe(device: Device) -> dict[str, Any]:
    """The JSON description of a device (everything but its ``execute`` function)."""
    timing = device.timing
    return {
        "name": device.name,
        "num_qubits": device.num_qubits,
        "basis_gates": list(device.basis_gates),
        "coupling_map": None
        if device.coupling_map is None
        else [list(edge) for edge in device.coupling_map],
        "slots": device.slots,
        "simulator": device.simulator,
        "timing": {
            "per_job": timing.per_job,
            "per_circuit": timing.per_circuit,
            "per_shot": timing.per_shot,
        },
        "programs": sorted(device.programs),
        "description": device.description,
        "can_cancel_running": device.can_cancel_running,
        "max_shots": device.max_shots,
        "max_executions": device.max_executions,
        "properties": to_jsonable(dict(device.properties)),
    }


@endpoint
async def list_devices(request: Request, ctx: Context) -> Response:
    """GET /devices: every device."""
    devices = await ctx.blocking(ctx.runtime.devices)
    return answer({"devices": [describe(d) for d in devices]})


def _device(ctx: Context, name: str) -> dict[str, Any]:
    runtime = ctx.runtime
    device = runtime.device(name)
    return {
        "device": describe(device),
        "pending_jobs": runtime.pending_jobs(name),
        "holder": runtime.holder(name),
    }


@endpoint
async def get_device(request: Request, ctx: Context) -> Response:
    """GET /devices/{name}: one device, its pending jobs and the session holding it."""
    return answer(await ctx.blocking(_device, ctx, request.path_params["name"]))


def routes(prefix: str) -> list[Route]:
    """The device routes under ``prefix``."""
    return [
        Route(prefix + "/devices", list_devices, methods=["GET"]),
        Route(prefix + "/devices/{name}", get_device, methods=["GET"]),
    ]
