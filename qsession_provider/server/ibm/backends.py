"""Backends as qiskit-ibm-runtime reads them: ``/backends``, configuration, properties, status.

Built from the runtime's :class:`~qsession_provider.core.device.Device` descriptions, in
plain JSON (no framework needed): the client turns the configuration into its
``QasmBackendConfiguration`` and, with the properties, into a ``Target``.

* **configuration**: qubits, basis gates (each with its parameter count, from the IR's gate
  table), the directed coupling map (none: all-to-all), ``simulator``, ``max_shots``, ``dt``
  and the instructions the engine runs besides gates (``measure``, ``reset``, ``delay``,
  ``if_else``).
* **properties**: per qubit T1, T2 (``us``), frequency (``GHz``), readout error and length
  (``ns``), per gate error and length (``ns``), in IBM's units,
  for devices that carry a calibration (IBM's fake backends, ``properties["calibration"]``);
  others answer ``{}``, which the client reads as "no properties" (as for IBM's simulators):
  the engine is noiseless, so invented error rates would only steer noise-aware layout.
* **status**: ``active``, with the device's queue length as ``length_queue``
  (``least_busy`` picks by it).
"""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.ir.gates import GATES
from .endpoint import IBMContext, ibm_endpoint, json_answer
from .records import iso_utc

__all__ = ["configuration", "gate_shape", "properties", "routes", "status"]

_VERSION = "1.0.0"
_NOT_GATES = ("measure", "reset", "delay", "barrier", "id")
_INSTRUCTIONS = ["measure", "reset", "delay", "if_else"]
_PARAM_NAMES = ("theta", "phi", "lam", "gamma")


def gate_shape(name: str) -> tuple[int, int]:
    """(qubits, parameters) of a basis gate named as Qiskit names it: a gate of the IR's
    table, or one with ``c`` prefixes for its controls (``cx``, ``cz``, ``crz``, ``ccx``).

    Raises:
        KeyError: a name neither the IR nor its controlled forms know.
    """
    spec = GATES.get(name)
    controls = 0
    while spec is None and name.startswith("c"):
        name, controls = name[1:], controls + 1
        spec = GATES.get(name)
    if spec is None:
        raise KeyError(name)
    return spec.num_qubits + controls, spec.num_params


def _gate(name: str, params: int, coupling: list[list[int]] | None) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "name": name,
        "parameters": list(_PARAM_NAMES[:params]),
        "qasm_def": "",
    }
    if coupling is not None:
        entry["coupling_map"] = coupling
    return entry


def configuration(device: Any) -> dict[str, Any]:
    """The backend configuration of ``device`` (``GET /backends/{name}/configuration``)."""
    n = device.num_qubits
    edges = None if device.coupling_map is None else [list(e) for e in device.coupling_map]
    gates = []
    for name in device.basis_gates:
        try:
            arity, params = gate_shape(name)
        except KeyError:
            continue  # not a gate of the engine: the client's target leaves it out
        if edges is None:
            where = None
        elif arity == 1:
            where = [[q] for q in range(n)]
        elif arity == 2:
            where = edges
        else:
            continue  # a gate of 3+ qubits needs an all-to-all device
        gates.append(_gate(name, params, where))
    config: dict[str, Any] = {
        "backend_name": device.name,
        "backend_version": _VERSION,
        "n_qubits": n,
        "basis_gates": list(device.basis_gates),
        "gates": gates,
        "local": False,
        "simulator": bool(device.simulator),
        "conditional": True,  # dynamic circuits: if_else, switch_case, loops
        "open_pulse": False,
        "memory": True,
        "max_shots": device.max_shots or 100_000,
        "max_experiments": device.max_executions or 300,
        "coupling_map": edges,
        "supported_instructions": _INSTRUCTIONS + list(device.basis_gates),
        "description": device.description,
        "online_date": "2025-01-01T00:00:00Z",
        "processor_type": {
            key: device.properties[f"processor_{key}"]
            for key in ("family", "revision")
            if f"processor_{key}" in device.properties
        },
    }
    if device.properties.get("dt"):
        config["dt"] = float(device.properties["dt"]) * 1e9  # IBM writes dt in ns
    return config


