"""Fusion policy: how far to fuse, and whether to tile, for a state of a given size.

:class:`FusionOptions` holds the limits and the cost model (chosen per precision, thread
count and instruction set by :meth:`FusionOptions.for_state`); :func:`fuse_and_tile` asks
:mod:`.fusion` for blocks and tiles and keeps the cheapest plan: tiles of the default size,
larger tiles held in the shared (L3) cache, or wider blocks applied gate by gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

from .fusion import CostModel, FusedBlock, OpInfo, Tile, block_cost, fuse, schedule_tiles

__all__ = ["FusionOptions", "fuse_and_tile"]

#: compute slowdown of gates in tiles that overflow L2 (estimate)
_L3_FACTOR = 1.2


@dataclass(frozen=True)
class FusionOptions:
    """How plans fuse and tile (``StatevectorSimulator(fusion=...)``).

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


def fuse_and_tile(
    infos: list[OpInfo], width: int, options: FusionOptions
) -> tuple[list[FusedBlock], list[Tile]]:
    """Fused blocks of ``infos`` and their tiles, on a ``width``-qubit state.

    The cheapest plan by the cost model: tiles of the default size, larger tiles (held in
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
