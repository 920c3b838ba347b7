"""Mid-circuit measurements, resets and classically conditioned gates, by per-shot branches.

A branch is a set of shots that share one state and one classical record. A measurement
splits a branch in two (the number of shots that read 1 is drawn from the binomial
distribution), the last part keeps the state and the others get copies; a reset is a
measurement whose 1 outcome is flipped back; a conditioned step runs only on the branches
whose record satisfies its condition.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import ModuleType

import numpy as np

from ..core.ir.circuit import Condition
from .compiler import CompiledCircuit
from .memory import StateMemory
from .plan import Plan
from .steps import GateStep, MeasureStep, ResetStep

__all__ = ["Branch", "run_branches"]

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
        for b in branches:
            if segment.condition is not None and not condition_holds(
                segment.condition, b.bits, compiled.registers
            ):
                next_branches.append(b)
            elif isinstance(segment, GateStep):
                segment.apply(kernel, b.state, values)
                next_branches.append(b)
            else:
                next_branches.extend(
                    _split(compiled, b, segment, rng, len(branches), kernel, memory)
                )
        branches = next_branches
    return branches


def _split(
    compiled: CompiledCircuit,
    branch: Branch,
    step: MeasureStep | ResetStep,
    rng: np.random.Generator,
    live: int,
    kernel: ModuleType,
    memory: StateMemory,
) -> list[Branch]:
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
            memory.check(compiled.width, "per-shot branching", copies=live + 1)
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
