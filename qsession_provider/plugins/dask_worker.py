"""What a Dask worker runs for a runtime's
:class:`~qsession_provider.core.runtime.dask_executor.DaskExecutor`.

:func:`run_job` receives a device *name*, the plugin modules the executor names, a program
id and the payload as encoded text; it finds the device among the devices this worker
process builds from its plugins (the built-in devices, the installed ``qsession_provider``
entry points, and those modules; built once per worker process and set of modules), runs
it, and returns the result as encoded text. Nothing here imports a framework: a worker
needs ``qsession_provider`` and the plugins of the devices it runs.

The engine's memory guard runs here: a device on the built-in engine gets the worker's
``memory_limit`` (when Dask sets one) as its simulator's ``max_memory``, and an error of the
guard names the worker and that limit.
"""

from __future__ import annotations

import importlib
import threading
from typing import Any

from ..core.device import DeviceRegistry
from ..core.ir.encoding import Interner, dumps
from ..core.runtime.checks import decode_payload
from ..errors import DeviceNotFoundError, PluginError, ResourceTooLargeError
from .manager import build_device_registry, get_plugin_manager

__all__ = ["prepare", "run_job", "worker_devices"]

_LOCK = threading.Lock()
_REGISTRIES: dict[tuple[str, ...], DeviceRegistry] = {}
#: Shared by the jobs of this worker: a VQE loop's circuit is decoded once and the
#: engine's caches (keyed by circuit) hit.
_INTERNER = Interner()

#: ``("ok", encoded result)`` or ``("error", error class name, message)``.
Reply = tuple[str, ...]


def run_job(device: str, plugins: tuple[str, ...], program_id: str, payload: str) -> Reply:
    """Compute one job on this worker (see the module docstring); errors are returned as
    text, so that nothing but our encoding travels back."""
    worker, limit = _worker()
    try:
        registry = worker_devices(plugins, limit)
        result = registry.get(device).execute(
            program_id, decode_payload(program_id, payload, _INTERNER)
        )
        return ("ok", dumps(result))
    except DeviceNotFoundError as exc:
        return ("error", "DeviceNotFoundError", f"on Dask worker {worker}: {exc}")
    except ResourceTooLargeError as exc:
        where = f"on Dask worker {worker}"
        if limit is not None:
            where += f", whose memory_limit is {limit / 2**30:.1f} GiB"
        return ("error", "ResourceTooLargeError", f"{exc} ({where})")
    except Exception as exc:
        return ("error", type(exc).__name__, str(exc))


def prepare(plugins: tuple[str, ...]) -> list[str]:
    """Build this worker's devices ahead of its first job; their names (sorted)."""
    _, limit = _worker()
    return worker_devices(plugins, limit).names()


def worker_devices(plugins: tuple[str, ...], memory_limit: int | None = None) -> DeviceRegistry:
    """The devices of this process: built-in, entry points and ``plugins`` (cached).

    Raises:
        PluginError: a plugin module cannot be imported, or fails to register.
    """
    key = tuple(plugins)
    with _LOCK:
        registry = _REGISTRIES.get(key)
        if registry is None:
            pm = get_plugin_manager()
            for name in key:
                try:
                    module = importlib.import_module(name)
                except ImportError as exc:
                    raise PluginError(f"plugin module {name!r} is not importable: {exc}") from None
                if pm.get_plugin(name) is None:
                    pm.register(module, name=name)
            registry = _REGISTRIES[key] = build_device_registry(pm)
            if memory_limit:
                for found in registry:
                    _limit_memory(found.execute, memory_limit)
        return registry


def _limit_memory(execute: Any, limit: int) -> None:
    """Give the simulator behind a built-in engine (``partial(execute, simulator=...)``)
    the worker's memory limit, unless it has its own."""
    simulator = getattr(execute, "keywords", {}).get("simulator")
    if simulator is not None and getattr(simulator, "max_memory", 0) is None:
        simulator.max_memory = limit


def _worker() -> tuple[str, int | None]:
    """This worker's address and memory limit (bytes, None: no limit)."""
    try:
        from distributed import get_worker  # present: we run inside a Dask worker

        worker = get_worker()
    except (ImportError, ValueError):  # called outside a worker (a test, a debugger)
        return "(not a Dask worker)", None
    manager = getattr(worker, "memory_manager", None)
    limit = getattr(manager, "memory_limit", None)
    return str(worker.address), int(limit) if limit else None
