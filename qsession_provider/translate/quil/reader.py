"""Quil -> an IR circuit, parsed with the ``quil`` package (Rigetti's quil-rs).

What Azure's Rigetti targets accept as ``input_data``: Quil text (or a pyQuil ``Program``,
whose ``str()`` is that text). Read here: ``DECLARE`` of ``BIT`` memory (each a classical
register, in declaration order), gates with constant parameters (the standard gate set by
name; ``DAGGER``/``CONTROLLED`` modifiers and gates defined with ``DEFGATE`` through the
matrix quil computes), ``MEASURE q ro[i]``, ``RESET`` and ``RESET q``; ``PRAGMA``,
``FENCE``, ``DELAY`` and ``HALT`` at the end change nothing. Control flow (``JUMP``,
``LABEL``), classical arithmetic, parameters read from ``REAL`` memory and pulse-level
instructions are refused with :class:`QuilError` naming the instruction.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from quil.program import Program

from ...core.ir.circuit import MAX_MATRIX_QUBITS, Circuit, Gate, Measure, Reset
from ...errors import InputError

__all__ = ["QuilError", "quil_to_ir"]

# Quil gate -> (our gate, number of controls); parameters pass through in order.
_GATES: dict[str, tuple[str, int]] = {
    "I": ("id", 0),
    "X": ("x", 0),
    "Y": ("y", 0),
    "Z": ("z", 0),
    "H": ("h", 0),
    "S": ("s", 0),
    "T": ("t", 0),
    "RX": ("rx", 0),
    "RY": ("ry", 0),
    "RZ": ("rz", 0),
    "PHASE": ("p", 0),
    "CNOT": ("x", 1),
    "CZ": ("z", 1),
    "CCNOT": ("x", 2),
    "CPHASE": ("p", 1),
    "SWAP": ("swap", 0),
    "ISWAP": ("iswap", 0),
}
_QUIET = {"Pragma", "Fence", "Delay", "Declaration"}


class QuilError(InputError):
    """The Quil program cannot be read into a circuit (the message names why)."""


def quil_to_ir(program: Any, *, name: str = "quil") -> Circuit:
    """The IR circuit of a Quil program (text, or any object whose ``str()`` is Quil).

    Raises:
        QuilError: the text does not parse, or holds an instruction outside what is read
            (see the module docstring).
    """
    text = program if isinstance(program, str) else str(program)
    try:
        parsed = Program.parse(text)
    except Exception as exc:  # quil-rs raises its own parse error types
        raise QuilError(f"input_data is not a valid Quil program: {exc}") from None
    registers = _registers(parsed)
    body = list(parsed.body_instructions)
    used = _qubits(body)
    num_qubits = max(used, default=-1) + 1
    gates = parsed.gate_definitions
    ops: list[Any] = []
    for index, instruction in enumerate(body):
        kind = type(instruction).__name__
        inner = instruction._0
        if kind == "Gate":
            ops.append(_gate(inner, gates))
        elif kind == "Measurement":
            ops.append(_measure(inner, registers))
        elif kind == "Reset":
            qubits = used if inner.qubit is None else [_qubit(inner.qubit)]
            ops.extend(Reset(q) for q in qubits)
        elif kind in _QUIET or (kind == "Halt" and index == len(body) - 1):
            continue
        else:
            raise QuilError(
                f"Quil instruction {_text(instruction)!r} is not supported (gates, MEASURE, "
                "RESET, DECLARE of BIT memory and PRAGMA are)"
            )
    return Circuit(num_qubits, ops, registers, name=name)


def _registers(parsed: Any) -> dict[str, int]:
    registers = {}
    for region, declaration in parsed.declarations.items():
        if str(declaration.size.data_type).upper().endswith("BIT"):
            registers[region] = int(declaration.size.length)
    return registers


def _qubits(body: list[Any]) -> list[int]:
    used: set[int] = set()
    for instruction in body:
        inner = instruction._0
        for q in getattr(inner, "qubits", None) or []:
            used.add(_qubit(q))
        qubit = getattr(inner, "qubit", None)
        if qubit is not None:
            used.add(_qubit(qubit))
    return sorted(used)


def _qubit(qubit: Any) -> int:
    if type(qubit).__name__ != "Fixed":
        raise QuilError(f"qubit {_text(qubit)} is not a fixed qubit index")
    return int(qubit._0)


def _gate(gate: Any, definitions: dict[str, Any]) -> Gate:
    qubits = tuple(_qubit(q) for q in gate.qubits)
    params = tuple(_number(p, gate.name) for p in gate.parameters)
    known = _GATES.get(gate.name)
    if known is not None and not gate.modifiers:
        ours, controls = known
        return Gate(ours, qubits[controls:], params, controls=qubits[:controls])
    if len(qubits) > MAX_MATRIX_QUBITS:
        raise QuilError(f"gate {_text(gate)!r} acts on more than {MAX_MATRIX_QUBITS} qubits")
    if gate.name in definitions:
        # Quil writes a DEFGATE matrix with the first listed qubit most significant; ours
        # has bit j on qubits[j]: list the qubits the other way round.
        matrix = _defined_matrix(gate, definitions[gate.name])
        return Gate("unitary", qubits[::-1], matrix=matrix)
    return Gate("unitary", qubits, matrix=_standard_matrix(gate, len(qubits)))


def _standard_matrix(gate: Any, width: int) -> np.ndarray:
    """The matrix quil computes for a standard gate with modifiers, bit ``j`` of its index
    being the ``j``-th listed qubit (the gate is moved onto qubits ``0 .. width-1``)."""
    head = gate.to_quil().rsplit(" ", width)[0]
    local = Program.parse(f"{head} {' '.join(str(i) for i in range(width))}")
    try:
        return np.asarray(local.to_unitary(width), dtype=complex)
    except Exception as exc:
        raise QuilError(f"gate {_text(gate)!r} is not a gate quil knows: {exc}") from None


def _defined_matrix(gate: Any, definition: Any) -> np.ndarray:
    """The matrix of a ``DEFGATE ... :`` definition without parameters or modifiers."""
    spec = definition.specification
    if gate.modifiers or definition.parameters or type(spec).__name__ != "Matrix":
        raise QuilError(
            f"gate {_text(gate)!r}: only DEFGATE matrices without parameters or modifiers "
            "are supported"
        )
    rows = [[complex(entry.evaluate({}, {})) for entry in row] for row in spec._0]
    matrix = np.asarray(rows, dtype=complex)
    if matrix.shape != (2 ** len(gate.qubits),) * 2:
        raise QuilError(
            f"DEFGATE {gate.name} has a {matrix.shape} matrix for {len(gate.qubits)} qubits"
        )
    return matrix


def _measure(measurement: Any, registers: dict[str, int]) -> Measure:
    target = measurement.target
    qubit = _qubit(measurement.qubit)
    if target is None:
        raise QuilError(f"MEASURE {qubit} has no memory reference to write to")
    if target.name not in registers:
        raise QuilError(f"MEASURE writes to {target.name!r}, which is not declared as BIT memory")
    if not 0 <= target.index < registers[target.name]:
        raise QuilError(
            f"MEASURE writes to {target.name}[{target.index}], outside its "
            f"{registers[target.name]} bits"
        )
    return Measure(qubit, target.name, int(target.index))


def _number(expression: Any, gate: str) -> float:
    try:
        value = complex(expression.evaluate({}, {}))
    except Exception:
        raise QuilError(
            f"a parameter of {gate} is not a constant ({_text(expression)}): "
            "parameters read from memory are not supported"
        ) from None
    if abs(value.imag) > 1e-12 or not math.isfinite(value.real):
        raise QuilError(f"a parameter of {gate} is not a finite real number: {value}")
    return value.real


def _text(item: Any) -> str:
    """Quil text of an instruction or expression, for messages."""
    for method in ("to_quil", "to_quil_or_debug"):
        try:
            return str(getattr(item, method)())
        except Exception:  # not every quil-rs object has both
            continue
    return str(item)
