"""Compile a :class:`Circuit` once; bind parameters many times.

Compilation drops qubits no gate or reset touches (a 127-qubit ISA circuit using 5 qubits is
simulated on 5), renumbers the rest, classifies each gate as dense or diagonal, precomputes
every constant matrix, and decides which measurements can be deferred to one sampling pass
at the end. Each run of unconditioned gates becomes a :class:`Plan`: SWAP gates in it are
relabelled away (the later gates are renumbered, and one qubit permutation at the end of the
run puts the order back), its gates are fused into blocks and, on states larger than the
cache, grouped into tiles that share one pass over memory (:mod:`.fusion`; the cost model
picks tiles or wide blocks). Binding then only evaluates the parameterised gates
(vectorised, :mod:`.binding`), multiplies them into their blocks with the kernel's
``fuse_blocks``, and hands flat arrays to ``run_tiled`` (or ``run_plan``), one call per
plan.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from ..core.ir.circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from ..core.ir.gates import gate_spec
from ..core.ir.params import ParamExpr
from .binding import ExpressionTable, batch_data
from .fusion import CostModel, FusedBlock, OpInfo, Tile, block_cost, fuse, schedule_tiles

__all__ = [
    "CompiledProgram",
    "FusionOptions",
    "GateStep",
    "MeasureStep",
    "Plan",
    "ResetStep",
    "compile_program",
]

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
    _binder: _Binder | None = None

    def bind(
        self, values: Mapping[str, float] | np.ndarray, kernel: Any = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """(matrices, matrix_offsets) at ``values``; cached when the segment has no parameters.

        ``values`` maps parameter names to numbers, or is an array in the program's
        parameter order.
        """
        assert self._binder is not None and self.matrix_offsets is not None
        if self.fixed and self.matrices is not None:
            return self.matrices, self.matrix_offsets
        matrices = self._binder.bind(values, kernel)
        if self.fixed:
            self.matrices = matrices
        return matrices, self.matrix_offsets


class _Binder:
    """Turns parameter values into the data of a plan's kernel gates (see :class:`Plan`)."""

    def __init__(
        self, steps: Sequence[GateStep], blocks: Sequence[_KernelGate], parameters: Sequence[str]
    ) -> None:
        # Component data: every original gate's matrix or diagonal, constant ones filled in.
        sizes = [_data_size(s) for s in steps]
        self.comp_offsets = np.zeros(len(steps) + 1, dtype=np.int64)
        np.cumsum(sizes, out=self.comp_offsets[1:])
        self.comp_template = np.zeros(int(self.comp_offsets[-1]), dtype=np.complex128)
        groups: dict[tuple[str, int], list[int]] = {}
        for i, s in enumerate(steps):
            if s.data is not None:
                self.comp_template[self.comp_offsets[i] : self.comp_offsets[i + 1]] = s.data
            else:
                groups.setdefault((s.name, s.kind), []).append(i)
        exprs: list[Any] = []
        # (gate name, diagonal?, component slots, first expression, gates, parameters each)
        self.groups: list[tuple[str, bool, np.ndarray, int, int, int]] = []
        for (name, kind), members in groups.items():
            nparams = len(steps[members[0]].params)
            first = len(exprs)
            for i in members:
                exprs.extend(steps[i].params)
            size = sizes[members[0]]
            slots = (self.comp_offsets[members][:, None] + np.arange(size)).ravel()
            self.groups.append((name, kind == KIND_DIAGONAL, slots, first, len(members), nparams))
        self.exprs = ExpressionTable(exprs, parameters)
        # Kernel gate data: blocks whose data is a component's own data are copied; fused
        # blocks are products computed by fuse_blocks (constant ones once, at first bind).
        offsets = [0]
        for blk in blocks:
            offsets.append(offsets[-1] + blk.data_size)
        self.matrix_offsets = np.array(offsets, dtype=np.int64)
        self.template = np.zeros(offsets[-1], dtype=np.complex128)
        param = [not all(steps[i].data is not None for i in blk.ops) for blk in blocks]
        src: list[np.ndarray] = []
        dst: list[np.ndarray] = []
        fixed_code: list[int] = [0]
        param_code: list[int] = [0]
        for b, blk in enumerate(blocks):
            start = offsets[b]
            if blk.direct:
                i = blk.ops[0]
                lo, hi = int(self.comp_offsets[i]), int(self.comp_offsets[i + 1])
                if param[b]:
                    src.append(np.arange(lo, hi))
                    dst.append(np.arange(start, start + hi - lo))
                else:
                    self.template[start : start + hi - lo] = self.comp_template[lo:hi]
                continue
            code = param_code if param[b] else fixed_code
            code[0] += 1
            code.extend([start, blk.kind, len(blk.targets), len(blk.ops)])
            position = {q: j for j, q in enumerate(blk.global_targets)}
            for i in blk.ops:
                s = steps[i]
                code.extend([s.kind, len(s.targets), len(s.controls)])
                code.extend(position[q] for q in s.targets)
                code.extend(position[q] for q in s.controls)
                code.extend([s.ctrl_state, int(self.comp_offsets[i])])
        self.copy_src = np.concatenate(src) if src else np.zeros(0, dtype=np.int64)
        self.copy_dst = np.concatenate(dst) if dst else np.zeros(0, dtype=np.int64)
        self.fixed_code = np.array(fixed_code, dtype=np.int64)
        self.param_code = np.array(param_code, dtype=np.int64) if param_code[0] else None
        self.ready = fixed_code[0] == 0
        self._lock = threading.Lock()

    def bind(self, values: Mapping[str, float] | np.ndarray, kernel: Any) -> np.ndarray:
        if kernel is None:
            from .kernels import load_kernel

            kernel = load_kernel()
        if not self.ready:
            with self._lock:  # constant blocks are multiplied once, by the first caller
                if not self.ready:
                    kernel.fuse_blocks(self.fixed_code, self.comp_template, self.template)
                    self.ready = True
        if not self.groups:
            return self.template
        comp = self.comp_template.copy()
        numbers = self.exprs(values)
        for name, diagonal, slots, first, count, nparams in self.groups:
            params = numbers[first : first + count * nparams].reshape(count, nparams)
            comp[slots] = batch_data(name, diagonal, params).ravel()
        matrices = self.template.copy()
        if len(self.copy_src):
            matrices[self.copy_dst] = comp[self.copy_src]
        if self.param_code is not None:
            kernel.fuse_blocks(self.param_code, comp, matrices)
        return matrices


