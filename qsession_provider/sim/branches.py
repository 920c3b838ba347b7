"""Mid-circuit measurements, resets and classically conditioned gates, by per-shot branches.

A branch is a set of shots that share one state and one classical record. A measurement
splits a branch in two (the number of shots that read 1 is drawn from the binomial
distribution), the last part keeps the state and the others get copies; a reset is a
measurement whose 1 outcome is flipped back; a conditioned step runs only on the branches
whose record satisfies its condition.

The estimator needs no shots: :func:`weighted_outcomes` enumerates every outcome of the
mid-circuit measurements and resets exactly, each with its probability, depth first (one
state per pending split is held at once, under the memory guard), and
:func:`mixed_expectations` sums the observables' values over them: the expectation value in
the mixed state the circuit leaves. A measurement nothing reads later is the same
non-selective measurement (:func:`measured_at_end` finds those the compiler deferred).

Classical operations (:mod:`qsession_provider.core.ir.classical`) run on each branch's
record: a store evaluates its expression once per branch (all the branch's shots share the
record) and writes the result; at a loop's end (:class:`~.compiler.JumpStep`) the branches
whose record says so go back to the loop's start, each counting its turns against the
loop's limit (over it: an error naming it). No step loops over shots.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from types import ModuleType

import numpy as np

from ..core.ir.circuit import Barrier, Circuit, Condition, Measure
from ..core.ir.classical import ClassicalStore
from ..errors import InvalidCircuitError, ResourceTooLargeError
from .compiler import CompiledCircuit, CompiledStep, JumpStep
from .expectation import PauliTable
from .memory import StateMemory
from .plan import Plan
from .steps import GateStep, MeasureStep, ResetStep

__all__ = [
    "MAX_OUTCOMES",
    "Branch",
    "measured_at_end",
    "mixed_expectations",
    "run_branches",
    "weighted_outcomes",
]

#: Most outcome branches one parameter set of an exact estimate may enumerate.
MAX_OUTCOMES = 1 << 16
#: An outcome less likely than this (given its branch) is dropped: its weight is rounding.
_NEGLIGIBLE = 1e-14

_X = np.array([[0, 1], [1, 0]], dtype=np.complex128)


@dataclass
class Branch:
    """A set of shots that share one state and one classical record.

    ``loops`` counts, per loop id, the times these shots went back to the loop's start
    since they entered it.
    """

    state: np.ndarray
    shots: int
    bits: dict[tuple[str, int], int]
    loops: dict[int, int] = field(default_factory=dict)


def run_branches(
    compiled: CompiledCircuit,
    values: Mapping[str, float] | np.ndarray,
    shots: int,
    rng: np.random.Generator,
    kernel: ModuleType,
    memory: StateMemory,
) -> list[Branch]:
    """Run every segment of ``compiled`` on branches that start as one with all ``shots``.

    ``values`` maps parameter names to numbers, or is an array in ``compiled.parameters``
    order. Returns the final branches (their shot counts add up to ``shots``).

    Branches move through the segments together; at a loop's end those that go back wait
    apart, and the group furthest behind always runs first, so the others wait for it and
    join it again where they stand (a circuit without loops runs as one group).

    Raises:
        InvalidCircuitError: shots would run a loop beyond its iteration limit.
    """
    if isinstance(values, np.ndarray):  # conditioned gates bind one by one, by name
        values = dict(zip(compiled.parameters, values.tolist()))
    segments = compiled.segments
    waiting: dict[int, list[Branch]] = {0: [Branch(memory.zero_state(compiled.width), shots, {})]}
    done: list[Branch] = []
    while waiting:
        index = min(waiting)
        group = waiting.pop(index)
        while index < len(segments) and group:
            parked = sum(len(g) for g in waiting.values())
            segment = segments[index]
            if isinstance(segment, JumpStep):
                back = _jump(segment, group, compiled.registers)
                if back:
                    waiting.setdefault(segment.target, []).extend(back)
                index += 1
                if back:  # the group that went back is behind: it runs first
                    waiting.setdefault(index, []).extend(group)
                    break
            else:
                group = _step(compiled, segment, group, values, rng, kernel, memory, parked)
                index += 1
            group.extend(waiting.pop(index, ()))
        else:
            done.extend(group)
    return done


def _step(
    compiled: CompiledCircuit,
    segment: Plan | CompiledStep,
    branches: list[Branch],
    values: Mapping[str, float],
    rng: np.random.Generator,
    kernel: ModuleType,
    memory: StateMemory,
    parked: int,
) -> list[Branch]:
    """Run one segment on ``branches``; ``parked``: states held by branches waiting elsewhere."""
    if isinstance(segment, Plan):
        for b in branches:
            segment.run(kernel, b.state, values)
        return branches
    next_branches: list[Branch] = []
    for i, b in enumerate(branches):
        if segment.condition is not None and not condition_holds(
            segment.condition, b.bits, compiled.registers
        ):
            next_branches.append(b)
        elif isinstance(segment, GateStep):
            segment.apply(kernel, b.state, values)
            next_branches.append(b)
        elif isinstance(segment, ClassicalStore):
            segment.run(b.bits)  # each branch owns its record (copied at splits)
            next_branches.append(b)
        else:
            assert isinstance(segment, (MeasureStep, ResetStep))
            # States held now: those already split, and those still to split (b's too).
            held = parked + len(next_branches) + len(branches) - i
            next_branches.extend(_split(compiled, b, segment, rng, held, kernel, memory))
    return next_branches


def _jump(step: JumpStep, branches: list[Branch], registers: Mapping[str, int]) -> list[Branch]:
    """Take out of ``branches`` (in place) those that go back at the loop's end ``step``."""
    back: list[Branch] = []
    stay: list[Branch] = []
    for b in branches:
        if condition_holds(step.condition, b.bits, registers):
            count = b.loops.get(step.loop, 0) + 1
            if count >= step.limit:
                raise InvalidCircuitError(step.message)
            b.loops[step.loop] = count
            back.append(b)
        else:
            b.loops.pop(step.loop, None)  # left the loop: a later entry counts afresh
            stay.append(b)
    branches[:] = stay
    return back