#: Calibration keys (SI units) -> the unit IBM's properties use (the client reads only
#: SI-prefixed units: ``us``, ``GHz``, ``ns``, no unit for probabilities).
_QUBIT_UNITS = (
    ("T1", 1e6, "us"),
    ("T2", 1e6, "us"),
    ("frequency", 1e-9, "GHz"),
    ("readout_error", 1.0, ""),
    ("readout_length", 1e9, "ns"),
)


def _value(name: str, value: float, unit: str, date: str) -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "date": date}


def properties(device: Any) -> dict[str, Any]:
    """The backend properties of ``device`` from its calibration, or ``{}`` without one."""
    calibration = device.properties.get("calibration")
    if not calibration:
        return {}
    date = calibration.get("last_update") or iso_utc(0.0)
    qubits = []
    for qubit in calibration["qubits"]:
        row = [
            _value(key, qubit[key] * scale, unit, date)
            for key, scale, unit in _QUBIT_UNITS
            if qubit.get(key) is not None
        ]
        qubits.append(row)
    gates = []
    for gate in calibration["gates"]:
        params = []
        if gate.get("error") is not None:
            params.append(_value("gate_error", gate["error"], "", date))
        if gate.get("duration") is not None:
            params.append(_value("gate_length", gate["duration"] * 1e9, "ns", date))
        gates.append({"gate": gate["gate"], "qubits": gate["qubits"], "parameters": params})
    return {
        "backend_name": device.name,
        "backend_version": _VERSION,
        "last_update_date": date,
        "qubits": qubits,
        "gates": gates,
        "general": [],
    }


def status(runtime: Any, device: Any) -> dict[str, Any]:
    """``GET /backends/{name}/status``: operational, with the queue length."""
    return {
        "state": True,
        "status": "active",
        "message": "",
        "length_queue": runtime.pending_jobs(device.name),
        "backend_version": _VERSION,
    }


@ibm_endpoint
async def list_backends(request: Request, ctx: IBMContext) -> Response:
    """GET /backends: every device of the runtime, online, with its queue length (the
    client's ``least_busy`` reads ``status.name`` and ``queue_length``)."""

    def listed() -> list[dict[str, Any]]:
        return [
            {
                "name": d.name,
                "qubits": d.num_qubits,
                "simulator": d.simulator,
                "status": {"name": "online", "reason": "available"},
                "queue_length": ctx.runtime.pending_jobs(d.name),
            }
            for d in ctx.runtime.devices()
        ]

    return json_answer({"devices": await ctx.blocking(listed)})


@ibm_endpoint
async def backend_configuration(request: Request, ctx: IBMContext) -> Response:
    """GET /backends/{name}/configuration."""
    device = await ctx.blocking(ctx.runtime.device, request.path_params["name"])
    return json_answer(configuration(device))


@ibm_endpoint
async def backend_properties(request: Request, ctx: IBMContext) -> Response:
    """GET /backends/{name}/properties."""
    device = await ctx.blocking(ctx.runtime.device, request.path_params["name"])
    return json_answer(await ctx.blocking(properties, device))


@ibm_endpoint
async def backend_status(request: Request, ctx: IBMContext) -> Response:
    """GET /backends/{name}/status."""
    device = await ctx.blocking(ctx.runtime.device, request.path_params["name"])
    return json_answer(await ctx.blocking(status, ctx.runtime, device))


@ibm_endpoint
async def usage(request: Request, ctx: IBMContext) -> Response:
    """GET /instances/usage: the instance's device seconds so far; no limit locally."""

    def consumed() -> float:
        jobs = ctx.runtime.jobs(instance=ctx.instance, pending=False)
        return float(sum(job.record.execution_time or 0 for job in jobs))

    return json_answer(
        {
            "instance_id": ctx.instance,
            "plan_id": "qsession-local",
            "usage_consumed_seconds": await ctx.blocking(consumed),
            "usage_limit_reached": False,
            "usage_limit_seconds": None,
            "usage_allocation_seconds": None,
        }
    )


def routes(prefix: str) -> list[Route]:
    """The backend and usage routes under ``prefix``."""
    one = prefix + "/backends/{name}"
    return [
        Route(prefix + "/backends", list_backends, methods=["GET"]),
        Route(one + "/configuration", backend_configuration, methods=["GET"]),
        Route(one + "/properties", backend_properties, methods=["GET"]),
        Route(one + "/status", backend_status, methods=["GET"]),
        Route(prefix + "/instances/usage", usage, methods=["GET"]),
    ]
