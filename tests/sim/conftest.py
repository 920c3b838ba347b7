"""Fixtures for engine tests: a dense-matrix oracle and random IR circuits."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import GATES, Circuit, Gate
from qsession_provider.core.ir.gates import gate_matrix


def _embed(matrix: np.ndarray, qubits: tuple[int, ...], n: int) -> np.ndarray:
    """The 2**n operator applying ``matrix`` to ``qubits`` (bit j of matrix index = qubits[j])."""
    k = len(qubits)
    dim = 2**n
    idx = np.arange(dim)
    sub = np.zeros(dim, dtype=np.int64)
    rest = idx.copy()
    for j, q in enumerate(qubits):
        sub |= ((idx >> q) & 1) << j
        rest &= ~(1 << q)
    full = np.zeros((dim, dim), dtype=complex)
    for col in range(dim):
        for r in range(2**k):
            row = rest[col]
            for j, q in enumerate(qubits):
                row |= ((r >> j) & 1) << q
            full[row, col] += matrix[r, sub[col]]
    return full


def dense_final_state(program: Circuit, values: dict[str, float] | None = None) -> np.ndarray:
    """Independent oracle: multiply full 2**n matrices (small n only)."""
    bound = program.bind(values or {})
    n = bound.num_qubits
    state = np.zeros(2**n, dtype=complex)
    state[0] = 1
    for op in bound.operations:
        if not isinstance(op, Gate):
            continue
        m = op.matrix if op.name == "unitary" else gate_matrix(op.name, op.params)
        if op.controls:
            k, c = len(op.qubits), len(op.controls)
            cs = op.ctrl_state if op.ctrl_state is not None else 2**c - 1
            big = np.eye(2 ** (k + c), dtype=complex)
            # index layout: targets on low bits, controls above them
            base = cs << k
            big[base : base + 2**k, base : base + 2**k] = m
            m = big
            qubits = op.qubits + op.controls
        else:
            qubits = op.qubits
        state = _embed(m, qubits, n) @ state
    return state * np.exp(1j * float(bound.global_phase))


def random_program(n: int, depth: int, seed: int, *, controls: bool = True) -> Circuit:
    """A seeded random circuit over the whole gate library, with controls and matrices."""
    rng = np.random.default_rng(seed)
    names = sorted(g for g in GATES if GATES[g].num_qubits <= n)
    ops = []
    for _ in range(depth):
        name = names[rng.integers(len(names))]
        spec = GATES[name]
        qubits = tuple(int(q) for q in rng.permutation(n)[: spec.num_qubits])
        free = [q for q in range(n) if q not in qubits]
        ctrl: tuple[int, ...] = ()
        if controls and free and rng.random() < 0.3:
            ctrl = tuple(
                int(q) for q in rng.permutation(free)[: rng.integers(1, min(3, len(free)) + 1)]
            )
        ctrl_state = int(rng.integers(2 ** len(ctrl))) if ctrl else None
        ops.append(
            Gate(name, qubits, tuple(rng.uniform(-np.pi, np.pi, spec.num_params)), ctrl, ctrl_state)
        )
        if rng.random() < 0.15 and n >= 2:
            k = int(rng.integers(1, min(n, 4) + 1))
            q = tuple(int(x) for x in rng.permutation(n)[:k])
            a = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
            unitary, _ = np.linalg.qr(a)
            ops.append(Gate("unitary", q, matrix=unitary))
    return Circuit(n, ops, global_phase=float(rng.uniform(-1, 1)))


@pytest.fixture
def dense_oracle() -> Callable[..., np.ndarray]:
    """The dense-matrix oracle ``dense_final_state(program, values)``."""
    return dense_final_state


@pytest.fixture
def make_random_program() -> Callable[..., Circuit]:
    """``random_program(n, depth, seed)``."""
    return random_program