def _split(
    compiled: CompiledCircuit,
    branch: Branch,
    step: MeasureStep | ResetStep,
    rng: np.random.Generator,
    held: int,
    kernel: ModuleType,
    memory: StateMemory,
) -> list[Branch]:
    """Split ``branch`` at ``step``; ``held``: the states held now, ``branch``'s included
    (a copy is checked against the memory guard with all of them counted)."""
    position = step.position
    if position is None:
        p1 = 0.0
    else:
        p1 = min(max(float(kernel.measure_probability(branch.state, position)), 0.0), 1.0)
    ones = (
        int(rng.binomial(branch.shots, p1))
        if 0.0 < p1 < 1.0
        else (branch.shots if p1 >= 1.0 else 0)
    )
    parts: list[tuple[int, int]] = [(o, n) for o, n in ((0, branch.shots - ones), (1, ones)) if n]
    result = []
    for i, (outcome, count) in enumerate(parts):
        if i + 1 < len(parts):
            memory.check(compiled.width, "per-shot branching", copies=held + 1)
            state = branch.state.copy()
        else:
            state = branch.state
        if position is not None and 0.0 < p1 < 1.0:
            kernel.collapse(state, position, outcome, True)
        bits = dict(branch.bits)
        loops = dict(branch.loops)
        if isinstance(step, MeasureStep):
            bits[(step.register, step.bit)] = outcome
        elif outcome == 1 and position is not None:
            kernel.apply_matrix(state, (position,), _X, (), -1)
        result.append(Branch(state, count, bits, loops))
    return result


def condition_holds(
    cond: Condition, bits: Mapping[tuple[str, int], int], registers: Mapping[str, int]
) -> bool:
    """Whether a branch's classical record ``bits`` satisfies ``cond``."""
    if cond.bit is not None:
        return bits.get((cond.register, cond.bit), 0) == cond.value
    value = sum(bits.get((cond.register, i), 0) << i for i in range(registers[cond.register]))
    return value == cond.value


# -- exact outcomes (the estimator) ---------------------------------------------------------


