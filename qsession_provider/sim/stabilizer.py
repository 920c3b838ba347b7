"""Clifford circuits on a stabilizer simulator: our IR translated to stim, shots and Paulis.

A circuit runs here when every gate is a Clifford (by name, and for rotations and phases
by angles that are multiples of pi/2: :func:`clifford_translation`), every measurement and
reset is unconditional, and every classically conditioned gate is a Pauli conditioned on
one classical bit (stim's ``CX rec[-k] q``). Barriers and the global phase do nothing.
The translation of a circuit with its bound parameters is done once and kept
(:class:`StabilizerSimulator`); shots are sampled by stim's compiled sampler seeded from
the job's generator, so a seeded job gives the same bits again; registers come out in
the engine's neutral format, as :mod:`.execute` gives them (per register a
:class:`~qsession_provider.core.ir.bits.PackedBits` of ``shots`` strings; later writes of
a bit win, unwritten bits read 0). Pauli expectation values are exact (+1, -1 or 0 per
Pauli term) from stim's ``TableauSimulator``.

stim is imported on first use (:func:`load_stim`), so importing the engine stays light.
"""

from __future__ import annotations

import itertools
import math
import threading
from collections import OrderedDict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any

import numpy as np

from ..core.ir.bits import PackedBits
from ..core.ir.circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from ..core.ir.classical import CLASSICAL_OPERATIONS
from ..core.ir.gates import gate_matrix
from ..core.ir.noise import NoiseChannel, ReadoutError
from ..core.ir.observables import PauliSum
from ..core.ir.params import ParamExpr
from ..errors import InputError

__all__ = [
    "CLIFFORD_GATES",
    "QUARTER_TURN_GATES",
    "NotClifford",
    "StabilizerProgram",
    "StabilizerSimulator",
    "clifford_translation",
    "load_stim",
]

#: Gates that are Clifford whatever happens (they take no parameters).
CLIFFORD_GATES = frozenset(
    {"id", "x", "y", "z", "h", "s", "sdg", "sx", "sxdg", "swap", "iswap", "ecr", "dcx"}
)
#: Gates whose every parameter is an angle: Clifford when each is a multiple of pi/2.
QUARTER_TURN_GATES = frozenset(
    {"rx", "ry", "rz", "p", "u1", "u2", "u3", "u", "r", "rxx", "ryy", "rzz", "rzx"}
)
#: Cirq-style power gates ``(exponent, global_shift)``: Clifford candidates when the
#: exponent is a multiple of 1/2 (the matrix check below decides).
_HALF_POWER_GATES = frozenset({"xpow", "ypow", "zpow", "zzpow", "xxpow", "yypow", "swappow"})
#: Matrices of at most this many qubits (targets and controls) are checked for Clifford.
_MAX_CLIFFORD_QUBITS = 2
_ATOL = 1e-9
_PROGRAMS_KEPT = 256
_GATES_KEPT = 4096
_STIM: list[ModuleType] = []


def load_stim() -> ModuleType:
    """The ``stim`` module (imported on first use).

    Raises:
        InputError: stim is not installed.
    """
    if not _STIM:
        try:
            import stim
        except ImportError:  # pragma: no cover - stim is a base dependency
            raise InputError("the stabilizer method needs stim: pip install 'stim>=1.13'") from None
        _STIM.append(stim)
    return _STIM[0]


@dataclass(frozen=True)
class NotClifford:
    """Why a circuit cannot run on the stabilizer method.

    Attributes:
        non_clifford_gates: gates that are not Clifford at the bound parameter values.
        reason: the first operation that cannot be expressed, and why.
    """

    non_clifford_gates: int
    reason: str


@dataclass(frozen=True)
class StabilizerProgram:
    """A circuit translated to stim.

    Attributes:
        circuit: the ``stim.Circuit`` (qubit ``q`` of the IR is stim qubit ``q``).
        columns: per classical register, the measurement record index that each bit reads
            last (-1: never written, reads 0).
        num_qubits: the IR circuit's width.
    """

    circuit: Any
    columns: Mapping[str, np.ndarray]
    num_qubits: int
    #: Readout errors: ``(measurement record, P(read 1 | 0), P(read 0 | 1))`` each.
    readout: tuple[tuple[int, float, float], ...] = ()
    #: True when a noise channel that is not a Pauli channel was replaced by its Pauli
    #: twirl (an approximation; exact Pauli channels and readout errors are not).
    approximated: bool = False

    def registers(self, samples: np.ndarray) -> dict[str, PackedBits]:
        """Registers (packed, ``(shots,)`` strings) from stim's ``(shots, measurements)`` bits."""
        shots = samples.shape[0]
        out = {}
        for name, cols in self.columns.items():
            bits = np.zeros((shots, len(cols)), dtype=np.bool_)
            written = cols >= 0
            if written.any():
                bits[:, written] = samples[:, cols[written]]
            out[name] = PackedBits.from_bits(bits)
        return out


