"""Device descriptions, the timing model and the device registry."""

from __future__ import annotations

from typing import Any

import pytest

from qsession_provider.core.device import Device, DeviceRegistry, TimingModel
from qsession_provider.errors import DeviceNotFoundError, InputError, PluginError


def run(program_id: str, payload: Any) -> dict[str, Any]:
    return {}


class Payload:
    num_executions = 3
    total_shots = 2000


def test_timing_model_adds_job_circuit_and_shot_costs() -> None:
    model = TimingModel(per_job=1.0, per_circuit=0.5, per_shot=0.001)
    assert model.duration(Payload()) == pytest.approx(1.0 + 1.5 + 2.0)
    assert TimingModel().is_zero and TimingModel().duration(Payload()) == 0.0
    assert TimingModel(per_job=2).duration({"no": "counts"}) == 2.0


@pytest.mark.parametrize("field", ["per_job", "per_circuit", "per_shot"])
@pytest.mark.parametrize("value", [-1.0, float("nan"), float("inf"), "1"])
def test_timing_model_rejects_bad_values(field: str, value: Any) -> None:
    with pytest.raises(InputError, match=field):
        TimingModel(**{field: value})


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": ""}, "device name must be a non-empty string"),
        ({"num_qubits": 0}, "num_qubits must be a positive integer"),
        ({"num_qubits": True}, "num_qubits must be a positive integer"),
        ({"slots": 0}, "slots must be a positive integer"),
        ({"execute": "not callable"}, "execute must be callable"),
        ({"coupling_map": [(0, 5)]}, "coupling edge (0, 5)"),
        ({"coupling_map": [(1, 1)]}, "coupling edge (1, 1)"),
        ({"timing": 3}, "timing must be a TimingModel"),
        ({"max_shots": -5}, "max_shots must be a positive integer"),
    ],
)
def test_device_validation(kwargs: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"name": "d", "num_qubits": 5, "execute": run}
    fields.update(kwargs)
    with pytest.raises(InputError, match=message.replace("(", r"\(").replace(")", r"\)")):
        Device(**fields)


def test_device_normalises_its_fields() -> None:
    device = Device(
        "d", 3, run, basis_gates=["cz", "rz"], coupling_map=[[0, 1], [1, 2]], programs=["sampler"]
    )
    assert device.basis_gates == ("cz", "rz")
    assert device.coupling_map == ((0, 1), (1, 2))
    assert device.programs == frozenset({"sampler"})
    assert "3q" in repr(device) and device.execution_time(Payload()) == 0.0


def test_registry() -> None:
    registry = DeviceRegistry()
    a, b = Device("a", 1, run), Device("b", 2, run)
    registry.register(b)
    registry.register(a)
    assert registry.names() == ["a", "b"] and [d.name for d in registry] == ["a", "b"]
    assert "a" in registry and len(registry) == 2 and registry.get("b") is b
    with pytest.raises(PluginError, match="already registered"):
        registry.register(Device("a", 5, run))
    registry.register(Device("a", 5, run), replace=True)
    assert registry.get("a").num_qubits == 5
    with pytest.raises(PluginError, match="expected a Device"):
        registry.register("a")  # type: ignore[arg-type]
    with pytest.raises(DeviceNotFoundError, match="no device named 'c'; available devices: a, b"):
        registry.get("c")
    assert DeviceRegistry({"x": Device("x", 1, run)}).names() == ["x"]
