"""Lazy devices: the summary answers at once, the rest is built once on first use."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest

from qsession_provider.core.device import Device, DeviceRegistry, TimingModel
from qsession_provider.core.job_record import JobStatus
from qsession_provider.core.lazy_device import LazyDevice
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.errors import InputError, PluginError

PROGRAMS = frozenset({"echo"})


def echo(program_id: str, payload: Any) -> dict[str, Any]:
    return {"program": program_id, "echo": dict(payload)}


def full(name: str = "lazy_qpu", **changes: Any) -> Device:
    fields: dict[str, Any] = {
        "name": name,
        "num_qubits": 5,
        "execute": echo,
        "basis_gates": ("cz", "rz", "sx", "x"),
        "coupling_map": ((0, 1), (1, 2)),
        "slots": 1,
        "timing": TimingModel(per_job=2.0),
        "programs": PROGRAMS,
        "description": "a lazy QPU",
        "properties": {"calibration": {"qubits": [{"T1": 1e-4}] * 5}},
    }
    fields.update(changes)
    return Device(**fields)


class CountingBuild:
    """A ``build`` that counts its calls and can be made to fail."""

    def __init__(self, make: Callable[[], Device] = full) -> None:
        self.calls = 0
        self.make = make
        self.fail: Exception | None = None

    def __call__(self) -> Device:
        self.calls += 1
        if self.fail is not None:
            raise self.fail
        return self.make()


def lazy(build: Callable[[], Device], name: str = "lazy_qpu", **summary: Any) -> LazyDevice:
    summary = {"num_qubits": 5, "slots": 1, "description": "a lazy QPU", **summary}
    return LazyDevice(name, build, **summary)


def test_the_summary_answers_without_building() -> None:
    build = CountingBuild()
    device = lazy(build)
    registry = DeviceRegistry()
    registry.register(device)
    got = registry.get("lazy_qpu")
    assert (got.name, got.num_qubits, got.slots, got.simulator) == ("lazy_qpu", 5, 1, False)
    assert got.description == "a lazy QPU"
    assert "not built yet" in repr(got)
    assert build.calls == 0 and not device.built


def test_any_other_field_builds_once() -> None:
    build = CountingBuild()
    device = lazy(build)
    assert device.coupling_map == ((0, 1), (1, 2))
    assert device.basis_gates == ("cz", "rz", "sx", "x")
    assert device.timing.per_job == 2.0
    assert device.properties["calibration"]["qubits"][0]["T1"] == 1e-4
    assert device.execute("echo", {"a": 1}) == {"program": "echo", "echo": {"a": 1}}
    assert device.built and build.calls == 1
    assert "not built yet" not in repr(device)


def test_concurrent_first_uses_build_once() -> None:
    started = threading.Barrier(8)
    build = CountingBuild()
    device = lazy(build)
    seen: list[Any] = []

    def use() -> None:
        started.wait()
        seen.append(device.programs)

    threads = [threading.Thread(target=use) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert build.calls == 1 and seen == [PROGRAMS] * 8


def test_a_failed_build_names_the_device_and_is_tried_again() -> None:
    build = CountingBuild()
    build.fail = OSError("conf_lazy.json is unreadable")
    device = lazy(build)
    with pytest.raises(PluginError, match=r"device 'lazy_qpu' could not be built: OSError: conf"):
        _ = device.coupling_map
    build.fail = None
    assert device.coupling_map == ((0, 1), (1, 2)) and build.calls == 2


@pytest.mark.parametrize(
    ("summary", "build", "message"),
    [
        ({"num_qubits": 7}, full, "num_qubits is 5, its summary said 7"),
        ({"description": "other"}, full, "description is 'a lazy QPU', its summary said 'other'"),
        ({}, lambda: full("another"), "name is 'another'"),
        ({}, lambda: "not a device", "not a Device"),
    ],
)
def test_a_build_that_disagrees_with_its_summary_is_refused(
    summary: dict[str, Any], build: Callable[[], Any], message: str
) -> None:
    with pytest.raises(PluginError, match=message):
        lazy(build, **summary).validate("echo", {})


@pytest.mark.parametrize(
    ("name", "summary", "message"),
    [
        ("", {}, "non-empty string"),
        ("d", {"num_qubits": 0}, "num_qubits must be a positive integer"),
        ("d", {"slots": True}, "slots must be a positive integer"),
    ],
)
def test_bad_summaries_are_refused(name: str, summary: dict[str, Any], message: str) -> None:
    with pytest.raises(InputError, match=message):
        lazy(CountingBuild(), name=name, **summary)


def test_a_runtime_builds_only_what_runs_and_survives_a_failing_build(vclock: Any) -> None:
    good, bad = CountingBuild(), CountingBuild(lambda: full("broken_qpu"))
    bad.fail = ValueError("props_broken.json: bad JSON")
    idle = CountingBuild(lambda: full("idle_qpu"))
    runtime = Runtime(
        devices=[lazy(good), lazy(bad, name="broken_qpu"), lazy(idle, name="idle_qpu")],
        clock=vclock,
    )
    try:
        assert [d.name for d in runtime.devices()] == ["broken_qpu", "idle_qpu", "lazy_qpu"]
        assert good.calls == bad.calls == idle.calls == 0
        with pytest.raises(PluginError, match="'broken_qpu' could not be built: ValueError"):
            runtime.submit("echo", "broken_qpu", {"x": 1})
        job = runtime.submit("echo", "lazy_qpu", {"x": 2})
        assert job.result(timeout=5) == {"program": "echo", "echo": {"x": 2}}
        assert job.status == JobStatus.DONE
        assert job.record.finished_at - job.record.started_at == pytest.approx(2.0)
        assert idle.calls == 0 and good.calls == 1
    finally:
        runtime.shutdown()
