"""The statevector simulator: runs neutral circuits on the C kernels.

The simulator compiles each circuit structure once (an LRU cache keyed by
:meth:`Circuit.structure_key`; fusion and tiling are decided there: :mod:`.compiler`),
allocates a state over the qubits the circuit actually touches (:mod:`.memory`), runs each
run of gates in one kernel call with the GIL released (:class:`~.plan.Plan`), and then
samples all shots in one pass (:mod:`.sampling`), evaluates Pauli sums from X/Z masks built
once per observable list (:mod:`.expectation`), or returns the state. Mid-circuit
measurements, resets and classically conditioned gates run on per-shot branches
(:mod:`.branches`).

Precision (:mod:`.precision`): ``auto`` (the default) computes in complex128 except when
sampling circuits of :data:`~.precision.AUTO_SINGLE_FROM` qubits or more, which a
complex64 twin of the simulator (its own compile caches) samples, where shot noise dwarfs
the rounding; ``double`` and ``single`` force one precision everywhere.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from ..core.ir.circuit import Circuit
from ..core.ir.observables import PauliSum
from ..core.ir.params import ParamExpr
from ..core.ir.payload import touched_qubits
from ..errors import InputError, InvalidCircuitError
from .branches import run_branches
from .compiler import CompiledCircuit, compile_circuit
from .expectation import PauliTable, pauli_table
from .fusion_policy import FusionOptions
from .kernels import load_kernel
from .memory import StateMemory, aligned_zeros, scatter_into
from .plan import Plan
from .precision import AUTO_SINGLE_FROM, resolve_precision
from .rng import JobRandom
from .sampling import (
    FEW_SHOTS,
    SCRATCH_QUBITS,
    TerminalLookup,
    draw,
    draw_few,
    lookup_fits,
    write_terminal,
)

__all__ = ["StatevectorSimulator"]

_DTYPES = {"auto": np.complex128, "double": np.complex128, "single": np.complex64}
_PROGRAMS_KEPT = 64  # circuits whose compiled form is found by identity
_OBSERVABLE_LISTS_KEPT = 32  # observable lists whose Pauli tables are kept


class _StructureKey:
    """A circuit's structure key with its hash computed once (the key is a long tuple)."""

    __slots__ = ("key", "hash")

    def __init__(self, key: tuple[Any, ...]) -> None:
        self.key = key
        self.hash = hash(key)

    def __hash__(self) -> int:
        return self.hash

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, _StructureKey):
            return NotImplemented
        return self is other or (self.hash == other.hash and self.key == other.key)


