"""Plans: a run of unconditioned gates as flat arrays for one kernel call.

:func:`build_plan` drops SWAP gates by renumbering the later gates (one qubit permutation at
the end of the run puts the order back), fuses the rest into blocks and, on states larger
than the cache, groups them into tiles that share one pass over memory
(:mod:`.fusion_policy`). :meth:`Plan.run` binds parameter values (:mod:`.binding`) and hands
the arrays to the kernel's ``run_tiled`` or ``run_plan``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from types import ModuleType

import numpy as np

from .binding import PlanBinder
from .fusion import OpInfo
from .fusion_policy import FusionOptions, fuse_and_tile
from .kernels import load_kernel
from .steps import KIND_DENSE, KIND_DIAGONAL, GateStep, KernelGate

__all__ = ["Plan", "build_plan", "relabel_swaps"]


@dataclass
class Plan:
    """One run of unconditioned gates, fused and tiled, as flat arrays for the kernel.

    The kernel gates (fused blocks, in execution order) are described by ``kinds``,
    ``qubits`` (controls first, then targets; numbered locally inside a tile),
    ``qubit_offsets``, ``ctrl_counts``, ``ctrl_states`` and ``matrix_offsets``; ``tile_*``
    group them into tiles for ``run_tiled`` (None: plain ``run_plan``). ``steps`` are the
    original gates, renumbered if SWAP gates were relabelled away: then ``restore`` (None
    otherwise) is the qubit permutation for the kernel's ``permute_qubits`` that puts the
    qubits back in order after the gates. :meth:`bind` returns the data of every kernel gate
    at given parameter values: constant parts are computed once, parameterised gates are
    evaluated in a few vectorised numpy calls and multiplied into their blocks by the
    kernel's ``fuse_blocks``.
    """

    kinds: np.ndarray
    qubits: np.ndarray
    qubit_offsets: np.ndarray
    ctrl_counts: np.ndarray
    ctrl_states: np.ndarray
    fixed: bool
    steps: tuple[GateStep, ...]
    matrices: np.ndarray | None = None
    matrix_offsets: np.ndarray | None = None
    tile_offsets: np.ndarray | None = None
    tile_qubits: np.ndarray | None = None
    tile_qubit_offsets: np.ndarray | None = None
    num_blocks: int = 0
    restore: np.ndarray | None = None
    _binder: PlanBinder | None = None

    def bind(
        self, values: Mapping[str, float] | np.ndarray, kernel: ModuleType | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(matrices, matrix_offsets) at ``values``; cached when the segment has no parameters.

        ``values`` maps parameter names to numbers, or is an array in the circuit's
        parameter order; ``kernel`` multiplies fused blocks (default: :func:`.load_kernel`).
        """
        assert self._binder is not None and self.matrix_offsets is not None
        if self.fixed and self.matrices is not None:
            return self.matrices, self.matrix_offsets
        matrices = self._binder.bind(values, kernel if kernel is not None else load_kernel())
        if self.fixed:
            self.matrices = matrices
        return matrices, self.matrix_offsets

    def run(
        self, kernel: ModuleType, state: np.ndarray, values: Mapping[str, float] | np.ndarray
    ) -> None:
        """Apply the plan to ``state`` at ``values``: one kernel call, then the permutation."""
        if len(self.kinds):
            matrices, offsets = self.bind(values, kernel)
            if self.tile_offsets is not None:
                kernel.run_tiled(
                    state,
                    self.kinds,
                    self.qubits,
                    self.qubit_offsets,
                    matrices,
                    offsets,
                    self.ctrl_counts,
                    self.ctrl_states,
                    self.tile_offsets,
                    self.tile_qubits,
                    self.tile_qubit_offsets,
                )
            else:
                kernel.run_plan(
                    state,
                    self.kinds,
                    self.qubits,
                    self.qubit_offsets,
                    matrices,
                    offsets,
                    self.ctrl_counts,
                    self.ctrl_states,
                )
        if self.restore is not None:  # SWAP gates were relabelled: put the qubits back
            kernel.permute_qubits(state, self.restore)


