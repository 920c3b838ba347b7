"""The statevector simulator: runs neutral programs on the C kernels.

The simulator compiles each program structure once (an LRU cache keyed by
:meth:`Circuit.structure_key`; fusion and tiling are decided there), allocates a state over
the qubits the program actually touches (64-byte aligned, zeroed by the OS, no other copy),
runs each run of gates in one kernel call with the GIL released, and then samples all shots
in one pass, evaluates Pauli sums from X/Z masks (built once per observable list), or returns
the state.
Mid-circuit measurements, resets and classically conditioned gates are simulated by
per-shot branches: each branch carries a state and the number of shots that took it.
"""

from __future__ import annotations

import mmap
import os
import threading
from bisect import bisect_right
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from ..core.ir.circuit import Circuit, Condition
from ..core.ir.observables import PauliSum
from ..core.ir.params import ParamExpr
from ..errors import InputError, InvalidProgramError, ResourceTooLargeError
from .compiler import (
    CompiledProgram,
    FusionOptions,
    GateStep,
    MeasureStep,
    Plan,
    ResetStep,
    compile_program,
)
from .kernels import load_kernel

__all__ = ["StatevectorSimulator", "available_memory"]

_X = np.array([0, 1, 1, 0], dtype=np.complex128)
_DTYPES = {"double": np.complex128, "single": np.complex64}


def available_memory() -> int:
    """Bytes of memory the OS reports as available (MemAvailable), or physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


_SMALL = 1 << 26  # states up to 64 MiB skip the available-memory check
_HUGE = 1 << 22  # states from 4 MiB up live in anonymous maps with transparent huge pages
_TABLE_BYTES = 1 << 16  # largest terminal lookup table (2**width * register bits) kept
_SCRATCH_QUBITS = 10  # sampling uses lookup tables and per-thread states up to this width
_PROGRAMS_KEPT = 64  # programs whose compiled form is found by identity
_FEW_SHOTS = 128  # up to this many shots are looked up in plain Python


def aligned_zeros(size: int, dtype: Any) -> np.ndarray:
    """A zeroed 1-D array whose data starts on a 64-byte boundary (whole vector loads).

    Memory comes from the OS already zeroed, so pages are only touched when used (no extra
    pass, no resident copy). Large states are anonymous maps advised to use transparent huge
    pages where the OS allows, which spares TLB misses when tiles gather strided runs.
    """
    itemsize = np.dtype(dtype).itemsize
    nbytes = size * itemsize
    if nbytes >= _HUGE:
        try:
            buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        except (OSError, ValueError, AttributeError):
            buf = None
        if buf is not None:
            advice = getattr(mmap, "MADV_HUGEPAGE", None)
            if advice is not None:
                try:
                    buf.madvise(advice)
                except OSError:
                    pass
            return np.frombuffer(buf, dtype=dtype)  # page-aligned, writeable
    raw = np.zeros(nbytes + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start : start + nbytes].view(dtype)


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


@dataclass
class _Branch:
    """A set of shots that share one state and one classical record."""

    state: np.ndarray
    shots: int
    bits: dict[tuple[str, int], int]


@dataclass
class _Lookup:
    """Registers of a small non-branching program as lookup tables over basis states.

    ``tables``: per register, ``(2**width, size)`` uint8 bits each basis state reads.
    ``thresholds``: for a program without parameters (its final state never changes), the
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

    def read(self, indices: np.ndarray) -> dict[str, np.ndarray]:
        """The registers of shots that ended in basis states ``indices`` (table rows)."""
        return {name: table.take(indices, axis=0) for name, table in self.tables.items()}

    def read_fixed(self, uniforms: np.ndarray) -> dict[str, np.ndarray]:
        """The registers of shots drawn with ``uniforms`` (``thresholds`` must be set).

        Up to ``_FEW_SHOTS`` shots are looked up in plain Python: numpy's ``searchsorted``,
        ``take`` and ``argsort`` release the GIL, and taking it back from a busy runtime
        thread costs more than the whole lookup.
        """
        shots = len(uniforms)
        if shots > _FEW_SHOTS:
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


