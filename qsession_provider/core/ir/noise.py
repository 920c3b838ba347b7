"""Noise in the IR: quantum channels and readout errors as circuit operations, and noise models.

A :class:`NoiseChannel` is an operation a :class:`~.circuit.Circuit` holds like a gate: a
completely positive, trace-preserving map on one or two qubits, given by its Kraus operators
(checked on construction: ``sum K^dagger K = I`` within :data:`CPTP_ATOL`). The constructors
below build the usual ones (Pauli, depolarizing, amplitude and phase damping, thermal
relaxation from T1, T2 and a duration, a mixture of unitaries, any Kraus set); a channel
that is a mixture of Pauli operators is recognised whatever way it was given
(:attr:`NoiseChannel.pauli_probabilities`), so the engine can draw it without looking at
the state.

A :class:`ReadoutError` follows a measurement: it changes the recorded classical bit (not
the qubit) with the probabilities of its assignment matrix, ``matrix[i][j] = P(read j | i)``,
as Aer's ``ReadoutError`` does.

A :class:`NoiseModel` says which channels follow which gates on which qubits and which
readout error follows each qubit's measurements; :meth:`NoiseModel.apply` gives the noisy
circuit the engine runs. Devices hold one built from their calibration; faces translate
their users' noise models into one.

Conventions: qubit ``q0`` of a channel is the least significant bit of its matrices' index,
as for gates (:mod:`.gates`). Probabilities outside ``[0, 1]`` and sets that are not CPTP are
refused with :class:`~qsession_provider.errors.InvalidCircuitError` naming the channel.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from ...errors import InvalidCircuitError

__all__ = [
    "CPTP_ATOL",
    "MAX_CHANNEL_QUBITS",
    "NoiseChannel",
    "NoiseModel",
    "ReadoutError",
    "amplitude_damping",
    "depolarizing",
    "kraus_channel",
    "mixed_unitary",
    "mixture_channel",
    "pauli_channel",
    "phase_damping",
    "thermal_relaxation",
    "gate_key",
    "has_noise",
    "compose",
    "pauli_matrix",
    "readout_matrix",
]

#: Largest number of qubits a channel acts on.
MAX_CHANNEL_QUBITS = 2
#: Tolerance of the trace-preservation check ``sum K^dagger K = I`` (entrywise).
CPTP_ATOL = 1e-6
#: Probabilities within this of [0, 1] are clipped into it (rounding of the inputs).
PROB_ATOL = 1e-9

_PAULI_1Q = {
    "I": np.eye(2, dtype=complex),
    "X": np.array([[0, 1], [1, 0]], dtype=complex),
    "Y": np.array([[0, -1j], [1j, 0]], dtype=complex),
    "Z": np.array([[1, 0], [0, -1]], dtype=complex),
}


def _pauli_labels(k: int) -> list[str]:
    """Pauli strings on ``k`` qubits, character ``j`` for qubit ``j`` ("IX": X on qubit 1)."""
    return ["".join(p) for p in itertools.product("IXYZ", repeat=k)]


def pauli_matrix(label: str) -> np.ndarray:
    """The matrix of a Pauli string (character ``j`` acts on qubit ``j``, the index's bit j)."""
    m = np.ones((1, 1), dtype=complex)
    for ch in label:  # qubit j is bit j: later qubits are more significant
        m = np.kron(_PAULI_1Q[ch], m)
    return m


def _check_probability(value: Any, what: str) -> float:
    try:
        p = float(value)
    except (TypeError, ValueError):
        raise InvalidCircuitError(f"{what} must be a real number, got {value!r}") from None
    if not math.isfinite(p) or p < -PROB_ATOL or p > 1 + PROB_ATOL:
        raise InvalidCircuitError(f"{what} must be a probability in [0, 1], got {value!r}")
    return min(max(p, 0.0), 1.0)


def _qubits(qubits: Any, what: str) -> tuple[int, ...]:
    if isinstance(qubits, (int, np.integer)) and not isinstance(qubits, bool):
        qubits = (qubits,)
    out = []
    for q in qubits:
        if isinstance(q, (bool, np.bool_)) or not isinstance(q, (int, np.integer)) or q < 0:
            raise InvalidCircuitError(f"{what}: qubit {q!r} is not an integer >= 0")
        out.append(int(q))
    if not out:
        raise InvalidCircuitError(f"{what} acts on no qubits")
    if len(out) > MAX_CHANNEL_QUBITS:
        raise InvalidCircuitError(
            f"{what} acts on {len(out)} qubits; channels act on at most {MAX_CHANNEL_QUBITS}"
        )
    if len(set(out)) != len(out):
        raise InvalidCircuitError(f"{what} uses a qubit twice: {tuple(out)}")
    return tuple(out)


@dataclass(frozen=True, eq=False)
class NoiseChannel:
    """A CPTP channel on one or two qubits, as an IR operation.

    Attributes:
        name: what built it (``"pauli"``, ``"depolarizing"``, ``"amplitude_damping"``,
            ``"phase_damping"``, ``"thermal_relaxation"``, ``"mixed_unitary"``, ``"kraus"``).
        qubits: the qubits it acts on; bit ``j`` of the matrices' index is ``qubits[j]``.
        kraus: the Kraus operators, read-only complex128 ``2**k x 2**k`` arrays.
        params: the numbers it was built from (for descriptions; ``kraus`` is what acts).
        condition: the classical condition of the gate it follows (noise only where the
            gate ran), or None.
        label: optional free text (the source's name of the error).

    Raises:
        InvalidCircuitError: no operators, wrong shapes, non-finite entries, or not
            trace-preserving within :data:`CPTP_ATOL`.
    """

    name: str
    qubits: tuple[int, ...]
    kraus: tuple[np.ndarray, ...] = field(repr=False)
    params: tuple[float, ...] = ()
    condition: Any = None
    label: str | None = None
    #: ``((branch, probability), ...)`` when the channel is a mixture of Pauli strings and
    #: resets chosen with fixed probabilities (see :func:`mixture_channel`), else None.
    mixture: tuple[tuple[str, float], ...] | None = None

    def __post_init__(self) -> None:
        what = f"noise channel {self.label or self.name!r}"
        qubits = _qubits(self.qubits, what)
        object.__setattr__(self, "qubits", qubits)
        dim = 2 ** len(qubits)
        ops = []
        for i, k in enumerate(self.kraus):
            try:
                m = np.array(k, dtype=np.complex128, copy=True)
            except (TypeError, ValueError):
                raise InvalidCircuitError(f"{what}: Kraus operator {i} is not numeric") from None
            if m.shape != (dim, dim):
                raise InvalidCircuitError(
                    f"{what}: Kraus operator {i} has shape {m.shape}, expected {(dim, dim)} "
                    f"for {len(qubits)} qubit(s)"
                )
            if not np.all(np.isfinite(m)):
                raise InvalidCircuitError(f"{what}: Kraus operator {i} has NaN or infinity")
            if np.any(m):
                m.setflags(write=False)
                ops.append(m)
        if not ops:
            raise InvalidCircuitError(f"{what} has no (non-zero) Kraus operators")
        total = sum(m.conj().T @ m for m in ops)
        error = float(np.max(np.abs(total - np.eye(dim))))
        if error > CPTP_ATOL:
            raise InvalidCircuitError(
                f"{what} is not trace preserving: sum of K^dagger K differs from the identity "
                f"by {error:.3g} (tolerance {CPTP_ATOL:g}); it is not a CPTP map"
            )
        object.__setattr__(self, "kraus", tuple(ops))
        object.__setattr__(self, "params", tuple(float(p) for p in self.params))
        if self.mixture is not None:
            mixture = tuple((str(b), float(p)) for b, p in self.mixture)
            if any(len(b) != len(qubits) or set(b) - set("IXYZ01") for b, _ in mixture):
                raise InvalidCircuitError(f"{what}: malformed mixture {mixture!r}")
            object.__setattr__(self, "mixture", mixture)

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """The qubits the channel acts on."""
        return self.qubits

    @property
    def num_qubits(self) -> int:
        """Number of qubits the channel acts on."""
        return len(self.qubits)

    @property
    def pauli_probabilities(self) -> dict[str, float] | None:
        """``{pauli string: probability}`` if the channel is a mixture of Pauli operators
        (its chi matrix in the Pauli basis is diagonal), else None. Computed once."""
        found = self.__dict__.get("_pauli")
        if found is None:
            found = (_pauli_form(self.kraus, self.num_qubits),)
            object.__setattr__(self, "_pauli", found)
        return found[0]

    def on(self, qubits: Sequence[int], condition: Any = None) -> NoiseChannel:
        """The same channel on other qubits (``qubits[j]`` replaces ``self.qubits[j]``),
        under ``condition``."""
        out = NoiseChannel(
            self.name, tuple(qubits), self.kraus, self.params, None, self.label, self.mixture
        )
        object.__setattr__(out, "_pauli", self.__dict__.get("_pauli"))
        object.__setattr__(out, "condition", condition)
        if out.__dict__["_pauli"] is None:
            del out.__dict__["_pauli"]
        return out

    def superoperator(self) -> np.ndarray:
        """``sum K (x) conj(K)``: the channel acting on row-stacked density matrices."""
        return sum(np.kron(k, k.conj()) for k in self.kraus)

    def key(self) -> tuple[Any, ...]:
        """A hashable key equal for identical channels (structure keys, caches)."""
        return (
            "noise",
            self.name,
            self.qubits,
            self.params,
            self.condition,
            self.mixture,
            tuple(k.tobytes() for k in self.kraus),
        )

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (matrices as nested [re, im] pairs)."""
        out: dict[str, Any] = {
            "op": "noise",
            "name": self.name,
            "qubits": list(self.qubits),
            "kraus": [[[[z.real, z.imag] for z in row] for row in k.tolist()] for k in self.kraus],
        }
        if self.params:
            out["params"] = list(self.params)
        if self.label is not None:
            out["label"] = self.label
        if self.condition is not None:
            out["condition"] = _cond_json(self.condition)
        if self.mixture is not None:
            out["mixture"] = [[b, p] for b, p in self.mixture]
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoiseChannel:
        """Inverse of :meth:`to_json`."""
        kraus = tuple(
            np.array([[complex(re, im) for re, im in row] for row in k]) for k in data["kraus"]
        )
        return cls(
            str(data["name"]),
            tuple(data["qubits"]),
            kraus,
            tuple(data.get("params", ())),
            _cond_from_json(data.get("condition")),
            data.get("label"),
            None if data.get("mixture") is None else tuple((b, p) for b, p in data["mixture"]),
        )


def _pauli_form(kraus: tuple[np.ndarray, ...], k: int) -> dict[str, float] | None:
    """The Pauli probabilities of a channel whose chi matrix is diagonal, else None."""
    labels = _pauli_labels(k)
    dim = 2**k
    basis = np.array([pauli_matrix(lab) for lab in labels])  # (4**k, dim, dim)
    # K = sum_a c_a P_a with c_a = tr(P_a K) / dim; chi = sum_K c c^dagger.
    coeffs = np.array([np.einsum("aji,ij->a", basis, m) / dim for m in kraus])
    chi = coeffs.T @ coeffs.conj()
    off = chi - np.diag(np.diag(chi))
    if np.max(np.abs(off), initial=0.0) > CPTP_ATOL:
        return None
    probs = np.clip(np.diag(chi).real, 0.0, None)
    probs = probs / probs.sum()
    return {lab: float(p) for lab, p in zip(labels, probs) if p > 0.0}


@dataclass(frozen=True, eq=False)
class ReadoutError:
    """A readout error: the bit a measurement recorded, read wrong with ``matrix``'s odds.

    ``matrix[i][j]`` is the probability of recording ``j`` when the outcome was ``i``
    (rows sum to 1). It acts on bit ``bit`` of classical register ``register`` right after
    the measurement that wrote it; ``qubit`` names the measured qubit (for descriptions).

    Raises:
        InvalidCircuitError: not a 2x2 row-stochastic matrix of probabilities.
    """

    register: str
    bit: int
    matrix: np.ndarray = field(repr=False)
    qubit: int | None = None
    condition: Any = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "matrix", readout_matrix(self.matrix, "readout error"))
        if isinstance(self.bit, bool) or not isinstance(self.bit, (int, np.integer)):
            raise InvalidCircuitError(f"readout error: bit {self.bit!r} is not an integer")
        object.__setattr__(self, "bit", int(self.bit))

    @property
    def all_qubits(self) -> tuple[int, ...]:
        """No qubit: a readout error acts on a classical bit."""
        return ()

    @property
    def flip_probabilities(self) -> tuple[float, float]:
        """``(P(read 1 | 0), P(read 0 | 1))``."""
        return float(self.matrix[0, 1]), float(self.matrix[1, 0])

    def key(self) -> tuple[Any, ...]:
        """A hashable key equal for identical readout errors."""
        return ("readout", self.register, self.bit, self.matrix.tobytes(), self.condition)

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict."""
        return {
            "op": "readout",
            "register": self.register,
            "bit": self.bit,
            "matrix": self.matrix.tolist(),
            "qubit": self.qubit,
            "condition": _cond_json(self.condition),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ReadoutError:
        """Inverse of :meth:`to_json`."""
        return cls(
            data["register"],
            data["bit"],
            np.array(data["matrix"]),
            data.get("qubit"),
            _cond_from_json(data.get("condition")),
        )


def readout_matrix(matrix: Any, what: str) -> np.ndarray:
    """``matrix`` as a read-only 2x2 float array of probabilities whose rows sum to 1.

    Raises:
        InvalidCircuitError: naming ``what`` and the problem.
    """
    try:
        m = np.array(matrix, dtype=float, copy=True)
    except (TypeError, ValueError):
        raise InvalidCircuitError(f"{what}: assignment matrix is not numeric") from None
    if m.shape != (2, 2):
        raise InvalidCircuitError(f"{what}: assignment matrix has shape {m.shape}, not (2, 2)")
    for (i, j), value in np.ndenumerate(m):
        m[i, j] = _check_probability(value, f"{what}: P(read {j} | {i})")
    if not np.allclose(m.sum(axis=1), 1.0, atol=1e-6):
        raise InvalidCircuitError(
            f"{what}: each row of the assignment matrix must sum to 1, got {m.sum(axis=1)}"
        )
    m /= m.sum(axis=1, keepdims=True)
    m.setflags(write=False)
    return m


# -- constructors -----------------------------------------------------------------------------


def pauli_channel(
    qubits: int | Sequence[int], probabilities: Mapping[str, float], *, label: str | None = None
) -> NoiseChannel:
    """Apply Pauli string ``P`` with probability ``probabilities[P]`` (the identity gets the
    rest). Character ``j`` of a string acts on ``qubits[j]``.

    Raises:
        InvalidCircuitError: a bad string, a probability outside [0, 1] or a sum above 1.
    """
    qs = _qubits(qubits, "pauli channel")
    k = len(qs)
    probs: dict[str, float] = {}
    for lab, p in probabilities.items():
        if not isinstance(lab, str) or len(lab) != k or set(lab) - set("IXYZ"):
            raise InvalidCircuitError(
                f"pauli channel: {lab!r} is not a Pauli string of {k} character(s) from IXYZ"
            )
        probs[lab] = probs.get(lab, 0.0) + _check_probability(p, f"pauli channel: P({lab})")
    identity = "I" * k
    rest = 1.0 - sum(p for lab, p in probs.items() if lab != identity)
    if rest < -PROB_ATOL:
        raise InvalidCircuitError(
            f"pauli channel: the probabilities sum to {1 - rest:.6g}, more than 1"
        )
    probs[identity] = max(rest, 0.0)
    kraus = [math.sqrt(p) * pauli_matrix(lab) for lab, p in probs.items() if p > 0]
    params = tuple(probs.get(lab, 0.0) for lab in _pauli_labels(k))
    return NoiseChannel("pauli", qs, tuple(kraus), params, None, label)


def depolarizing(
    qubits: int | Sequence[int], param: float, *, label: str | None = None
) -> NoiseChannel:
    """``E(rho) = (1 - param) rho + param I / 2**k`` (Qiskit's ``depolarizing_error``).

    ``param`` may go up to ``4**k / (4**k - 1)`` (the fully depolarizing Pauli channel);
    Cirq's ``depolarize(p)`` is ``param = p * 4**k / (4**k - 1)``.

    Raises:
        InvalidCircuitError: ``param`` outside ``[0, 4**k / (4**k - 1)]``.
    """
    qs = _qubits(qubits, "depolarizing channel")
    n = 4 ** len(qs)
    try:
        lam = float(param)
    except (TypeError, ValueError):
        raise InvalidCircuitError(f"depolarizing parameter {param!r} is not a number") from None
    top = n / (n - 1)
    if not math.isfinite(lam) or lam < -PROB_ATOL or lam > top + PROB_ATOL:
        raise InvalidCircuitError(
            f"depolarizing parameter must lie in [0, {top:.6g}] for {len(qs)} qubit(s), "
            f"got {param!r}"
        )
    lam = min(max(lam, 0.0), top)
    each = lam / n
    probs = {lab: each for lab in _pauli_labels(len(qs))[1:]}
    ch = pauli_channel(qs, probs, label=label)
    return NoiseChannel("depolarizing", qs, ch.kraus, (lam,), None, label)


def amplitude_damping(
    qubit: int, gamma: float, excited_population: float = 0.0, *, label: str | None = None
) -> NoiseChannel:
    """Generalised amplitude damping: decay ``|1> -> |0>`` with probability ``gamma``
    towards the thermal state with ``excited_population`` in ``|1>`` (Qiskit's
    ``amplitude_damping_error``; Cirq's ``generalized_amplitude_damp(p=1-pop, gamma)``).
    """
    g = _check_probability(gamma, "amplitude damping: gamma")
    p1 = _check_probability(excited_population, "amplitude damping: excited population")
    c0, c1 = math.sqrt(1 - p1), math.sqrt(p1)
    kraus = [
        c0 * np.array([[1, 0], [0, math.sqrt(1 - g)]]),
        c0 * np.array([[0, math.sqrt(g)], [0, 0]]),
        c1 * np.array([[math.sqrt(1 - g), 0], [0, 1]]),
        c1 * np.array([[0, 0], [math.sqrt(g), 0]]),
    ]
    return NoiseChannel("amplitude_damping", (qubit,), tuple(kraus), (g, p1), None, label)


def phase_damping(qubit: int, lam: float, *, label: str | None = None) -> NoiseChannel:
    """Phase damping: off-diagonal elements scaled by ``sqrt(1 - lam)`` (Qiskit's
    ``phase_damping_error``, Cirq's ``phase_damp(gamma=lam)``)."""
    g = _check_probability(lam, "phase damping: lambda")
    kraus = [np.diag([1.0, math.sqrt(1 - g)]), np.diag([0.0, math.sqrt(g)])]
    return NoiseChannel("phase_damping", (qubit,), tuple(kraus), (g,), None, label)


def thermal_relaxation(
    qubit: int,
    t1: float,
    t2: float,
    time: float,
    excited_population: float = 0.0,
    *,
    label: str | None = None,
) -> NoiseChannel:
    """Thermal relaxation for ``time`` with relaxation time ``t1`` and dephasing time ``t2``
    (any units, the same for all three), as Qiskit Aer's ``thermal_relaxation_error``:
    ``T2 <= 2 T1`` is required; ``t1 = inf`` means no relaxation.

    Raises:
        InvalidCircuitError: negative times, ``t2 > 2 t1`` or a bad population.
    """
    what = "thermal relaxation"
    values = []
    for name, v in (("T1", t1), ("T2", t2), ("time", time)):
        try:
            f = float(v)
        except (TypeError, ValueError):
            raise InvalidCircuitError(f"{what}: {name} {v!r} is not a number") from None
        if math.isnan(f) or f < 0 or (name == "time" and math.isinf(f)):
            raise InvalidCircuitError(f"{what}: {name} must be >= 0 and finite, got {v!r}")
        values.append(f)
    t1f, t2f, tf = values
    if t1f <= 0 or t2f <= 0:
        raise InvalidCircuitError(f"{what}: T1 and T2 must be > 0, got {t1}, {t2}")
    if t2f - 2 * t1f > 1e-12 * max(t1f, 1.0) and not math.isinf(t1f):
        raise InvalidCircuitError(f"{what}: T2 ({t2}) must be <= 2 T1 ({2 * t1f})")
    p1 = _check_probability(excited_population, f"{what}: excited population")
    rate1 = 0.0 if math.isinf(t1f) else 1 / t1f
    rate2 = 0.0 if math.isinf(t2f) else 1 / t2f
    p_reset = 1 - math.exp(-tf * rate1)
    exp_t2 = math.exp(-tf * rate2)
    if t2f <= t1f:  # a mixture of identity, Z and resets (as Aer builds it)
        exp_t1 = math.exp(-tf * rate1)
        p_z = (1 - p_reset) * (1 - exp_t2 / exp_t1) / 2 if exp_t1 > 0 else 0.0
        branches = {"Z": p_z, "0": (1 - p1) * p_reset, "1": p1 * p_reset}
        ch = mixture_channel(qubit, branches, label=label)
        return NoiseChannel(
            "thermal_relaxation", ch.qubits, ch.kraus, (t1f, t2f, tf, p1), None, label, ch.mixture
        )
    # Choi matrix (column-stacked, as Aer builds it), then Kraus from its eigenvectors.
    choi = np.array(
        [
            [1 - p1 * p_reset, 0, 0, exp_t2],
            [0, p1 * p_reset, 0, 0],
            [0, 0, (1 - p1) * p_reset, 0],
            [exp_t2, 0, 0, 1 - (1 - p1) * p_reset],
        ],
        dtype=complex,
    )
    kraus = _choi_to_kraus(choi)
    return NoiseChannel(
        "thermal_relaxation", (qubit,), tuple(kraus), (t1f, t2f, tf, p1), None, label
    )


def _choi_to_kraus(choi: np.ndarray) -> list[np.ndarray]:
    """Kraus operators of a column-stacked Choi matrix (``sum_ij |i><j| (x) E(|i><j|)``,
    Qiskit's convention: ``choi[(i*d + a), (j*d + b)] = E(|i><j|)[a, b]``)."""
    dim = int(round(math.sqrt(choi.shape[0])))
    w, v = np.linalg.eigh((choi + choi.conj().T) / 2)
    out = []
    for value, vec in zip(w, v.T):
        if value > 1e-15:
            # vec[i*d + a] = K[a, i]
            out.append(math.sqrt(value) * vec.reshape(dim, dim).T)
    return out


def mixed_unitary(
    qubits: int | Sequence[int],
    probabilities: Sequence[float],
    unitaries: Sequence[Any],
    *,
    label: str | None = None,
) -> NoiseChannel:
    """Apply ``unitaries[i]`` with probability ``probabilities[i]`` (they must sum to 1).

    Raises:
        InvalidCircuitError: a probability outside [0, 1], a sum other than 1, a matrix that
            is not unitary or of the wrong size.
    """
    qs = _qubits(qubits, "mixed-unitary channel")
    if len(probabilities) != len(unitaries) or not unitaries:
        raise InvalidCircuitError(
            "mixed-unitary channel: give one probability per unitary (and at least one)"
        )
    probs = [
        _check_probability(p, f"mixed-unitary channel: probability {i}")
        for i, p in enumerate(probabilities)
    ]
    if abs(sum(probs) - 1) > 1e-6:
        raise InvalidCircuitError(
            f"mixed-unitary channel: the probabilities sum to {sum(probs):.6g}, not 1"
        )
    dim = 2 ** len(qs)
    kraus = []
    for i, (p, u) in enumerate(zip(probs, unitaries)):
        m = np.asarray(u, dtype=complex)
        if m.shape != (dim, dim) or not np.allclose(m.conj().T @ m, np.eye(dim), atol=1e-8):
            raise InvalidCircuitError(
                f"mixed-unitary channel: operator {i} is not a {dim}x{dim} unitary"
            )
        kraus.append(math.sqrt(p) * m)
    return NoiseChannel("mixed_unitary", qs, tuple(kraus), tuple(probs), None, label)


_RESET_KRAUS = {
    "0": (np.array([[1, 0], [0, 0]], dtype=complex), np.array([[0, 1], [0, 0]], dtype=complex)),
    "1": (np.array([[0, 0], [1, 0]], dtype=complex), np.array([[0, 0], [0, 1]], dtype=complex)),
}


def _branch_kraus(branch: str) -> list[np.ndarray]:
    """Kraus operators of one branch (character j on qubit j: a Pauli, or a reset to 0/1)."""
    ops = [np.ones((1, 1), dtype=complex)]
    for ch in branch:  # later qubits are more significant
        parts = _RESET_KRAUS[ch] if ch in "01" else (_PAULI_1Q[ch],)
        ops = [np.kron(p, o) for o in ops for p in parts]
    return ops


def mixture_channel(
    qubits: int | Sequence[int], branches: Mapping[str, float], *, label: str | None = None
) -> NoiseChannel:
    """Apply branch ``b`` with probability ``branches[b]`` (the identity gets the rest): a
    branch has one character per qubit, a Pauli (``IXYZ``) or a reset to ``0`` / ``1``.
    The engine draws such a channel without looking at the state (resets measure).

    Raises:
        InvalidCircuitError: a bad branch, a probability outside [0, 1] or a sum above 1.
    """
    qs = _qubits(qubits, "mixture channel")
    k = len(qs)
    probs: dict[str, float] = {}
    for b, p in branches.items():
        if not isinstance(b, str) or len(b) != k or set(b) - set("IXYZ01"):
            raise InvalidCircuitError(
                f"mixture channel: {b!r} is not a branch of {k} character(s) from IXYZ01"
            )
        probs[b] = probs.get(b, 0.0) + _check_probability(p, f"mixture channel: P({b})")
    identity = "I" * k
    rest = 1.0 - sum(p for b, p in probs.items() if b != identity)
    if rest < -PROB_ATOL:
        raise InvalidCircuitError(
            f"mixture channel: the probabilities sum to {1 - rest:.6g}, more than 1"
        )
    probs[identity] = max(rest, 0.0)
    kept = tuple((b, p) for b, p in probs.items() if p > 0)
    kraus = [math.sqrt(p) * m for b, p in kept for m in _branch_kraus(b)]
    return NoiseChannel("mixture", qs, tuple(kraus), (), None, label, kept)


def kraus_channel(
    qubits: int | Sequence[int], operators: Iterable[Any], *, label: str | None = None
) -> NoiseChannel:
    """A channel from its Kraus operators (checked CPTP).

    Raises:
        InvalidCircuitError: see :class:`NoiseChannel`.
    """
    return NoiseChannel(
        "kraus", _qubits(qubits, "kraus channel"), tuple(operators), (), None, label
    )


def compose(first: NoiseChannel, second: NoiseChannel) -> NoiseChannel:
    """``second`` after ``first`` on the same qubits, as one channel (Kraus products)."""
    if first.qubits != second.qubits:
        raise InvalidCircuitError("compose: channels act on different qubits")
    kraus = tuple(b @ a for a in first.kraus for b in second.kraus)
    return NoiseChannel("kraus", first.qubits, kraus, (), None, first.label or second.label)


# -- noise models -----------------------------------------------------------------------------


def gate_key(op: Any) -> str:
    """The name a noise model knows a gate by: its source instruction name when the
    translator kept it (``label``), else the IR name with one ``c`` per control."""
    label = getattr(op, "label", None)
    if label:
        return str(label)
    return "c" * len(getattr(op, "controls", ())) + str(op.name)


@dataclass(frozen=True)
class NoiseModel:
    """Which channels follow which gates on which qubits, and readout errors per qubit.

    Attributes:
        local: ``{(gate name, qubits): channels}``: channels (on local qubits ``0..k-1``,
            mapped onto the gate's qubits, controls first) after that gate on those qubits.
        default: ``{gate name: channels}`` after that gate on any qubits that ``local``
            does not list (as Aer's all-qubit errors).
        readout: ``{qubit: assignment matrix}``; ``default_readout`` for other qubits.
        name: free text (which device or source the model came from).

    Gate names are those of :func:`gate_key` (Qiskit's names for circuits from Qiskit);
    ``"measure"`` channels come before a measurement, ``"reset"`` channels after a reset.
    """

    local: Mapping[tuple[str, tuple[int, ...]], tuple[NoiseChannel, ...]] = field(
        default_factory=dict
    )
    default: Mapping[str, tuple[NoiseChannel, ...]] = field(default_factory=dict)
    readout: Mapping[int, np.ndarray] = field(default_factory=dict)
    default_readout: np.ndarray | None = None
    name: str = ""

    def __post_init__(self) -> None:
        local = {}
        for (gate, qubits), chans in self.local.items():
            qs = tuple(int(q) for q in qubits)
            local[(str(gate), qs)] = self._checked(chans, len(qs), f"{gate} on {qs}")
        default = {str(g): self._checked(c, None, str(g)) for g, c in self.default.items()}
        readout = {
            int(q): readout_matrix(m, f"readout error of qubit {q}")
            for q, m in self.readout.items()
        }
        object.__setattr__(self, "local", local)
        object.__setattr__(self, "default", default)
        object.__setattr__(self, "readout", readout)
        if self.default_readout is not None:
            object.__setattr__(
                self, "default_readout", readout_matrix(self.default_readout, "readout error")
            )

    @staticmethod
    def _checked(chans: Any, k: int | None, where: str) -> tuple[NoiseChannel, ...]:
        if isinstance(chans, NoiseChannel):
            chans = (chans,)
        out = tuple(chans)
        for ch in out:
            if not isinstance(ch, NoiseChannel):
                raise InvalidCircuitError(f"noise model: {where}: {ch!r} is not a NoiseChannel")
            if max(ch.qubits) >= (k if k is not None else MAX_CHANNEL_QUBITS):
                raise InvalidCircuitError(
                    f"noise model: {where}: a channel on local qubits {ch.qubits} does not fit "
                    "the gate"
                )
        return out

    @property
    def is_ideal(self) -> bool:
        """True if the model adds nothing."""
        return not (self.local or self.default or self.readout or self.default_readout is not None)

    def channels_after(self, gate: str, qubits: tuple[int, ...]) -> tuple[NoiseChannel, ...]:
        """The channels (on the circuit's qubits) after ``gate`` on ``qubits``."""
        found = self.local.get((gate, qubits))
        if found is None:
            found = self.default.get(gate, ())
            found = tuple(ch for ch in found if max(ch.qubits) < len(qubits))
        return tuple(ch.on([qubits[j] for j in ch.qubits]) for ch in found)

    def readout_for(self, qubit: int) -> np.ndarray | None:
        """The assignment matrix of ``qubit``'s measurements, or None."""
        return self.readout.get(qubit, self.default_readout)

    def apply(self, circuit: Any) -> Any:
        """``circuit`` with this model's channels and readout errors inserted.

        Returns the circuit itself when the model adds nothing to it.
        """
        from .circuit import Circuit, Gate, Measure, Reset

        ops: list[Any] = []
        added = False
        for op in circuit.operations:
            if isinstance(op, Gate):
                ops.append(op)
                chans = self.channels_after(gate_key(op), op.all_qubits)
                if op.condition is not None and chans:
                    chans = tuple(_conditioned(ch, op.condition) for ch in chans)
                ops.extend(chans)
                added = added or bool(chans)
            elif isinstance(op, Measure):
                chans = self.channels_after("measure", (op.qubit,))
                ops.extend(chans)
                ops.append(op)
                matrix = self.readout_for(op.qubit)
                if matrix is not None:
                    ops.append(
                        _conditioned(
                            ReadoutError(op.register, op.bit, matrix, op.qubit), op.condition
                        )
                    )
                added = added or bool(chans) or matrix is not None
            elif isinstance(op, Reset):
                ops.append(op)
                chans = self.channels_after("reset", (op.qubit,))
                ops.extend(chans)
                added = added or bool(chans)
            else:
                ops.append(op)
        if not added:
            return circuit
        return Circuit(
            circuit.num_qubits,
            ops,
            circuit.registers,
            global_phase=circuit.global_phase,
            name=circuit.name,
            metadata=circuit.metadata,
        )

    def describe(self) -> dict[str, Any]:
        """A short JSON summary for result metadata."""
        return {
            "name": self.name,
            "gates": sorted({g for g, _ in self.local} | set(self.default)),
            "local_errors": len(self.local),
            "readout_qubits": len(self.readout) + (self.default_readout is not None),
        }

    def to_json(self) -> dict[str, Any]:
        """A JSON-compatible dict (the content of the encoding's ``"__noise__"`` tag)."""
        return {
            "name": self.name,
            "local": [
                [g, list(qs), [ch.to_json() for ch in chans]]
                for (g, qs), chans in self.local.items()
            ],
            "default": [[g, [ch.to_json() for ch in chans]] for g, chans in self.default.items()],
            "readout": [[q, m.tolist()] for q, m in self.readout.items()],
            "default_readout": None
            if self.default_readout is None
            else self.default_readout.tolist(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> NoiseModel:
        """Inverse of :meth:`to_json`."""
        try:
            return cls(
                local={
                    (g, tuple(qs)): tuple(NoiseChannel.from_json(c) for c in chans)
                    for g, qs, chans in data.get("local", [])
                },
                default={
                    g: tuple(NoiseChannel.from_json(c) for c in chans)
                    for g, chans in data.get("default", [])
                },
                readout={int(q): np.array(m) for q, m in data.get("readout", [])},
                default_readout=None
                if data.get("default_readout") is None
                else np.array(data["default_readout"]),
                name=str(data.get("name", "")),
            )
        except (KeyError, TypeError, ValueError, IndexError) as exc:
            if isinstance(exc, InvalidCircuitError):
                raise
            raise InvalidCircuitError(f"malformed noise model document: {exc!r}") from None


def _conditioned(op: Any, condition: Any) -> Any:
    """``op`` (just built) under a gate's classical condition (noise only where the gate
    ran)."""
    if condition is not None:
        object.__setattr__(op, "condition", condition)
    return op


def _cond_json(c: Any) -> Any:
    return None if c is None else [c.register, c.value, c.bit]


def _cond_from_json(c: Any) -> Any:
    if c is None:
        return None
    from .circuit import Condition

    return Condition(c[0], int(c[1]), None if c[2] is None else int(c[2]))


def has_noise(circuit: Any) -> bool:
    """True if ``circuit`` holds a noise channel or a readout error (computed once)."""
    return bool(
        circuit._memoized(
            "has_noise",
            lambda ops: any(isinstance(op, (NoiseChannel, ReadoutError)) for op in ops),
        )
    )
