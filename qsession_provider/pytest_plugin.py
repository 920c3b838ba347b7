"""The pytest plugin: a private runtime on a virtual clock per test, faces on it, faults.

Active wherever qsession-provider is installed (entry point ``pytest11``). Fixtures:

- ``qsession_clock``: a fresh :class:`~qsession_provider.core.clock.VirtualClock`
  (auto-advancing: waiting for a job moves time to its end, without sleeping);
- ``qsession_runtime``: an in-memory runtime with the installed devices on that clock (its
  own timeline), shut down after the test;
- ``qiskit_service``, ``azure_workspace``, ``cirq_service``: each face on that same runtime
  (the Qiskit and Cirq ones are skipped, saying why, when their framework is missing);
- ``qsession_faults``: the :class:`~qsession_provider.faults.FaultInjector` of the test's
  faults (None without any).

The marker ``@pytest.mark.qsession(devices=[...], faults=..., plan=..., store="file")``
configures them: extra :class:`~qsession_provider.core.device.Device` objects; faults as a
list, a scenario mapping or a scenario file (see :mod:`qsession_provider.faults`), installed
when the runtime is made; instance plans (:class:`~qsession_provider.core.plans.
InstancePlan`): a plan or a plan's name for the faces' instance ``"default"``, or a mapping
of instance to plan; ``store="file"`` puts the runtime on a store file in the test's
temporary directory (a store refusal needs one). A failing test's report gets a "qsession
faults" section listing what was injected.

This module imports only pytest at import time: pytest loads it in every test run.
"""

from __future__ import annotations

from collections.abc import Generator, Iterator
from typing import Any

import pytest

__all__ = [
    "azure_workspace",
    "cirq_service",
    "qiskit_service",
    "qsession_clock",
    "qsession_faults",
    "qsession_runtime",
]

MARKER = "qsession"
_OPTIONS = frozenset({"devices", "faults", "plan", "store"})
_INJECTOR = pytest.StashKey[Any]()


def pytest_configure(config: pytest.Config) -> None:
    """Register the marker (so ``--strict-markers`` runs accept it)."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(devices=None, faults=None, plan=None, store='memory'): configure the "
        "qsession fixtures of this test (extra devices, scripted faults, instance plans, a "
        "store file)",
    )


def _options(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The keyword arguments of the closest ``qsession`` marker, checked."""
    marker = request.node.get_closest_marker(MARKER)
    if marker is None:
        return {}
    if marker.args:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER} takes keyword arguments only "
            f"({', '.join(sorted(_OPTIONS))}), got {marker.args!r}"
        )
    unknown = sorted(set(marker.kwargs) - _OPTIONS)
    if unknown:
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}: unknown argument(s) {unknown}; known: {sorted(_OPTIONS)}"
        )
    store = marker.kwargs.get("store", "memory")
    if store not in ("memory", "file"):
        raise pytest.UsageError(
            f"@pytest.mark.{MARKER}(store=...) is 'memory' or 'file', got {store!r}"
        )
    return dict(marker.kwargs)


def _plans(plan: Any) -> dict[str, Any]:
    """The marker's ``plan=`` as ``{instance: InstancePlan}`` (a bare plan: ``"default"``)."""
    from qsession_provider.core.plans import InstancePlan

    if plan is None:
        return {}
    items = plan.items() if isinstance(plan, dict) else [("default", plan)]
    plans = {}
    for instance, value in items:
        if isinstance(value, str):
            value = InstancePlan(value)  # InputError names the known plans
        if not isinstance(value, InstancePlan):
            raise pytest.UsageError(
                f"@pytest.mark.{MARKER}(plan=...) takes an InstancePlan, a plan name or a "
                f"mapping of instance to those, got {value!r}"
            )
        plans[instance] = value
    return plans


@pytest.fixture
def qsession_clock() -> Iterator[Any]:
    """A fresh virtual clock (auto-advancing), closed after the test."""
    from qsession_provider.core.clock import VirtualClock

    clock = VirtualClock()
    yield clock
    clock.close()


@pytest.fixture
def qsession_runtime(
    request: pytest.FixtureRequest, qsession_clock: Any, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Any]:
    """A private runtime on ``qsession_clock`` with the installed devices, the marker's
    devices and faults; shut down after the test."""
    from qsession_provider.client import open_runtime
    from qsession_provider.core.device import Device
    from qsession_provider.faults import inject

    options = _options(request)
    if options.get("store") == "file":
        path = tmp_path_factory.mktemp("qsession") / "store.sqlite3"
        runtime = open_runtime(str(path), clock=qsession_clock)
    else:
        runtime = open_runtime(clock=qsession_clock)  # the clock's own in-memory timeline
    try:
        for device in options.get("devices") or ():
            if not isinstance(device, Device):
                raise pytest.UsageError(
                    f"@pytest.mark.{MARKER}(devices=...) takes Device objects, got {device!r}"
                )
            runtime.add_device(device, replace=True)
        for instance, plan in _plans(options.get("plan")).items():
            runtime.set_plan(instance, plan)
        faults = options.get("faults")
        injector = inject(runtime, faults) if faults else None
    except BaseException:
        runtime.shutdown(wait=False, cancel_pending=True)
        raise
    request.node.stash[_INJECTOR] = injector
    yield runtime
    if injector is not None:
        injector.remove()
    runtime.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def qsession_faults(request: pytest.FixtureRequest, qsession_runtime: Any) -> Any:
    """The injector of the marker's faults (its ``log``, ``describe()``), or None."""
    return request.node.stash.get(_INJECTOR, None)


@pytest.fixture
def qiskit_service(qsession_runtime: Any) -> Any:
    """A ``QiskitRuntimeService`` on ``qsession_runtime`` (skipped without
    qiskit-ibm-runtime)."""
    pytest.importorskip(
        "qiskit_ibm_runtime",
        reason="qiskit_service needs qiskit-ibm-runtime (pip install 'qsession-provider[qiskit]')",
    )
    from qsession_provider.qiskit import QiskitRuntimeService

    location = qsession_runtime.location
    store = None if location.startswith(":memory:") else location
    return QiskitRuntimeService(store=store, clock=qsession_runtime.clock)


@pytest.fixture
def azure_workspace(qsession_runtime: Any) -> Any:
    """An Azure-style ``Workspace`` on ``qsession_runtime`` (needs no framework)."""
    from qsession_provider.azure import Workspace

    return Workspace(runtime=qsession_runtime)


@pytest.fixture
def cirq_service(qsession_runtime: Any) -> Any:
    """A Cirq ``Service`` on ``qsession_runtime`` (skipped without cirq-core)."""
    pytest.importorskip(
        "cirq", reason="cirq_service needs cirq-core (pip install 'qsession-provider[cirq]')"
    )
    from qsession_provider.cirq import Service

    return Service(runtime=qsession_runtime)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, None]:
    """A failing test that had faults gets a report section listing what was injected."""
    outcome = yield
    report = outcome.get_result()
    injector = item.stash.get(_INJECTOR, None)
    if injector is not None and report.failed:
        report.sections.append(("qsession faults", injector.describe()))
