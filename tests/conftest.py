"""Shared fixtures: clocks, stores, fake devices, runtimes, a fresh plugin manager.

Fake devices run a plain Python ``execute`` so core tests never need the engine:

* ``fake_sim``: simulator, 4 slots, no modelled time.
* ``fake_qpu``: QPU, 1 slot, 2 s per job + 1 s per circuit execution (on the clock).
* ``slow_qpu``: like ``fake_qpu`` but refuses to cancel running jobs.

Payloads are plain dicts for the ``echo`` program (``{"fail": True}`` makes the job fail,
``{"executions": n}`` sets the modelled execution count) or real ``sampler`` payloads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device, TimingModel
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.sqlite import SQLiteStore


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--run-slow", action="store_true", default=False, help="run slow tests")


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if config.getoption("--run-slow"):
        return
    skip = pytest.mark.skip(reason="slow test: pass --run-slow to run it")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


class EchoPayload(dict):  # type: ignore[type-arg]
    """A dict payload that also tells the timing model how many executions it has."""

    @property
    def num_executions(self) -> int:
        return int(self.get("executions", 1))

    @property
    def total_shots(self) -> int:
        return int(self.get("shots", 0))


class FakeEngine:
    """A device ``execute`` that records calls and can be made to fail or block."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, Any]] = []
        self.lock = threading.Lock()
        self.gate: threading.Event | None = None  # set to block executions until released

    def __call__(self, program_id: str, payload: Any) -> Any:
        with self.lock:
            self.calls.append((program_id, payload))
        if self.gate is not None:
            self.gate.wait(10)
        if isinstance(payload, dict):
            if payload.get("fail"):
                raise RuntimeError(f"boom: {payload.get('why', 'asked to fail')}")
            return {"program": program_id, "echo": dict(payload)}
        return {"program": program_id, "shots": int(getattr(payload, "total_shots", 0))}


PROGRAMS = frozenset({"echo", "sampler", "estimator", "run"})


def make_devices(engine: FakeEngine) -> list[Device]:
    """The three fake devices, sharing one engine."""
    return [
        Device("fake_sim", 10, engine, slots=4, simulator=True, programs=PROGRAMS),
        Device(
            "fake_qpu",
            5,
            engine,
            slots=1,
            programs=PROGRAMS,
            timing=TimingModel(per_job=2.0, per_circuit=1.0),
            coupling_map=((0, 1), (1, 2), (2, 3), (3, 4)),
            basis_gates=("cz", "rz", "sx", "x"),
        ),
        Device(
            "slow_qpu",
            5,
            engine,
            slots=1,
            programs=PROGRAMS,
            timing=TimingModel(per_job=10.0),
            can_cancel_running=False,
        ),
    ]


@pytest.fixture
def engine() -> FakeEngine:
    return FakeEngine()


@pytest.fixture
def payload() -> Callable[..., EchoPayload]:
    """``payload(**fields)`` builds an ``echo`` payload."""
    return EchoPayload


@pytest.fixture
def vclock() -> VirtualClock:
    """A virtual clock at t=0 with auto-advance (the default mode)."""
    return VirtualClock(start=0)


@pytest.fixture
def manual_clock() -> VirtualClock:
    """A virtual clock at t=0 that moves only through advance()."""
    return VirtualClock(start=0, auto_advance=False, stall_timeout=5.0)


@pytest.fixture
def memory_store() -> Iterator[MemoryStore]:
    store = MemoryStore()
    yield store
    store.close()


@pytest.fixture
def sqlite_path(tmp_path: Any) -> str:
    return str(tmp_path / "store.sqlite3")


@pytest.fixture
def make_runtime(engine: FakeEngine) -> Iterator[Callable[..., Runtime]]:
    """Build runtimes on the fake devices; every one is shut down after the test."""
    made: list[Runtime] = []

    def make(**kwargs: Any) -> Runtime:
        kwargs.setdefault("devices", make_devices(engine))
        runtime = Runtime(**kwargs)
        made.append(runtime)
        return runtime

    yield make
    for runtime in made:
        runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def runtime(make_runtime: Callable[..., Runtime], vclock: VirtualClock) -> Runtime:
    """A runtime on the fake devices, a memory store and an auto-advancing virtual clock."""
    return make_runtime(clock=vclock)


@pytest.fixture
def manual_runtime(make_runtime: Callable[..., Runtime], manual_clock: VirtualClock) -> Runtime:
    """A runtime on the fake devices whose virtual clock moves only through advance()."""
    return make_runtime(clock=manual_clock)


@pytest.fixture
def sqlite_store(sqlite_path: str) -> Iterator[SQLiteStore]:
    store = SQLiteStore(sqlite_path)
    yield store
    store.close()


@pytest.fixture
def open_sqlite() -> Iterator[Callable[[Any], SQLiteStore]]:
    """``open_sqlite(path)`` opens a store that is closed after the test (callers own stores)."""
    opened: list[SQLiteStore] = []

    def open_store(path: Any) -> SQLiteStore:
        opened.append(SQLiteStore(path))
        return opened[-1]

    yield open_store
    for store in opened:
        store.close()


@pytest.fixture
def pm() -> Any:
    """A fresh plugin manager with only the hook specs (no built-in, no entry points)."""
    pytest.importorskip("pluggy")
    from qsession_provider.plugins import get_plugin_manager

    return get_plugin_manager(load_entry_points=False, include_builtin=False)