class StatevectorSimulator:
    """Exact statevector simulation of :class:`Circuit` objects.

    Args:
        precision: ``"auto"`` (default: complex128, but circuits of 16 qubits or more are
            sampled in complex64, see :mod:`~qsession_provider.sim.precision`),
            ``"double"`` (complex128 everywhere) or ``"single"`` (complex64 everywhere);
            default from the ``QSESSION_PRECISION`` environment variable, else ``"auto"``.
        kernel: ``"c"`` (default) or ``"reference"`` (pure numpy); default from
            the ``QSESSION_KERNEL`` environment variable.
        max_memory: refuse states larger than this many bytes; default: the memory
            the OS reports as available when the state is allocated.
        cache_size: number of compiled circuit structures kept.
        fusion: fuse gates into blocks (default True); False runs every gate on its own
            (for comparison), an integer sets the largest dense block in qubits, and a
            :class:`~qsession_provider.sim.fusion_policy.FusionOptions` sets everything.
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
        precision: str | None = None,
        kernel: str | None = None,
        max_memory: int | None = None,
        cache_size: int = 256,
        fusion: bool | int | FusionOptions = True,
        tiling: bool = True,
    ) -> None:
        self.precision = resolve_precision(precision)
        self.dtype = np.dtype(_DTYPES[self.precision])
        self.kernel = load_kernel(kernel)
        self.memory = StateMemory(self.dtype, max_memory)
        self.job_random = JobRandom()  # the generators of this simulator's jobs (execute)
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
        self._cache: dict[_StructureKey, CompiledCircuit] = {}  # LRU: oldest first
        self._cache_size = cache_size
        self._obs_cache: OrderedDict[Any, Any] = OrderedDict()
        self._lock = threading.Lock()
        # Sampling: terminal lookup tables by id(compiled), small per-thread state buffers.
        self._tables: dict[int, tuple[CompiledCircuit, TerminalLookup | None]] = {}
        self._scratch = threading.local()
        self._by_circuit: dict[int, tuple[Circuit, tuple[Any, ...], CompiledCircuit]] = {}
        # precision="auto": the complex64 twin that samples wide circuits (made on first use)
        self._twin_args = (kernel, cache_size, fusion, tiling)
        self._single: StatevectorSimulator | None = None

    @property
    def max_memory(self) -> int | None:
        """The largest state allowed, in bytes (None: what the OS reports as available)."""
        return self.memory.max_memory

    @max_memory.setter
    def max_memory(self, value: int | None) -> None:
        self.memory.max_memory = value
        if self._single is not None:
            self._single.max_memory = value

    def sampling_simulator(self, circuit: Circuit) -> StatevectorSimulator:
        """The simulator that samples ``circuit``: this one, or with ``precision="auto"``
        its complex64 twin when the circuit touches :data:`~.precision.AUTO_SINGLE_FROM`
        qubits or more. Its ``precision`` says which ran (``"single"`` for the twin)."""
        if self.precision != "auto" or touched_qubits(circuit) < AUTO_SINGLE_FROM:
            return self
        single = self._single
        if single is None:
            kernel, cache_size, fusion, tiling = self._twin_args
            made = StatevectorSimulator(
                precision="single",
                kernel=kernel,
                max_memory=self.memory.max_memory,
                cache_size=cache_size,
                fusion=fusion,
                tiling=tiling,
            )
            made.job_random = self.job_random
            with self._lock:
                if self._single is None:
                    self._single = made
                single = self._single
        return single

    # -- compilation -------------------------------------------------------------------
    def compile(self, circuit: Circuit) -> CompiledCircuit:
        """The compiled form of ``circuit`` (cached by structure).

        A structure key is hashed once and compared once (a circuit's parameter
        expressions compare in Python): a hit is taken out of the LRU (a plain dict in
        insertion order, whose ``pop`` looks the key up once) and put back under the new
        key, which makes it the most recent.
        """
        if not isinstance(circuit, Circuit):
            raise InputError(f"expected a Circuit, got {type(circuit).__name__}")
        key = _StructureKey(circuit.structure_key())
        with self._lock:
            compiled = self._cache.pop(key, None)
            if compiled is not None:
                self._cache[key] = compiled
                return compiled
        compiled = compile_circuit(circuit, options=self.options)
        with self._lock:
            self._cache[key] = compiled
            while len(self._cache) > self._cache_size:
                del self._cache[next(iter(self._cache))]
        return compiled

    # -- public API --------------------------------------------------------------------
    def final_state(
        self, circuit: Circuit, values: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """The final state over all ``circuit.num_qubits`` qubits (Qiskit bit order).

        Raises:
            InvalidCircuitError: the circuit measures, resets or is conditioned, or a
                parameter is unbound / not finite.
            ResourceTooLargeError: the full-width state would not fit in memory.
        """
        if not circuit.is_unitary() or circuit.has_measurements():
            raise InvalidCircuitError(
                "final_state needs a unitary circuit (no measurements, resets or conditions)"
            )
        compiled = self.compile(circuit)
        vals = self._values(circuit, values)
        state = self._evolve(compiled, vals)
        phase = compiled.global_phase
        if isinstance(phase, ParamExpr):
            phase = float(phase.evaluate(vals))
        if phase:
            state *= np.exp(1j * phase).astype(self.dtype)
        if compiled.width == compiled.num_qubits:
            return state
        self.memory.check(compiled.num_qubits, "the full-width final state")
        full = aligned_zeros(2**compiled.num_qubits, self.dtype)
        scatter_into(full, state, compiled.active, compiled.num_qubits)
        return full

    def probabilities(
        self, circuit: Circuit, values: Mapping[str, float] | None = None
    ) -> np.ndarray:
        """Probabilities over the touched qubits, in the order of ``compile(circuit).active``."""
        compiled = self.compile(circuit)
        if compiled.branching:
            raise InvalidCircuitError("probabilities need a circuit without mid-circuit operations")
        state = self._evolve(compiled, self._values(circuit, values))
        return self.kernel.probabilities(state)

    def sample(
        self,
        circuit: Circuit,
        shots: int,
        values: Mapping[str, float] | None = None,
        seed: int | np.random.Generator | None = None,
    ) -> dict[str, np.ndarray]:
        """Sample ``shots`` shots; returns register name -> ``(shots, size)`` uint8 bits.

        Column ``j`` of a register's array is bit ``j`` of that register. The same seed
        gives the same shots (with the same precision). With ``precision="auto"``, wide
        circuits are sampled by :meth:`sampling_simulator` (complex64).
        """
        if isinstance(shots, bool) or not isinstance(shots, (int, np.integer)) or shots <= 0:
            raise InputError(f"shots must be a positive integer, got {shots!r}")
        if not isinstance(circuit, Circuit):
            raise InputError(f"expected a Circuit, got {type(circuit).__name__}")
        target = self.sampling_simulator(circuit)
        compiled = target.compiled_for(circuit)
        vals = self._values(circuit, values)
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        return target.sample_compiled(compiled, int(shots), vals, rng)

    def sample_compiled(
        self,
        compiled: CompiledCircuit,
        shots: int,
        values: Mapping[str, float] | np.ndarray,
        rng: np.random.Generator,
    ) -> dict[str, np.ndarray]:
        """:meth:`sample` for a compiled circuit and checked ``values`` (a mapping, or an
        array in ``compiled.parameters`` order), in this simulator's own dtype (no
        automatic choice: that is :meth:`sampling_simulator`'s)."""
        vals = values
        if not compiled.branching and compiled.terminal:
            lookup = self._terminal_lookup(compiled)
            if lookup is not None:  # small width: read every register from a lookup table
                if lookup.thresholds is not None:  # fixed state: no kernel call at all
                    return lookup.read_fixed(rng.random(int(shots)))
                state = self._evolve_scratch(compiled, vals)
                if shots <= FEW_SHOTS:
                    return lookup.read_list(draw_few(self.kernel, state, int(shots), rng))
                return lookup.read(draw(self.kernel, state, int(shots), rng))
        out = {
            name: np.zeros((int(shots), size), dtype=np.uint8)
            for name, size in compiled.registers.items()
        }
        if not compiled.branching:
            state = self._evolve(compiled, vals)
            write_terminal(self.kernel, compiled, state, out, slice(0, shots), rng)
            return out
        start = 0
        branches = run_branches(compiled, vals, int(shots), rng, self.kernel, self.memory)
        for branch in branches:
            rows = slice(start, start + branch.shots)
            for (reg, bit), value in branch.bits.items():
                out[reg][rows, bit] = value
            write_terminal(self.kernel, compiled, branch.state, out, rows, rng)
            start += branch.shots
        order = rng.permutation(int(shots))
        return {name: arr[order] for name, arr in out.items()}

    def expectation_values(
        self,
        circuit: Circuit,
        observables: Sequence[PauliSum],
        values: Mapping[str, float] | None = None,
    ) -> np.ndarray:
        """Exact ``Re <psi|O|psi>`` for each observable, as a float64 array."""
        if not circuit.is_unitary():
            raise InvalidCircuitError(
                "expectation values need a unitary circuit (no measurements, resets or conditions)"
            )
        compiled = self.compile(circuit)
        state = self._evolve(compiled, self._values(circuit, values))
        return self.expectations_of_state(compiled, state, observables)

    # -- shared with the circuit executors ---------------------------------------------
    def compiled_for(self, circuit: Circuit) -> CompiledCircuit:
        """:meth:`compile`, remembered by circuit identity.

        Jobs of a loop usually carry the same :class:`Circuit` object; this skips hashing
        its structure key (tens of microseconds for a circuit with many parameters).
        """
        hit = self._by_circuit.get(id(circuit))
        if hit is not None and hit[0] is circuit and hit[1] is circuit.operations:
            return hit[2]
        compiled = self.compile(circuit)
        with self._lock:
            self._by_circuit[id(circuit)] = (circuit, circuit.operations, compiled)
            while len(self._by_circuit) > _PROGRAMS_KEPT:
                self._by_circuit.pop(next(iter(self._by_circuit)))
        return compiled

    def evolve(
        self, compiled: CompiledCircuit, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        """The state over ``compiled.active`` after all gates (no global phase applied).

        ``values`` maps parameter names to numbers, or is a float array ordered like
        ``compiled.parameters`` (the fast path of parameter sweeps); it is not checked here.
        """
        return self._evolve(compiled, values)

    def expectations_of_state(
        self, compiled: CompiledCircuit, state: np.ndarray, observables: Sequence[PauliSum]
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
        self, compiled: CompiledCircuit, observables: Sequence[PauliSum]
    ) -> PauliTable:
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
        table = pauli_table(compiled, observables)
        with self._lock:
            self._obs_cache[key] = (compiled, tuple(observables), table)
            while len(self._obs_cache) > _OBSERVABLE_LISTS_KEPT:
                self._obs_cache.popitem(last=False)
        return table

    # -- internals ---------------------------------------------------------------------
    def _values(self, circuit: Circuit, values: Mapping[str, float] | None) -> Mapping[str, float]:
        vals = values or {}
        circuit.check_bindings(vals)
        return vals

    def _evolve(
        self, compiled: CompiledCircuit, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        state = self.memory.zero_state(compiled.width)
        for segment in compiled.segments:
            if isinstance(segment, Plan):
                segment.run(self.kernel, state, values)
        return state

    def _terminal_lookup(self, compiled: CompiledCircuit) -> TerminalLookup | None:
        """How to read the registers of a non-branching circuit from basis-state indices,
        if its tables are small; None otherwise. Cached per compiled circuit."""
        hit = self._tables.get(id(compiled))
        if hit is not None and hit[0] is compiled:
            return hit[1]
        lookup: TerminalLookup | None = None
        if lookup_fits(compiled):
            fixed = None if compiled.parameters else self._evolve(compiled, np.zeros(0))
            lookup = TerminalLookup.build(compiled, self.kernel, fixed)
        with self._lock:
            self._tables[id(compiled)] = (compiled, lookup)
            while len(self._tables) > self._cache_size:
                self._tables.pop(next(iter(self._tables)))
        return lookup

    def _evolve_scratch(
        self, compiled: CompiledCircuit, values: Mapping[str, float] | np.ndarray
    ) -> np.ndarray:
        """:meth:`_evolve` into this thread's reused state buffer when the width is small.

        The result is only valid until the next call on this thread (sampling reads it once).
        """
        width = compiled.width
        if width > SCRATCH_QUBITS:
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
                segment.run(self.kernel, state, values)
        return state