def relabel_swaps(steps: list[GateStep], minimum: int) -> tuple[list[GateStep], list[int] | None]:
    """Drop uncontrolled SWAP gates by renumbering the gates after them.

    Returns the new steps and, for ``permute_qubits``, the position of each qubit at the end
    (None: nothing was relabelled, fewer than ``minimum`` swaps or ``minimum`` 0).
    """
    swaps = [s.name == "swap" and not s.controls and len(s.targets) == 2 for s in steps]
    if not minimum or sum(swaps) < minimum:
        return steps, None
    where: dict[int, int] = {}  # qubit -> position now holding it (absent: itself)
    out: list[GateStep] = []
    for step, swap in zip(steps, swaps):
        if swap:
            a, b = step.targets
            where[a], where[b] = where.get(b, b), where.get(a, a)
            continue
        if where:
            step = replace(
                step,
                targets=tuple(where.get(q, q) for q in step.targets),
                controls=tuple(where.get(q, q) for q in step.controls),
            )
        out.append(step)
    return out, [where.get(q, q) for q in range(max(where, default=-1) + 1)]


def build_plan(
    steps: list[GateStep], width: int, options: FusionOptions, parameters: Sequence[str]
) -> Plan:
    """The plan of a run of unconditioned gates on a ``width``-qubit state.

    Relabels SWAP gates away (when ``options`` say so), fuses and tiles the rest, and
    numbers each tile's gates locally; ``parameters`` orders value arrays.
    """
    steps, moved = relabel_swaps(steps, options.relabel_swaps)
    restore = None
    if moved is not None and any(p != q for q, p in enumerate(moved)):
        restore = np.arange(width, dtype=np.int32)
        restore[: len(moved)] = moved
    infos = [OpInfo(s.kind, s.targets, s.controls) for s in steps]
    blocks, tiles = fuse_and_tile(infos, width, options)
    gates: list[KernelGate] = []
    tile_offsets = [0]
    tile_qubits: list[int] = []
    tile_qubit_offsets = [0]
    for tile in tiles:
        local = {q: j for j, q in enumerate(tile.local)} or {q: q for q in range(width)}
        rename = local.__getitem__
        for b in tile.blocks:
            blk = blocks[b]
            if len(blk.ops) == 1:
                s = steps[blk.ops[0]]
                gates.append(
                    KernelGate(
                        s.kind,
                        tuple(rename(q) for q in s.targets),
                        tuple(rename(q) for q in s.controls),
                        s.ctrl_state,
                        blk.ops,
                        True,
                        s.targets,
                    )
                )
            else:
                qs = tuple(sorted(blk.qubits))
                gates.append(
                    KernelGate(
                        KIND_DIAGONAL if blk.diagonal else KIND_DENSE,
                        tuple(rename(q) for q in qs),
                        (),
                        -1,
                        blk.ops,
                        False,
                        qs,
                    )
                )
        tile_offsets.append(len(gates))
        tile_qubits.extend(tile.local)
        tile_qubit_offsets.append(len(tile_qubits))
    qubits: list[int] = []
    offsets = [0]
    for g in gates:
        qubits.extend(g.controls)
        qubits.extend(g.targets)
        offsets.append(len(qubits))
    binder = PlanBinder(steps, gates, parameters)
    tiled = any(tile_qubits)
    return Plan(
        kinds=np.array([g.kind for g in gates], dtype=np.int32),
        qubits=np.array(qubits, dtype=np.int32),
        qubit_offsets=np.array(offsets, dtype=np.int64),
        ctrl_counts=np.array([len(g.controls) for g in gates], dtype=np.int32),
        ctrl_states=np.array([g.ctrl_state for g in gates], dtype=np.int64),
        fixed=all(s.data is not None for s in steps),
        steps=tuple(steps),
        matrix_offsets=binder.matrix_offsets,
        tile_offsets=np.array(tile_offsets, dtype=np.int64) if tiled else None,
        tile_qubits=np.array(tile_qubits, dtype=np.int32) if tiled else None,
        tile_qubit_offsets=np.array(tile_qubit_offsets, dtype=np.int64) if tiled else None,
        num_blocks=len(gates),
        restore=restore,
        _binder=binder,
    )
