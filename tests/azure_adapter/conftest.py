"""Fixtures for the Azure workspace dialect: a fresh runtime and workspace per test.

Every runtime has a memory store, an auto-advancing virtual clock, the built-in devices
and ``slow_2``: the statevector engine on two slots, each job taking 60 s plus 1 s per shot
of clock time (so a job is still running while another fails).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pytest.importorskip("qsession_provider.sim.execute")

from qsession_provider.azure import Workspace  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.device import Device, TimingModel  # noqa: E402
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure  # noqa: E402
from qsession_provider.core.runtime.runtime import Runtime  # noqa: E402
from qsession_provider.core.store.memory import MemoryStore  # noqa: E402
from qsession_provider.plugins import build_device_registry, get_plugin_manager  # noqa: E402

BELL_QASM2 = """OPENQASM 2.0;
include "qelib1.inc";
qreg q[2];
creg c[2];
h q[0];
cx q[0], q[1];
measure q -> c;
"""

BELL_QASM3 = """OPENQASM 3.0;
include "stdgates.inc";
qubit[2] q;
bit[2] c;
h q[0];
cx q[0], q[1];
c = measure q;
"""


@pytest.fixture(scope="session")
def builtin_devices() -> list[Device]:
    pm = get_plugin_manager(load_entry_points=False)
    devices = list(build_device_registry(pm))
    engine = next(d for d in devices if d.name == "statevector").execute
    slow = Device("slow_2", 5, engine, slots=2, timing=TimingModel(per_job=60.0, per_shot=1.0))
    return [*devices, slow]


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def runtime(builtin_devices: list[Device], clock: VirtualClock) -> Iterator[Runtime]:
    rt = Runtime(store=MemoryStore(), clock=clock, devices=builtin_devices)
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def workspace(runtime: Runtime) -> Workspace:
    return Workspace(runtime=runtime)


@pytest.fixture
def sv(workspace: Workspace) -> Any:
    """The ``statevector`` target (no modelled time)."""
    return workspace.get_targets("statevector")


@pytest.fixture
def qpu(workspace: Workspace) -> Any:
    """The ``emulated_falcon_27`` target (one slot, about 1 s per job on the clock)."""
    return workspace.get_targets("emulated_falcon_27")


@pytest.fixture
def slow(workspace: Workspace) -> Any:
    """The ``slow_2`` target (two slots, 60 s + 1 s per shot per job on the clock)."""
    return workspace.get_targets("slow_2")


@pytest.fixture
def bell() -> str:
    return BELL_QASM2


@pytest.fixture
def bell3() -> str:
    return BELL_QASM3


@pytest.fixture
def bell_ir() -> Circuit:
    return Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )
