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
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..core.ir.circuit import Barrier, Circuit, Condition, Measure
from ..errors import ResourceTooLargeError
from .compiler import CompiledCircuit
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
    """A set of shots that share one state and one classical record."""

    state: np.ndarray
    shots: int
    bits: dict[tuple[str, int], int]


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
    """
    if isinstance(values, np.ndarray):  # conditioned gates bind one by one, by name
        values = dict(zip(compiled.parameters, values.tolist()))
    branches = [Branch(memory.zero_state(compiled.width), shots, {})]
    for segment in compiled.segments:
        if isinstance(segment, Plan):
            for b in branches:
                segment.run(kernel, b.state, values)
            continue
        next_branches: list[Branch] = []
        for i, b in enumerate(branches):
            if segment.condition is not None and not condition_holds(
                segment.condition, b.bits, compiled.registers
            ):
                next_branches.append(b)
            elif isinstance(segment, GateStep):
                segment.apply(kernel, b.state, values)
                next_branches.append(b)
            else:
                # States held now: those already split, and those still to split (b's too).
                held = len(next_branches) + len(branches) - i
                next_branches.extend(_split(compiled, b, segment, rng, held, kernel, memory))
        branches = next_branches
    return branches


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
        if isinstance(step, MeasureStep):
            bits[(step.register, step.bit)] = outcome
        elif outcome == 1 and position is not None:
            kernel.apply_matrix(state, (position,), _X, (), -1)
        result.append(Branch(state, count, bits))
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
    pending split is held. Each state is yielded once and not used again here. The
    probabilities add up to 1 (less the outcomes dropped as below ``1e-14``).

    Raises:
        ResourceTooLargeError: the pending states would not fit in memory, or there are
            more than ``limit`` outcomes.
    """
    if isinstance(values, np.ndarray):  # conditioned gates bind one by one, by name
        values = dict(zip(compiled.parameters, values.tolist()))
    segments = compiled.segments
    pending: list[tuple[int, np.ndarray, float, dict[tuple[str, int], int]]] = [
        (0, memory.zero_state(compiled.width), 1.0, {})
    ]
    count = 0
    while pending:
        index, state, weight, bits = pending.pop()
        while index < len(segments):
            segment = segments[index]
            index += 1
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
            position = segment.position
            p1 = 0.0
            if position is not None:
                p1 = min(max(float(kernel.measure_probability(state, position)), 0.0), 1.0)
            if _NEGLIGIBLE < p1 < 1.0 - _NEGLIGIBLE:
                memory.check(
                    compiled.width,
                    f"exact expectation values ({len(pending) + 2} outcome branches held at once)",
                    copies=len(pending) + 2,
                )
                other = state.copy()
                ones = _settle(segment, other, 1, p1, bits, kernel)
                pending.append((index, other, weight * p1, ones))
                weight *= 1.0 - p1
                bits = _settle(segment, state, 0, p1, bits, kernel)
            else:
                bits = _settle(segment, state, int(p1 >= 0.5), p1, bits, kernel)
        count += 1
        if count > limit:
            raise ResourceTooLargeError(
                f"exact expectation values enumerate every outcome of the circuit's mid-circuit "
                f"measurements and resets, and this circuit has more than {limit}; "
                "use the sampler, or fewer mid-circuit operations"
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
