"""The neutral gate library: every named gate the IR knows, with its matrix.

Conventions (the same as Qiskit's ``Operator`` on ``qargs``): a gate on qubits
``(q0, q1, ...)`` has a matrix whose row/column index bit ``j`` is qubit ``qj``, so
``q0`` is the least significant bit. Controls are not part of a gate: an IR operation
carries its control qubits separately, so ``cx`` is ``x`` with one control.

The Cirq-style ``*pow`` gates take ``(exponent, global_shift)`` as Cirq's ``EigenGate``
does, so symbolic exponents survive translation unchanged.

Every gate is written once, in :data:`GATES`. The gates that parameter sweeps bind most
(rotations, phases, U) are written for arrays of parameter values, so the simulator builds
the matrices of many gates in one numpy pass (:meth:`GateSpec.batch`); their one-value
matrix is the first row of that. The others are written for one set of values.
"""

from __future__ import annotations

import cmath
import math
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from ...errors import InvalidCircuitError

__all__ = ["GateSpec", "GATES", "gate_spec", "gate_matrix", "gate_diagonal"]

_I2 = np.eye(2, dtype=complex)
_X = np.array([[0, 1], [1, 0]], dtype=complex)
_Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
_Z = np.array([[1, 0], [0, -1]], dtype=complex)
_H = np.array([[1, 1], [1, -1]], dtype=complex) / math.sqrt(2)
_SWAP = np.array([[1, 0, 0, 0], [0, 0, 1, 0], [0, 1, 0, 0], [0, 0, 0, 1]], dtype=complex)


@dataclass(frozen=True)
class GateSpec:
    """A named gate: how many qubits and parameters it takes and how to build its matrix.

    Attributes:
        name: the IR name (lower case, Qiskit's where Qiskit has one).
        num_qubits: number of target qubits.
        num_params: number of real parameters.
        matrix: ``matrix(*params)`` returns the ``2**k x 2**k`` unitary (complex128).
        diagonal: ``diagonal(*params)`` returns the diagonal for diagonal gates, else None.
        vectorised: for the gates that parameter sweeps bind most, ``vectorised(*arrays)``
            takes one array of G values per parameter and returns the G flattened matrices
            (diagonals for diagonal gates) in one numpy pass; None for the others.
    """

    name: str
    num_qubits: int
    num_params: int
    matrix: Callable[..., np.ndarray]
    diagonal: Callable[..., np.ndarray] | None = None
    vectorised: Callable[..., np.ndarray] | None = field(default=None, repr=False)

    def batch(self, params: np.ndarray) -> np.ndarray:
        """The gate's data for each row of ``params`` (shape ``(G, num_params)``).

        Returns:
            complex128 of shape ``(G, 4**k)`` (row-major matrices) or, for a diagonal gate,
            ``(G, 2**k)`` (diagonals).
        """
        if self.vectorised is not None:
            return self.vectorised(*params.T)
        make = self.diagonal if self.diagonal is not None else self.matrix
        return np.array([np.asarray(make(*row), dtype=np.complex128).ravel() for row in params])


def _kron(*ms: np.ndarray) -> np.ndarray:
    """Kronecker product with the *first* argument on the most significant bit."""
    out = np.array([[1.0 + 0j]])
    for m in ms:
        out = np.kron(out, m)
    return out


# -- gates written for arrays of parameter values -------------------------------------------
# Each takes one array of shape (G,) per parameter and returns (G, 4**k) for dense gates or
# (G, 2**k) for diagonal ones, complex128, row-major. Their single-value form is row 0.


