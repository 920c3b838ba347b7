"""A well-behaved third-party plugin: one device, registered through the public hook."""

from __future__ import annotations

from typing import Any

from qsession_provider.core.device import Device, DeviceRegistry, TimingModel
from qsession_provider.plugins import hookimpl


def _execute(program_id: str, payload: Any) -> dict[str, Any]:
    return {"program": program_id, "device": "fake_ion_trap"}


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    registry.register(
        Device(
            "fake_ion_trap",
            11,
            _execute,
            basis_gates=("rxx", "rz", "ry"),
            programs={"echo"},
            timing=TimingModel(per_job=5.0),
        )
    )
