"""Compile a :class:`Program` once; bind parameters many times.

Compilation drops qubits no gate or reset touches (a 127-qubit ISA circuit using 5 qubits
is simulated on 5), renumbers the rest, classifies each gate as dense or diagonal,
precomputes every constant matrix, and decides which measurements can be deferred to one
sampling pass at the end. Binding then only evaluates the parameterised matrices and packs
them into the flat arrays that the kernel's ``run_plan`` executes in one call.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ..core.gates import gate_spec
from ..core.params import ParamExpr
from ..core.program import Barrier, Condition, Gate, Measure, Program, Reset

__all__ = ["GateStep", "MeasureStep", "ResetStep", "CompiledProgram", "compile_program", "Plan"]

KIND_DENSE = 0
KIND_DIAGONAL = 1


@dataclass(frozen=True)
class GateStep:
    """A gate on compacted qubit positions; ``data`` fixed, or built from ``params`` when bound."""

    kind: int
    targets: tuple[int, ...]
    controls: tuple[int, ...]
    ctrl_state: int
    data: np.ndarray | None
    name: str
    params: tuple[Any, ...]
    condition: Condition | None

    def bind(self, values: Mapping[str, float]) -> np.ndarray:
        """The flattened matrix (dense) or diagonal at ``values``."""
        if self.data is not None:
            return self.data
        nums = tuple(
            float(p.evaluate(values)) if isinstance(p, ParamExpr) else p for p in self.params
        )
        spec = gate_spec(self.name)
        if self.kind == KIND_DIAGONAL:
            assert spec.diagonal is not None
            return np.asarray(spec.diagonal(*nums), dtype=np.complex128)
        return np.asarray(spec.matrix(*nums), dtype=np.complex128).ravel()


@dataclass(frozen=True)
class MeasureStep:
    """A mid-circuit measurement that branches (``position`` None: untouched qubit, reads 0)."""

    position: int | None
    register: str
    bit: int
    condition: Condition | None


@dataclass(frozen=True)
class ResetStep:
    """A reset of the qubit at ``position``."""

    position: int
    condition: Condition | None


Step = GateStep | MeasureStep | ResetStep


@dataclass
class Plan:
    """Flat arrays for the kernel's ``run_plan``: one segment of consecutive unconditioned gates."""

    kinds: np.ndarray
    qubits: np.ndarray
    qubit_offsets: np.ndarray
    ctrl_counts: np.ndarray
    ctrl_states: np.ndarray
    fixed: bool
    steps: tuple[GateStep, ...]
    matrices: np.ndarray | None = None
    matrix_offsets: np.ndarray | None = None

    def bind(self, values: Mapping[str, float]) -> tuple[np.ndarray, np.ndarray]:
        """(matrices, matrix_offsets) at ``values``; cached when the segment has no parameters."""
        if self.fixed and self.matrices is not None and self.matrix_offsets is not None:
            return self.matrices, self.matrix_offsets
        datas = [s.bind(values) for s in self.steps]
        offsets = np.zeros(len(datas) + 1, dtype=np.int64)
        np.cumsum([d.size for d in datas], out=offsets[1:])
        matrices = np.concatenate(datas) if datas else np.zeros(0, dtype=np.complex128)
        if self.fixed:
            self.matrices, self.matrix_offsets = matrices, offsets
        return matrices, offsets


@dataclass
class CompiledProgram:
    """A program ready to simulate.

    Attributes:
        num_qubits: width of the original program.
        active: original qubit index of each simulated position.
        positions: original qubit index -> simulated position.
        steps: gate, measure and reset steps in program order (terminal measures excluded).
        segments: ``steps`` grouped: a :class:`Plan` for each run of unconditioned gates,
            or a single non-gate / conditioned step.
        terminal: (position or None, register, bit) read from one final sample per shot;
            position None means a qubit no gate touches, which always reads 0.
        registers: classical registers of the program.
        branching: True if some step needs per-shot branches (mid-circuit measure/reset/condition).
        parameters: parameter names, in the order of value arrays.
        global_phase: float or expression.
    """

    num_qubits: int
    active: tuple[int, ...]
    positions: dict[int, int]
    steps: list[Step]
    segments: list[Plan | Step]
    terminal: list[tuple[int | None, str, int]]
    registers: dict[str, int]
    branching: bool
    parameters: tuple[str, ...]
    global_phase: Any
    has_measurements: bool = field(default=False)

    @property
    def width(self) -> int:
        """Number of simulated qubits."""
        return len(self.active)