def weighted_outcomes(
    compiled: CompiledCircuit,
    values: Mapping[str, float] | np.ndarray,
    kernel: ModuleType,
    memory: StateMemory,
    limit: int = MAX_OUTCOMES,
) -> Iterator[tuple[float, np.ndarray]]:
    """Every outcome of ``compiled``'s mid-circuit steps: ``(probability, final state)`` pairs.

    Depth first: at each measurement or reset with two possible outcomes the 1 branch is
    set aside (a copy of the state) and the 0 branch goes on, so at most one state per
    pending split is held. An outcome whose probability (given its branch, or overall) is
    below ``1e-14`` is not enumerated: the branch takes the likelier one (a loop that repeats
    until a measurement succeeds is enumerated for some 47 halvings; its remaining branch
    weighs less than ``1e-14`` and is not held to the loop's iteration limit).
    Each state is yielded once and not used again here. The
    probabilities add up to 1 (less the outcomes dropped as below ``1e-14``).

    Raises:
        ResourceTooLargeError: the pending states would not fit in memory, or there are
            more than ``limit`` outcomes.
    """
    if isinstance(values, np.ndarray):  # conditioned gates bind one by one, by name
        values = dict(zip(compiled.parameters, values.tolist()))
    segments = compiled.segments
    pending: list[tuple[int, np.ndarray, float, dict[tuple[str, int], int], dict[int, int]]] = [
        (0, memory.zero_state(compiled.width), 1.0, {}, {})
    ]
    count = 0
    while pending:
        index, state, weight, bits, loops = pending.pop()
        while index < len(segments):
            segment = segments[index]
            index += 1
            if isinstance(segment, JumpStep):
                if not condition_holds(segment.condition, bits, compiled.registers):
                    loops = {k: v for k, v in loops.items() if k != segment.loop}
                    continue
                if weight <= _NEGLIGIBLE:  # a loop's negligible tail: not enumerated further
                    break
                turns = loops.get(segment.loop, 0) + 1
                if turns >= segment.limit:
                    raise InvalidCircuitError(segment.message)
                loops = {**loops, segment.loop: turns}
                index = segment.target
                continue
            if isinstance(segment, Plan):
                segment.run(kernel, state, values)
                continue
            if segment.condition is not None and not condition_holds(
                segment.condition, bits, compiled.registers
            ):
                continue
            if isinstance(segment, GateStep):
                segment.apply(kernel, state, values)
                continue
            if isinstance(segment, ClassicalStore):
                bits = dict(bits)  # records may be shared with pending outcomes
                segment.run(bits)
                continue
            position = segment.position
            p1 = 0.0
            if position is not None:
                p1 = min(max(float(kernel.measure_probability(state, position)), 0.0), 1.0)
            if _NEGLIGIBLE < p1 < 1.0 - _NEGLIGIBLE and weight * min(p1, 1.0 - p1) > _NEGLIGIBLE:
                memory.check(
                    compiled.width,
                    f"exact expectation values ({len(pending) + 2} outcome branches held at once)",
                    copies=len(pending) + 2,
                )
                other = state.copy()
                ones = _settle(segment, other, 1, p1, bits, kernel)
                pending.append((index, other, weight * p1, ones, loops))
                weight *= 1.0 - p1
                bits = _settle(segment, state, 0, p1, bits, kernel)
            else:
                outcome = int(p1 >= 0.5)
                weight *= p1 if outcome else 1.0 - p1
                bits = _settle(segment, state, outcome, p1, bits, kernel)
        else:
            count += 1
            if count > limit:
                raise ResourceTooLargeError(
                    f"exact expectation values enumerate every outcome of the circuit's "
                    f"mid-circuit measurements and resets, and this circuit has more than "
                    f"{limit}; use the sampler, or fewer mid-circuit operations"
                )
            yield weight, state


def _settle(
    step: MeasureStep | ResetStep,
    state: np.ndarray,
    outcome: int,
    p1: float,
    bits: dict[tuple[str, int], int],
    kernel: ModuleType,
) -> dict[tuple[str, int], int]:
    """Put ``state`` in the branch where ``step`` read ``outcome``; returns its record."""
    position = step.position
    if position is not None and 0.0 < p1 < 1.0:
        kernel.collapse(state, position, outcome, True)
    if isinstance(step, MeasureStep):
        bits = {**bits, (step.register, step.bit): outcome}
    elif outcome == 1 and position is not None:
        kernel.apply_matrix(state, (position,), _X, (), -1)
    return bits


def measured_at_end(circuit: Circuit, compiled: CompiledCircuit) -> int:
    """Bit mask of the simulated positions measured with no later operation on their qubit.

    Those measurements act on the state as a dephasing of their qubits (whether the compiler
    deferred them or a branch already collapsed the qubit, when a condition reads them).
    """
    mask = 0
    later: set[int] = set()
    for op in reversed(circuit.operations):
        if isinstance(op, Barrier):
            continue
        if isinstance(op, Measure) and op.qubit not in later:
            position = compiled.positions.get(op.qubit)
            if position is not None:
                mask |= 1 << position
        later.update(op.all_qubits)
    return mask


def mixed_expectations(
    compiled: CompiledCircuit,
    table: PauliTable,
    values: Mapping[str, float] | np.ndarray,
    kernel: ModuleType,
    memory: StateMemory,
) -> np.ndarray:
    """Each observable of ``table`` in the mixed state of ``compiled``'s outcomes.

    ``sum_b p_b <psi_b|O|psi_b>`` over :func:`weighted_outcomes`; give ``table`` already
    :func:`~.expectation.dephased` by :func:`measured_at_end` for measurements at the end.
    """
    x, z, coeffs = table
    if not len(x):
        return np.zeros(len(coeffs), dtype=float)
    totals = np.zeros(len(x), dtype=float)
    for weight, state in weighted_outcomes(compiled, values, kernel, memory):
        totals += weight * np.asarray(kernel.expectation_paulis(state, x, z), dtype=float)
    return np.asarray(coeffs @ totals, dtype=float)