def _data_size(step: GateStep) -> int:
    k = len(step.targets)
    return 2**k if step.kind == KIND_DIAGONAL else 4**k


@dataclass
class _KernelGate:
    """One gate for the kernel: a fused block, or an original gate run as it is (``direct``)."""

    kind: int
    targets: tuple[int, ...]  # local numbering
    controls: tuple[int, ...]
    ctrl_state: int
    ops: list[int]
    direct: bool
    global_targets: tuple[int, ...]

    @property
    def data_size(self) -> int:
        k = len(self.targets)
        return 2**k if self.kind == KIND_DIAGONAL else 4**k


@dataclass(frozen=True)
class FusionOptions:
    """How :func:`compile_program` fuses and tiles.

    Attributes:
        max_dense: largest fused dense block (qubits) in cache; 1 or less: no fusion.
        max_dense_memory: largest dense block when the plan runs gate by gate on a state
            larger than the cache (fewer, wider blocks then save passes over memory).
        max_diag: largest fused diagonal block.
        tile_qubits: local qubits of a cache tile; 0: no tiling.
        low_qubits: lowest qubits every tile keeps local (long contiguous runs).
        cost: the kernel cost model (in cache; ``memory`` is set per state size).
        memory: wall ns per amplitude of one pass over a state in memory (2 threads).
        force_tiles: always tile states wider than ``tile_qubits`` (tests), instead of
            letting the cost model choose between tiles and wide gate-by-gate blocks.
        itemsize: bytes per amplitude of the states planned for.
        shared_cache: states up to this many bytes stay in the shared (L3) cache, where a
            pass costs ``shared_factor`` of one over memory; gathering a tile there costs
            ``shared_gather`` of its cost over memory (strided runs gain less from the cache).
        relabel_swaps: a run of gates with at least this many SWAP gates (uncontrolled)
            drops them and renumbers the later gates instead, then permutes the qubits back
            once at the end (at most two passes); 0: never.
    """

    max_dense: int = 4
    max_dense_memory: int = 5
    max_diag: int = 6
    tile_qubits: int = 0
    low_qubits: int = 3
    cost: CostModel = field(default_factory=CostModel)
    memory: float = 0.6
    force_tiles: bool = False
    itemsize: int = 16
    shared_cache: int = 16 << 20
    shared_factor: float = 0.1
    shared_gather: float = 0.8
    relabel_swaps: int = 3

    @classmethod
    def for_state(
        cls,
        itemsize: int,
        fusion: bool | int = True,
        tiling: bool = True,
        threads: int = 1,
        simd: str = "avx512f",
    ) -> FusionOptions:
        """Defaults for states of ``itemsize`` bytes per amplitude (16 or 8).

        Tiles hold 512 KiB (half of a typical L2 cache). ``fusion`` False turns fusion off;
        an integer sets the largest dense block. ``threads`` and ``simd`` (the kernel's code
        path) refine the cost model.
        """
        single = itemsize <= 8
        vector = {"avx512f": 64, "avx2": 32}.get(simd, 2 * itemsize)  # bytes per vector
        lanes = (vector // itemsize).bit_length() - 1  # qubits inside one vector
        cost = CostModel(scale=0.52 if single else 1.0, lane_qubits=lanes, threads=threads)
        if fusion is False:
            dense, dense_memory, diag = 1, 1, 1
        elif fusion is True:
            dense, dense_memory, diag = 4, 5, 6
        else:
            dense = dense_memory = max(1, min(int(fusion), 6))
            diag = 6 if dense > 1 else 1
        return cls(
            max_dense=dense,
            max_dense_memory=dense_memory,
            max_diag=diag,
            tile_qubits=(16 if single else 15) if tiling and fusion is not False else 0,
            low_qubits=4 if single else 3,
            cost=cost,
            memory=0.3 if single else 0.6,
            itemsize=itemsize,
        )


def _fuse_and_tile(
    infos: list[OpInfo], width: int, options: FusionOptions
) -> tuple[list[FusedBlock], list[Tile]]:
    """The cheapest plan by the cost model: tiles of the default size, larger tiles (held in
    the shared L3 cache: fewer passes, somewhat slower gates), or wide blocks gate by gate."""
    in_cache = options.cost
    blocks = fuse(infos, options.max_dense, options.max_diag, in_cache)
    if not options.tile_qubits or width <= options.tile_qubits or options.max_dense <= 1:
        return blocks, [Tile((), list(range(len(blocks))))]
    if options.force_tiles:
        return blocks, schedule_tiles(blocks, width, options.tile_qubits, options.low_qubits)
    memory = gather = options.memory
    if options.itemsize << width <= options.shared_cache:
        memory *= options.shared_factor
        gather *= options.shared_gather
    out_of_cache = replace(in_cache, memory=memory)
    gathers = replace(in_cache, memory=gather)
    alone = [block_cost(out_of_cache, b, infos) for b in blocks]
    inside = [block_cost(in_cache, b, infos) for b in blocks]
    best: tuple[float, list[FusedBlock], list[Tile]] | None = None
    for extra, slower in ((0, 1.0), (2, _L3_FACTOR), (3, _L3_FACTOR)):
        size = options.tile_qubits + extra
        if extra and width <= size + 2:
            break
        tiles = schedule_tiles(blocks, width, size, options.low_qubits + (extra > 0))
        total = 0.0
        for tile in tiles:
            by_gate = sum(alone[b] for b in tile.blocks)
            if tile.local:
                run = 0
                while run < len(tile.local) and tile.local[run] == run:
                    run += 1
                tiled = gathers.tile_pass(run) + slower * sum(inside[b] for b in tile.blocks)
                if tiled < by_gate:
                    total += tiled
                    continue
                tile.local = ()
            total += by_gate
        if best is None or total < best[0]:
            best = (total, blocks, tiles)
    assert best is not None
    wide = fuse(infos, options.max_dense_memory, options.max_diag, out_of_cache)
    if sum(block_cost(out_of_cache, b, infos) for b in wide) < best[0]:
        return wide, [Tile((), list(range(len(wide))))]
    return best[1], best[2]


#: compute slowdown of gates in tiles that overflow L2 (estimate)
_L3_FACTOR = 1.2


def _relabel_swaps(steps: list[GateStep], minimum: int) -> tuple[list[GateStep], list[int] | None]:
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


def _plan(
    steps: list[GateStep], width: int, options: FusionOptions, parameters: Sequence[str]
) -> Plan:
    steps, moved = _relabel_swaps(steps, options.relabel_swaps)
    restore = None
    if moved is not None and any(p != q for q, p in enumerate(moved)):
        restore = np.arange(width, dtype=np.int32)
        restore[: len(moved)] = moved
    infos = [OpInfo(s.kind, s.targets, s.controls) for s in steps]
    blocks, tiles = _fuse_and_tile(infos, width, options)
    gates: list[_KernelGate] = []
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
                    _KernelGate(
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
                    _KernelGate(
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
    binder = _Binder(steps, gates, parameters)
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


def _active_qubits(program: Circuit) -> tuple[int, ...]:
    used: set[int] = set()
    for op in program.operations:
        if isinstance(op, (Gate, Reset)):
            used.update(op.all_qubits)
    return tuple(sorted(used))


def _deferrable(program: Circuit) -> list[bool]:
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
    return GateStep(kind, targets, controls, ctrl_state, None, op.name, op.params, op.condition)


def _fill_constants(steps: list[Step]) -> None:
    """Give every gate without free parameters its matrix, one vectorised call per gate name."""
    groups: dict[tuple[str, int], list[int]] = {}
    for i, s in enumerate(steps):
        if isinstance(s, GateStep) and s.data is None:
            if not any(isinstance(p, ParamExpr) for p in s.params):
                groups.setdefault((s.name, s.kind), []).append(i)
    for (name, kind), members in groups.items():
        params = np.array([[float(p) for p in steps[i].params] for i in members])  # type: ignore[union-attr]
        if params.shape[1] == 0:
            data = batch_data(name, kind == KIND_DIAGONAL, params[:1])
            data = np.broadcast_to(data, (len(members), data.shape[1]))
        else:
            data = batch_data(name, kind == KIND_DIAGONAL, params)
        for row, i in zip(data, members):
            step = steps[i]
            assert isinstance(step, GateStep)
            steps[i] = replace(step, data=np.array(row, dtype=np.complex128))


def compile_program(program: Circuit, *, options: FusionOptions | None = None) -> CompiledProgram:
    """Compile ``program`` for simulation (pure function of the program's structure).

    ``options`` chooses fusion and tiling (default: :meth:`FusionOptions.for_state` for
    complex128 states).
    """
    if options is None:
        options = FusionOptions.for_state(16)
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
    _fill_constants(steps)

    segments: list[Plan | Step] = []
    run: list[GateStep] = []
    for step in steps:
        if isinstance(step, GateStep) and step.condition is None:
            run.append(step)
            continue
        if run:
            segments.append(_plan(run, len(active), options, program.parameters))
            run = []
        segments.append(step)
    if run:
        segments.append(_plan(run, len(active), options, program.parameters))

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
