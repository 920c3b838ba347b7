"""The compiled kernel against its numpy twin ``_reference`` (the oracle), and the oracle itself
against explicit dense operators in Qiskit's qubit order."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref

DTYPES = [np.complex128, np.complex64]
DTYPE_IDS = ["c128", "c64"]
TOL = {np.complex128: 1e-12, np.complex64: 1e-5}
SEEDS = [0, 1]
GATE_CASES = [(n, k) for n in range(1, 11) for k in range(1, min(n, 6) + 1)]
GATE_IDS = [f"n{n}-k{k}" for n, k in GATE_CASES]

I2 = np.eye(2, dtype=complex)
X = np.array([[0, 1], [1, 0]], dtype=complex)
Y = np.array([[0, -1j], [1j, 0]], dtype=complex)
Z = np.diag([1.0, -1.0]).astype(complex)


def random_state(rng: np.random.Generator, n: int, dtype: type = np.complex128) -> np.ndarray:
    v = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return (v / np.linalg.norm(v)).astype(dtype)


def random_unitary(rng: np.random.Generator, k: int) -> np.ndarray:
    a = rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k))
    q, r = np.linalg.qr(a)
    return np.ascontiguousarray(q * (np.diag(r) / np.abs(np.diag(r))))


def random_phases(rng: np.random.Generator, k: int) -> np.ndarray:
    return np.exp(1j * rng.uniform(-np.pi, np.pi, 2**k))


def pick_qubits(
    rng: np.random.Generator, n: int, k: int, nc: int
) -> tuple[tuple[int, ...], tuple[int, ...], int]:
    qs = [int(q) for q in rng.permutation(n)[: k + nc]]
    ctrl_state = int(rng.integers(2**nc)) if nc and rng.random() < 0.5 else -1
    return tuple(qs[:k]), tuple(qs[k:]), ctrl_state


def assert_close(a: np.ndarray, b: np.ndarray, dtype: type) -> None:
    np.testing.assert_allclose(a, b, rtol=0, atol=TOL[dtype])


@contextmanager
def threads(n: int) -> Iterator[None]:
    old = ck.get_num_threads()
    ck.set_num_threads(n)
    try:
        yield
    finally:
        ck.set_num_threads(old)


# ---------------------------------------------------------------------------------------------
# The oracle against explicit operators
# ---------------------------------------------------------------------------------------------


def embed(
    matrix: np.ndarray,
    targets: tuple[int, ...],
    n: int,
    controls: tuple[int, ...] = (),
    ctrl_state: int = -1,
) -> np.ndarray:
    """The full 2**n operator, built entry by entry (bit j of the matrix index = targets[j])."""
    dim = 2**n
    full = np.zeros((dim, dim), dtype=complex)
    cs = (1 << len(controls)) - 1 if ctrl_state == -1 else ctrl_state
    for col in range(dim):
        if any(((col >> c) & 1) != ((cs >> i) & 1) for i, c in enumerate(controls)):
            full[col, col] = 1
            continue
        sub = sum(((col >> t) & 1) << j for j, t in enumerate(targets))
        rest = col & ~sum(1 << t for t in targets)
        for r in range(2 ** len(targets)):
            row = rest | sum(((r >> j) & 1) << t for j, t in enumerate(targets))
            full[row, col] += matrix[r, sub]
    return full


def test_qiskit_qubit_order() -> None:
    # CX with control qubit 0 and target qubit 1 maps |q1 q0> = |01> (index 1) to |11> (3).
    for mod in (ck, ref):
        state = np.zeros(4, dtype=complex)
        state[1] = 1
        mod.apply_matrix(state, (1,), X, (0,))
        np.testing.assert_array_equal(state, [0, 0, 0, 1])
    # kron(A, B) on targets (t0, t1): B acts on t0 (least significant), A on t1.
    rng = np.random.default_rng(5)
    a, b = random_unitary(rng, 1), random_unitary(rng, 1)
    for mod in (ck, ref):
        s1 = random_state(np.random.default_rng(6), 3)
        s2 = s1.copy()
        mod.apply_matrix(s1, (2, 0), np.kron(a, b))
        mod.apply_matrix(s2, (2,), b)
        mod.apply_matrix(s2, (0,), a)
        np.testing.assert_allclose(s1, s2, atol=1e-14)


@pytest.mark.parametrize("seed", range(6))
def test_reference_matches_explicit_operators(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 4
    k = int(rng.integers(1, 4))
    nc = int(rng.integers(0, n - k + 1))
    targets, controls, ctrl_state = pick_qubits(rng, n, k, nc)
    m, d = random_unitary(rng, k), random_phases(rng, k)
    state = random_state(rng, n)
    s = state.copy()
    ref.apply_matrix(s, targets, m, controls, ctrl_state)
    np.testing.assert_allclose(s, embed(m, targets, n, controls, ctrl_state) @ state, atol=1e-13)
    s = state.copy()
    ref.apply_diagonal(s, targets, d, controls, ctrl_state)
    full = embed(np.diag(d), targets, n, controls, ctrl_state)
    np.testing.assert_allclose(s, full @ state, atol=1e-13)


@pytest.mark.parametrize("seed", range(4))
def test_reference_paulis_match_explicit_operators(seed: int) -> None:
    rng = np.random.default_rng(seed)
    n = 3
    state = random_state(rng, n)
    x = rng.integers(0, 2**n, 10).astype(np.uint64)
    z = rng.integers(0, 2**n, 10).astype(np.uint64)
    paulis = {(0, 0): I2, (1, 0): X, (0, 1): Z, (1, 1): Y}
    for t in range(10):
        op = np.ones((1, 1), dtype=complex)
        for q in range(n - 1, -1, -1):  # qubit 0 is the rightmost Kronecker factor
            op = np.kron(op, paulis[int(x[t] >> np.uint64(q)) & 1, int(z[t] >> np.uint64(q)) & 1])
        want = np.vdot(state, op @ state).real
        assert ref.expectation_paulis(state, x[t : t + 1], z[t : t + 1])[0] == pytest.approx(
            want, abs=1e-14
        )


# ---------------------------------------------------------------------------------------------
# Gates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "k"), GATE_CASES, ids=GATE_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_apply_matrix(dtype: type, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, k])
    for nc in sorted({0, min(1, n - k), n - k}):
        targets, controls, ctrl_state = pick_qubits(rng, n, k, nc)
        m = random_unitary(rng, k)
        a = random_state(rng, n, dtype)
        b = a.copy()
        ck.apply_matrix(a, targets, m, controls, ctrl_state)
        ref.apply_matrix(b, targets, m, controls, ctrl_state)
        assert_close(a, b, dtype)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("n", "k"), GATE_CASES, ids=GATE_IDS)
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_apply_diagonal(dtype: type, n: int, k: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, k, 1])
    for nc in sorted({0, min(1, n - k), n - k}):
        targets, controls, ctrl_state = pick_qubits(rng, n, k, nc)
        d = random_phases(rng, k) * rng.uniform(0.5, 2.0, 2**k)
        a = random_state(rng, n, dtype)
        b = a.copy()
        ck.apply_diagonal(a, targets, d, controls, ctrl_state)
        ref.apply_diagonal(b, targets, d, controls, ctrl_state)
        assert_close(a, b, dtype)


def random_plan(rng: np.random.Generator, n: int, gates: int) -> list[tuple]:
    plan = []
    for _ in range(gates):
        k = int(rng.integers(1, min(n, 6) + 1))
        nc = int(rng.integers(0, min(n - k, 2) + 1))
        targets, controls, ctrl_state = pick_qubits(rng, n, k, nc)
        kind = int(rng.integers(2))
        data = random_unitary(rng, k) if kind == 0 else random_phases(rng, k)
        plan.append((kind, targets, controls, ctrl_state, data))
    return plan


def pack_plan(plan: list[tuple]) -> tuple[np.ndarray, ...]:
    """The flat arrays of run_plan: controls first, then targets, per gate."""
    qubits = [list(c) + list(t) for _, t, c, _, _ in plan]
    data = [d.ravel() for *_, d in plan]
    return (
        np.array([g[0] for g in plan], dtype=np.int32),
        np.array([q for qs in qubits for q in qs], dtype=np.int32),
        np.cumsum([0] + [len(qs) for qs in qubits]).astype(np.int64),
        np.concatenate(data).astype(np.complex128) if data else np.zeros(0, np.complex128),
        np.cumsum([0] + [len(d) for d in data]).astype(np.int64),
        np.array([len(c) for _, _, c, _, _ in plan], dtype=np.int32),
        np.array([g[3] for g in plan], dtype=np.int64),
    )


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", range(1, 11))
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_run_plan(dtype: type, n: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, 2])
    plan = random_plan(rng, n, 12)
    arrays = pack_plan(plan)
    a = random_state(rng, n, dtype)
    b, c = a.copy(), a.copy()
    ck.run_plan(a, *arrays)
    ref.run_plan(b, *arrays)
    for kind, targets, controls, ctrl_state, data in plan:  # one call per gate
        apply = ck.apply_matrix if kind == 0 else ck.apply_diagonal
        apply(c, targets, data, controls, ctrl_state)
    assert_close(a, b, dtype)
    np.testing.assert_array_equal(a, c)


def test_run_plan_empty() -> None:
    state = random_state(np.random.default_rng(0), 3)
    before = state.copy()
    ck.run_plan(state, *pack_plan([]))
    np.testing.assert_array_equal(state, before)


# ---------------------------------------------------------------------------------------------
# Probabilities, sampling, expectation values, measurement
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("n", [0, *range(1, 11)])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_probabilities_and_norm(dtype: type, n: int) -> None:
    state = random_state(np.random.default_rng(n), n, dtype) * 1.5
    p = ck.probabilities(state)
    assert p.dtype == np.float64 and p.shape == (2**n,)
    np.testing.assert_allclose(p, ref.probabilities(state), rtol=1e-12, atol=1e-300)
    assert ck.norm_squared(state) == pytest.approx(ref.norm_squared(state), rel=1e-12)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", range(1, 11))
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sample(dtype: type, n: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, 3])
    state = random_state(rng, n, dtype) * 0.7  # unnormalised on purpose
    state[rng.random(2**n) < 0.3] = 0  # zero-probability amplitudes, some at the end
    if not state.any():
        state[0] = 1
    u = np.sort(rng.random(500))
    got = ck.sample(state, u)
    assert got.dtype == np.int64 and got.shape == (500,)
    np.testing.assert_array_equal(got, ref.sample(state, u))
    assert np.all(np.abs(state[got]) > 0)
    assert np.all(np.diff(got) >= 0)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_sample_never_returns_trailing_zero(dtype: type) -> None:
    rng = np.random.default_rng(7)
    for _ in range(50):
        state = random_state(rng, 6, dtype)
        state[int(rng.integers(1, 64)) :] = 0
        last = int(np.flatnonzero(state)[-1])
        u = np.array([0.0, 0.5, 1 - 2**-40, np.nextafter(1.0, 0.0)])
        for mod in (ck, ref):
            got = mod.sample(state, u)
            assert got[-1] == last and got[0] == np.flatnonzero(state)[0]
            assert np.all(got <= last)


def test_sample_empty_uniforms() -> None:
    state = random_state(np.random.default_rng(0), 3)
    assert ck.sample(state, np.zeros(0)).shape == (0,)


def random_masks(rng: np.random.Generator, n: int, terms: int) -> tuple[np.ndarray, np.ndarray]:
    x = rng.integers(0, 2**n, terms).astype(np.uint64)
    z = rng.integers(0, 2**n, terms).astype(np.uint64)
    x[: terms // 4] = 0  # a Z-only group
    x[terms // 4 : terms // 2] = x[terms // 2]  # a shared X/Y pattern
    return x, z


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("n", [0, *range(1, 11)])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_expectation_paulis(dtype: type, n: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, 4])
    state = random_state(rng, n, dtype)
    x, z = random_masks(rng, n, 24)
    got = ck.expectation_paulis(state, x, z)
    assert got.dtype == np.float64 and got.shape == (24,)
    assert_close(got, ref.expectation_paulis(state, x, z), dtype)


@pytest.mark.parametrize("n", range(1, 11))
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_measure_probability_and_collapse(dtype: type, n: int) -> None:
    rng = np.random.default_rng([n, 5])
    state = random_state(rng, n, dtype) * 2.0
    for q in range(n):
        p = ck.measure_probability(state, q)
        assert p == pytest.approx(ref.measure_probability(state, q), abs=TOL[dtype])
        for outcome in (0, 1):
            for renormalize in (True, False):
                a, b = state.copy(), state.copy()
                ck.collapse(a, q, outcome, renormalize)
                ref.collapse(b, q, outcome, renormalize)
                assert_close(a, b, dtype)
        a = state.copy()
        ck.collapse(a, q, 1)
        assert ck.norm_squared(a) == pytest.approx(1.0, abs=TOL[dtype])
        assert ck.measure_probability(a, q) == 1.0


# ---------------------------------------------------------------------------------------------
# Large states: OpenMP ranges, fixed reduction blocks, tiled k >= 4 gates
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_large_state_all_paths(dtype: type) -> None:
    rng = np.random.default_rng(11)
    n = 15
    state = random_state(rng, n, dtype)
    gates = [
        (0, (0,), (), -1),
        (0, (1, 0), (14,), -1),
        (0, (8, 9, 10, 11), (), -1),  # streams 4 KiB+ apart: tiled
        (0, (13, 9, 12, 10, 11), (2,), 0),
        (0, (14, 13, 12, 11, 10, 9), (), -1),
        (1, (0, 3), (5, 6), 2),
        (1, (12, 13, 14), (), -1),
    ]
    a, b = state.copy(), state.copy()
    for kind, targets, controls, cs in gates:
        k = len(targets)
        data = random_unitary(rng, k) if kind == 0 else random_phases(rng, k)
        for mod, s in ((ck, a), (ref, b)):
            (mod.apply_matrix if kind == 0 else mod.apply_diagonal)(s, targets, data, controls, cs)
    assert_close(a, b, dtype)
    x, z = random_masks(rng, n, 40)
    assert_close(ck.expectation_paulis(a, x, z), ref.expectation_paulis(a, x, z), dtype)
    assert ck.norm_squared(a) == pytest.approx(ref.norm_squared(a), rel=1e-12)
    for q in (0, 7, 14):
        assert ck.measure_probability(a, q) == pytest.approx(
            ref.measure_probability(a, q), abs=1e-12
        )
    u = np.sort(rng.random(2000))
    np.testing.assert_array_equal(ck.sample(a, u), ref.sample(a, u))


@pytest.mark.skipif(not ck.has_openmp(), reason="built without OpenMP")
def test_results_do_not_depend_on_thread_count() -> None:
    rng = np.random.default_rng(12)
    state = random_state(rng, 16)
    m = random_unitary(rng, 4)
    x, z = random_masks(rng, 16, 20)
    results = []
    for nt in (1, 2, 3):
        with threads(nt):
            s = state.copy()
            ck.apply_matrix(s, (3, 15, 7, 9), m, (1,))
            ck.collapse(s, 4, 1)
            results.append((s, ck.norm_squared(s), ck.expectation_paulis(s, x, z)))
    for s, norm, ev in results[1:]:
        np.testing.assert_array_equal(s, results[0][0])
        assert norm == results[0][1]
        np.testing.assert_array_equal(ev, results[0][2])


# ---------------------------------------------------------------------------------------------
# Every SIMD level this CPU supports, each in a fresh interpreter (QSESSION_SIMD)
# ---------------------------------------------------------------------------------------------

LEVELS = ["generic", "avx2", "avx512f"]
OTHER_LEVELS = LEVELS[: LEVELS.index(ck.simd_level())]

SIMD_CHECK = """
import json, numpy as np
from qsession_provider.sim import _kernel as ck, _reference as ref
rng = np.random.default_rng(3)
worst = 0.0
for dtype in (np.complex128, np.complex64):
    for n, k, t0 in [(3, 1, 0), (6, 2, 0), (7, 2, 3), (9, 3, 0), (11, 4, 6), (14, 4, 9),
                     (12, 5, 2), (12, 6, 6), (15, 1, 14), (8, 1, 2)]:
        s = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
        s = (s / np.linalg.norm(s)).astype(dtype)
        t = tuple(range(t0, t0 + k))[::-1]
        m = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))[0]
        d = np.exp(1j * rng.normal(size=2**k))
        a, b = s.copy(), s.copy()
        for mod, v in ((ck, a), (ref, b)):
            mod.apply_matrix(v, t, m)
            mod.apply_diagonal(v, t, d)
        x = rng.integers(0, 2**n, 9).astype(np.uint64)
        z = rng.integers(0, 2**n, 9).astype(np.uint64)
        ev = np.abs(ck.expectation_paulis(a, x, z) - ref.expectation_paulis(b, x, z)).max()
        scale = 1e-12 if dtype == np.complex128 else 1e-5
        worst = max(worst, np.abs(a - b).max() / scale, ev / scale,
                    abs(ck.norm_squared(a) - ref.norm_squared(b)) / scale)
print(json.dumps({"level": ck.simd_level(), "worst": worst}))
"""


@pytest.mark.parametrize("level", OTHER_LEVELS)
def test_other_simd_levels_match_reference(level: str) -> None:
    root = Path(ck.__file__).resolve().parents[2]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, QSESSION_SIMD=level, PYTHONPATH=path)
    out = subprocess.run(
        [sys.executable, "-c", SIMD_CHECK], env=env, capture_output=True, text=True, check=True
    )
    result = json.loads(out.stdout)
    assert result["level"] == level
    assert result["worst"] < 1.0  # within the dtype's tolerance
