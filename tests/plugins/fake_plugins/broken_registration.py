"""A plugin whose device registration raises."""

from __future__ import annotations

from qsession_provider.core.device import DeviceRegistry
from qsession_provider.plugins import hookimpl


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    raise RuntimeError("cannot reach the lab's control system")
