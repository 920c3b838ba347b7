"""Sampling shots from a final state, and the lookup tables that make tiny jobs cheap.

Every shot draws one uniform; the kernel's ``sample`` scans the cumulative distribution once
for all of them (sorted), so all shots of a state cost one pass. The registers are then read
from the basis-state indices. A non-branching circuit over few qubits reads them from
:class:`TerminalLookup` tables instead, and a circuit without parameters (its final state
never changes) skips the kernel altogether: the thresholds at which the kernel's sampler
moves from one basis state to the next are computed once, so a shot is one bisection.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from functools import partial
from types import ModuleType

import numpy as np

from .compiler import CompiledCircuit

__all__ = [
    "FEW_SHOTS",
    "SCRATCH_QUBITS",
    "TABLE_BYTES",
    "TerminalLookup",
    "draw",
    "draw_few",
    "lookup_fits",
    "sampling_thresholds",
    "write_terminal",
]

#: Largest terminal lookup table kept (2**width * register bits, bytes).
TABLE_BYTES = 1 << 16
#: Sampling uses lookup tables and per-thread states up to this width.
SCRATCH_QUBITS = 10
#: Up to this many shots are looked up in plain Python.
FEW_SHOTS = 128


@dataclass
class TerminalLookup:
    """Registers of a small non-branching circuit as lookup tables over basis states.

    ``tables``: per register, ``(2**width, size)`` uint8 bits each basis state reads.
    ``thresholds``: for a circuit without parameters (its final state never changes), the
    uniform at which the kernel's sampler moves to each basis state, so a shot's index is
    ``thresholds.searchsorted(u, "right") - 1``; ``tables`` then have one extra first row
    so that ``searchsorted`` indexes them directly.
    """

    tables: dict[str, np.ndarray]
    thresholds: np.ndarray | None

    def __post_init__(self) -> None:
        # For few shots: the same lookups in plain Python (see read_fixed).
        self.bounds: list[float] = [] if self.thresholds is None else self.thresholds.tolist()
        self.rows = {
            name: (t.shape[1], [row.tobytes() for row in t]) for name, t in self.tables.items()
        }

    @classmethod
    def build(
        cls, compiled: CompiledCircuit, kernel: ModuleType, fixed_state: np.ndarray | None
    ) -> TerminalLookup:
        """The tables of ``compiled`` (which must :func:`lookup_fits`); ``fixed_state`` is its
        final state when it has no parameters (then shots need no kernel call), else None."""
        size = 2**compiled.width
        basis = np.arange(size, dtype=np.int64)
        tables = {
            name: np.zeros((size, count), dtype=np.uint8)
            for name, count in compiled.registers.items()
        }
        for position, reg, bit in compiled.terminal:  # later reads of a bit win
            tables[reg][:, bit] = 0 if position is None else (basis >> position) & 1
        thresholds = None
        if fixed_state is not None:
            thresholds = sampling_thresholds(kernel, fixed_state)
            # searchsorted gives index + 1: shift the rows to match.
            tables = {name: np.concatenate([t[:1], t]) for name, t in tables.items()}
        for table in tables.values():
            table.setflags(write=False)
        return cls(tables, thresholds)

    def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """The registers of shots that ended in basis states ``indices`` (table rows)."""
        return {name: table.take(indices, axis=0) for name, table in self.tables.items()}

    def read_fixed(self, uniforms: np.ndarray) -> dict[str, np.ndarray]:
        """The registers of shots drawn with ``uniforms`` (``thresholds`` must be set).

        Up to :data:`FEW_SHOTS` shots are looked up in plain Python: numpy's
        ``searchsorted``, ``take`` and ``argsort`` release the GIL, and taking it back from a
        busy runtime thread costs more than the whole lookup.
        """
        shots = len(uniforms)
        if shots > FEW_SHOTS:
            assert self.thresholds is not None
            return self.read(self.thresholds.searchsorted(uniforms, "right"))
        return self.read_list(list(map(partial(bisect_right, self.bounds), uniforms.tolist())))

    def read_list(self, indices: list[int]) -> dict[str, np.ndarray]:
        """:meth:`read` in plain Python, for few shots (no numpy call that drops the GIL)."""
        out = {}
        for name, (size, rows) in self.rows.items():
            data = bytearray(b"".join(map(rows.__getitem__, indices)))
            out[name] = np.frombuffer(data, dtype=np.uint8).reshape(len(indices), size)
        return out


def lookup_fits(compiled: CompiledCircuit) -> bool:
    """Whether ``compiled`` is narrow enough for :class:`TerminalLookup` tables."""
    bits = max(sum(compiled.registers.values()), 1)
    return compiled.width <= SCRATCH_QUBITS and (2**compiled.width) * bits <= TABLE_BYTES


def sampling_thresholds(kernel: ModuleType, state: np.ndarray) -> np.ndarray:
    """``t`` with ``kernel.sample(state, [u])[0] == t.searchsorted(u, "right") - 1`` for every
    uniform ``u`` that ``Generator.random`` can return (multiples of 2**-53 in [0, 1)).

    The kernel's index is a non-decreasing function of ``u`` (a scan of the cumulative
    distribution), computed independently per uniform; a bisection over the 2**53 values
    for all basis states at once finds the first ``u`` reaching each index (1.0: none).
    """
    count = state.size
    want = np.arange(count, dtype=np.int64)
    lo = np.zeros(count, dtype=np.int64)
    hi = np.full(count, 1 << 53, dtype=np.int64)
    while True:
        open_ = lo < hi
        if not open_.any():
            break
        mid = (lo + hi) // 2  # non-decreasing along the array, as the kernel requires
        reached = kernel.sample(state, np.minimum(mid, (1 << 53) - 1) * 2.0**-53) >= want
        hi = np.where(open_ & reached, mid, hi)
        lo = np.where(open_ & ~reached, mid + 1, lo)
    thresholds = lo * 2.0**-53
    thresholds.setflags(write=False)
    return thresholds


def draw(kernel: ModuleType, state: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
    """Basis-state index of each of ``shots`` shots of ``state`` (int64, shot order)."""
    uniforms = rng.random(shots)
    order = uniforms.argsort(kind="stable")
    indices = np.empty(shots, dtype=np.int64)
    indices[order] = kernel.sample(state, uniforms[order])
    return indices


def draw_few(
    kernel: ModuleType, state: np.ndarray, shots: int, rng: np.random.Generator
) -> list[int]:
    """:func:`draw` (the same indices), sorting and unsorting in plain Python."""
    uniforms = rng.random(shots).tolist()
    order = sorted(range(shots), key=uniforms.__getitem__)  # stable, as in draw
    picked = kernel.sample(state, np.array([uniforms[i] for i in order])).tolist()
    indices = [0] * shots
    for i, index in zip(order, picked):
        indices[i] = index
    return indices


def write_terminal(
    kernel: ModuleType,
    compiled: CompiledCircuit,
    state: np.ndarray,
    out: dict[str, np.ndarray],
    rows: slice,
    rng: np.random.Generator,
) -> None:
    """Sample ``rows`` of ``out`` from ``state``: the deferred (terminal) measurements."""
    if not compiled.terminal:
        return
    indices = draw(kernel, state, rows.stop - rows.start, rng)
    for position, reg, bit in compiled.terminal:
        if position is None:
            out[reg][rows, bit] = 0
        else:
            out[reg][rows, bit] = (indices >> position) & 1