def _thresholds(kernel: Any, state: np.ndarray) -> np.ndarray:
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


class StatevectorSimulator:
    """Exact statevector simulation of :class:`Circuit` objects.

    Args:
        precision: ``"double"`` (complex128, default) or ``"single"`` (complex64).
        kernel: ``"c"`` (default) or ``"reference"`` (pure numpy); default from
            the ``QSESSION_KERNEL`` environment variable.
        max_memory: refuse states larger than this many bytes; default: the memory
            the OS reports as available when the state is allocated.
        cache_size: number of compiled program structures kept.
        fusion: fuse gates into blocks (default True); False runs every gate on its own
            (for comparison), an integer sets the largest dense block in qubits, and a
            :class:`~qsession_provider.sim.compiler.FusionOptions` sets everything.
        tiling: group gates into cache-sized tiles on states larger than the cache.

    Example:
        >>> from qsession_provider.core import Circuit, Gate, Measure
        >>> bell = Circuit(2, [Gate("h", (0,)), Gate("x", (1,), controls=(0,)),
        ...                    Measure(0, "c", 0), Measure(1, "c", 1)], {"c": 2})
        >>> bits = StatevectorSimulator().sample(bell, shots=4, seed=1)["c"]
        >>> bits.shape
        (4, 2)
    """

    def __init__(
        self,
        *,
        precision: str = "double",
        kernel: str | None = None,
        max_memory: int | None = None,
        cache_size: int = 256,
        fusion: bool | int | FusionOptions = True,
        tiling: bool = True,
    ) -> None:
        if precision not in _DTYPES:
            raise InputError(f"precision must be 'double' or 'single', got {precision!r}")
        self.precision = precision
        self.dtype = np.dtype(_DTYPES[precision])
        self.kernel = load_kernel(kernel)
        self.max_memory = max_memory
        if isinstance(fusion, FusionOptions):
            self.options = fusion
        else:
            self.options = FusionOptions.for_state(
                self.dtype.itemsize,
                fusion,
                tiling,
                threads=int(self.kernel.get_num_threads()),
                simd=str(self.kernel.simd_level()),
            )
        self._cache: OrderedDict[Any, CompiledProgram] = OrderedDict()
        self._cache_size = cache_size
        self._obs_cache: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        # Sampling: terminal lookup tables by id(compiled), small per-thread state buffers.
        self._tables: dict[int, tuple[CompiledProgram, _Lookup | None]] = {}
        self._scratch = threading.local()
        self._by_program: dict[int, tuple[Circuit, tuple[Any, ...], CompiledProgram]] = {}

    # -- compilation -------------------------------------------------------------------
    def compile(self, program: Circuit) -> CompiledProgram:
        """The compiled form of ``program`` (cached by structure)."""
        if not isinstance(program, Circuit):
            raise InputError(f"expected a Circuit, got {type(program).__name__}")
        key = program.structure_key()
        with self._lock:
            compiled = self._cache.get(key)
            if compiled is not None:
                self._cache.move_to_end(key)
                return compiled
        compiled = compile_program(program, options=self.options)
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)
        return compiled

    # -- public API --------------------------------------------------------------------
    def final_state(
        self, program: Circuit, values: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """The final state over all ``program.num_qubits`` qubits (Qiskit bit order).

        Raises:
            InvalidProgramError: the program measures, resets or is conditioned, or a
                parameter is unbound / not finite.
            ResourceTooLargeError: the full-width state would not fit in memory.
        """
        if not program.is_unitary() or program.has_measurements():
            raise InvalidProgramError(
                "final_state needs a unitary program (no measurements, resets or conditions)"
            )
        compiled = self.compile(program)
        vals = self._values(program, values)
        state = self._evolve(compiled, vals)
        phase = compiled.global_phase
        if isinstance(phase, ParamExpr):
            phase = float(phase.evaluate(vals))
        if phase:
            state *= np.exp(1j * phase).astype(self.dtype)
        if compiled.width == compiled.num_qubits:
            return state
        self._check_memory(compiled.num_qubits, "the full-width final state")
        full = aligned_zeros(2**compiled.num_qubits, self.dtype)
        _scatter_into(full, state, compiled.active, compiled.num_qubits)
        return full

    def probabilities(
        self, program: Circuit, values: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Probabilities over the touched qubits, in the order of ``compile(program).active``."""
        compiled = self.compile(program)
        if compiled.branching:
            raise InvalidProgramError("probabilities need a program without mid-circuit operations")
        state = self._evolve(compiled, self._values(program, values))
        return self.kernel.probabilities(state)

    def sample(
        self,
        program: Circuit,
        shots: int,
        values: Mapping[str, float] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> dict[str, np.ndarray]:
        """Sample ``shots`` shots; returns register name -> ``(shots, size)`` uint8 bits.

        Column ``j`` of a register's array is bit ``j`` of that register. The same seed
        gives the same shots.
        """
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
            raise InputError(f"shots must be a positive integer, got {shots!r}")
        compiled = self.compiled_for(program)
        vals = self._values(program, values)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return self.sample_compiled(compiled, int(shots), vals, rng)

    def sample_compiled(
        self,
        compiled: CompiledProgram,
        shots: int,
        values: Mapping[str, float] | np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """:meth:`sample` for a compiled program and checked ``values`` (a mapping, or an
        array in ``compiled.parameters`` order)."""
        vals = values
        if not compiled.branching and compiled.terminal:
            lookup = self._terminal_lookup(compiled)
            if lookup is not None:  # small width: read every register from a lookup table
                if lookup.thresholds is not None:  # fixed state: no kernel call at all
                    return lookup.read_fixed(rng.random(int(shots)))
                state = self._evolve_scratch(compiled, vals)
                if shots <= _FEW_SHOTS:
                    return lookup.read_list(self._draw_few(state, int(shots), rng))
                return lookup.read(self._draw(state, int(shots), rng))
        out = {
            name: np.zeros((int(shots), size), dtype=np.uint8)
            for name, size in compiled.registers.items()
        }
        if not compiled.branching:
            state = self._evolve(compiled, vals)
            self._write_terminal(compiled, state, out, slice(0, shots), rng)
            return out
        start = 0
        for branch in self._branches(compiled, vals, int(shots), rng):
            rows = slice(start, start + branch.shots)
            for (reg, bit), value in branch.bits.items():
                out[reg][rows, bit] = value
            self._write_terminal(compiled, branch.state, out, rows, rng)
            start += branch.shots
        order = rng.permutation(int(shots))
        return {name: arr[order] for name, arr in out.items()}

    def expectation_values(
        self,
        program: Circuit,
        observables: Sequence[PauliSum],
        values: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Exact ``Re <psi|O|psi>`` for each observable, as a float64 array."""
        if not program.is_unitary():
            raise InvalidProgramError(
                "expectation values need a unitary program (no measurements, resets or conditions)"
            )
        compiled = self.compile(program)
        state = self._evolve(compiled, self._values(program, values))
        return self.expectations_of_state(compiled, state, observables)

    # -- shared with the program executors ---------------------------------------------
    def compiled_for(self, program: Circuit) -> CompiledProgram:
        """:meth:`compile`, remembered by program identity.

        Jobs of a loop usually carry the same :class:`Circuit` object; this skips hashing
        its structure key (tens of microseconds for a circuit with many parameters).
        """
        hit = self._by_program.get(id(program))
        if hit is not None and hit[0] is program and hit[1] is program.operations:
            return hit[2]
        compiled = self.compile(program)
        with self._lock:
            self._by_program[id(program)] = (program, program.operations, compiled)
            while len(self._by_program) > _PROGRAMS_KEPT:
                self._by_program.pop(next(iter(self._by_program)))
        return compiled

    def evolve(
        self, compiled: CompiledProgram, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        """The state over ``compiled.active`` after all gates (no global phase applied).

        ``values`` maps parameter names to numbers, or is a float array ordered like
        ``compiled.parameters`` (the fast path of parameter sweeps); it is not checked here.
        """
        return self._evolve(compiled, values)

    def expectations_of_state(
        self, compiled: CompiledProgram, state: np.ndarray, observables: Sequence[PauliSum]
    ) -> np.ndarray:
        """Expectation values of ``observables`` in ``state`` (a state over ``compiled.active``).

        The Pauli masks of a list of observables are built once and cached (by identity),
        so a loop over parameter sets only pays for one kernel call.
        """
        x, z, coeffs = self._observable_table(compiled, observables)
        if not len(x):
            return np.zeros(len(coeffs), dtype=float)
        vals = self.kernel.expectation_paulis(state, x, z)
        return np.asarray(coeffs @ vals, dtype=float)

    def _observable_table(
        self, compiled: CompiledProgram, observables: Sequence[PauliSum]
    ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        key = (id(compiled), tuple(id(o) for o in observables))
        with self._lock:
            hit = self._obs_cache.get(key)
            if (
                hit is not None
                and hit[0] is compiled
                and all(a is b for a, b in zip(hit[1], observables))
            ):
                self._obs_cache.move_to_end(key)
                return hit[2]
        x_masks: list[int] = []
        z_masks: list[int] = []
        index: dict[tuple[int, int], int] = {}
        terms: list[list[tuple[int, complex]]] = []
        for obs in observables:
            if not isinstance(obs, PauliSum):
                raise InputError(f"observable {obs!r} is not a PauliSum")
            if obs.max_qubit >= compiled.num_qubits:
                raise InputError(
                    f"observable acts on qubit {obs.max_qubit}, but the circuit has "
                    f"{compiled.num_qubits} qubits"
                )
            row = []
            for term in obs.terms:
                masks = term.masks(compiled.positions)
                if masks is None:
                    continue
                slot = index.get(masks)
                if slot is None:
                    slot = index[masks] = len(x_masks)
                    x_masks.append(masks[0])
                    z_masks.append(masks[1])
                row.append((slot, term.coeff))
            terms.append(row)
        coeffs = np.zeros((len(terms), len(x_masks)))
        for i, row in enumerate(terms):
            for slot, c in row:
                coeffs[i, slot] += c.real  # <P> is real, so only Re(c) contributes
        table = (np.array(x_masks, dtype=np.uint64), np.array(z_masks, dtype=np.uint64), coeffs)
        with self._lock:
            self._obs_cache[key] = (compiled, tuple(observables), table)
            while len(self._obs_cache) > 32:
                self._obs_cache.popitem(last=False)
        return table

    # -- internals ---------------------------------------------------------------------
    def _values(self, program: Circuit, values: Mapping[str, float] | None) -> Mapping[str, float]:
        vals = values or {}
        program.check_bindings(vals)
        return vals

    def _check_memory(self, width: int, what: str, copies: int = 1) -> None:
        need = (2**width) * self.dtype.itemsize * copies
        if self.max_memory is None and need <= _SMALL:
            return  # not worth reading /proc/meminfo for
        limit = self.max_memory if self.max_memory is not None else available_memory()
        if need > limit:
            raise ResourceTooLargeError(
                f"{what} needs a {width}-qubit {self.dtype.name} statevector of {_gib(need)}, but "
                f"only {_gib(limit)} is available; use precision='single' to halve it, "
                "or fewer qubits"
            )

    def _new_state(self, width: int) -> np.ndarray:
        self._check_memory(width, "this circuit")
        state = aligned_zeros(2**width, self.dtype)
        state[0] = 1.0
        return state

    def _evolve(
        self, compiled: CompiledProgram, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        state = self._new_state(compiled.width)
        for segment in compiled.segments:
            if isinstance(segment, Plan):
                self._run_plan(state, segment, values)
        return state

    def _run_plan(
        self, state: np.ndarray, plan: Plan, values: Mapping[str, float] | np.ndarray
    ) -> None:
        if len(plan.kinds):
            self._run_gates(state, plan, values)
        if plan.restore is not None:  # SWAP gates were relabelled: put the qubits back
            self.kernel.permute_qubits(state, plan.restore)

    def _run_gates(
        self, state: np.ndarray, plan: Plan, values: Mapping[str, float] | np.ndarray
    ) -> None:
        matrices, offsets = plan.bind(values, self.kernel)
        if plan.tile_offsets is not None:
            self.kernel.run_tiled(
                state,
                plan.kinds,
                plan.qubits,
                plan.qubit_offsets,
                matrices,
                offsets,
                plan.ctrl_counts,
                plan.ctrl_states,
                plan.tile_offsets,
                plan.tile_qubits,
                plan.tile_qubit_offsets,
            )
            return
        self.kernel.run_plan(
            state,
            plan.kinds,
            plan.qubits,
            plan.qubit_offsets,
            matrices,
            offsets,
            plan.ctrl_counts,
            plan.ctrl_states,
        )

    def _apply_step(self, state: np.ndarray, step: GateStep, values: Mapping[str, float]) -> None:
        data = step.bind(values)
        if step.kind == 1:
            self.kernel.apply_diagonal(state, step.targets, data, step.controls, step.ctrl_state)
        else:
            k = len(step.targets)
            self.kernel.apply_matrix(
                state, step.targets, data.reshape(2**k, 2**k), step.controls, step.ctrl_state
            )

    def _write_terminal(
        self,
        compiled: CompiledProgram,
        state: np.ndarray,
        out: dict[str, np.ndarray],
        rows: slice,
        rng: np.random.Generator,
    ) -> None:
        if not compiled.terminal:
            return
        indices = self._draw(state, rows.stop - rows.start, rng)
        for position, reg, bit in compiled.terminal:
            if position is None:
                out[reg][rows, bit] = 0
            else:
                out[reg][rows, bit] = (indices >> position) & 1

    def _draw(self, state: np.ndarray, shots: int, rng: np.random.Generator) -> np.ndarray:
        """Basis-state index of each of ``shots`` shots of ``state`` (int64, shot order)."""
        uniforms = rng.random(shots)
        order = uniforms.argsort(kind="stable")
        indices = np.empty(shots, dtype=np.int64)
        indices[order] = self.kernel.sample(state, uniforms[order])
        return indices

    def _draw_few(self, state: np.ndarray, shots: int, rng: np.random.Generator) -> list[int]:
        """:meth:`_draw` (the same indices), sorting and unsorting in plain Python."""
        uniforms = rng.random(shots).tolist()
        order = sorted(range(shots), key=uniforms.__getitem__)  # stable, as in _draw
        picked = self.kernel.sample(state, np.array([uniforms[i] for i in order])).tolist()
        indices = [0] * shots
        for i, index in zip(order, picked):
            indices[i] = index
        return indices

    def _terminal_lookup(self, compiled: CompiledProgram) -> _Lookup | None:
        """How to read the registers of a non-branching program from basis-state indices,
        if its tables are small; None otherwise. Cached per compiled program."""
        hit = self._tables.get(id(compiled))
        if hit is not None and hit[0] is compiled:
            return hit[1]
        lookup: _Lookup | None = None
        size = 2**compiled.width
        bits = max(sum(compiled.registers.values()), 1)
        if compiled.width <= _SCRATCH_QUBITS and size * bits <= _TABLE_BYTES:
            basis = np.arange(size, dtype=np.int64)
            tables = {
                name: np.zeros((size, count), dtype=np.uint8)
                for name, count in compiled.registers.items()
            }
            for position, reg, bit in compiled.terminal:  # later reads of a bit win
                tables[reg][:, bit] = 0 if position is None else (basis >> position) & 1
            thresholds = None
            if not compiled.parameters:
                state = self._evolve(compiled, np.zeros(0))
                thresholds = _thresholds(self.kernel, state)
                # searchsorted gives index + 1: shift the rows to match.
                tables = {name: np.concatenate([t[:1], t]) for name, t in tables.items()}
            for table in tables.values():
                table.setflags(write=False)
            lookup = _Lookup(tables, thresholds)
        with self._lock:
            self._tables[id(compiled)] = (compiled, lookup)
            while len(self._tables) > self._cache_size:
                self._tables.pop(next(iter(self._tables)))
        return lookup

    def _evolve_scratch(
        self, compiled: CompiledProgram, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        """:meth:`_evolve` into this thread's reused state buffer when the width is small.

        The result is only valid until the next call on this thread (sampling reads it once).
        """
        width = compiled.width
        if width > _SCRATCH_QUBITS:
            return self._evolve(compiled, values)
        buffers: dict[int, np.ndarray] | None = getattr(self._scratch, "states", None)
        if buffers is None:
            buffers = self._scratch.states = {}
        state = buffers.get(width)
        if state is None:
            state = buffers[width] = aligned_zeros(2**width, self.dtype)
        else:
            state.fill(0)
        state[0] = 1.0
        for segment in compiled.segments:  # as in _evolve
            if isinstance(segment, Plan):
                self._run_plan(state, segment, values)
        return state

    def _branches(
        self,
        compiled: CompiledProgram,
        values: Mapping[str, float] | np.ndarray,
        shots: int,
        rng: np.random.Generator,
    ) -> list[_Branch]:
        if isinstance(values, np.ndarray):  # conditioned gates bind one by one, by name
            values = dict(zip(compiled.parameters, values.tolist()))
        branches = [_Branch(self._new_state(compiled.width), shots, {})]
        for segment in compiled.segments:
            if isinstance(segment, Plan):
                for b in branches:
                    self._run_plan(b.state, segment, values)
                continue
            next_branches: list[_Branch] = []
            for b in branches:
                if segment.condition is not None and not _holds(
                    segment.condition, b.bits, compiled.registers
                ):
                    next_branches.append(b)
                elif isinstance(segment, GateStep):
                    self._apply_step(b.state, segment, values)
                    next_branches.append(b)
                else:
                    next_branches.extend(self._split(compiled, b, segment, rng, len(branches)))
            branches = next_branches
        return branches

    def _split(
        self,
        compiled: CompiledProgram,
        branch: _Branch,
        step: MeasureStep | ResetStep,
        rng: np.random.Generator,
        live: int,
    ) -> list[_Branch]:
        position = step.position
        if position is None:
            p1 = 0.0
        else:
            p1 = min(max(float(self.kernel.measure_probability(branch.state, position)), 0.0), 1.0)
        ones = (
            int(rng.binomial(branch.shots, p1))
            if 0.0 < p1 < 1.0
            else (branch.shots if p1 >= 1.0 else 0)
        )
        parts: list[tuple[int, int]] = [
            (o, n) for o, n in ((0, branch.shots - ones), (1, ones)) if n
        ]
        result = []
        for i, (outcome, count) in enumerate(parts):
            if i + 1 < len(parts):
                self._check_memory(compiled.width, "per-shot branching", copies=live + 1)
                state = branch.state.copy()
            else:
                state = branch.state
            if position is not None and 0.0 < p1 < 1.0:
                self.kernel.collapse(state, position, outcome, True)
            bits = dict(branch.bits)
            if isinstance(step, MeasureStep):
                bits[(step.register, step.bit)] = outcome
            elif outcome == 1 and position is not None:
                self.kernel.apply_matrix(state, (position,), _X.reshape(2, 2), (), -1)
            result.append(_Branch(state, count, bits))
        return result


def _holds(
    cond: Condition, bits: Mapping[tuple[str, int], int], registers: Mapping[str, int]
) -> bool:
    if cond.bit is not None:
        return bits.get((cond.register, cond.bit), 0) == cond.value
    value = sum(bits.get((cond.register, i), 0) << i for i in range(registers[cond.register]))
    return value == cond.value


def _scatter_into(full: np.ndarray, compact: np.ndarray, active: tuple[int, ...], n: int) -> None:
    """Copy the state over ``active`` (ascending) into ``full`` with the idle qubits at 0.

    A strided numpy copy: runs of consecutive active or idle qubits become one axis each,
    idle axes are fixed at index 0 (no index arrays, no extra memory).
    """
    used = set(active)
    dims: list[int] = []  # axis sizes, most significant qubit first
    pick: list[int | slice] = []
    q = n - 1
    while q >= 0:
        status = q in used
        length = 0
        while q >= 0 and (q in used) == status:
            length += 1
            q -= 1
        dims.append(2**length)
        pick.append(slice(None) if status else 0)
    view = full.reshape(dims)[tuple(pick)]
    view[...] = compact.reshape(view.shape)
