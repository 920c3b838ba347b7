"""What ``QSessionBackend.run`` checks before anything is queued: options and circuits.

Run options: ``shots`` (int >= 1), ``memory`` (bool), ``seed_simulator``, ``job_name`` (str)
and ``job_tags`` (list of str), over the backend's defaults. For code written against other
backends, ``meas_level=2``, any ``meas_return`` and ``noise_model=None`` are accepted; any
other option raises (see :mod:`.backend` for why). On an emulated QPU each circuit must fit
the device and be ISA for its target.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
from qiskit.circuit import ControlFlowOp, QuantumCircuit
from qiskit.providers import Options
from qiskit.result import MeasLevel
from qiskit.transpiler import Target
from qiskit_ibm_runtime.exceptions import IBMBackendValueError

from ..core.device import Device

__all__ = ["as_circuits", "check_fits", "non_isa", "resolve_run_options"]

#: The engine's simulation methods (``qsession_provider.sim.method.METHODS``).
SIMULATION_METHODS = ("automatic", "statevector", "stabilizer")

#: Options accepted for compatibility: name -> (allowed values, what the error says).
_COMPAT_OPTIONS: Mapping[str, tuple[tuple[Any, ...] | None, str]] = {
    "meas_level": ((2, MeasLevel.CLASSIFIED), "only classified results (meas_level=2)"),
    "meas_return": (None, ""),
    "noise_model": ((None,), "noise models are not supported (the engine is noiseless)"),
}


def resolve_run_options(
    backend_name: str, defaults: Options, options: Mapping[str, Any]
) -> dict[str, Any]:
    """The backend's ``defaults`` overridden by ``options``, checked.

    Returns:
        The options with ``shots`` an int, ``memory`` a bool, ``job_name`` a string and
        ``job_tags`` a tuple.

    Raises:
        IBMBackendValueError: an unknown option or an invalid value (the message starts with
            ``backend_name``).
    """
    merged = dict(defaults.items())
    unknown = []
    for key, value in options.items():
        if key in merged:
            merged[key] = value
        elif key in _COMPAT_OPTIONS:
            allowed, why = _COMPAT_OPTIONS[key]
            if allowed is not None and value not in allowed:
                raise IBMBackendValueError(
                    f"{backend_name}: {key}={value!r} is not supported: {why}"
                )
        else:
            unknown.append(key)
    if unknown:
        known = sorted([*merged, *_COMPAT_OPTIONS])
        raise IBMBackendValueError(
            f"{backend_name}: unknown run option(s) {sorted(unknown)}; valid options: {known}"
        )
    shots = merged["shots"]
    if isinstance(shots, (bool, np.bool_)) or not isinstance(shots, Integral) or shots < 1:
        raise IBMBackendValueError(f"{backend_name}: shots must be an integer >= 1, got {shots!r}")
    merged["shots"] = int(shots)
    if not isinstance(merged["memory"], (bool, np.bool_)):
        raise IBMBackendValueError(
            f"{backend_name}: memory must be True or False, got {merged['memory']!r}"
        )
    merged["memory"] = bool(merged["memory"])
    name = merged["job_name"]
    if name is not None and not isinstance(name, str):
        raise IBMBackendValueError(f"{backend_name}: job_name must be a string, got {name!r}")
    tags = merged["job_tags"]
    if isinstance(tags, str) or not (tags is None or all(isinstance(t, str) for t in tags)):
        raise IBMBackendValueError(
            f"{backend_name}: job_tags must be a list of strings, got {tags!r}"
        )
    if merged.get("method", "automatic") not in SIMULATION_METHODS:
        raise IBMBackendValueError(
            f"{backend_name}: method={merged['method']!r} is not a simulation method; "
            f"choose one of {list(SIMULATION_METHODS)}"
        )
    merged["job_name"] = name or ""
    merged["job_tags"] = tuple(tags or ())
    return merged


def check_fits(
    backend_name: str, device: Device, target: Target, circuits: Sequence[QuantumCircuit]
) -> None:
    """Refuse circuits that are wider than an emulated QPU or do not match its target.

    Raises:
        IBMBackendValueError: the first circuit that does not fit, and why.
    """
    for index, circuit in enumerate(circuits):
        label = f"circuit {index} ({circuit.name!r})"
        if circuit.num_qubits > device.num_qubits:
            raise IBMBackendValueError(
                f"{backend_name}: {label} has {circuit.num_qubits} qubits, more than the "
                f"device's {device.num_qubits}"
            )
        problem = non_isa(circuit, target, list(range(circuit.num_qubits)))
        if problem:
            raise IBMBackendValueError(
                f"{backend_name}: {label}: {problem} Transpile it for this backend first, "
                "e.g. generate_preset_pass_manager(backend=backend).run(circuit)."
            )


def as_circuits(run_input: Any) -> list[QuantumCircuit]:
    """``run_input`` as a non-empty list of circuits.

    Raises:
        IBMBackendValueError: not a circuit or a non-empty sequence of circuits.
    """
    if isinstance(run_input, QuantumCircuit):
        return [run_input]
    if isinstance(run_input, (str, bytes)) or not isinstance(run_input, Sequence):
        raise IBMBackendValueError(
            "run_input must be a QuantumCircuit or a list of QuantumCircuits, "
            f"got {type(run_input).__name__}"
        )
    circuits = list(run_input)
    if not circuits:
        raise IBMBackendValueError("run_input is an empty list; give at least one circuit")
    for index, item in enumerate(circuits):
        if not isinstance(item, QuantumCircuit):
            raise IBMBackendValueError(
                f"run_input item {index} is a {type(item).__name__}, not a QuantumCircuit"
            )
    return circuits


def non_isa(circuit: QuantumCircuit, target: Target, qubits: list[int]) -> str:
    """Why ``circuit`` (its qubit ``i`` on target qubit ``qubits[i]``) is not ISA, or ``""``."""
    for inst in circuit.data:
        name = inst.operation.name
        qargs = tuple(qubits[circuit.find_bit(q).index] for q in inst.qubits)
        if name not in ("barrier", "store") and not target.instruction_supported(name, qargs):
            return (
                f"The instruction {name} on qubits {qargs} is not supported by the target system."
            )
        if isinstance(inst.operation, ControlFlowOp):
            for block in inst.operation.blocks:
                inner = [qubits[circuit.find_bit(q).index] for q in inst.qubits]
                problem = non_isa(block, target, inner)
                if problem:
                    return problem
    return ""