def _active_qubits(program: Program) -> tuple[int, ...]:
    used: set[int] = set()
    for op in program.operations:
        if isinstance(op, (Gate, Reset)):
            used.update(op.all_qubits)
    return tuple(sorted(used))


def _deferrable(program: Program) -> list[bool]:
    """For each operation, whether it is a measurement that can move to the end."""
    ops = program.operations
    flags = [False] * len(ops)
    later_touched: set[int] = set()
    later_conditional = False
    for i in range(len(ops) - 1, -1, -1):
        op = ops[i]
        if isinstance(op, Barrier):
            continue
        if isinstance(op, Measure):
            flags[i] = (
                op.condition is None and op.qubit not in later_touched and not later_conditional
            )
        if op.condition is not None:
            later_conditional = True
        later_touched.update(op.all_qubits)
    return flags


def _gate_step(op: Gate, positions: Mapping[int, int]) -> GateStep:
    targets = tuple(positions[q] for q in op.qubits)
    controls = tuple(positions[q] for q in op.controls)
    ctrl_state = op.ctrl_state if op.ctrl_state is not None else (1 << len(controls)) - 1
    if op.name == "unitary":
        assert op.matrix is not None
        return GateStep(
            KIND_DENSE,
            targets,
            controls,
            ctrl_state,
            np.ascontiguousarray(op.matrix, dtype=np.complex128).ravel(),
            op.name,
            (),
            op.condition,
        )
    spec = gate_spec(op.name)
    kind = KIND_DIAGONAL if spec.diagonal is not None else KIND_DENSE
    step = GateStep(kind, targets, controls, ctrl_state, None, op.name, op.params, op.condition)
    if not op.is_parameterized:
        step = GateStep(
            kind, targets, controls, ctrl_state, step.bind({}), op.name, op.params, op.condition
        )
    return step


def _plan(steps: list[GateStep]) -> Plan:
    qubits: list[int] = []
    offsets = [0]
    for s in steps:
        qubits.extend(s.controls)
        qubits.extend(s.targets)
        offsets.append(len(qubits))
    return Plan(
        kinds=np.array([s.kind for s in steps], dtype=np.int32),
        qubits=np.array(qubits, dtype=np.int32),
        qubit_offsets=np.array(offsets, dtype=np.int64),
        ctrl_counts=np.array([len(s.controls) for s in steps], dtype=np.int32),
        ctrl_states=np.array([s.ctrl_state for s in steps], dtype=np.int64),
        fixed=all(s.data is not None for s in steps),
        steps=tuple(steps),
    )


def compile_program(program: Program) -> CompiledProgram:
    """Compile ``program`` for simulation (pure function of the program's structure)."""
    active = _active_qubits(program)
    positions = {q: i for i, q in enumerate(active)}
    deferrable = _deferrable(program)
    # A deferred measurement only matters if it is the last write into its classical bit.
    last_writer: dict[tuple[str, int], int] = {}
    for i, op in enumerate(program.operations):
        if isinstance(op, Measure):
            last_writer[(op.register, op.bit)] = i

    steps: list[Step] = []
    terminal: list[tuple[int | None, str, int]] = []
    for i, op in enumerate(program.operations):
        if isinstance(op, Barrier):
            continue
        if isinstance(op, Gate):
            steps.append(_gate_step(op, positions))
        elif isinstance(op, Reset):
            steps.append(ResetStep(positions[op.qubit], op.condition))
        elif deferrable[i]:
            if last_writer[(op.register, op.bit)] == i:
                terminal.append((positions.get(op.qubit), op.register, op.bit))
        else:
            steps.append(MeasureStep(positions.get(op.qubit), op.register, op.bit, op.condition))

    segments: list[Plan | Step] = []
    run: list[GateStep] = []
    for step in steps:
        if isinstance(step, GateStep) and step.condition is None:
            run.append(step)
            continue
        if run:
            segments.append(_plan(run))
            run = []
        segments.append(step)
    if run:
        segments.append(_plan(run))

    branching = any(not isinstance(s, Plan) for s in segments)
    return CompiledProgram(
        num_qubits=program.num_qubits,
        active=active,
        positions=positions,
        steps=steps,
        segments=segments,
        terminal=terminal,
        registers=dict(program.registers),
        branching=branching,
        parameters=program.parameters,
        global_phase=program.global_phase,
        has_measurements=program.has_measurements(),
    )
