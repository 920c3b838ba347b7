"""Devices (backends): what they are, how long they take, and the registry that holds them.

A :class:`Device` is framework-neutral: a name, a qubit count, basis gates and a coupling
map (enough for a face to build a Qiskit ``Target`` or a Cirq device), a number of
execution slots (a QPU-like device runs one job at a time), an execution-time model, and
``execute(program_id, payload) -> result``. Devices come from plugins
(``qsession_register_devices``); the core never names a concrete engine.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import DeviceNotFoundError, InputError, PluginError
from .calibrations import CALIBRATION_PROGRAM, calibration_payload

__all__ = ["TimingModel", "Device", "DeviceRegistry", "ExecuteFn", "DEFAULT_PROGRAMS"]

#: ``execute(program_id, payload) -> result`` (a neutral dict of numpy arrays).
ExecuteFn = Callable[[str, Any], Any]

#: The programs every built-in device runs.
DEFAULT_PROGRAMS = frozenset({"sampler", "estimator", "run"})


@dataclass(frozen=True)
class TimingModel:
    """How long a job occupies the device, in clock seconds.

    ``duration = per_job + per_circuit * executions + per_shot * shots``, where
    ``executions`` is the payload's ``num_executions`` (circuits x parameter sets) and
    ``shots`` its ``total_shots``. On a virtual clock this time passes without sleeping;
    on a real clock the job finishes no earlier than its modelled duration.

    Attributes:
        per_job: fixed overhead of every job (loading, initialisation).
        per_circuit: time per circuit execution (per parameter set).
        per_shot: time per shot (repetition delay plus readout).
    """

    per_job: float = 0.0
    per_circuit: float = 0.0
    per_shot: float = 0.0

    def __post_init__(self) -> None:
        for name in ("per_job", "per_circuit", "per_shot"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not math.isfinite(value) or value < 0:
                raise InputError(f"TimingModel.{name} must be a finite number >= 0, got {value!r}")

    @property
    def is_zero(self) -> bool:
        """True when every job takes no modelled time."""
        return self.per_job == 0 and self.per_circuit == 0 and self.per_shot == 0

    def duration(self, payload: Any) -> float:
        """Modelled seconds ``payload`` occupies the device."""
        if self.is_zero:
            return 0.0
        executions = int(getattr(payload, "num_executions", 1) or 0)
        shots = int(getattr(payload, "total_shots", 0) or 0)
        return self.per_job + self.per_circuit * executions + self.per_shot * shots


@dataclass(frozen=True, eq=False)
class Device:
    """A named execution target.

    Attributes:
        name: unique device name (what users pass as ``backend``/``target``).
        num_qubits: number of qubits.
        execute: ``execute(program_id, payload) -> result``; runs on an executor thread
            (or, for a tiny job, in the thread that submits it, or in a thread waiting for
            the job: it must not wait for other jobs), raises to fail the job (the
            message becomes the job's error).
        basis_gates: native gate names (Qiskit spelling, e.g. ``("ecr", "rz", "sx", "x")``).
        coupling_map: directed qubit pairs a two-qubit gate may act on; None means
            all-to-all.
        slots: jobs the device runs at the same time (1 for a QPU).
        simulator: True for simulators, False for (emulated) QPUs.
        timing: the execution-time model.
        programs: program ids the device accepts.
        description: one line for listings.
        can_cancel_running: a running job may be cancelled (its result is discarded).
        max_shots: largest ``total_shots`` per job, or None.
        max_executions: largest ``num_executions`` per job, or None.
        properties: extra facts for faces (``dt``, processor type, error rates, ...).
    """

    name: str
    num_qubits: int
    execute: ExecuteFn
    basis_gates: tuple[str, ...] = ()
    coupling_map: tuple[tuple[int, int], ...] | None = None
    slots: int = 1
    simulator: bool = False
    timing: TimingModel = field(default_factory=TimingModel)
    programs: frozenset[str] = DEFAULT_PROGRAMS
    description: str = ""
    can_cancel_running: bool = True
    max_shots: int | None = None
    max_executions: int | None = None
    properties: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name.strip():
            raise InputError(f"device name must be a non-empty string, got {self.name!r}")
        _positive_int(self.num_qubits, f"device {self.name!r}: num_qubits")
        _positive_int(self.slots, f"device {self.name!r}: slots")
        if not callable(self.execute):
            raise InputError(f"device {self.name!r}: execute must be callable")
        if not isinstance(self.timing, TimingModel):
            raise InputError(f"device {self.name!r}: timing must be a TimingModel")
        object.__setattr__(self, "basis_gates", tuple(str(g) for g in self.basis_gates))
        object.__setattr__(self, "programs", frozenset(self.programs))
        if self.coupling_map is not None:
            edges = []
            for edge in self.coupling_map:
                a, b = (int(q) for q in edge)
                if not (0 <= a < self.num_qubits and 0 <= b < self.num_qubits) or a == b:
                    raise InputError(
                        f"device {self.name!r}: coupling edge {tuple(edge)} is not a pair of "
                        f"distinct qubits below {self.num_qubits}"
                    )
                edges.append((a, b))
            object.__setattr__(self, "coupling_map", tuple(edges))
        for limit in ("max_shots", "max_executions"):
            if getattr(self, limit) is not None:
                _positive_int(getattr(self, limit), f"device {self.name!r}: {limit}")

    def validate(self, program_id: str, payload: Any) -> None:
        """Check that this device can run ``payload`` for ``program_id``.

        Raises:
            InputError: unknown program, too many qubits, shots or executions.
        """
        if program_id == CALIBRATION_PROGRAM:  # every QPU calibrates; no simulator does
            if self.simulator:
                raise InputError(f"device {self.name!r} is a simulator: it has no calibration")
            calibration_payload(payload)
            return
        if program_id not in self.programs:
            raise InputError(
                f"device {self.name!r} does not run program {program_id!r}; "
                f"it runs {sorted(self.programs)}"
            )
        validate = getattr(payload, "validate", None)
        if validate is not None:
            # A simulator drops idle qubits, so only the qubits a circuit touches count there
            # (a 127-qubit ISA circuit using 5 qubits runs); a QPU needs the declared width.
            validate(self.num_qubits, touched_only=self.simulator)
        if self.max_shots is not None and int(getattr(payload, "total_shots", 0)) > self.max_shots:
            raise InputError(
                f"job needs {payload.total_shots} shots, more than device {self.name!r} allows "
                f"({self.max_shots})"
            )
        executions = int(getattr(payload, "num_executions", 0))
        if self.max_executions is not None and executions > self.max_executions:
            raise InputError(
                f"job has {executions} circuit executions, more than device {self.name!r} "
                f"allows ({self.max_executions})"
            )

    def execution_time(self, payload: Any) -> float:
        """Modelled seconds the payload occupies the device (a calibration's are its own)."""
        fixed = getattr(payload, "fixed_seconds", None)
        if fixed is not None:
            return float(fixed)
        return self.timing.duration(payload)

    def __repr__(self) -> str:
        kind = "simulator" if self.simulator else "QPU"
        return f"<Device {self.name!r} {kind} {self.num_qubits}q slots={self.slots}>"


def _positive_int(value: Any, what: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be a positive integer, got {value!r}")


class DeviceRegistry:
    """Devices by name; filled by the ``qsession_register_devices`` hook. Thread-safe."""

    def __init__(self, devices: Mapping[str, Device] | None = None) -> None:
        self._lock = threading.Lock()
        self._devices: dict[str, Device] = {}
        for device in (devices or {}).values():
            self.register(device)

    def register(self, device: Device, *, replace: bool = False) -> None:
        """Add ``device``.

        Raises:
            PluginError: not a :class:`Device`, or the name is taken (unless ``replace``).
        """
        if not isinstance(device, Device):
            raise PluginError(f"expected a Device, got {type(device).__name__}: {device!r}")
        with self._lock:
            if device.name in self._devices and not replace:
                raise PluginError(f"a device named {device.name!r} is already registered")
            self._devices[device.name] = device

    def get(self, name: str) -> Device:
        """The device called ``name``.

        Raises:
            DeviceNotFoundError: no such device (the message lists the known names).
        """
        with self._lock:
            device = self._devices.get(name)
            if device is None:
                known = ", ".join(sorted(self._devices)) or "none"
                raise DeviceNotFoundError(f"no device named {name!r}; available devices: {known}")
            return device

    def names(self) -> list[str]:
        """Registered names, sorted."""
        with self._lock:
            return sorted(self._devices)

    def __contains__(self, name: object) -> bool:
        with self._lock:
            return name in self._devices

    def __iter__(self) -> Iterator[Device]:
        with self._lock:
            devices = [self._devices[n] for n in sorted(self._devices)]
        return iter(devices)

    def __len__(self) -> int:
        with self._lock:
            return len(self._devices)

    def __repr__(self) -> str:
        return f"DeviceRegistry({self.names()})"
