"""Gate fusion and cache tiling: the structure of a fast plan, decided once per circuit.

**Fusion** merges gates into blocks that the kernel applies as one dense matrix (or one
diagonal) over the union of their qubits, so each block costs one sweep over the amplitudes
instead of one per gate. It walks the gates in order and puts each into the existing block
where it costs least (an estimate of nanoseconds per amplitude, :class:`CostModel`), or
opens a new block. A gate may join an older block if it commutes with every later block
that shares a qubit with it; two operations commute when, on every shared qubit, both act
diagonally (a control, or any qubit of a diagonal gate), so runs of controlled phases fuse
freely. Dense blocks hold up to ``max_dense`` qubits, diagonal blocks up to ``max_diag``.

**Tiling** lets many blocks share one pass over a state larger than the cache: a tile is a
set of at most ``tile_qubits`` "local" qubits and the blocks acting only on them; the kernel
gathers each group of 2**L amplitudes that differ only in local qubits into a cache-sized
buffer, applies all of the tile's blocks there, and writes it back. Tiles are formed greedily
over the dependency graph of the blocks: a tile keeps taking ready blocks that add no new
qubits, then the ready block that adds the fewest, until the local set is full.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["CostModel", "FusedBlock", "OpInfo", "Tile", "block_cost", "fuse", "schedule_tiles"]


@dataclass(frozen=True)
class CostModel:
    """Estimated wall time of the kernels in nanoseconds per amplitude of the state.

    Compute figures are for one thread with the state in cache, measured on the AVX-512
    kernels (complex128, a Zen 4 core; complex64 halves them); ``threads`` divides them.
    ``memory`` > 0 models a state that does not fit in cache: every gate then also costs a
    read and write of the amplitudes it changes, and the slower of the two counts. Only
    ratios steer decisions, so the figures serve other CPUs well enough.
    """

    #: dense gate on k targets (index k), all targets above the lane qubits
    dense: tuple[float, ...] = (0.0, 0.30, 0.58, 1.08, 2.0, 3.8, 8.0)
    #: extra factor per target beyond the first when some target is a lane qubit
    lane_factor: float = 0.12
    #: lane qubits: targets below this many low qubits mix lanes inside a vector
    lane_qubits: int = 2
    #: a diagonal gate, per amplitude it changes
    diagonal: float = 0.3
    #: fixed cost of any gate (a sweep over the amplitudes)
    sweep: float = 0.08
    #: scale of every compute figure (0.52 for complex64)
    scale: float = 1.0
    #: threads sharing the compute
    threads: int = 1
    #: wall time of one read+write pass over a state out of cache (0: in cache)
    memory: float = 0.0
    #: wall time of a tile pass (gather and scatter) by log2 of its contiguous run, >= index
    gather: tuple[float, ...] = (3.0, 3.0, 3.0, 1.9, 1.8, 1.6, 1.6, 1.5, 1.3, 1.2, 1.1)

    def compute(self, kind: int, targets: Sequence[int], controls: int) -> float:
        """One-thread compute time of a kernel gate (``kind`` 0 dense, 1 diagonal)."""
        share = 0.5**controls
        if kind == 1:
            return self.scale * (self.sweep + self.diagonal * share)
        k = len(targets)
        c = self.dense[k] if k < len(self.dense) else self.dense[-1] * 2 ** (k - len(self.dense))
        if min(targets) < self.lane_qubits:
            c *= 1.0 + self.lane_factor * (k - 1)
        return self.scale * (self.sweep + c * share)

    def gate(self, kind: int, targets: Sequence[int], controls: int) -> float:
        """Wall time of a kernel gate, in cache or (``memory`` > 0) out of it.

        Out of cache, compute and memory traffic overlap only in part: the slower of the two
        plus half of the other (fits the measured kernels on 24-qubit states).
        """
        t = self.compute(kind, targets, controls) / max(self.threads, 1)
        if self.memory > 0:
            m = self.memory * 0.5 ** max(controls - 1, 0)  # a low control still reads every line
            t = max(t, m) + 0.5 * min(t, m)
        return t

    def tile_pass(self, run_log: int) -> float:
        """Wall time of gathering and scattering a tile whose contiguous runs are 2**run_log."""
        g = self.gather[min(run_log, len(self.gather) - 1)]
        return g * self.memory / 0.6 if self.memory > 0 else 0.0


@dataclass
class FusedBlock:
    """A kernel gate made of one or more original gates (``ops``: indices, in order).

    A block of one gate runs as that gate (with its controls); a longer block runs as a
    dense matrix on ``qubits`` (sorted), or a diagonal if every gate in it is diagonal.
    """

    qubits: set[int]
    xset: set[int]  # qubits some gate of the block acts on non-diagonally
    ops: list[int]
    diagonal: bool
    cost: float = 0.0

    @property
    def zset(self) -> set[int]:
        return self.qubits - self.xset


@dataclass(frozen=True)
class OpInfo:
    """What fusion needs to know about one gate."""

    kind: int  # 0 dense, 1 diagonal
    targets: tuple[int, ...]
    controls: tuple[int, ...]

    @property
    def qubits(self) -> frozenset[int]:
        return frozenset(self.targets + self.controls)

    @property
    def xset(self) -> frozenset[int]:
        return frozenset() if self.kind == 1 else frozenset(self.targets)


def _block_cost(cost: CostModel, qubits: set[int], diagonal: bool, single: OpInfo | None) -> float:
    if single is not None:
        return cost.gate(single.kind, single.targets, len(single.controls))
    return cost.gate(1 if diagonal else 0, sorted(qubits), 0)


def block_cost(cost: CostModel, block: FusedBlock, ops: Sequence[OpInfo]) -> float:
    """Wall time of ``block`` as the kernel runs it, under ``cost``."""
    single = ops[block.ops[0]] if len(block.ops) == 1 else None
    return _block_cost(cost, block.qubits, block.diagonal, single)


def fuse(ops: Sequence[OpInfo], max_dense: int, max_diag: int, cost: CostModel) -> list[FusedBlock]:
    """Greedy cost-driven fusion of ``ops`` (in circuit order) into blocks, in execution order.

    Single-qubit gates wait ("pending") until the next multi-qubit gate on their qubit takes
    them into its block, unless the block before them already acts densely on that qubit
    (then they join it for free). ``max_dense`` <= 1 turns fusion off (one block per gate).
    """
    if max_dense <= 1:
        return [
            FusedBlock(set(op.qubits), set(op.xset), [i], op.kind == 1, 0.0)
            for i, op in enumerate(ops)
        ]
    blocks: list[FusedBlock] = []
    touching: dict[int, list[int]] = {}  # qubit -> indices of blocks on it, ascending
    last_any: dict[int, int] = {}
    last_x: dict[int, int] = {}
    pending: dict[int, list[int]] = {}  # qubit -> a chain of single-qubit gates not yet placed
    last_diag = -1  # the newest diagonal block

    def place(b: int, members: list[int], qubits: frozenset[int], xset: frozenset[int]) -> None:
        for q in qubits:
            lst = touching.setdefault(q, [])
            if not lst or lst[-1] < b:
                lst.append(b)
            elif b not in lst:
                lst.append(b)
                lst.sort()
            last_any[q] = max(last_any.get(q, -1), b)
            if q in xset:
                last_x[q] = max(last_x.get(q, -1), b)

    def join(b: int, members: list[int], qubits: frozenset[int], xset: frozenset[int]) -> None:
        blk = blocks[b]
        blk.qubits |= qubits
        blk.xset |= xset
        blk.diagonal = blk.diagonal and all(ops[i].kind == 1 for i in members)
        blk.ops.extend(members)
        blk.cost = _block_cost(cost, blk.qubits, blk.diagonal, None)
        place(b, members, qubits, xset)

    for index, op in enumerate(ops):
        qubits, xset = op.qubits, op.xset
        if len(qubits) == 1:
            (q,) = qubits
            if q in pending:
                pending[q].append(index)
                continue
            b = last_any.get(q, -1)
            if b >= 0 and q in blocks[b].xset and len(blocks[b].ops) > 1:
                join(b, [index], qubits, xset)  # free: the block is dense on q already
            else:
                pending[q] = [index]
            continue
        if len(qubits) > (max_diag if op.kind == 1 else max_dense):
            # Too wide to fuse (many controls): waiting chains become their own blocks, and
            # the gate runs as it is.
            for q in sorted(qubits):
                chain = pending.pop(q, [])
                if chain:
                    cx = frozenset({q}) if any(ops[i].kind == 0 for i in chain) else frozenset()
                    blocks.append(FusedBlock(set(), set(), [], not cx, 0.0))
                    join(len(blocks) - 1, chain, frozenset({q}), cx)
            blocks.append(FusedBlock(set(), set(), [], op.kind == 1, 0.0))
            join(len(blocks) - 1, [index], qubits, xset)
            blocks[-1].cost = cost.gate(op.kind, op.targets, len(op.controls))
            if op.kind == 1:
                last_diag = len(blocks) - 1
            continue
        chain = []
        for q in sorted(qubits):
            chain.extend(pending.pop(q, ()))
        members = [*chain, index]
        mx = xset | frozenset(ops[i].targets[0] for i in chain if ops[i].kind == 0)
        all_diag = op.kind == 1 and all(ops[i].kind == 1 for i in chain)
        alone = (
            cost.gate(op.kind, op.targets, len(op.controls))
            if not chain
            else _block_cost(cost, set(qubits), all_diag, None)
        )
        best, best_delta = -1, alone
        lower = max(
            (last_any.get(q, -1) if q in mx else last_x.get(q, -1) for q in qubits), default=-1
        )
        seen: set[int] = set()
        candidates: list[int] = []
        for q in qubits:
            for b in reversed(touching.get(q, ())):
                if b < lower:
                    break
                if b not in seen:
                    seen.add(b)
                    candidates.append(b)
        if all_diag and last_diag >= max(lower, 0) and last_diag not in seen:
            candidates.append(last_diag)  # diagonals on other qubits merge too (CZ layers)
        for b in candidates:
            blk = blocks[b]
            union = blk.qubits | qubits
            diag = blk.diagonal and all_diag
            if len(union) > (max_diag if diag else max_dense):
                continue
            delta = _block_cost(cost, union, diag, None) - blk.cost
            if delta < best_delta or (delta == best_delta and best >= 0 and b > best):
                best, best_delta = b, delta
        if best < 0:
            best = len(blocks)
            blocks.append(FusedBlock(set(), set(), [], True, 0.0))
            join(best, members, qubits, mx)
            if not chain:
                blocks[best].cost = alone  # runs as the gate itself, with its controls
        else:
            join(best, members, qubits, mx)
        if blocks[best].diagonal:
            last_diag = best
    # Chains left at the end join the last block on their qubit, or stand alone.
    for q, chain in pending.items():
        b = last_any.get(q, -1)
        mx = frozenset({q}) if any(ops[i].kind == 0 for i in chain) else frozenset()
        diag = not mx
        alone = _block_cost(cost, {q}, diag, ops[chain[0]] if len(chain) == 1 else None)
        if b >= 0:
            blk = blocks[b]
            union_diag = blk.diagonal and diag
            if len(blk.qubits | {q}) <= (max_diag if union_diag else max_dense):
                delta = _block_cost(cost, blk.qubits | {q}, union_diag, None) - blk.cost
                if delta <= alone:
                    join(b, chain, frozenset({q}), mx)
                    continue
        blocks.append(FusedBlock({q}, set(mx), list(chain), diag, alone))
    return blocks


@dataclass
class Tile:
    """Blocks (indices into the fused list, in execution order) on ``local`` qubits.

    ``local`` empty: the blocks run one by one over the whole state.
    """

    local: tuple[int, ...]
    blocks: list[int] = field(default_factory=list)


def schedule_tiles(
    blocks: Sequence[FusedBlock], n: int, tile_qubits: int, low_qubits: int
) -> list[Tile]:
    """Group ``blocks`` into tiles of at most ``tile_qubits`` local qubits (see module doc).

    Every tile's local set includes the ``low_qubits`` lowest qubits (so the gathered runs of
    amplitudes are long) and is padded with further low qubits up to ``tile_qubits``.
    """
    count = len(blocks)
    if tile_qubits <= 0 or n <= tile_qubits:
        return [Tile((), list(range(count)))]
    low = set(range(min(low_qubits, n)))
    # Dependencies: b after a if they share a qubit where one of them is not diagonal.
    preds = [0] * count
    succs: list[list[int]] = [[] for _ in range(count)]
    last_x: dict[int, int] = {}
    z_since: dict[int, list[int]] = {}
    for b, blk in enumerate(blocks):
        deps: set[int] = set()
        for q in blk.qubits:
            if q in blk.xset:
                if q in last_x:
                    deps.add(last_x[q])
                deps.update(z_since.get(q, ()))
                last_x[q] = b
                z_since[q] = []
            else:
                if q in last_x:
                    deps.add(last_x[q])
                z_since.setdefault(q, []).append(b)
        deps.discard(b)
        preds[b] = len(deps)
        for d in deps:
            succs[d].append(b)
    ready = {b for b in range(count) if preds[b] == 0}
    tiles: list[Tile] = []
    while ready:
        local = set(low)
        members: list[int] = []
        big: list[int] = []
        while True:
            inside = sorted(b for b in ready if blocks[b].qubits <= local)
            if inside:
                for b in inside:
                    ready.discard(b)
                    members.append(b)
                    for s in succs[b]:
                        preds[s] -= 1
                        if preds[s] == 0:
                            ready.add(s)
                continue
            choice, extra = -1, 0
            for b in ready:
                new = len(blocks[b].qubits - local)
                if choice < 0 or new < extra or (new == extra and b < choice):
                    choice, extra = b, new
            if choice < 0 or len(local) + extra > tile_qubits:
                if not members and choice >= 0:
                    big.append(choice)  # wider than any tile: runs on the whole state
                    ready.discard(choice)
                    for s in succs[choice]:
                        preds[s] -= 1
                        if preds[s] == 0:
                            ready.add(s)
                break
            local |= blocks[choice].qubits
        if members:
            q = 0
            while len(local) < tile_qubits and q < n:
                local.add(q)
                q += 1
            tiles.append(Tile(tuple(sorted(local)), members))
        if big:
            tiles.append(Tile((), big))
    return _merge_global(tiles)


def _merge_global(tiles: list[Tile]) -> list[Tile]:
    out: list[Tile] = []
    for t in tiles:
        if out and not t.local and not out[-1].local:
            out[-1].blocks.extend(t.blocks)
        else:
            out.append(t)
    return out
