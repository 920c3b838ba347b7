"""Qiskit ``QuantumCircuit`` → neutral :class:`~qsession_provider.core.ir.circuit.Circuit`.

Qubit ``i`` of the program is ``circuit.find_bit(q).index``. Standard gates map onto the
library by name, controlled gates become their base gate plus controls, small constant gates
become ``"unitary"`` matrices, a ``PauliEvolutionGate`` its exact exponential when small
enough (:mod:`.evolution`), a ``StatePreparation`` on qubits in ``|0>`` exact dense blocks
(:mod:`.state_preparation`; ``initialize`` is a reset and then that gate), and anything else is
expanded through its ``definition``. A reset of a qubit known to be in ``|0>`` (nothing has
touched it yet, or it was just reset) is the identity and is left out.
Classical bits keep their register names; bits that belong to no register are gathered, in
circuit order, into one synthetic register (see :data:`LOOSE_CLBITS_REGISTER`). Control flow
(``if_else``, ``switch_case``, loops, ``break``/``continue``), classical expressions and
``store`` are flattened into conditioned operations and classical stores
(:mod:`.control_flow`); IBM's named ``measure_2`` / ``reset_2`` / ``measure_reset`` are a
measurement, a reset, and both.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from qiskit.circuit import (
    AnnotatedOperation,
    Barrier,
    BreakLoopOp,
    ContinueLoopOp,
    ControlFlowOp,
    ControlledGate,
    ControlModifier,
    Delay,
    Gate,
    Instruction,
    InverseModifier,
    Measure,
    PowerModifier,
    QuantumCircuit,
    Reset,
    Store,
)
from qiskit.circuit.library import (
    CUGate,
    GlobalPhaseGate,
    PauliEvolutionGate,
    PermutationGate,
    StatePreparation,
)

from ...core.ir import circuit as ir
from ...core.ir.circuit import Circuit
from ...errors import InvalidCircuitError
from ..context import TOP, CircuitBuilder, Context
from ..state_prep import Block, ZeroQubits
from .classical import LOOSE_CLBITS_REGISTER, ClassicalBits, Locations, clbit_locations
from .control_flow import ControlFlow
from .evolution import exact_evolution
from .gatemap import PLAIN_CLASSES, STANDARD, constant_matrix, permutation_swaps
from .observables import sparse_pauli_to_sum
from .params import ParamConverter
from .state_preparation import preparation

__all__ = ["LOOSE_CLBITS_REGISTER", "circuit_to_ir", "sparse_pauli_to_sum"]

_MAX_DEPTH = 64


class _Translator(ControlFlow, CircuitBuilder):
    """Accumulates the operations of one circuit translation."""

    def __init__(self, registers: Mapping[str, int]) -> None:
        CircuitBuilder.__init__(self)
        ControlFlow.__init__(self)
        self.classical = ClassicalBits(registers)
        self.param = ParamConverter()
        self.known_zero = ZeroQubits(self.ops)

    # -- walking ------------------------------------------------------------------------
    def walk(
        self,
        circuit: QuantumCircuit,
        qmap: Mapping[Any, int],
        cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """Translate every instruction of ``circuit`` (bits mapped through ``qmap``/``cmap``)."""
        if depth > _MAX_DEPTH:
            raise InvalidCircuitError(
                f"instruction definitions nest deeper than {_MAX_DEPTH} levels"
            )
        for inst in circuit.data:
            if self.block_ended:  # after a break/continue: the rest is never reached
                break
            qubits = tuple(qmap[q] for q in inst.qubits)
            if inst.is_standard_gate():
                entry = STANDARD.get(inst.name)
                if entry is not None:
                    name, nctrl, state = entry
                    inner = ctx.add_controls(qubits[:nctrl], state) if nctrl else ctx
                    self.qiskit_gate(name, qubits[nctrl:], inst.params, inner, inst.name)
                    continue
            clbits = tuple(cmap[c] for c in inst.clbits)
            self.instruction(inst.operation, qubits, clbits, cmap, ctx, depth)

    def instruction(
        self,
        op: Any,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        outer_cmap: Mapping[Any, Locations],
        ctx: Context,
        depth: int,
    ) -> None:
        """Translate one instruction that is not a library gate on the fast path."""
        name = op.name
        if isinstance(op, (ControlFlowOp, BreakLoopOp, ContinueLoopOp)):
            self.control_flow(op, qubits, clbits, outer_cmap, ctx, depth)
            return
        if isinstance(op, Store):
            self.store(op, outer_cmap, ctx)
            return
        if not isinstance(op, (Measure, Reset)) and _mid_circuit_kind(op) is not None:
            self.mid_circuit(op, qubits, clbits, ctx)
            return
        if isinstance(op, (Measure, Reset)):
            if ctx.controls:
                raise InvalidCircuitError(f"instruction {name!r} cannot be controlled")
            if isinstance(op, Reset):
                if not self.known_zero(qubits):
                    self.ops.append(ir.Reset(qubits[0], ctx.condition))
            else:
                self.ops.extend(
                    ir.Measure(qubits[0], reg, bit, ctx.condition) for reg, bit in clbits[0]
                )
            return
        if isinstance(op, Barrier):
            if not ctx.controls:
                self.ops.append(ir.Barrier(qubits))
            return
        if isinstance(op, Delay):
            return
        if isinstance(op, AnnotatedOperation):
            self.annotated(op, qubits, ctx, depth)
        elif isinstance(op, Gate):
            self.any_gate(op, qubits, ctx, depth)
        elif isinstance(op, Instruction):
            self.definition(op, qubits, clbits, ctx, depth)
        elif not isinstance(op, Instruction) and hasattr(op, "to_instruction"):
            # Bare Operations appended to circuits (Clifford, CNOTDihedral, ...).
            sub = op.to_instruction()
            self.instruction(sub, qubits, clbits, outer_cmap, ctx, depth + 1)
        else:
            raise InvalidCircuitError(f"unsupported instruction {name!r}")

    def walk_block(
        self,
        block: QuantumCircuit,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        ctx: Context,
        depth: int,
    ) -> None:
        """Translate a sub-circuit whose bits are the given outer qubits/clbits."""
        qmap = dict(zip(block.qubits, qubits, strict=True))
        cmap = dict(zip(block.clbits, clbits, strict=True))
        self.walk(block, qmap, cmap, ctx, depth + 1)

    # -- gates ----------------------------------------------------------------------------
    def qiskit_gate(
        self, name: str, qubits: tuple[int, ...], params: Sequence[Any], ctx: Context, label: str
    ) -> None:
        """Append a library gate with Qiskit parameters."""
        self.gate(name, qubits, self.param.all(params), ctx, label)

    def qiskit_phase(self, phase: Any, ctx: Context, label: str) -> None:
        """Add a Qiskit global phase (see :meth:`CircuitBuilder.phase`)."""
        self.phase(self.param(phase), ctx, label)

    def any_gate(self, op: Gate, qubits: tuple[int, ...], ctx: Context, depth: int) -> None:
        """Translate a gate object (not on the standard fast path)."""
        name = op.name
        if isinstance(op, ControlledGate):
            self.controlled(op, qubits, ctx, depth)
            return
        if isinstance(op, GlobalPhaseGate):
            self.qiskit_phase(op.params[0], ctx, name)
            return
        ir_name = PLAIN_CLASSES.get(op.base_class)
        if ir_name is not None:
            if ir_name == "u" and len(op.params) == 4:
                # CUGate.control() keeps cu's phase gamma as a fourth parameter of its base u.
                self.qiskit_gate("u", qubits, op.params[:3], ctx, name)
                self.qiskit_phase(op.params[3], ctx, name)
            else:
                self.qiskit_gate(ir_name, qubits, op.params, ctx, name)
            return
        if isinstance(op, StatePreparation):
            blocks = preparation(op) if not ctx.controls and self.known_zero(qubits) else None
            if blocks is None:
                self.definition(op, qubits, (), ctx, depth)
            else:
                self.blocks(blocks, qubits, ctx, name)
            return
        if isinstance(op, PermutationGate):  # SWAPs, which the engine relabels away
            for a, b in permutation_swaps(op.pattern):
                self.gate("swap", (qubits[a], qubits[b]), (), ctx, name)
            return
        if isinstance(op, PauliEvolutionGate):
            exact = exact_evolution(op)
            if isinstance(exact, QuantumCircuit):
                self.qiskit_phase(exact.global_phase, ctx, name)
                self.walk_block(exact, qubits, (), ctx, depth)
                return
            matrix = exact
        else:
            matrix = constant_matrix(op)
        if matrix is not None:
            self.gate("unitary", qubits, (), ctx, name, matrix)
            return
        self.definition(op, qubits, (), ctx, depth)

    def blocks(
        self, blocks: Sequence[Block], qubits: tuple[int, ...], ctx: Context, label: str
    ) -> None:
        """Append preparation blocks (local qubit ``j`` is ``qubits[j]``)."""
        for targets, controls, matrix in blocks:
            on = tuple(qubits[j] for j in targets)
            if matrix is None:
                inner = ctx.add_controls([qubits[j] for j in controls], (1 << len(controls)) - 1)
                self.gate("x", on, (), inner, label)
            else:
                self.gate("unitary", on, (), ctx, label, matrix)

    def controlled(
        self, op: ControlledGate, qubits: tuple[int, ...], ctx: Context, depth: int
    ) -> None:
        """A controlled gate: its base gate with the control qubits added to the context."""
        n = op.num_ctrl_qubits
        base = op.base_gate
        if op.num_qubits != n + base.num_qubits:  # e.g. ancilla-using MCX variants
            self.definition(op, qubits, (), ctx, depth)
            return
        inner = ctx.add_controls(qubits[:n], op.ctrl_state)
        targets = qubits[n:]
        if isinstance(op, CUGate):
            theta, phi, lam, gamma = op.params
            self.qiskit_gate("u", targets, (theta, phi, lam), inner, op.name)
            self.qiskit_phase(gamma, inner, op.name)
            return
        self.any_gate(base, targets, inner, depth + 1)

    def annotated(
        self, op: AnnotatedOperation, qubits: tuple[int, ...], ctx: Context, depth: int
    ) -> None:
        """An annotated operation: control modifiers become controls, the rest modify the base."""
        base = op.base_op
        nctrl = state = 0
        for modifier in op.modifiers:
            if isinstance(modifier, ControlModifier):
                # Each control modifier puts its controls in front of the qubits so far.
                state = modifier.ctrl_state | (state << modifier.num_ctrl_qubits)
                nctrl += modifier.num_ctrl_qubits
            elif isinstance(modifier, (InverseModifier, PowerModifier)):
                try:
                    if isinstance(modifier, InverseModifier):
                        base = base.inverse()
                    else:
                        base = base.power(modifier.power)
                except Exception as exc:
                    raise InvalidCircuitError(
                        f"cannot apply {modifier!r} to {base.name!r} in an annotated "
                        f"instruction: {exc}"
                    ) from None
            else:
                raise InvalidCircuitError(f"unsupported modifier {modifier!r} on {base.name!r}")
        inner = ctx.add_controls(qubits[:nctrl], state) if nctrl else ctx
        if isinstance(base, Gate):
            self.any_gate(base, qubits[nctrl:], inner, depth + 1)
        else:
            self.instruction(base, qubits[nctrl:], (), {}, inner, depth + 1)

    def mid_circuit(
        self, op: Instruction, qubits: tuple[int, ...], clbits: tuple[Locations, ...], ctx: Context
    ) -> None:
        """IBM's named mid-circuit instructions: ``measure_<n>`` is a measurement,
        ``reset_<n>`` a reset, ``measure_reset*`` a measurement then a reset."""
        if ctx.controls:
            raise InvalidCircuitError(f"instruction {op.name!r} cannot be controlled")
        kind = _mid_circuit_kind(op)
        if kind in ("measure", "measure_reset"):
            self.ops.extend(
                ir.Measure(qubits[0], reg, bit, ctx.condition) for reg, bit in clbits[0]
            )
        if kind in ("reset", "measure_reset") and not self.known_zero(qubits):
            self.ops.append(ir.Reset(qubits[0], ctx.condition))

    def definition(
        self,
        op: Instruction,
        qubits: tuple[int, ...],
        clbits: tuple[Locations, ...],
        ctx: Context,
        depth: int,
    ) -> None:
        """Expand an instruction through its ``definition`` circuit."""
        try:
            definition = op.definition
        except Exception as exc:
            raise InvalidCircuitError(f"cannot expand instruction {op.name!r}: {exc}") from None
        if definition is None:
            raise InvalidCircuitError(
                f"unsupported instruction {op.name!r}: it has no translation and no definition"
            )
        self.qiskit_phase(definition.global_phase, ctx, op.name)
        self.walk_block(definition, qubits, clbits, ctx, depth)


def _mid_circuit_kind(op: Any) -> str | None:
    """``"measure"``, ``"reset"`` or ``"measure_reset"`` for IBM's named mid-circuit
    instructions (qiskit-ibm-runtime's ``MidCircuitMeasure``, ``MidCircuitReset``,
    ``MeasureReset``: no definition, one qubit, named by prefix), else None."""
    name = getattr(op, "name", "")
    if not isinstance(op, Instruction) or op.num_qubits != 1 or op.params:
        return None
    if name.startswith("measure_reset") and op.num_clbits == 1:
        kind = "measure_reset"
    elif name.startswith("measure_") and op.num_clbits == 1:
        kind = "measure"
    elif name.startswith("reset_") and op.num_clbits == 0:
        kind = "reset"
    else:
        return None
    try:
        expands = op.definition is not None  # a user's instruction of that name that expands
    except Exception:
        expands = False
    return None if expands else kind


def circuit_to_ir(circuit: QuantumCircuit) -> Circuit:
    """Translate a Qiskit circuit into the neutral IR.

    Args:
        circuit: the circuit; parameters may be unbound (they stay symbolic by name).

    Returns:
        A :class:`Circuit` with one qubit per circuit qubit, one register per
        ``ClassicalRegister`` (plus :data:`LOOSE_CLBITS_REGISTER` for clbits in no register),
        the circuit's name, metadata and global phase.

    Raises:
        InvalidCircuitError: an instruction has no translation (an opaque instruction, a
            classical expression on floats or durations, an input variable without a value,
            loops unrolling into more than :data:`.control_flow.MAX_OPERATIONS` operations),
            or an ``initialize`` / ``StatePreparation`` whose amplitudes are not a
            normalised vector of the right length; the message names it.
    """
    registers, cmap = clbit_locations(circuit)
    for var in circuit.iter_input_vars():
        raise InvalidCircuitError(
            f"input variable {var.name!r} has no value: the service runs circuits whose "
            "variables are declared with an initial value"
        )
    translator = _Translator(registers)
    qmap = {q: i for i, q in enumerate(circuit.qubits)}
    translator.walk(circuit, qmap, cmap, TOP, 0)
    translator.qiskit_phase(circuit.global_phase, TOP, "global_phase")
    return Circuit(
        circuit.num_qubits,
        translator.ops,
        translator.classical.registers,
        global_phase=translator.global_phase,
        name=circuit.name or "",
        metadata=circuit.metadata or {},
    )
