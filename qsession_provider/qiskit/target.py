"""A Qiskit ``Target`` built from a core :class:`~qsession_provider.core.device.Device`.

What the target says, and why:

* **Emulated QPUs** (``simulator=False``): the device's basis gates only; one-qubit gates on
  every qubit, two-qubit gates on each *directed* edge of the coupling map (the built-in
  heavy-hex maps list both directions, so both are allowed); ``measure``, ``reset`` and
  ``delay`` on every qubit. Durations are the device's calibrated ones per instruction and
  qubits (``properties["calibration"]``, with T1, T2 and frequency as the qubit
  properties), else its ``properties["gate_durations"]``, else nominal
  superconducting-QPU values, rounded to the device's ``dt``; error rates are the
  calibrated ones (gate errors, readout errors for ``measure``: what a fake backend's
  noise applies), else ``properties["gate_errors"]``, else unset: invented error rates
  would steer noise-aware layout for no reason.
* **Simulators** (``simulator=True``): every standard gate the translator runs natively
  (all of Qiskit's standard gate library plus variadic ``unitary``), joined with the
  device's declared basis gates, all-to-all, so transpiling for a simulator only unrolls
  what the engine cannot run directly. The engine receives the same neutral IR whatever
  the device, so a simulator's ``basis_gates`` are a floor, not a limit.
* **Control flow**: what the translator runs: ``if_else`` (with or without ``else``),
  ``switch_case``, ``for_loop``, ``while_loop`` (with ``break_loop`` / ``continue_loop``)
  and ``box``; conditions may be classical expressions (``translate/qiskit/control_flow.py``).

A device with no coupling map gets every instruction as a *global* instruction (any
qubits); gates on three or more qubits need an all-to-all device.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from qiskit.circuit import (
    BoxOp,
    BreakLoopOp,
    ContinueLoopOp,
    Delay,
    ForLoopOp,
    IfElseOp,
    Measure,
    Parameter,
    Reset,
    SwitchCaseOp,
    WhileLoopOp,
)
from qiskit.circuit.library import UnitaryGate, get_standard_gate_name_mapping
from qiskit.providers import QubitProperties
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
CONTROL_FLOW: Mapping[str, type] = {
    "if_else": IfElseOp,
    "switch_case": SwitchCaseOp,
    "for_loop": ForLoopOp,
    "while_loop": WhileLoopOp,
    "break_loop": BreakLoopOp,
    "continue_loop": ContinueLoopOp,
    "box": BoxOp,
}

#: Names handled apart from the gate library (never taken from ``basis_gates``).
_NON_GATES = frozenset({"measure", "reset", "delay", "barrier", *CONTROL_FLOW})


def simulator_gate_names() -> list[str]:
    """Standard gate names a simulator target advertises (all the translator runs natively)."""
    return sorted(name for name in get_standard_gate_name_mapping() if name not in _skip_names())


def _skip_names() -> frozenset[str]:
    # global_phase is a zero-qubit gate: the transpiler folds it into the circuit phase anyway.
    return _NON_GATES | {"global_phase"}


def device_target(device: Device, *, fractional_gates: bool = False) -> Target:
    """The Qiskit ``Target`` of ``device`` (see the module docstring for what it contains).

    Args:
        device: the core device.
        fractional_gates: add the gates of ``properties["fractional_gates"]`` (the
            fractional ``rx``, ``rzz`` a fake Heron backend's calibration has), as IBM's
            ``use_fractional_gates=True`` does.

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
    calibration = properties.get("calibration")
    target = Target(
        description=device.description or device.name,
        num_qubits=device.num_qubits,
        dt=dt,
        qubit_properties=_qubit_properties(calibration, device.num_qubits),
    )
    library = get_standard_gate_name_mapping()
    names = list(dict.fromkeys(g for g in device.basis_gates if g not in _skip_names()))
    if fractional_gates:
        names += [str(g) for g in properties.get("fractional_gates", ()) if g not in names]
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
    calibrated = _calibrated_durations(calibration)
    calibrated_errors = _calibrated_errors(calibration)

    def props(name: str, kind: str, qubits: tuple[int, ...]) -> InstructionProperties | None:
        error = calibrated_errors.get((name, qubits), errors.get(name))
        if not timed and error is None:
            return None
        seconds = None
        if timed:
            seconds = calibrated.get((name, qubits), durations.get(name, durations[kind]))
            seconds = _round_to_dt(0.0 if name in VIRTUAL_GATES else seconds, dt)
        return InstructionProperties(duration=seconds, error=error)

    qubits = range(device.num_qubits)
    edges = device.coupling_map
    for name in names:
        gate = library[name]
        width = gate.num_qubits
        if width == 1 and (edges is not None or timed):
            target.add_instruction(gate, {(q,): props(name, "1q", (q,)) for q in qubits})
        elif edges is None:  # all-to-all: a global instruction (any qubits)
            target.add_instruction(gate, None)
        elif width == 2:
            target.add_instruction(gate, {tuple(e): props(name, "2q", tuple(e)) for e in edges})
        else:
            raise InputError(
                f"device {device.name!r}: basis gate {name!r} acts on {width} qubits, which a "
                "coupling map cannot describe; use two-qubit gates or an all-to-all device"
            )
    target.add_instruction(Measure(), {(q,): props("measure", "measure", (q,)) for q in qubits})
    target.add_instruction(Reset(), {(q,): props("reset", "reset", (q,)) for q in qubits})
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


def _qubit_properties(calibration: Any, num_qubits: int) -> list[QubitProperties] | None:
    """T1, T2 and frequency per qubit from ``properties["calibration"]`` (IBM's fake
    backends: :mod:`qsession_provider.plugins.ibm_fake_devices`), or None without one."""
    rows = calibration.get("qubits") if isinstance(calibration, Mapping) else None
    if not isinstance(rows, list) or len(rows) != num_qubits:
        return None
    return [
        QubitProperties(t1=r.get("T1"), t2=r.get("T2"), frequency=r.get("frequency")) for r in rows
    ]


def _calibrated_durations(calibration: Any) -> dict[tuple[str, tuple[int, ...]], float]:
    """Seconds per (instruction, qubits) from ``properties["calibration"]``: its gates'
    durations and, for ``measure``, each qubit's readout length."""
    if not isinstance(calibration, Mapping):
        return {}
    found = {
        (str(g["gate"]), tuple(int(q) for q in g["qubits"])): float(g["duration"])
        for g in calibration.get("gates", ())
        if g.get("duration") is not None
    }
    for q, row in enumerate(calibration.get("qubits", ())):
        if row.get("readout_length"):
            found[("measure", (q,))] = float(row["readout_length"])
    return found


def _calibrated_errors(calibration: Any) -> dict[tuple[str, tuple[int, ...]], float]:
    """Error rates per (instruction, qubits) from ``properties["calibration"]``: its gates'
    errors and, for ``measure``, each qubit's readout error (what the device's calibration
    noise applies, so that noise-aware layout avoids the bad qubits as on IBM's targets)."""
    if not isinstance(calibration, Mapping):
        return {}
    found = {
        (str(g["gate"]), tuple(int(q) for q in g["qubits"])): float(g["error"])
        for g in calibration.get("gates", ())
        if g.get("error") is not None
    }
    for q, row in enumerate(calibration.get("qubits", ())):
        if row.get("readout_error") is not None:
            found[("measure", (q,))] = float(row["readout_error"])
    return found


def _round_to_dt(seconds: float, dt: float | None) -> float:
    """``seconds`` as a whole number of ``dt`` (schedulers count in ``dt``)."""
    if dt is None or seconds == 0:
        return seconds
    return max(1, round(seconds / dt)) * dt
