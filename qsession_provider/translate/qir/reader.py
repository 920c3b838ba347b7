"""QIR (base and adaptive profile) -> an IR circuit, read with pyqir.

What Azure's targets accept from ``qsharp.compile(...)``: an LLVM module (bitcode or text)
whose entry point calls ``__quantum__qis__*`` gates on static qubits, measures into static
results, and records its output with ``__quantum__rt__*_record_output``. The adaptive
profile adds branches on measured results; those become classically conditioned
operations.

The circuit's register ``"c"`` holds the recorded results, in recording order (what Azure
reports as a shot's outcome); results measured but never recorded go to the register
``"_unrecorded"`` (kept for conditions; the Azure face leaves registers whose names begin
with ``_`` out of a shot's outcome).

Branching is read as structured code: ``br i1 %r`` on a ``read_result`` value, to a block
(or two) that rejoin at one block, as Q#'s ``if r == One { ... } else { ... }`` compiles.
Nested branches, loops, integer or float computations, dynamic qubits and calls to
anything else are refused with :class:`QirError` naming the instruction.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pyqir

from ...core.ir.circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from ...errors import InputError

__all__ = ["QirError", "qir_to_ir"]

#: Register of the recorded results (the outcome Azure reports).
OUTPUT = "c"
#: Register of results measured but never recorded.
UNRECORDED = "_unrecorded"

_QIS = "__quantum__qis__"
_RT = "__quantum__rt__"

# QIR gate name -> (our gate, number of controls, number of angle parameters)
_GATES: dict[str, tuple[str, int, int]] = {
    "h": ("h", 0, 0),
    "x": ("x", 0, 0),
    "y": ("y", 0, 0),
    "z": ("z", 0, 0),
    "s": ("s", 0, 0),
    "s__adj": ("sdg", 0, 0),
    "t": ("t", 0, 0),
    "t__adj": ("tdg", 0, 0),
    "rx": ("rx", 0, 1),
    "ry": ("ry", 0, 1),
    "rz": ("rz", 0, 1),
    "rxx": ("rxx", 0, 1),
    "ryy": ("ryy", 0, 1),
    "rzz": ("rzz", 0, 1),
    "cx": ("x", 1, 0),
    "cnot": ("x", 1, 0),
    "cy": ("y", 1, 0),
    "cz": ("z", 1, 0),
    "ccx": ("x", 2, 0),
    "swap": ("swap", 0, 0),
}
_MEASURES = {"m", "mz", "mresetz"}
# Runtime calls that change nothing in the circuit.
_QUIET = {"initialize", "begin_parallel", "end_parallel"}


class QirError(InputError):
    """The QIR program cannot be read into a circuit (the message names why)."""


@dataclass(frozen=True)
class _Op:
    """An operation as read, before results have their places in the registers."""

    kind: str  # our gate name, or "measure", "reset", "barrier"
    qubits: tuple[int, ...]
    params: tuple[float, ...] = ()
    controls: int = 0
    result: int = -1
    condition: tuple[int, int] | None = None  # (result, value)


@dataclass
class _Reader:
    ops: list[_Op] = field(default_factory=list)
    recorded: list[int] = field(default_factory=list)
    measured: set[int] = field(default_factory=set)
    qubits: int = 0
    values: dict[str, int] = field(default_factory=dict)  # %name -> result id it reads


def qir_to_ir(program: bytes | str, *, name: str = "qir") -> Circuit:
    """The IR circuit of a QIR module (LLVM bitcode bytes or LLVM text).

    Raises:
        QirError: not a QIR module, no entry point, or an instruction outside what is read
            (see the module docstring).
    """
    context = pyqir.Context()
    try:
        if isinstance(program, (bytes, bytearray)) and bytes(program[:4]) == b"BC\xc0\xde":
            module = pyqir.Module.from_bitcode(context, bytes(program))
        else:
            text = program.decode("utf-8") if isinstance(program, (bytes, bytearray)) else program
            module = pyqir.Module.from_ir(context, text)
    except (ValueError, UnicodeDecodeError) as exc:
        raise QirError(f"input_data is not a QIR module: {exc}") from None
    entries = [f for f in module.functions if pyqir.is_entry_point(f)]
    if len(entries) != 1:
        raise QirError(f"a QIR program needs exactly one entry point, found {len(entries)}")
    entry = entries[0]
    reader = _Reader()
    blocks = {block.name: block for block in entry.basic_blocks}
    _read_from(reader, entry.basic_blocks[0], blocks, condition=None, stop=None)
    num_qubits = max(reader.qubits, pyqir.required_num_qubits(entry) or 0)
    return _circuit(reader, num_qubits, name)


def _read_from(
    reader: _Reader,
    block: Any,
    blocks: dict[str, Any],
    *,
    condition: tuple[int, int] | None,
    stop: str | None,
) -> str | None:
    """Read ``block`` and its successors until ``stop`` (a join block) or the end.

    Returns the name of the block where reading stopped (``stop``), or None at ``ret``.
    """
    seen: set[str] = set()
    while block is not None:
        if block.name == stop:
            return stop
        if block.name in seen:
            raise QirError(f"block {block.name!r} is reached twice: loops are not supported")
        seen.add(block.name)
        for inst in block.instructions:
            if isinstance(inst, pyqir.Call):
                _call(reader, inst, condition)
            elif inst.opcode not in (pyqir.Opcode.BR, pyqir.Opcode.RET):
                raise QirError(
                    f"instruction {inst.opcode.name.lower()} in block {block.name!r} is not "
                    "supported (only gate, measurement and output calls and branches on results)"
                )
        term = block.terminator
        if term is None or term.opcode == pyqir.Opcode.RET:
            return None
        targets = [o for o in term.operands if isinstance(o, pyqir.BasicBlock)]
        if len(term.operands) == 1:  # unconditional
            block = blocks[targets[0].name]
            continue
        block = _branch(reader, term, blocks, condition)
    return None


def _branch(reader: _Reader, term: Any, blocks: dict[str, Any], outer: Any) -> Any:
    """Read ``if r == One {then} else {otherwise}``; returns the join block."""
    if outer is not None:
        raise QirError("branches inside a branch are not supported")
    cond, false_block, true_block = term.operands  # LLVM keeps br's operands so
    result = reader.values.get(getattr(cond, "name", ""))
    if result is None:
        raise QirError("a branch condition must be a read_result of a measured result")
    join = _join(blocks[true_block.name], blocks[false_block.name], blocks)
    for target, value in ((true_block, 1), (false_block, 0)):
        if target.name != join:
            end = _read_from(
                reader, blocks[target.name], blocks, condition=(result, value), stop=join
            )
            if end != join:
                raise QirError(f"the branch from {target.name!r} does not rejoin at {join!r}")
    return blocks[join]


def _join(true_block: Any, false_block: Any, blocks: dict[str, Any]) -> str:
    """The block both arms of a branch reach (one arm may be the join itself)."""

    def successor(block: Any) -> str | None:
        term = block.terminator
        if term is not None and term.opcode == pyqir.Opcode.BR and len(term.operands) == 1:
            return str(term.operands[0].name)
        return None

    after_true, after_false = successor(true_block), successor(false_block)
    if after_true == false_block.name:
        return str(false_block.name)
    if after_false == true_block.name:
        return str(true_block.name)
    if after_true is not None and after_true == after_false:
        return after_true
    raise QirError(
        f"the branch to {true_block.name!r} / {false_block.name!r} is not an if/else of "
        "straight-line blocks"
    )


def _call(reader: _Reader, call: Any, condition: tuple[int, int] | None) -> None:
    callee = call.callee.name
    if callee.startswith(_QIS):
        _gate(reader, callee[len(_QIS) :], call.args, condition)
        if call.name and callee.startswith(_QIS + "read_result"):
            reader.values[call.name] = _result(call.args[0])
        return
    if callee.startswith(_RT):
        what = callee[len(_RT) :]
        if what == "read_result":
            reader.values[call.name] = _result(call.args[0])
        elif what == "result_record_output":
            reader.recorded.append(_result(call.args[0]))
        elif what in _QUIET or what.endswith("_record_output"):
            pass  # array/tuple labels: the outcome is the recorded results in order
        else:
            raise QirError(f"runtime call {callee} is not supported")
        return
    raise QirError(f"call to {callee} is not supported (only __quantum__qis__/__rt__ calls)")


def _gate(reader: _Reader, qis: str, args: list[Any], condition: tuple[int, int] | None) -> None:
    base = qis.rsplit("__", 1)[0] if qis.endswith(("__body", "__adj")) else qis
    if qis.endswith("__adj"):
        base = base + "__adj"
    if base.startswith("read_result"):
        return
    if base in _MEASURES:
        qubit, result = _qubit(reader, args[0]), _result(args[1])
        reader.measured.add(result)
        reader.ops.append(_Op("measure", (qubit,), result=result, condition=condition))
        if base == "mresetz":
            reader.ops.append(_Op("reset", (qubit,), condition=condition))
        return
    if base == "reset":
        reader.ops.append(_Op("reset", (_qubit(reader, args[0]),), condition=condition))
        return
    if base == "barrier":
        reader.ops.append(_Op("barrier", ()))
        return
    spec = _GATES.get(base)
    if spec is None:
        raise QirError(f"gate __quantum__qis__{qis} is not supported")
    gate, controls, angles = spec
    params = tuple(_angle(a, qis) for a in args[:angles])
    qubits = tuple(_qubit(reader, a) for a in args[angles:])
    reader.ops.append(_Op(gate, qubits, params, controls, condition=condition))


def _qubit(reader: _Reader, value: Any) -> int:
    index = pyqir.ptr_id(value)
    if index is None:
        raise QirError("dynamic qubits are not supported: qubits must be static addresses")
    reader.qubits = max(reader.qubits, index + 1)
    return int(index)


def _result(value: Any) -> int:
    index = pyqir.ptr_id(value)
    if index is None:
        raise QirError("dynamic results are not supported: results must be static addresses")
    return int(index)


def _angle(value: Any, qis: str) -> float:
    if not isinstance(value, pyqir.FloatConstant):
        raise QirError(f"the angle of __quantum__qis__{qis} must be a constant")
    return float(value.value)


def _circuit(reader: _Reader, num_qubits: int, name: str) -> Circuit:
    """Place each result in ``c`` (recorded, in recording order) or ``_unrecorded``."""
    where: dict[int, tuple[str, int]] = {}
    for position, result in enumerate(reader.recorded):
        if result in where:
            raise QirError(f"result {result} is recorded twice")
        where[result] = (OUTPUT, position)
    extra = sorted(reader.measured - where.keys())
    for position, result in enumerate(extra):
        where[result] = (UNRECORDED, position)
    for result in reader.recorded:
        if result not in reader.measured:
            raise QirError(f"result {result} is recorded but never measured")

    def resolve(condition: tuple[int, int] | None) -> Condition | None:
        if condition is None:
            return None
        result, value = condition
        if result not in where:
            raise QirError(f"a branch reads result {result}, which is never measured")
        register, bit = where[result]
        return Condition(register, value, bit)

    ops: list[Any] = []
    for op in reader.ops:
        cond = resolve(op.condition)
        if op.kind == "measure":
            register, bit = where[op.result]
            ops.append(Measure(op.qubits[0], register, bit, cond))
        elif op.kind == "reset":
            ops.append(Reset(op.qubits[0], cond))
        elif op.kind == "barrier":
            ops.append(Barrier(tuple(range(num_qubits))))
        else:
            targets, controls = op.qubits[op.controls :], op.qubits[: op.controls]
            ops.append(Gate(op.kind, targets, op.params, controls=controls, condition=cond))
    registers = {OUTPUT: len(reader.recorded)}
    if extra:
        registers[UNRECORDED] = len(extra)
    return Circuit(num_qubits, ops, registers, name=name)