# -- one gate ----------------------------------------------------------------------------------


def _quarter_turns(params: Sequence[float], step: float) -> bool:
    return all(abs(p / step - round(p / step)) <= _ATOL * max(1.0, abs(p / step)) for p in params)


def _controlled(matrix: np.ndarray, num_controls: int, ctrl_state: int | None) -> np.ndarray:
    """``matrix`` (targets on the low bits) controlled by the qubits on the high bits."""
    if not num_controls:
        return matrix
    dim = len(matrix)
    full = np.eye(dim << num_controls, dtype=complex)
    state = (1 << num_controls) - 1 if ctrl_state is None else ctrl_state
    block = slice(state * dim, (state + 1) * dim)
    full[block, block] = matrix
    return full


_ROUNDED = np.array([0.0, 1.0, -1.0, 1 / math.sqrt(2), -1 / math.sqrt(2), 0.5, -0.5])


def _snap(matrix: np.ndarray) -> np.ndarray | None:
    """``matrix`` with its global phase removed and each part rounded to the values a
    Clifford unitary's entries take, or None when an entry is not one of them."""
    flat = matrix.ravel()
    pivot = flat[np.argmax(np.abs(flat) > 0.1)]
    m = matrix * (abs(pivot) / pivot)
    parts = np.stack([m.real, m.imag])
    nearest = _ROUNDED[np.abs(parts[..., None] - _ROUNDED).argmin(axis=-1)]
    if np.abs(parts - nearest).max() > 1e-8:
        return None
    return nearest[0] + 1j * nearest[1]


_GATE_CACHE: dict[tuple[Any, ...], tuple[tuple[str, tuple[int, ...]], ...] | None] = {}
_GATE_LOCK = threading.Lock()


def clifford_translation(
    gate: Gate, params: tuple[float, ...]
) -> tuple[tuple[str, tuple[int, ...]], ...] | None:
    """stim instructions ``(name, local targets)`` for ``gate`` at ``params``, or None when it
    is not a Clifford. Local target ``j`` is ``gate.qubits[j]`` for ``j < len(qubits)``,
    then the controls. Decided by name and angles first, then by stim from the matrix."""
    name = gate.name
    k = len(gate.qubits) + len(gate.controls)
    if k > _MAX_CLIFFORD_QUBITS:
        return None
    if name in QUARTER_TURN_GATES:
        if not _quarter_turns(params, math.pi / 2):
            return None
    elif name in _HALF_POWER_GATES:
        if not _quarter_turns(params[:1], 0.5):
            return None
    elif name != "unitary" and name not in CLIFFORD_GATES:
        return None  # t, tdg, fsim, ... (a matrix check would refuse them anyway)
    key: tuple[Any, ...] = (
        name,
        tuple(round(p, 9) for p in params),
        len(gate.controls),
        gate.ctrl_state,
        None if gate.matrix is None else gate.matrix.tobytes(),
    )
    with _GATE_LOCK:
        if key in _GATE_CACHE:
            return _GATE_CACHE[key]
    base = gate.matrix if gate.matrix is not None else gate_matrix(name, params)
    snapped = _snap(
        _controlled(np.asarray(base, dtype=complex), len(gate.controls), gate.ctrl_state)
    )
    found: tuple[tuple[str, tuple[int, ...]], ...] | None = None
    if snapped is not None:
        stim = load_stim()
        try:
            tableau = stim.Tableau.from_unitary_matrix(snapped, endian="little")
        except ValueError:
            tableau = None
        if tableau is not None:
            found = tuple(
                (inst.name, tuple(t.value for t in inst.targets_copy()))
                for inst in tableau.to_circuit()
            )
    with _GATE_LOCK:
        if len(_GATE_CACHE) >= _GATES_KEPT:  # matrices of 'unitary' gates could grow it
            _GATE_CACHE.clear()
        _GATE_CACHE[key] = found
    return found


# -- one circuit -------------------------------------------------------------------------------

_PAULI_CONTROLLED = {"x": "CX", "y": "CY", "z": "CZ"}


def _describe(index: int, op: Any) -> str:
    if isinstance(op, Gate):
        return f"operation {index} (gate {op.label or op.name!r} on qubits {op.all_qubits})"
    return f"operation {index} ({type(op).__name__.lower()} of qubit {op.qubit})"


