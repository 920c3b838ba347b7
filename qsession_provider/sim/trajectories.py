"""Noisy circuits on the C trajectory engine (``csrc/trajectories.c``), and exact noisy
expectation values on a density matrix for small circuits.

A circuit holding noise channels or readout errors (:mod:`qsession_provider.core.ir.noise`)
is compiled once per bound circuit into a flat program (:class:`TrajectoryProgram`): gates as
matrices (diagonals where the gate is diagonal), channels that are Pauli mixtures as fixed
branch probabilities, other channels as Kraus operators, measurements, resets and readout
errors, and the trailing measurements apart. The C engine then runs all shots of a circuit
in one call: shots travel in groups sharing one state, each random event (a channel's
branch, a measurement outcome, a readout flip) splits a group by drawing one branch per
shot, and the largest part continues in place, so the noise-free prefix and every common
stretch of the shots' histories are computed once. Draws come from a generator seeded from
the job's numpy generator (the same seed gives the same bits). No Python runs per shot or
per amplitude.

Estimator pubs with noise take the exact value on a density matrix when the circuit touches
at most :data:`DENSITY_MATRIX_QUBITS` qubits and has no classically conditioned operation
(std 0), else the mean over trajectories with its standard error.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from ..core.ir.circuit import Barrier, Circuit, Condition, Gate, Measure, Reset
from ..core.ir.classical import CLASSICAL_OPERATIONS
from ..core.ir.gates import gate_diagonal, gate_matrix
from ..core.ir.noise import NoiseChannel, ReadoutError, has_noise, pauli_matrix
from ..core.ir.observables import PauliSum
from ..errors import InputError, InvalidCircuitError, KernelError, ResourceTooLargeError
from .memory import aligned_zeros, available_memory

__all__ = [
    "DENSITY_MATRIX_QUBITS",
    "TrajectoryProgram",
    "compile_program",
    "density_matrix_expectations",
    "has_noise",
    "sample_noisy",
    "trajectory_expectations",
]

#: Noisy estimator circuits touching at most this many qubits get exact density-matrix values
#: (measured on depth-10 random circuits: faster than 4,096 trajectories up to 6 qubits,
#: 12x slower at 8).
DENSITY_MATRIX_QUBITS = 6
#: Trajectories of a noisy estimator pub asking for precision 0 on a wide circuit.
DEFAULT_TRAJECTORIES = 4096

_GATE, _MIXED, _KRAUS, _MEASURE, _RESET, _READOUT = range(6)
_MAX_BRANCHES = 256  # QT_MAX_BRANCH
_BATCH_QUBITS = 21  # QT_BATCH_QUBITS
_DIAGONAL, _MATRIX = 1, 0
_X = np.array([[0, 1], [1, 0]], dtype=complex)


@dataclass(frozen=True)
class TrajectoryProgram:
    """A noisy circuit compiled for ``run_trajectories`` (see ``csrc/trajectories.h``).

    Attributes:
        code, data, cond_bits: the program arrays.
        nclbits: classical bits (registers one after another, in the circuit's order).
        terminal: code offset of the trailing measurements (sampled in one pass per group).
        positions: circuit qubit -> engine qubit (only qubits something acts on).
        registers: register name -> (first classical bit, size).
    """

    code: np.ndarray
    data: np.ndarray
    cond_bits: np.ndarray
    nclbits: int
    terminal: int
    positions: dict[int, int]
    registers: dict[str, tuple[int, int]]
    conditioned: bool

    @property
    def width(self) -> int:
        """Engine qubits (at least 1)."""
        return max(1, len(self.positions))


#: Why a noisy run refuses a dynamic circuit's classical computation.
_NO_CLASSICAL = (
    "noisy simulation does not run classical computation (control flow with else branches, "
    "loops, switch, expressions, stores); run the dynamic circuit without noise"
)


def _active_qubits(circuit: Circuit) -> list[int]:
    used: set[int] = set()
    for op in circuit.operations:
        if not isinstance(op, (Barrier, ReadoutError)):
            used.update(op.all_qubits)
    return sorted(used)


class _Builder:
    def __init__(self, circuit: Circuit, estimator: bool) -> None:
        self.circuit = circuit
        self.estimator = estimator
        self.positions = {q: i for i, q in enumerate(_active_qubits(circuit))}
        self.registers: dict[str, tuple[int, int]] = {}
        offset = 0
        for name, size in circuit.registers.items():
            self.registers[name] = (offset, size)
            offset += size
        self.nclbits = offset
        self.code: list[int] = []
        self.data: list[float] = []
        self.cond_bits: list[int] = []
        self.starts: list[int] = []  # code offset of each record
        self.kinds: list[int] = []
        self.conditioned = False

    def clbit(self, register: str, bit: int) -> int:
        return self.registers[register][0] + bit

    def header(self, opcode: int, condition: Condition | None) -> None:
        self.starts.append(len(self.code))
        self.kinds.append(opcode if condition is None else -1)
        if condition is None:
            self.code += [opcode, 0, 0, 0]
            return
        self.conditioned = True
        start, size = self.registers[condition.register]
        if condition.bit is not None:
            bits = [start + condition.bit]
        else:
            if size > 63:
                raise InvalidCircuitError(
                    f"a condition on register {condition.register!r} of {size} bits: the "
                    "noisy engine compares registers of at most 63 bits"
                )
            bits = list(range(start, start + size))
        self.code += [opcode, len(bits), len(self.cond_bits), int(condition.value)]
        self.cond_bits += bits

    def matrix(self, m: np.ndarray) -> int:
        offset = len(self.data)
        self.data += np.ascontiguousarray(m, dtype=np.complex128).view(np.float64).ravel().tolist()
        return offset

    def local(self, qubits: Sequence[int]) -> list[int]:
        return [self.positions[q] for q in qubits]

    def gate(self, op: Gate) -> None:
        params = tuple(float(p) for p in op.params)  # the circuit is bound
        diag = None
        if op.matrix is not None:
            m = op.matrix
        else:
            diag = gate_diagonal(op.name, params)
            m = None if diag is not None else gate_matrix(op.name, params)
        self.header(_GATE, op.condition)
        kind = _DIAGONAL if diag is not None else _MATRIX
        offset = self.matrix(diag if diag is not None else m)  # type: ignore[arg-type]
        ctrl = -1 if op.ctrl_state is None else int(op.ctrl_state)
        self.code += [len(op.qubits), len(op.controls), ctrl, kind, offset]
        self.code += self.local(op.qubits) + self.local(op.controls)

    def channel(self, op: NoiseChannel) -> None:
        k = op.num_qubits
        mixture = op.mixture
        if mixture is None and op.pauli_probabilities is not None:
            mixture = tuple(op.pauli_probabilities.items())
        if mixture is not None and len(mixture) <= _MAX_BRANCHES:
            self.header(_MIXED, op.condition)
            prob_offset = len(self.data)
            for branch, p in mixture:
                rmask = sum(1 << j for j, ch in enumerate(branch) if ch in "01")
                rvals = sum(1 << j for j, ch in enumerate(branch) if ch == "1")
                self.data += [p, float(any(ch in "XYZ" for ch in branch)), rmask, rvals]
            mat_offset = len(self.data)
            for branch, _ in mixture:
                self.matrix(pauli_matrix("".join("I" if ch in "01" else ch for ch in branch)))
            self.code += [k, len(mixture), prob_offset, mat_offset] + self.local(op.qubits)
            return
        if len(op.kraus) > _MAX_BRANCHES:
            raise InvalidCircuitError(
                f"noise channel {op.label or op.name!r} has {len(op.kraus)} Kraus operators; "
                f"the engine takes at most {_MAX_BRANCHES}"
            )
        self.header(_KRAUS, op.condition)
        offset = len(self.data)
        for m in op.kraus:
            self.matrix(m)
        self.code += [k, len(op.kraus), offset] + self.local(op.qubits)

    def build(self) -> TrajectoryProgram:
        for op in self.circuit.operations:
            if isinstance(op, Barrier):
                continue
            if isinstance(op, CLASSICAL_OPERATIONS):
                raise InputError(_NO_CLASSICAL)
            if isinstance(op, Gate):
                if op.is_parameterized:
                    raise InvalidCircuitError("the noisy engine runs bound circuits only")
                self.gate(op)
            elif isinstance(op, NoiseChannel):
                self.channel(op)
            elif isinstance(op, Measure):
                self.header(_MEASURE, op.condition)
                self.code += [self.positions[op.qubit], self.clbit(op.register, op.bit)]
            elif isinstance(op, Reset):
                self.header(_RESET, op.condition)
                self.code += [self.positions[op.qubit]]
            elif isinstance(op, ReadoutError):
                self.header(_READOUT, op.condition)
                p01, p10 = op.flip_probabilities
                offset = len(self.data)
                self.data += [p01, p10]
                self.code += [self.clbit(op.register, op.bit), offset]
            else:
                raise InvalidCircuitError(
                    f"the noisy engine cannot run a {type(op).__name__} operation"
                )
        terminal = len(self.code)
        if not self.estimator:
            for start, kind in zip(reversed(self.starts), reversed(self.kinds)):
                if kind not in (_MEASURE, _READOUT):
                    break
                terminal = start
        return TrajectoryProgram(
            np.array(self.code, dtype=np.int64),
            np.array(self.data, dtype=np.float64),
            np.array(self.cond_bits, dtype=np.int64),
            self.nclbits,
            terminal,
            self.positions,
            self.registers,
            self.conditioned,
        )


def compile_program(circuit: Circuit, *, estimator: bool = False) -> TrajectoryProgram:
    """The trajectory program of a bound ``circuit`` (``estimator``: measurements do not
    record and nothing is sampled at the end)."""
    key = "trajectory_program_est" if estimator else "trajectory_program"
    return circuit._memoized(key, lambda _ops: _Builder(circuit, estimator).build())  # type: ignore[no-any-return]


def _kernel() -> Any:
    try:
        from . import _kernel as kernel
    except ImportError as exc:  # pragma: no cover - the package is built with its extension
        raise KernelError(
            "the noisy engine needs the compiled kernel (pip install . builds it)"
        ) from exc
    return kernel


def _batch_size(width: int, shots: int, itemsize: int, max_memory: int | None) -> int:
    """Most shots per engine call whose states fit in memory: at most log2(shots) + 2 per
    batch of the engine, and states below 21 qubits run in 4 batches at once (trajectories.c:
    QT_BATCHES, QT_BATCH_QUBITS), each with a copy of the initial state."""
    state = (2**width) * itemsize
    limit = max_memory if max_memory is not None else available_memory()
    fits = limit // state
    if fits < 2:
        raise ResourceTooLargeError(
            f"the noisy engine needs at least two {width}-qubit states of {state / 2**30:.1f} "
            f"GiB each, but only {limit / 2**30:.1f} GiB is available"
        )

    def need(count: int) -> int:
        per_batch = int(math.log2(max(count, 1))) + 2
        return 4 * (per_batch + 1) if width < _BATCH_QUBITS and count >= 16 else per_batch

    count = shots
    while count > 1 and need(count) > fits:
        count //= 2
    return max(1, count)


def _seed(rng: np.random.Generator) -> int:
    return int(rng.integers(0, 2**63))


def sample_noisy(
    circuit: Circuit,
    shots: int,
    rng: np.random.Generator,
    *,
    dtype: Any = np.complex128,
    max_memory: int | None = None,
) -> dict[str, np.ndarray]:
    """``shots`` shots of a bound noisy ``circuit``: ``{register: (shots, size) uint8}``.

    Raises:
        ResourceTooLargeError: the states the run needs do not fit in memory.
    """
    program = compile_program(circuit)
    kernel = _kernel()
    dtype = np.dtype(dtype)
    width = program.width
    batch = _batch_size(width, shots, dtype.itemsize, max_memory)
    out = np.zeros((shots, program.nclbits), dtype=np.uint8)
    done = 0
    while done < shots:
        count = min(batch, shots - done)
        state = aligned_zeros(2**width, dtype)
        state[0] = 1.0
        rows = out[done : done + count]
        flat = rows.reshape(-1) if program.nclbits else np.zeros(0, dtype=np.uint8)
        kernel.run_trajectories(
            state,
            program.code,
            program.data,
            program.cond_bits,
            program.nclbits,
            program.terminal,
            count,
            _seed(rng),
            out_bits=flat,
        )
        done += count
    out = out[rng.permutation(shots)]  # groups were written one after another
    return {
        name: np.ascontiguousarray(out[:, start : start + size])
        for name, (start, size) in program.registers.items()
    }


# -- expectation values --------------------------------------------------------------------


def _masks(
    positions: Mapping[int, int], observables: Sequence[PauliSum]
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x masks, z masks, coefficients per observable x term, constant per observable)."""
    index: dict[tuple[int, int], int] = {}
    rows: list[list[tuple[int, complex]]] = []
    constants = np.zeros(len(observables))
    for i, obs in enumerate(observables):
        row = []
        for term in obs.terms:
            masks = term.masks(positions)
            if masks is None:
                continue
            if masks == (0, 0):
                constants[i] += term.coeff.real
                continue
            slot = index.setdefault(masks, len(index))
            row.append((slot, term.coeff))
        rows.append(row)
    coeffs = np.zeros((len(observables), len(index)))
    for i, row in enumerate(rows):
        for slot, c in row:
            coeffs[i, slot] += c.real
    x = np.array([m[0] for m in index], dtype=np.uint64)
    z = np.array([m[1] for m in index], dtype=np.uint64)
    return x, z, coeffs, constants


def trajectory_expectations(
    circuit: Circuit,
    observables: Sequence[PauliSum],
    trajectories: int,
    rng: np.random.Generator,
    *,
    dtype: Any = np.complex128,
    max_memory: int | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Mean over ``trajectories`` trajectories of each observable, and its standard error."""
    program = compile_program(circuit, estimator=True)
    x, z, coeffs, constants = _masks(program.positions, observables)
    if x.size == 0:
        return constants.copy(), np.zeros(len(observables))
    kernel = _kernel()
    dtype = np.dtype(dtype)
    width = program.width
    batch = _batch_size(width, trajectories, dtype.itemsize, max_memory)
    values: list[np.ndarray] = []
    weights: list[np.ndarray] = []
    done = 0
    while done < trajectories:
        count = min(batch, trajectories - done)
        state = aligned_zeros(2**width, dtype)
        state[0] = 1.0
        evs = np.zeros(count * x.size)
        counts = np.zeros(count, dtype=np.int64)
        kernel.run_trajectories(
            state,
            program.code,
            program.data,
            program.cond_bits,
            program.nclbits,
            program.terminal,
            count,
            _seed(rng),
            x_masks=x,
            z_masks=z,
            out_evs=evs,
            out_counts=counts,
        )
        starts = counts > 0  # a group's values sit at its first shot's row
        values.append(evs.reshape(count, x.size)[starts] @ coeffs.T)
        weights.append(counts[starts])
        done += count
    per_group = np.concatenate(values)  # (groups, observables)
    w = np.concatenate(weights).astype(float)
    mean = (w @ per_group) / trajectories
    var = np.maximum((w @ per_group**2) / trajectories - mean**2, 0.0)
    stds = np.sqrt(var / trajectories)
    return mean + constants, stds


def _superoperator(kraus: Sequence[np.ndarray]) -> np.ndarray:
    """``sum conj(K) (x) K``: the channel on a vectorised density matrix whose index is
    ``row + (column << n)`` (targets: the row qubits, then the column qubits)."""
    return sum(np.kron(k.conj(), k) for k in kraus)  # type: ignore[return-value]


_DEPHASE = (np.diag([1.0, 0.0]).astype(complex), np.diag([0.0, 1.0]).astype(complex))
_RESET_KRAUS = (
    np.array([[1, 0], [0, 0]], dtype=complex),
    np.array([[0, 1], [0, 0]], dtype=complex),
)


def density_matrix_expectations(
    circuit: Circuit, observables: Sequence[PauliSum], kernel: Any
) -> np.ndarray:
    """Exact values of ``observables`` after a bound noisy ``circuit`` with no classically
    conditioned operation (measurements dephase, readout errors do not act on the state),
    on a density matrix over the qubits the circuit touches.

    Raises:
        InputError: the circuit conditions an operation on a measured bit.
    """
    qubits = _active_qubits(circuit)
    positions = {q: i for i, q in enumerate(qubits)}
    n = max(1, len(qubits))
    rho = aligned_zeros(4**n, np.complex128)
    rho[0] = 1.0

    def apply(targets: list[int], m: np.ndarray) -> None:
        kernel.apply_matrix(rho, targets, np.ascontiguousarray(m, dtype=np.complex128))

    for op in circuit.operations:
        if isinstance(op, (Barrier, ReadoutError)):
            continue
        if op.condition is not None:
            raise InputError("the density-matrix method takes no classically conditioned ops")
        if isinstance(op, CLASSICAL_OPERATIONS):
            raise InputError(_NO_CLASSICAL)
        if isinstance(op, Gate):
            params = tuple(float(p) for p in op.params)
            u = op.matrix if op.matrix is not None else gate_matrix(op.name, params)
            if op.controls:
                u = _controlled(u, len(op.controls), op.ctrl_state)
            local = [positions[q] for q in op.qubits + op.controls]
            apply(local, u)
            apply([q + n for q in local], u.conj())
            continue
        if isinstance(op, NoiseChannel):
            kraus: Sequence[np.ndarray] = op.kraus
            local = [positions[q] for q in op.qubits]
        elif isinstance(op, Measure):
            kraus, local = _DEPHASE, [positions[op.qubit]]
        elif isinstance(op, Reset):
            kraus, local = _RESET_KRAUS, [positions[op.qubit]]
        else:
            raise InputError(f"the density-matrix method cannot run a {type(op).__name__}")
        apply(local + [q + n for q in local], _superoperator(kraus))
    x, z, coeffs, constants = _masks(positions, observables)
    if x.size == 0:
        return constants.copy()
    k = np.arange(2**n, dtype=np.uint64)
    values = np.empty(x.size)
    for t, (xm, zm) in enumerate(zip(x, z)):
        sign = 1.0 - 2.0 * (np.bitwise_count(k & zm) & np.uint64(1)).astype(float)
        phase = 1j ** (int(xm & zm).bit_count() % 4)
        entries = rho[(k + ((k ^ xm) << np.uint64(n))).astype(np.intp)]
        values[t] = (phase * np.sum(sign * entries)).real
    return coeffs @ values + constants


def _controlled(u: np.ndarray, nc: int, ctrl_state: int | None) -> np.ndarray:
    """The matrix of ``u`` with ``nc`` controls as its most significant qubits (the gate's
    targets, then its controls), acting where the controls read ``ctrl_state``."""
    k = int(round(math.log2(u.shape[0])))
    dim = 2 ** (k + nc)
    out = np.eye(dim, dtype=complex)
    state = (2**nc - 1) if ctrl_state is None else ctrl_state
    rows = [c * 2**k + t for c in [state] for t in range(2**k)]
    out[np.ix_(rows, rows)] = u
    return out
