"""The kernel functions behind tiling (``run_tiled``) and the vector gate kernels, against the
numpy reference; their argument checks; every SIMD level. (``fuse_blocks``:
test_kernel_fusion.py.)"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref
from tests.sim.test_kernel_vs_reference import (
    DTYPE_IDS,
    DTYPES,
    assert_close,
    pack_plan,
    random_phases,
    random_state,
    random_unitary,
    threads,
)

# ---------------------------------------------------------------------------------------------
# Vector kernels: targets and controls among the lane qubits (inside one SIMD vector)
# ---------------------------------------------------------------------------------------------

LANE_QUBITS = [0, 1, 2, 3, 4, 6]


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("k", [1, 2, 3])
def test_every_lane_pattern_matches_reference(dtype: type, k: int) -> None:
    rng = np.random.default_rng([k, 5])
    n = 8
    base = random_state(rng, n, dtype)
    for targets in itertools.permutations(LANE_QUBITS, k):
        rest = [q for q in range(n) if q not in targets]
        for controls in ((), (rest[0],), (rest[1], rest[-1])):
            cs = int(rng.integers(2 ** len(controls))) if controls else -1
            for kind in (0, 1):
                data = random_unitary(rng, k) if kind == 0 else random_phases(rng, k)
                a, b = base.copy(), base.copy()
                for mod, s in ((ck, a), (ref, b)):
                    apply = mod.apply_matrix if kind == 0 else mod.apply_diagonal
                    apply(s, targets, data, controls, cs)
                assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
@pytest.mark.parametrize("n", [1, 2, 3, 4])
def test_states_smaller_than_a_vector(dtype: type, n: int) -> None:
    rng = np.random.default_rng(n)
    for k in range(1, n + 1):
        for targets in itertools.permutations(range(n), k):
            m = random_unitary(rng, k)
            d = random_phases(rng, k)
            a = random_state(rng, n, dtype)
            b = a.copy()
            for mod, s in ((ck, a), (ref, b)):
                mod.apply_matrix(s, targets, m)
                mod.apply_diagonal(s, targets, d)
            assert_close(a, b, dtype)


@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_diagonal_with_identity_rows_and_many_controls(dtype: type) -> None:
    rng = np.random.default_rng(2)
    n = 12
    state = random_state(rng, n, dtype)
    cases = [
        ((9,), (3,), np.array([1, np.exp(0.4j)])),  # controlled phase: most streams unchanged
        ((2, 3, 5, 7, 9, 11), (), random_phases(rng, 6)),  # short strided streams
        ((10, 11), (0, 1, 2, 3, 4, 5, 6), random_phases(rng, 2)),
        ((0, 5, 6), (7, 8, 9, 10), random_phases(rng, 3)),
    ]
    for targets, controls, d in cases:
        a, b = state.copy(), state.copy()
        ck.apply_diagonal(a, targets, d, controls, -1)
        ref.apply_diagonal(b, targets, d, controls, -1)
        assert_close(a, b, dtype)


# ---------------------------------------------------------------------------------------------
# run_tiled
# ---------------------------------------------------------------------------------------------


def random_tiles(
    rng: np.random.Generator, n: int, count: int
) -> tuple[list[tuple], list[tuple[int, ...]], list[tuple]]:
    """Tiles of random gates: (local qubits, gates in local numbering) and the global gates."""
    tiles, plan_local, plan_global = [], [], []
    for t in range(count):
        mode = t % 3
        if mode == 0:
            local: tuple[int, ...] = ()
        elif mode == 1:
            local = tuple(range(int(rng.integers(3, n))))  # contiguous: in place
        else:
            size = int(rng.integers(3, n))
            low = int(rng.integers(0, 3))
            rest = rng.permutation(np.arange(low, n))[: size - low]
            local = tuple(sorted({*range(low), *(int(q) for q in rest)}))
        width = len(local) or n
        gates = []
        for _ in range(int(rng.integers(0, 5))):
            k = int(rng.integers(1, min(width, 5) + 1))
            nc = int(rng.integers(0, min(width - k, 2) + 1))
            qs = [int(q) for q in rng.permutation(width)[: k + nc]]
            kind = int(rng.integers(2))
            data = random_unitary(rng, k) if kind == 0 else random_phases(rng, k)
            cs = int(rng.integers(2**nc)) if nc and rng.random() < 0.5 else -1
            gates.append((kind, tuple(qs[:k]), tuple(qs[k:]), cs, data))
        tiles.append(local)
        plan_local.extend(gates)
        names = local or tuple(range(n))
        plan_global.extend(
            (kind, tuple(names[q] for q in tg), tuple(names[q] for q in cg), cs, data)
            for kind, tg, cg, cs, data in gates
        )
        plan_local.append(None)  # tile boundary marker
    return plan_local, tiles, plan_global


def pack_tiled(plan_local: list, tiles: list[tuple[int, ...]]) -> tuple[np.ndarray, ...]:
    gates = [g for g in plan_local if g is not None]
    bounds, count = [0], 0
    for g in plan_local:
        if g is None:
            bounds.append(count)
        else:
            count += 1
    arrays = pack_plan(gates)
    tq = np.array([q for t in tiles for q in t], dtype=np.int32)
    tqo = np.cumsum([0] + [len(t) for t in tiles]).astype(np.int64)
    return (*arrays, np.array(bounds, dtype=np.int64), tq, tqo)


@pytest.mark.parametrize("seed", range(4))
@pytest.mark.parametrize("n", [5, 8, 11, 15])
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_run_tiled_matches_reference_and_run_plan(dtype: type, n: int, seed: int) -> None:
    rng = np.random.default_rng([seed, n, 9])
    plan_local, tiles, plan_global = random_tiles(rng, n, 7)
    arrays = pack_tiled(plan_local, tiles)
    a = random_state(rng, n, dtype)
    b, c = a.copy(), a.copy()
    ck.run_tiled(a, *arrays)
    ref.run_tiled(b, *arrays)
    ck.run_plan(c, *pack_plan(plan_global))
    assert_close(a, b, dtype)
    assert_close(a, c, dtype)


@pytest.mark.skipif(not ck.has_openmp(), reason="built without OpenMP")
def test_run_tiled_does_not_depend_on_thread_count() -> None:
    rng = np.random.default_rng(8)
    n = 16
    plan_local, tiles, _ = random_tiles(rng, n, 9)
    arrays = pack_tiled(plan_local, tiles)
    state = random_state(rng, n)
    results = []
    for nt in (1, 2, 3):
        with threads(nt):
            s = state.copy()
            ck.run_tiled(s, *arrays)
            results.append(s)
    for s in results[1:]:
        np.testing.assert_array_equal(s, results[0])


@pytest.mark.skipif(not ck.has_openmp(), reason="built without OpenMP")
@pytest.mark.parametrize("dtype", DTYPES, ids=DTYPE_IDS)
def test_parallel_sampling_matches_reference_for_any_thread_count(dtype: type) -> None:
    rng = np.random.default_rng(13)
    n = 17
    state = random_state(rng, n, dtype)
    state[1000:70000] = 0  # runs of zeros, whole reduction blocks among them
    state[-5000:] = 0  # trailing zeros: leftover uniforms go to the last nonzero amplitude
    uniforms = np.sort(np.concatenate([rng.random(3000), [0.0, 1 - 1e-16]]))
    expected = ref.sample(state, uniforms)
    for nt in (1, 2, 3):
        with threads(nt):
            np.testing.assert_array_equal(ck.sample(state, uniforms), expected)


# ---------------------------------------------------------------------------------------------
# run_tiled: argument checks
# ---------------------------------------------------------------------------------------------


def tiled_args(**override: object) -> dict[str, object]:
    """A valid run_tiled call on 4 qubits: an H in a tile on {0, 2}, then a global X."""
    h = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
    x = np.array([[0, 1], [1, 0]], dtype=np.complex128)
    args: dict[str, object] = {
        "kinds": np.array([0, 0], dtype=np.int32),
        "qubits": np.array([1, 3], dtype=np.int32),
        "qubit_offsets": np.array([0, 1, 2], dtype=np.int64),
        "matrices": np.concatenate([h.ravel(), x.ravel()]),
        "matrix_offsets": np.array([0, 4, 8], dtype=np.int64),
        "ctrl_counts": np.array([0, 0], dtype=np.int32),
        "ctrl_states": np.array([-1, -1], dtype=np.int64),
        "tile_offsets": np.array([0, 1, 2], dtype=np.int64),
        "tile_qubits": np.array([0, 2], dtype=np.int32),
        "tile_qubit_offsets": np.array([0, 2, 2], dtype=np.int64),
    }
    args.update(override)
    return args


@pytest.mark.parametrize("mod", [ck, ref], ids=["kernel", "reference"])
@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"qubits": np.array([2, 3], dtype=np.int32)}, "gate 0"),  # local qubit 2 of 2
        ({"tile_qubits": np.array([2, 0], dtype=np.int32)}, "ascending"),
        ({"tile_qubits": np.array([0, 0], dtype=np.int32)}, "ascending"),
        ({"tile_qubits": np.array([0, 4], dtype=np.int32)}, "ascending"),
        ({"tile_offsets": np.array([0, 2, 1], dtype=np.int64)}, "tile_offsets|tile 1"),
        ({"tile_offsets": np.array([0, 1], dtype=np.int64)}, "tile_qubit_offsets|tile_offsets"),
        ({"tile_offsets": np.array([1, 1, 2], dtype=np.int64)}, "tile_offsets"),
        ({"tile_qubit_offsets": np.array([0, 2, 3], dtype=np.int64)}, "tile_qubit_offsets"),
        ({"tile_qubit_offsets": np.array([0, 3, 2], dtype=np.int64)}, "tile 0"),
        ({"tile_offsets": np.zeros(0, dtype=np.int64)}, "at least one"),
    ],
)
def test_run_tiled_rejects_bad_tiles_before_running(
    mod: ModuleType, override: dict, message: str
) -> None:
    state = random_state(np.random.default_rng(0), 4)
    before = state.copy()
    with pytest.raises(ValueError, match=message):
        mod.run_tiled(state, **tiled_args(**override))
    np.testing.assert_array_equal(state, before)


@pytest.mark.parametrize("mod", [ck, ref], ids=["kernel", "reference"])
def test_run_tiled_valid_call_and_types(mod: ModuleType) -> None:
    state = random_state(np.random.default_rng(1), 4)
    expected = state.copy()
    ref.apply_matrix(expected, (2,), np.array([[1, 1], [1, -1]], dtype=complex) / np.sqrt(2))
    ref.apply_matrix(expected, (3,), np.array([[0, 1], [1, 0]], dtype=complex))
    mod.run_tiled(state, **tiled_args())
    np.testing.assert_allclose(state, expected, atol=1e-14)
    with pytest.raises(TypeError):
        mod.run_tiled(state, **tiled_args(tile_qubits=np.array([0, 2], dtype=np.int64)))
    with pytest.raises(TypeError):
        mod.run_tiled(np.zeros(16), **tiled_args())


def test_new_functions_keep_refcounts_stable() -> None:
    state = random_state(np.random.default_rng(3), 5)
    args = tiled_args()
    code = np.array([1, 0, 0, 1, 0], dtype=np.int64)
    comp = np.ones(4, dtype=np.complex128)
    out = np.zeros(4, dtype=np.complex128)
    watched = [state, code, comp, out, *args.values()]
    before = [sys.getrefcount(o) for o in watched]
    for _ in range(500):
        ck.run_tiled(state, **args)
        ck.fuse_blocks(code, comp, out)
        with pytest.raises(ValueError):
            ck.fuse_blocks(code[:3], comp, out)
    assert [sys.getrefcount(o) for o in watched] == before


# ---------------------------------------------------------------------------------------------
# Every SIMD level: vector kernels and tiles
# ---------------------------------------------------------------------------------------------

LEVELS = ["generic", "avx2", "avx512f"]
AVAILABLE = LEVELS[: LEVELS.index(ck.simd_level()) + 1]

SIMD_TILES = """
import json, sys, itertools, numpy as np
sys.path.insert(0, sys.argv[1])
from qsession_provider.sim import _kernel as ck, _reference as ref
from tests.sim.test_kernel_tiles import random_tiles, pack_tiled
from tests.sim.test_kernel_vs_reference import random_state, random_unitary, random_phases
rng = np.random.default_rng(4)
worst = 0.0
for dtype in (np.complex128, np.complex64):
    scale = 1e-12 if dtype == np.complex128 else 1e-5
    for n in (6, 9, 13):
        plan_local, tiles, _ = random_tiles(rng, n, 8)
        arrays = pack_tiled(plan_local, tiles)
        a = random_state(rng, n, dtype)
        b = a.copy()
        ck.run_tiled(a, *arrays)
        ref.run_tiled(b, *arrays)
        worst = max(worst, np.abs(a - b).max() / scale)
    for k in (1, 2, 3):
        for targets in itertools.permutations([0, 1, 2, 3, 5], k):
            a = random_state(rng, 7, dtype)
            b = a.copy()
            m, d = random_unitary(rng, k), random_phases(rng, k)
            for mod, s in ((ck, a), (ref, b)):
                mod.apply_matrix(s, targets, m, (6,), -1)
                mod.apply_diagonal(s, targets, d, (4,), 0)
            worst = max(worst, np.abs(a - b).max() / scale)
    # states smaller than one vector (they run on the portable kernels), with a control
    for n in (1, 2, 3):
        for k in range(1, n + 1):
            for nc in range(min(1, n - k) + 1):
                for qubits in itertools.permutations(range(n), k + nc):
                    a = random_state(rng, n, dtype)
                    b = a.copy()
                    m, d = random_unitary(rng, k), random_phases(rng, k)
                    for mod, s in ((ck, a), (ref, b)):
                        mod.apply_matrix(s, qubits[:k], m, qubits[k:], -1)
                        mod.apply_diagonal(s, qubits[:k], d, qubits[k:], 0)
                    worst = max(worst, np.abs(a - b).max() / scale)
print(json.dumps({"level": ck.simd_level(), "worst": float(worst)}))
"""


@pytest.mark.parametrize("level", AVAILABLE)
def test_vector_kernels_and_tiles_at_every_simd_level(level: str) -> None:
    root = Path(ck.__file__).resolve().parents[2]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    env = dict(os.environ, QSESSION_SIMD=level, PYTHONPATH=path)
    out = subprocess.run(
        [sys.executable, "-c", SIMD_TILES, str(root)],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result = json.loads(out.stdout)
    assert result["level"] == level
    assert result["worst"] < 1.0