def translate(circuit: Circuit, values: Mapping[str, float]) -> StabilizerProgram | NotClifford:
    """``circuit`` with parameters ``values`` as a :class:`StabilizerProgram`, or why not."""
    stim = load_stim()
    out = _Instructions()  # stim's text, parsed once: Circuit.append costs ~20 us a call
    last: dict[tuple[str, int], int] = {}  # (register, bit) -> measurement record index
    measured = 0
    non_clifford = 0
    reason = ""

    def refuse(why: str) -> None:
        nonlocal reason
        reason = reason or why

    readout: list[tuple[int, float, float]] = []
    approximated = False
    for index, op in enumerate(circuit.operations):
        if isinstance(op, Barrier):
            continue
        if isinstance(op, NoiseChannel | ReadoutError):
            if op.condition is not None:
                refuse(f"operation {index} (noise after a conditioned gate) is conditioned")
            elif isinstance(op, NoiseChannel):
                probs, exact = pauli_twirl(op)
                approximated = approximated or not exact
                out.append(
                    f"PAULI_CHANNEL_{len(op.qubits)}({','.join(map(repr, probs))})", op.qubits
                )
            else:
                record = last.get((op.register, op.bit))
                if record is not None:  # a bit never written reads 0 and stays 0
                    matrix = np.asarray(op.matrix, dtype=float)
                    readout.append((record, float(matrix[0, 1]), float(matrix[1, 0])))
            continue
        if isinstance(op, CLASSICAL_OPERATIONS):
            refuse(f"operation {index} is a classical computation (control flow, store)")
            continue
        if isinstance(op, Measure | Reset):
            if op.condition is not None:
                refuse(f"{_describe(index, op)} is classically conditioned")
                continue
            if isinstance(op, Measure):
                out.append("M", [op.qubit])
                last[(op.register, op.bit)] = measured
                measured += 1
            else:
                out.append("R", [op.qubit])
            continue
        params = tuple(
            float(p.evaluate(values)) if isinstance(p, ParamExpr) else float(p) for p in op.params
        )
        if op.condition is not None:
            if reason:
                continue
            why = _conditioned_pauli(out, op, circuit, last, measured)
            if why:
                if op.name not in _PAULI_CONTROLLED and op.name != "id":
                    non_clifford += clifford_translation(op, params) is None
                refuse(f"{_describe(index, op)}: {why}")
            continue
        steps = clifford_translation(op, params)
        if steps is None:
            non_clifford += 1
            at = f" at parameters {params}" if params else ""
            refuse(f"{_describe(index, op)} is not a Clifford gate{at}")
            continue
        if reason:
            continue
        qubits = op.qubits + op.controls
        for name, targets in steps:
            out.append(name, [qubits[t] for t in targets])
    if reason:
        return NotClifford(non_clifford, reason)
    columns = {
        name: np.array([last.get((name, bit), -1) for bit in range(size)], dtype=np.int64)
        for name, size in circuit.registers.items()
    }
    return StabilizerProgram(
        stim.Circuit(out.text()), columns, circuit.num_qubits, tuple(readout), approximated
    )


_PAULI_MATRICES = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def pauli_twirl(channel: NoiseChannel) -> tuple[list[float], bool]:
    """The Pauli probabilities of ``channel``'s twirl, in stim's ``PAULI_CHANNEL_1/2`` order
    (``X Y Z``; ``IX IY IZ XI XX ... ZZ``, the first letter on the first target), and
    whether the twirl is the channel itself (every Kraus operator a multiple of a Pauli)."""
    k = len(channel.qubits)
    d = 1 << k
    labels = ["".join(p) for p in itertools.product("IXYZ", repeat=k)][1:]
    probs = []
    exact = True
    coefficients = []
    for label in ["I" * k, *labels]:
        matrix = np.ones((1, 1), dtype=complex)
        for letter in label:  # letter j acts on target j: bit j of the index, so kron left
            matrix = np.kron(_PAULI_MATRICES[letter], matrix)
        coefficients.append([np.trace(matrix.conj().T @ op) / d for op in channel.kraus])
    weights = np.abs(np.array(coefficients)) ** 2  # (paulis, kraus)
    for column in weights.T:
        if np.count_nonzero(column > 1e-12) > 1:
            exact = False
    probs = [float(w) for w in weights.sum(axis=1)[1:]]
    return probs, exact


class _Instructions:
    """stim instructions as text lines (``append`` as ``stim.Circuit.append`` takes them)."""

    __slots__ = ("lines",)

    def __init__(self) -> None:
        self.lines: list[str] = []

    def append(self, name: str, targets: Sequence[int | str]) -> None:
        self.lines.append(f"{name} {' '.join(map(str, targets))}")

    def text(self) -> str:
        return "\n".join(self.lines)