def _exp_pauli(pauli: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """exp(-i theta/2 P) for a Pauli product P (P @ P = I)."""
    eye = np.eye(len(pauli)).ravel()
    p = pauli.ravel()

    def build(theta: np.ndarray) -> np.ndarray:
        c, s = np.cos(theta / 2), np.sin(theta / 2)
        return c[:, None] * eye - 1j * s[:, None] * p

    return build


def _rx(theta: np.ndarray) -> np.ndarray:
    """``_exp_pauli(X)`` in fewer numpy calls (ansätze bind dozens of these every job)."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return _columns(c, -1j * s, -1j * s, c)


def _ry(theta: np.ndarray) -> np.ndarray:
    """``_exp_pauli(Y)`` in fewer numpy calls."""
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    return _columns(c, -s, s, c)


def _u(theta: np.ndarray, phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((len(theta), 4), dtype=complex)
    out[:, 0] = c
    out[:, 1] = -np.exp(1j * lam) * s
    out[:, 2] = np.exp(1j * phi) * s
    out[:, 3] = np.exp(1j * (phi + lam)) * c
    return out


def _u2(phi: np.ndarray, lam: np.ndarray) -> np.ndarray:
    return _u(np.full_like(phi, math.pi / 2), phi, lam)


def _r(theta: np.ndarray, phi: np.ndarray) -> np.ndarray:
    c, s = np.cos(theta / 2), np.sin(theta / 2)
    out = np.empty((len(theta), 4), dtype=complex)
    out[:, 0] = c
    out[:, 1] = -1j * np.exp(-1j * phi) * s
    out[:, 2] = -1j * np.exp(1j * phi) * s
    out[:, 3] = c
    return out


def _columns(*columns: np.ndarray | complex) -> np.ndarray:
    """``np.stack(columns, axis=1)`` as complex128, without ``np.stack``'s overhead."""
    first = next(c for c in columns if isinstance(c, np.ndarray))
    out = np.empty((len(first), len(columns)), dtype=np.complex128)
    for j, column in enumerate(columns):
        out[:, j] = column
    return out


def _rz(theta: np.ndarray) -> np.ndarray:
    return _columns(np.exp(-0.5j * theta), np.exp(0.5j * theta))


def _p(lam: np.ndarray) -> np.ndarray:
    return _columns(1.0, np.exp(1j * lam))


def _rzz(theta: np.ndarray) -> np.ndarray:
    a, b = np.exp(-0.5j * theta), np.exp(0.5j * theta)
    return _columns(a, b, b, a)


def _zpow(t: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Cirq's ZPowGate: diag(1, e^(i pi t)) with global shift s."""
    g = np.exp(1j * math.pi * t * s)
    return _columns(g, g * np.exp(1j * math.pi * t))


def _row(
    vectorised: Callable[..., np.ndarray], shape: tuple[int, ...]
) -> Callable[..., np.ndarray]:
    """The single-value form of a vectorised gate: row 0 for one value per parameter."""

    def build(*params: float) -> np.ndarray:
        return vectorised(*(np.array([p], dtype=float) for p in params))[0].reshape(shape)

    return build


# -- gates written for one set of parameter values -------------------------------------------


def _involution_pow(g: np.ndarray) -> Callable[[float, float], np.ndarray]:
    """Cirq EigenGate power of an involution G (eigenvalues +-1): G**t with global shift s."""
    eye = np.eye(len(g))
    plus, minus = (eye + g) / 2, (eye - g) / 2

    def matrix(t: float, s: float) -> np.ndarray:
        return cmath.exp(1j * math.pi * t * s) * (plus + cmath.exp(1j * math.pi * t) * minus)

    return matrix


def _z_phase(t: float) -> np.ndarray:
    """ZPowGate(exponent=t) without global shift, as a matrix."""
    return np.diag([1.0, cmath.exp(1j * math.pi * t)])


def _iswappow(t: float, s: float) -> np.ndarray:
    c, sn = math.cos(math.pi * t / 2), math.sin(math.pi * t / 2)
    m = np.array([[1, 0, 0, 0], [0, c, 1j * sn, 0], [0, 1j * sn, c, 0], [0, 0, 0, 1]])
    return cmath.exp(1j * math.pi * t * s) * m


def _phased_xpow(p: float, t: float, s: float) -> np.ndarray:
    z = _z_phase(p)
    return z @ _involution_pow(_X)(t, s) @ z.conj()


def _phased_xz(x: float, z: float, a: float) -> np.ndarray:
    za = _z_phase(a)
    return _z_phase(z) @ za @ _involution_pow(_X)(x, 0.0) @ za.conj()


def _fsim(theta: float, phi: float) -> np.ndarray:
    c, s = math.cos(theta), math.sin(theta)
    return np.array(
        [[1, 0, 0, 0], [0, c, -1j * s, 0], [0, -1j * s, c, 0], [0, 0, 0, cmath.exp(-1j * phi)]]
    )


def _xx_minus_yy(theta: float, beta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [
            [c, 0, 0, -1j * s * cmath.exp(-1j * beta)],
            [0, 1, 0, 0],
            [0, 0, 1, 0],
            [-1j * s * cmath.exp(1j * beta), 0, 0, c],
        ]
    )


def _xx_plus_yy(theta: float, beta: float) -> np.ndarray:
    c, s = math.cos(theta / 2), math.sin(theta / 2)
    return np.array(
        [
            [1, 0, 0, 0],
            [0, c, -1j * s * cmath.exp(-1j * beta), 0],
            [0, -1j * s * cmath.exp(1j * beta), c, 0],
            [0, 0, 0, 1],
        ]
    )


def _fixed(m: np.ndarray) -> Callable[[], np.ndarray]:
    frozen = np.array(m, dtype=complex)
    return lambda: frozen


def _fixed_diag(d: list[complex]) -> Callable[[], np.ndarray]:
    frozen = np.array(d, dtype=complex)
    return lambda: frozen


def _from_diag(diag: Callable[..., np.ndarray]) -> Callable[..., np.ndarray]:
    return lambda *p: np.diag(diag(*p))


def _specs() -> list[GateSpec]:
    s8 = cmath.exp(0.25j * math.pi)
    sx = np.array([[1 + 1j, 1 - 1j], [1 - 1j, 1 + 1j]]) / 2
    ecr = np.array([[0, 1, 0, 1j], [1, 0, -1j, 0], [0, 1j, 0, 1], [-1j, 0, 1, 0]]) / math.sqrt(2)
    dcx = np.array([[1, 0, 0, 0], [0, 0, 0, 1], [0, 1, 0, 0], [0, 0, 1, 0]])
    iswap = np.array([[1, 0, 0, 0], [0, 0, 1j, 0], [0, 1j, 0, 0], [0, 0, 0, 1]])

    # Written for arrays of values: (qubits, parameters, builder).
    vectorised_diagonal: dict[str, tuple[int, int, Callable[..., np.ndarray]]] = {
        "rz": (1, 1, _rz),
        "p": (1, 1, _p),
        "u1": (1, 1, _p),
        "zpow": (1, 2, _zpow),
        "rzz": (2, 1, _rzz),
    }
    vectorised_dense: dict[str, tuple[int, int, Callable[..., np.ndarray]]] = {
        "rx": (1, 1, _rx),
        "ry": (1, 1, _ry),
        "u": (1, 3, _u),
        "u3": (1, 3, _u),
        "u2": (1, 2, _u2),
        "r": (1, 2, _r),
        # Qiskit's R_{PQ}(theta) on qargs (q0, q1) is exp(-i theta/2 Q(q1) P(q0)) = kron(Q, P).
        "rxx": (2, 1, _exp_pauli(_kron(_X, _X))),
        "ryy": (2, 1, _exp_pauli(_kron(_Y, _Y))),
        "rzx": (2, 1, _exp_pauli(_kron(_X, _Z))),
    }
    # Written for one set of values: (qubits, parameters, diagonal or matrix).
    diagonal: dict[str, tuple[int, int, Callable[..., np.ndarray]]] = {
        "id": (1, 0, _fixed_diag([1, 1])),
        "z": (1, 0, _fixed_diag([1, -1])),
        "s": (1, 0, _fixed_diag([1, 1j])),
        "sdg": (1, 0, _fixed_diag([1, -1j])),
        "t": (1, 0, _fixed_diag([1, s8])),
        "tdg": (1, 0, _fixed_diag([1, s8.conjugate()])),
        "zzpow": (2, 2, lambda t, s: np.diag(_involution_pow(np.kron(_Z, _Z))(t, s)).copy()),
    }
    dense: dict[str, tuple[int, int, Callable[..., np.ndarray]]] = {
        "x": (1, 0, _fixed(_X)),
        "y": (1, 0, _fixed(_Y)),
        "h": (1, 0, _fixed(_H)),
        "sx": (1, 0, _fixed(sx)),
        "sxdg": (1, 0, _fixed(sx.conj().T)),
        "xpow": (1, 2, _involution_pow(_X)),
        "ypow": (1, 2, _involution_pow(_Y)),
        "hpow": (1, 2, _involution_pow(_H)),
        "phased_xpow": (1, 3, _phased_xpow),
        "phased_xz": (1, 3, _phased_xz),
        "swap": (2, 0, _fixed(_SWAP)),
        "iswap": (2, 0, _fixed(iswap)),
        "ecr": (2, 0, _fixed(ecr)),
        "dcx": (2, 0, _fixed(dcx)),
        "xx_minus_yy": (2, 2, _xx_minus_yy),
        "xx_plus_yy": (2, 2, _xx_plus_yy),
        "swappow": (2, 2, _involution_pow(_SWAP)),
        "iswappow": (2, 2, _iswappow),
        "xxpow": (2, 2, _involution_pow(_kron(_X, _X))),
        "yypow": (2, 2, _involution_pow(_kron(_Y, _Y))),
        "fsim": (2, 2, _fsim),
    }
    specs = []
    for n, (k, p, v) in vectorised_diagonal.items():
        d = _row(v, (2**k,))
        specs.append(GateSpec(n, k, p, _from_diag(d), d, v))
    for n, (k, p, v) in vectorised_dense.items():
        specs.append(GateSpec(n, k, p, _row(v, (2**k, 2**k)), None, v))
    specs += [GateSpec(n, k, p, _from_diag(d), d) for n, (k, p, d) in diagonal.items()]
    specs += [GateSpec(n, k, p, m) for n, (k, p, m) in dense.items()]
    return specs


#: Every named gate, by IR name.
GATES: dict[str, GateSpec] = {spec.name: spec for spec in _specs()}


def gate_spec(name: str) -> GateSpec:
    """The spec of a named gate.

    Raises:
        InvalidCircuitError: the name is not in the library.
    """
    try:
        return GATES[name]
    except KeyError:
        raise InvalidCircuitError(
            f"unknown gate {name!r}; known gates: {', '.join(sorted(GATES))} (or 'unitary')"
        ) from None


def gate_matrix(name: str, params: tuple[float, ...] = ()) -> np.ndarray:
    """The complex128 matrix of a named gate at numeric parameter values."""
    spec = gate_spec(name)
    return np.asarray(spec.matrix(*params), dtype=np.complex128)


def gate_diagonal(name: str, params: tuple[float, ...] = ()) -> np.ndarray | None:
    """The diagonal of a diagonal gate at numeric parameter values, or None if not diagonal."""
    spec = gate_spec(name)
    if spec.diagonal is None:
        return None
    return np.asarray(spec.diagonal(*params), dtype=np.complex128)
