"""A Qiskit ``Target`` built from a core :class:`~qsession_provider.core.device.Device`.

What the target says, and why:

* **Emulated QPUs** (``simulator=False``): the device's basis gates only; one-qubit gates on
  every qubit, two-qubit gates on each *directed* edge of the coupling map (the built-in
  heavy-hex maps list both directions, so both are allowed); ``measure``, ``reset`` and
  ``delay`` on every qubit. Durations are nominal superconducting-QPU values (or the
  device's ``properties["gate_durations"]``), rounded to the device's ``dt``; gate errors
  are set only when the device gives ``properties["gate_errors"]``, because the engine is
  noiseless and invented error rates would steer noise-aware layout for no reason.
* **Simulators** (``simulator=True``): every standard gate the translator runs natively
  (all of Qiskit's standard gate library plus variadic ``unitary``), joined with the
  device's declared basis gates, all-to-all, so transpiling for a simulator only unrolls
  what the engine cannot run directly. The engine receives the same neutral IR whatever
  the device, so a simulator's ``basis_gates`` are a floor, not a limit.
* **Control flow**: only what the translator runs: ``if_else`` (without an ``else``
  branch, conditioned on a clbit or register) and ``box``. Loops and ``switch_case`` are
  left out, so the transpiler rejects them up front instead of a job failing later.

A device with no coupling map gets every instruction as a *global* instruction (any
qubits); gates on three or more qubits need an all-to-all device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import BoxOp, Delay, IfElseOp, Measure, Parameter, Reset
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.transpiler import InstructionProperties, Target

from ..core.device import Device
from ..errors import InputError

__all__ = [
    "CONTROL_FLOW",
    "NOMINAL_DURATIONS",
    "VIRTUAL_GATES",
    "device_target",
    "simulator_gate_names",
]

#: Nominal durations in seconds, by instruction kind, for emulated QPUs (IBM-like values).
NOMINAL_DURATIONS: Mapping[str, float] = {
    "1q": 3.6e-8,
    "2q": 5.0e-7,
    "measure": 1.6e-6,
    "reset": 2.0e-6,
}

#: Gates implemented as frame changes: zero duration and no error.
VIRTUAL_GATES = frozenset({"rz", "p", "u1", "z", "s", "sdg", "t", "tdg"})

#: Control-flow instructions the translator runs, by target name.
CONTROL_FLOW: Mapping[str, type] = {"if_else": IfElseOp, "box": BoxOp}

#: Names handled apart from the gate library (never taken from ``basis_gates``).
_NON_GATES = frozenset({"measure", "reset", "delay", "barrier", *CONTROL_FLOW})


def simulator_gate_names() -> list[str]:
    """Standard gate names a simulator target advertises (all the translator runs natively)."""
    return sorted(name for name in get_standard_gate_name_mapping() if name not in _skip_names())


def _skip_names() -> frozenset[str]:
    # global_phase is a zero-qubit gate: the transpiler folds it into the circuit phase anyway.
    return _NON_GATES | {"global_phase"}


def device_target(device: Device) -> Target:
    """The Qiskit ``Target`` of ``device`` (see the module docstring for what it contains).

    Args:
        device: the core device.

    Returns:
        A new ``Target`` with ``num_qubits == device.num_qubits`` and ``dt`` from
        ``device.properties["dt"]`` (None if absent).

    Raises:
        InputError: the device declares a gate Qiskit's standard library does not know,
            or a gate on three or more qubits together with a coupling map.

    Example:
        >>> from qsession_provider.plugins.builtin import falcon_27_device
        >>> target = device_target(falcon_27_device())
        >>> target.num_qubits, sorted(target.operation_names)[:4]
        (27, ['box', 'delay', 'ecr', 'id'])
        >>> target.instruction_supported("ecr", (0, 1)), target.instruction_supported("ecr", (0, 2))
        (True, False)
    """
    properties = device.properties or {}
    dt = properties.get("dt")
    dt = float(dt) if isinstance(dt, (int, float)) and dt > 0 else None
    target = Target(
        description=device.description or device.name, num_qubits=device.num_qubits, dt=dt
    )
    library = get_standard_gate_name_mapping()
    names = list(dict.fromkeys(g for g in device.basis_gates if g not in _skip_names()))
    unknown = [g for g in names if g not in library]
    if unknown:
        raise InputError(
            f"device {device.name!r} declares basis gates {unknown} that Qiskit's standard gate "
            "library does not know; name gates as Qiskit does (e.g. 'cx', 'ecr', 'rz', 'sx')"
        )
    if device.simulator:
        names += [g for g in simulator_gate_names() if g not in names]
    timed = not device.simulator
    durations = {**NOMINAL_DURATIONS, **_floats(properties.get("gate_durations"))}
    errors = _floats(properties.get("gate_errors"))

    def props(name: str, kind: str) -> InstructionProperties | None:
        if not timed and name not in errors:
            return None
        seconds = None
        if timed:
            seconds = 0.0 if name in VIRTUAL_GATES else durations.get(name, durations[kind])
            seconds = _round_to_dt(seconds, dt)
        return InstructionProperties(duration=seconds, error=errors.get(name))

    qubits = range(device.num_qubits)
    edges = device.coupling_map
    for name in names:
        gate = library[name]
        width = gate.num_qubits
        if width == 1 and (edges is not None or timed):
            target.add_instruction(gate, {(q,): props(name, "1q") for q in qubits})
        elif edges is None:  # all-to-all: a global instruction (any qubits)
            target.add_instruction(gate, None)
        elif width == 2:
            target.add_instruction(gate, {tuple(e): props(name, "2q") for e in edges})
        else:
            raise InputError(
                f"device {device.name!r}: basis gate {name!r} acts on {width} qubits, which a "
                "coupling map cannot describe; use two-qubit gates or an all-to-all device"
            )
    target.add_instruction(Measure(), {(q,): props("measure", "measure") for q in qubits})
    target.add_instruction(Reset(), {(q,): props("reset", "reset") for q in qubits})
    target.add_instruction(Delay(Parameter("t")), {(q,): None for q in qubits})
    if device.simulator:
        target.add_instruction(UnitaryGate, name="unitary")
    for name, op_class in CONTROL_FLOW.items():
        target.add_instruction(op_class, name=name)
    return target


def _floats(value: Any) -> dict[str, float]:
    """A ``{name: float}`` mapping from device properties (anything else: empty)."""
    if not isinstance(value, Mapping):
        return {}
    return {
        str(k): float(v)
        for k, v in value.items()
        if isinstance(v, (int, float)) and math.isfinite(v) and v >= 0
    }


def _round_to_dt(seconds: float, dt: float | None) -> float:
    """``seconds`` as a whole number of ``dt`` (schedulers count in ``dt``)."""
    if dt is None or seconds == 0:
        return seconds
    return max(1, round(seconds / dt)) * dt