def _conditioned_pauli(
    out: Any,
    gate: Gate,
    circuit: Circuit,
    last: Mapping[tuple[str, int], int],
    measured: int,
) -> str:
    """Append ``gate`` (a Pauli conditioned on one bit) to ``out``; ``""`` or why it cannot."""
    if gate.name not in _PAULI_CONTROLLED and gate.name != "id" or gate.controls:
        return "only uncontrolled Pauli gates may be classically conditioned on this method"
    if gate.name == "id":
        return ""
    cond: Condition = gate.condition  # type: ignore[assignment]
    bit = cond.bit
    if bit is None:
        if circuit.registers[cond.register] != 1:
            return "a condition on a whole register of several bits cannot be expressed"
        bit = 0
    record = last.get((cond.register, bit))
    (qubit,) = gate.qubits
    name = gate.name.upper()
    if record is None:  # never measured: the bit reads 0
        if cond.value == 0:
            out.append(name, [qubit])
        return ""
    if cond.value == 0:
        out.append(name, [qubit])  # P when the bit is 0: P, then P again when it is 1
    out.append(_PAULI_CONTROLLED[gate.name], [f"rec[{record - measured}]", qubit])
    return ""


# -- the simulator -----------------------------------------------------------------------------


class StabilizerSimulator:
    """Runs Clifford circuits on stim, keeping each translation (circuit x bound values).

    Thread-safe: translations are shared, samplers and tableau simulators are per call.
    """

    def __init__(self, cache_size: int = _PROGRAMS_KEPT) -> None:
        self._programs: OrderedDict[Any, StabilizerProgram | NotClifford] = OrderedDict()
        self._cache_size = cache_size
        self._lock = threading.Lock()

    def program(
        self, circuit: Circuit, row: np.ndarray | None = None
    ) -> StabilizerProgram | NotClifford:
        """The translation of ``circuit`` with the parameter values ``row`` (ordered like
        ``circuit.parameters``), made once per structure and values."""
        values: dict[str, float] = {}
        if circuit.parameters:
            if row is None:
                raise InputError(f"circuit has unbound parameters {list(circuit.parameters)}")
            values = dict(zip(circuit.parameters, np.asarray(row, dtype=float).tolist()))
        key = (circuit.structure_key(), tuple(values.values()))
        with self._lock:
            found = self._programs.get(key)
            if found is not None:
                self._programs.move_to_end(key)
                return found
        found = translate(circuit, values)
        with self._lock:
            self._programs[key] = found
            while len(self._programs) > self._cache_size:
                self._programs.popitem(last=False)
        return found

    def sample(
        self, program: StabilizerProgram, shots: int, rng: np.random.Generator
    ) -> dict[str, PackedBits]:
        """``shots`` shots of ``program`` seeded from ``rng``, registers in the engine's format."""
        seed = int(rng.integers(0, 2**63))
        measurements = program.circuit.num_measurements
        if measurements == 0:
            return program.registers(np.zeros((shots, 0), dtype=bool))
        sampler = program.circuit.compile_sampler(seed=seed)
        if program.readout:  # readout errors: flip recorded bits with their odds
            samples = sampler.sample(shots)
            flips = np.random.default_rng(seed ^ 0x5EED)
            for record, p01, p10 in program.readout:
                column = samples[:, record]
                draws = flips.random(shots)
                samples[:, record] = column ^ np.where(column, draws < p10, draws < p01)
            return program.registers(samples)
        (name, cols), *others = program.columns.items()
        if not others and np.array_equal(cols, np.arange(measurements)):
            # One register read in measurement order (measure_all): stim's packed bits are
            # the register's, least significant byte first; BitArray's layout reverses them.
            packed = sampler.sample(shots, bit_packed=True)
            if packed.shape[1] > 1:
                packed = np.ascontiguousarray(packed[:, ::-1])
            return {name: PackedBits(measurements, packed)}
        return program.registers(sampler.sample(shots))

    def expectation_values(
        self, program: StabilizerProgram, observables: Sequence[PauliSum]
    ) -> np.ndarray:
        """Exact ``Re <psi|O|psi>`` of each observable after ``program`` (a unitary circuit)."""
        stim = load_stim()
        sim = stim.TableauSimulator()
        sim.set_num_qubits(max(program.num_qubits, 1))
        sim.do_circuit(program.circuit)
        values = np.empty(len(observables), dtype=float)
        letters = {"X": 1, "Y": 2, "Z": 3}
        for i, observable in enumerate(observables):
            total = 0j
            for term in observable.terms:
                pauli = stim.PauliString(max(program.num_qubits, 1))
                for letter, qubit in zip(term.paulis, term.qubits):
                    pauli[qubit] = letters[letter]
                total += term.coeff * sim.peek_observable_expectation(pauli)
            values[i] = total.real
        return values
