"""Fixtures and helpers for engine tests: a dense-matrix oracle, random IR circuits, the
simulator on each kernel, small sample circuits and forced fusion options."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pytest

from qsession_provider.core import GATES, Circuit, Gate, Measure, Parameter
from qsession_provider.core.ir.gates import gate_matrix
from qsession_provider.sim import StatevectorSimulator
from qsession_provider.sim.fusion_policy import FusionOptions
from qsession_provider.sim.sampling import SCRATCH_QUBITS

#: the kernels every simulator-level test runs on
KERNELS = ["c", "reference"]
a, b = Parameter("a"), Parameter("b")  # the parameters of the sample circuits


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


def dense_final_state(circuit: Circuit, values: dict[str, float] | None = None) -> np.ndarray:
    """Independent oracle: multiply full 2**n matrices (small n only)."""
    bound = circuit.bind(values or {})
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
    """The dense-matrix oracle ``dense_final_state(circuit, values)``."""
    return dense_final_state


@pytest.fixture
def make_random_program() -> Callable[..., Circuit]:
    """``random_program(n, depth, seed)``."""
    return random_program


@pytest.fixture(params=KERNELS)
def sim(request: pytest.FixtureRequest) -> StatevectorSimulator:
    """A simulator on each kernel of :data:`KERNELS`."""
    return StatevectorSimulator(kernel=request.param)


def fusion_options(
    max_dense: int, tile: int = 0, *, force: bool = True, low: int = 2
) -> FusionOptions:
    """Fusion up to ``max_dense`` qubits; tiles of ``tile`` local qubits (forced)."""
    return FusionOptions(
        max_dense=max_dense,
        max_dense_memory=max_dense,
        max_diag=6,
        tile_qubits=tile,
        low_qubits=low,
        force_tiles=force,
    )


def parameterised(circuit: Circuit, seed: int) -> tuple[Circuit, dict[str, float]]:
    """``circuit`` with every other gate parameter replaced by an expression of 3 symbols."""
    rng = np.random.default_rng(seed)
    a, b, c = Parameter("a"), Parameter("b"), Parameter("c")
    exprs = [2 * a - b, a, b * 0.5 + 1, c.apply("cos"), a * b, -c + 0.25]
    ops = []
    for i, op in enumerate(circuit.operations):
        if isinstance(op, Gate) and op.params and i % 2 == 0:
            params = tuple(exprs[int(rng.integers(len(exprs)))] for _ in op.params)
            op = Gate(op.name, op.qubits, params, op.controls, op.ctrl_state, op.matrix)
        ops.append(op)
    values = {"a": float(rng.uniform(-2, 2)), "b": float(rng.uniform(-2, 2)), "c": 0.7}
    return Circuit(circuit.num_qubits, ops, global_phase=a - c), values


def bell() -> Circuit:
    """A Bell pair measured into register ``meas``."""
    ops = [Gate("h", (0,)), Gate("x", (1,), controls=(0,))]
    return Circuit(2, [*ops, Measure(0, "meas", 0), Measure(1, "meas", 1)], {"meas": 2})


def circuits() -> dict[str, Circuit]:
    """Non-branching circuits covering the lookup-table cases."""
    wide = SCRATCH_QUBITS + 1
    return {
        "bell": bell(),
        # two registers, bits out of order, an unmeasured bit
        "two registers": Circuit(
            3,
            [
                Gate("ry", (0,), (a,)),
                Gate("rx", (2,), (b,)),
                Gate("x", (1,), controls=(0,)),
                Measure(0, "c", 1),
                Measure(2, "c", 0),
                Measure(1, "d", 0),
            ],
            {"c": 2, "d": 3},
        ),
        # a qubit no gate touches (reads 0) and a bit written twice (the last read wins)
        "untouched and repeated": Circuit(
            4,
            [
                Gate("h", (1,)),
                Gate("ry", (2,), (0.8,)),
                Measure(3, "c", 0),
                Measure(1, "c", 1),
                Measure(2, "c", 1),
            ],
            {"c": 3},
        ),
        "fixed, uneven": Circuit(
            3,
            [
                Gate("ry", (0,), (0.3,)),
                Gate("ry", (2,), (2.1,)),
                Gate("x", (1,), controls=(2,)),
                *[Measure(q, "c", q) for q in range(3)],
            ],
            {"c": 3},
        ),
        "at the width limit": Circuit(
            SCRATCH_QUBITS,
            [Gate("ry", (q,), (a * (q + 1),)) for q in range(SCRATCH_QUBITS)]
            + [Measure(q, "c", q) for q in range(SCRATCH_QUBITS)],
            {"c": SCRATCH_QUBITS},
        ),
        "fixed at the width limit": Circuit(
            SCRATCH_QUBITS,
            [Gate("ry", (q,), (0.2 * (q + 1),)) for q in range(SCRATCH_QUBITS)]
            + [Measure(q, "c", q) for q in range(SCRATCH_QUBITS)],
            {"c": SCRATCH_QUBITS},
        ),
        "too wide for tables": Circuit(
            wide,
            [Gate("h", (q,)) for q in range(wide)] + [Measure(q, "c", q) for q in range(wide)],
            {"c": wide},
        ),
    }


def assert_same_registers(got: dict[str, np.ndarray], want: dict[str, np.ndarray]) -> None:
    assert list(got) == list(want)
    for name in want:
        assert got[name].shape == want[name].shape
        assert got[name].dtype == np.uint8
        assert got[name].flags.c_contiguous and got[name].flags.writeable
        np.testing.assert_array_equal(got[name], want[name])
