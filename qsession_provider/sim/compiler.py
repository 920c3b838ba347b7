"""Compile a :class:`Circuit` once; bind parameters many times.

Compilation drops qubits no gate or reset touches (a 127-qubit ISA circuit using 5 qubits is
simulated on 5), renumbers the rest, classifies each gate as dense or diagonal, precomputes
every constant matrix, and decides which measurements can be deferred to one sampling pass
at the end. Each run of unconditioned gates becomes a :class:`~.plan.Plan` (SWAP gates
relabelled away, gates fused and tiled: :mod:`.plan`); measurements that cannot be deferred,
resets, conditioned gates and classical operations (stores, loop-limit checks) stay single
steps (:mod:`.steps`), run by per-shot branches.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.ir.circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from ..core.ir.classical import ClassicalStore, LoopEnd, LoopStart
from ..core.ir.gates import gate_spec
from ..core.ir.params import ParamExpr
from .fusion_policy import FusionOptions
from .plan import Plan, build_plan
from .steps import KIND_DENSE, KIND_DIAGONAL, GateStep, MeasureStep, ResetStep, Step

__all__ = ["CompiledCircuit", "CompiledStep", "JumpStep", "compile_circuit"]


@dataclass(frozen=True)
class JumpStep:
    """The end of a loop: branches whose record satisfies ``condition`` go back to segment
    ``target`` (the loop's first), at most ``limit - 1`` times per entry into the loop."""

    loop: int
    target: int
    limit: int
    condition: Condition
    message: str


#: A single step of a compiled circuit: a gate, measure or reset step, a classical store of
#: the IR (run as it is on each branch's record), or a loop's jump back.
CompiledStep = Step | ClassicalStore | JumpStep


@dataclass
class CompiledCircuit:
    """A circuit ready to simulate.

    Attributes:
        num_qubits: width of the original circuit.
        active: original qubit index of each simulated position.
        positions: original qubit index -> simulated position.
        steps: gate, measure and reset steps in circuit order (terminal measures excluded).
        segments: ``steps`` grouped: a :class:`Plan` for each run of unconditioned gates,
            or a single non-gate / conditioned step.
        terminal: (position or None, register, bit) read from one final sample per shot;
            position None means a qubit no gate touches, which always reads 0.
        registers: classical registers of the circuit.
        branching: True if some step needs per-shot branches (mid-circuit measure/reset/condition).
        parameters: parameter names, in the order of value arrays.
        global_phase: float or expression.
    """

    num_qubits: int
    active: tuple[int, ...]
    positions: dict[int, int]
    steps: list[CompiledStep]
    segments: list[Plan | CompiledStep]
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


def _active_qubits(circuit: Circuit) -> tuple[int, ...]:
    used: set[int] = set()
    for op in circuit.operations:
        if isinstance(op, (Gate, Reset)):
            used.update(op.all_qubits)
    return tuple(sorted(used))


def _deferrable(circuit: Circuit) -> list[bool]:
    """For each operation, whether it is a measurement that can move to the end."""
    ops = circuit.operations
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
        if op.condition is not None or isinstance(op, (ClassicalStore, LoopEnd)):
            later_conditional = True  # something later reads the classical record
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
    return GateStep(kind, targets, controls, ctrl_state, None, op.name, op.params, op.condition)


def _fill_constants(steps: list[CompiledStep]) -> None:
    """Give every gate without free parameters its matrix, one vectorised call per gate name."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, s in enumerate(steps):
        if isinstance(s, GateStep) and s.data is None:
            if not any(isinstance(p, ParamExpr) for p in s.params):
                groups.setdefault((s.name, s.kind), []).append(i)
    for (name, _), members in groups.items():
        params = np.array([[float(p) for p in steps[i].params] for i in members])  # type: ignore[union-attr]
        batch = gate_spec(name).batch
        if params.shape[1] == 0:
            data = batch(params[:1])
            data = np.broadcast_to(data, (len(members), data.shape[1]))
        else:
            data = batch(params)
        for row, i in zip(data, members):
            step = steps[i]
            assert isinstance(step, GateStep)
            steps[i] = replace(step, data=np.array(row, dtype=np.complex128))


def compile_circuit(circuit: Circuit, *, options: FusionOptions | None = None) -> CompiledCircuit:
    """Compile ``circuit`` for simulation (pure function of the circuit's structure).

    ``options`` chooses fusion and tiling (default: :meth:`FusionOptions.for_state` for
    complex128 states).
    """
    if options is None:
        options = FusionOptions.for_state(16)
    active = _active_qubits(circuit)
    positions = {q: i for i, q in enumerate(active)}
    deferrable = _deferrable(circuit)
    # A deferred measurement only matters if it is the last write into its classical bit.
    last_writer: dict[tuple[str, int], int] = {}
    for i, op in enumerate(circuit.operations):
        if isinstance(op, Measure):
            last_writer[(op.register, op.bit)] = i

    steps: list[CompiledStep] = []
    markers: dict[int, list[LoopStart | LoopEnd]] = {}  # loop markers before steps[i]
    terminal: list[tuple[int | None, str, int]] = []
    for i, op in enumerate(circuit.operations):
        if isinstance(op, Barrier):
            continue
        if isinstance(op, Gate):
            steps.append(_gate_step(op, positions))
        elif isinstance(op, Reset):
            steps.append(ResetStep(positions[op.qubit], op.condition))
        elif isinstance(op, ClassicalStore):
            steps.append(op)  # run as it is on each branch's record (sim/branches.py)
        elif isinstance(op, (LoopStart, LoopEnd)):
            markers[len(steps)] = markers.get(len(steps), []) + [op]
        elif deferrable[i]:
            if last_writer[(op.register, op.bit)] == i:
                terminal.append((positions.get(op.qubit), op.register, op.bit))
        else:
            steps.append(MeasureStep(positions.get(op.qubit), op.register, op.bit, op.condition))
    _fill_constants(steps)

    segments: list[Plan | CompiledStep] = []
    run: list[GateStep] = []
    starts: dict[int, int] = {}  # loop id -> its first segment

    def flush() -> None:
        if run:
            segments.append(build_plan(run, len(active), options, circuit.parameters))
            run.clear()

    for i in range(len(steps) + 1):
        for marker in markers.get(i, ()):
            flush()  # a loop's bounds are segment bounds
            if isinstance(marker, LoopStart):
                starts[marker.loop] = len(segments)
            else:
                segments.append(
                    JumpStep(
                        marker.loop,
                        starts[marker.loop],
                        marker.limit,
                        marker.condition,
                        marker.message,
                    )
                )
        if i == len(steps):
            break
        step = steps[i]
        if isinstance(step, GateStep) and step.condition is None:
            run.append(step)
            continue
        flush()
        segments.append(step)
    flush()

    branching = any(not isinstance(s, Plan) for s in segments)
    return CompiledCircuit(
        num_qubits=circuit.num_qubits,
        active=active,
        positions=positions,
        steps=steps,
        segments=segments,
        terminal=terminal,
        registers=dict(circuit.registers),
        branching=branching,
        parameters=circuit.parameters,
        global_phase=circuit.global_phase,
        has_measurements=circuit.has_measurements(),
    )
