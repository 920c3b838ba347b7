"""A plugin that registers a device name another plugin already took."""

from __future__ import annotations

from qsession_provider.core.device import Device, DeviceRegistry
from qsession_provider.plugins import hookimpl


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    registry.register(Device("fake_ion_trap", 3, lambda program, payload: {}))
