"""A plugin of devices for the Dask executor tests, registered on the test's Dask workers.

The workers import it by name (``DaskExecutor(plugins=[__name__])``); the test process
builds the same devices for its runtime. Every device runs the built-in engine and adds
the worker's pid to the result (``"pid"``), so a test sees where a job ran. What the
devices write goes to the directory named by ``$QSESSION_TEST_DASK_DIR``:

* ``dask_gate`` (simulator, 2 slots): writes ``started-<pid>-<n>``, then waits for the
  file ``open`` (the test controls when the job may end, and which worker to kill).
* ``dask_qpu`` (QPU-like, 1 slot): appends ``start <seed>`` and ``end <seed>`` lines to
  ``log``, so the test reads the order jobs ran in and whether two ever overlapped.
* ``dask_wide`` (34 qubits): plain engine, for the memory guard on a worker.
* ``dask_big`` (24 qubits): the engine, with the pid (where a large state was placed).
"""

from __future__ import annotations

import itertools
import os
import time
from pathlib import Path
from typing import Any

from qsession_provider.core.device import Device, DeviceRegistry
from qsession_provider.plugins.builtin import engine
from qsession_provider.plugins.hookspecs import hookimpl

DIR_ENV = "QSESSION_TEST_DASK_DIR"
#: Real seconds a gated job waits for the test before failing (never reached when green).
GATE_SECONDS = 60.0
#: Real seconds a QPU job takes, so that two running at once would interleave in the log.
QPU_SECONDS = 0.02

_ENGINE = engine()
_COUNT = itertools.count()


def _dir() -> Path:
    return Path(os.environ[DIR_ENV])


def _with_pid(result: dict[str, Any]) -> dict[str, Any]:
    return {**result, "pid": os.getpid()}


def _gated(program_id: str, payload: Any) -> Any:
    where = _dir()
    (where / f"started-{os.getpid()}-{next(_COUNT)}").touch()
    deadline = time.monotonic() + GATE_SECONDS
    while not (where / "open").exists():
        if time.monotonic() > deadline:
            raise TimeoutError("the test never opened the gate")
        time.sleep(0.005)
    return _with_pid(_ENGINE(program_id, payload))


def _logged(program_id: str, payload: Any) -> Any:
    log = _dir() / "log"
    with log.open("a") as fh:
        fh.write(f"start {payload.seed}\n")
    result = _ENGINE(program_id, payload)
    time.sleep(QPU_SECONDS)
    with log.open("a") as fh:
        fh.write(f"end {payload.seed}\n")
    return _with_pid(result)


def _plain(program_id: str, payload: Any) -> Any:
    return _with_pid(_ENGINE(program_id, payload))


def devices() -> list[Device]:
    """The test devices (see the module docstring)."""
    return [
        Device("dask_gate", 10, _gated, slots=2, simulator=True),
        Device("dask_qpu", 10, _logged, slots=1, simulator=False),
        Device("dask_wide", 34, engine(), slots=1, simulator=True),
        Device("dask_big", 24, _plain, slots=4, simulator=True),
    ]


def loaded_frameworks() -> list[str]:
    """Run on a worker: the quantum frameworks its process has imported (none, we hope)."""
    import sys

    return sorted(m for m in ("qiskit", "qiskit_ibm_runtime", "cirq", "sympy") if m in sys.modules)


@hookimpl
def qsession_register_devices(registry: DeviceRegistry) -> None:
    for device in devices():
        registry.register(device)
