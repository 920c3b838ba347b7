"""Hygiene of the compiled kernel: bad input raises (never crashes), inputs stay untouched,
reference counts stay put, results repeat exactly, and the GIL is released while it works.

Error behaviour is checked on the numpy reference too, so either module can stand in for the
other."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
import tracemalloc
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref

N = 3
H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
CX = np.eye(4, dtype=np.complex128)[[0, 1, 3, 2]]
D2 = np.exp(1j * np.arange(4)).astype(np.complex128)


@pytest.fixture(params=[ck, ref], ids=["kernel", "reference"])
def mod(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


def state(n: int = N, dtype: type = np.complex128) -> np.ndarray:
    rng = np.random.default_rng(n)
    s = rng.normal(size=2**n) + 1j * rng.normal(size=2**n)
    return (s / np.linalg.norm(s)).astype(dtype)


def plan_arrays(**override: Any) -> dict[str, Any]:
    """A valid two-gate plan on 3 qubits (H on 0, then CX 1 -> 2), with fields replaced."""
    arrays = {
        "kinds": np.array([0, 0], dtype=np.int32),
        "qubits": np.array([0, 1, 2], dtype=np.int32),
        "qubit_offsets": np.array([0, 1, 3], dtype=np.int64),
        "matrices": np.concatenate([H.ravel(), X.ravel()]),
        "matrix_offsets": np.array([0, 4, 8], dtype=np.int64),
        "ctrl_counts": np.array([0, 1], dtype=np.int32),
        "ctrl_states": np.array([-1, -1], dtype=np.int64),
    }
    arrays.update(override)
    return arrays


# ---------------------------------------------------------------------------------------------
# Bad input raises
# ---------------------------------------------------------------------------------------------

ONE_MASK = np.ones(1, dtype=np.uint64)
GLOBAL_TILE = {  # one tile of global gates holding both gates of plan_arrays()
    "tile_offsets": np.array([0, 2], dtype=np.int64),
    "tile_qubits": np.zeros(0, dtype=np.int32),
    "tile_qubit_offsets": np.array([0, 0], dtype=np.int64),
}
STATE_CALLS: list[tuple[str, Callable[[ModuleType, Any], Any]]] = [
    ("apply_matrix", lambda m, s: m.apply_matrix(s, (0,), H)),
    ("apply_diagonal", lambda m, s: m.apply_diagonal(s, (0, 1), D2)),
    ("run_plan", lambda m, s: m.run_plan(s, **plan_arrays())),
    ("probabilities", lambda m, s: m.probabilities(s)),
    ("norm_squared", lambda m, s: m.norm_squared(s)),
    ("sample", lambda m, s: m.sample(s, np.array([0.1, 0.9]))),
    ("expectation", lambda m, s: m.expectation_paulis(s, ONE_MASK, ONE_MASK)),
    ("measure_probability", lambda m, s: m.measure_probability(s, 0)),
    ("collapse", lambda m, s: m.collapse(s, 0, 1)),
    ("run_tiled", lambda m, s: m.run_tiled(s, **plan_arrays(), **GLOBAL_TILE)),
    ("permute_qubits", lambda m, s: m.permute_qubits(s, [2, 0, 1])),
]
CALL_IDS = [name for name, _ in STATE_CALLS]
CALLS = [call for _, call in STATE_CALLS]


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(8, dtype=np.float64),
        np.zeros(8, dtype=np.int64),
        np.zeros(8, dtype=np.clongdouble),
        np.zeros(8, dtype=">c16"),
        [0j] * 8,
        None,
    ],
    ids=["float64", "int64", "clongdouble", "big-endian", "list", "None"],
)
def test_wrong_state_type_raises_type_error(mod: ModuleType, call: Callable, bad: Any) -> None:
    with pytest.raises(TypeError):
        call(mod, bad)


@pytest.mark.parametrize("call", CALLS, ids=CALL_IDS)
@pytest.mark.parametrize(
    "bad",
    [
        np.zeros(16, dtype=np.complex128)[::2],
        np.zeros((2, 4), dtype=np.complex128),
        np.zeros((), dtype=np.complex128),
        np.zeros(6, dtype=np.complex128),
        np.zeros(0, dtype=np.complex64),
    ],
    ids=["strided", "2-D", "0-D", "length-6", "empty"],
)
def test_bad_state_layout_raises_value_error(mod: ModuleType, call: Callable, bad: Any) -> None:
    with pytest.raises(ValueError):
        call(mod, bad)


IN_PLACE = [0, 1, 2, 8, 9, 10]  # the calls that update the state


@pytest.mark.parametrize("call", [CALLS[i] for i in IN_PLACE], ids=[CALL_IDS[i] for i in IN_PLACE])
def test_read_only_state_rejected_by_in_place_calls(mod: ModuleType, call: Callable) -> None:
    s = state()
    s.flags.writeable = False
    with pytest.raises(ValueError, match="writeable"):
        call(mod, s)


@pytest.mark.parametrize(
    ("args", "kwargs"),
    [
        (((3,), H), {}),  # out of range
        (((-1,), H), {}),
        (((10**30,), H), {}),
        (((0, 0), CX), {}),  # duplicate target
        (((0,), H), {"controls": (0,)}),  # control is a target
        (((0,), H), {"controls": (1, 1)}),
        (((0,), H), {"controls": (5,)}),
        (((), np.ones((1, 1), np.complex128)), {}),  # no target
        (((0, 1, 2, 3, 4, 5, 6), np.eye(128, dtype=np.complex128)), {}),  # k = 7
        (((0,), CX), {}),  # matrix shape does not match k
        (((0, 1), H), {}),
        (((0,), np.ones((2, 3), np.complex128)), {}),
        (((0,), np.ones(4, np.complex128)), {}),
        (((0,), np.asfortranarray(np.arange(4).reshape(2, 2).astype(np.complex128))), {}),
        (((0,), H), {"controls": (1,), "ctrl_state": 2}),  # ctrl_state out of range
        (((0,), H), {"controls": (1,), "ctrl_state": -2}),
        (((0,), H), {"ctrl_state": 10**30}),
    ],
)
def test_bad_gate_raises_value_error(mod: ModuleType, args: tuple, kwargs: dict) -> None:
    s = state()
    before = s.copy()
    with pytest.raises(ValueError):
        mod.apply_matrix(s, *args, **kwargs)
    np.testing.assert_array_equal(s, before)


def test_bad_gate_types_raise_type_error(mod: ModuleType) -> None:
    s = state()
    for args in [
        ((0,), H.astype(np.complex64)),
        ((0,), H.real.copy()),
        ((0,), H.tolist()),
        ((0.5,), H),
        (("a",), H),
        (0, H),
    ]:
        with pytest.raises(TypeError):
            mod.apply_matrix(s, *args)
    with pytest.raises(TypeError):
        mod.apply_diagonal(s, (0,), np.ones(2, np.complex64))


def test_bad_diagonal_raises_value_error(mod: ModuleType) -> None:
    s = state()
    for diag in (np.ones(2, np.complex128), np.ones((4, 1), np.complex128), (np.ones(8) + 0j)[::2]):
        with pytest.raises(ValueError):
            mod.apply_diagonal(s, (0, 1), diag)


@pytest.mark.parametrize(
    ("uniforms", "error"),
    [
        (np.array([0.5, 0.2]), ValueError),  # not sorted
        (np.array([0.2, 1.0]), ValueError),  # not below 1
        (np.array([-0.1, 0.2]), ValueError),
        (np.array([np.nan]), ValueError),
        (np.array([[0.1]]), ValueError),
        (np.linspace(0, 0.9, 10)[::2], ValueError),
        (np.array([0.1], dtype=np.float32), TypeError),
        ([0.1, 0.2], TypeError),
    ],
)
def test_bad_uniforms(mod: ModuleType, uniforms: Any, error: type) -> None:
    with pytest.raises(error):
        mod.sample(state(), uniforms)


def test_zero_state(mod: ModuleType) -> None:
    zero = np.zeros(8, dtype=np.complex128)
    with pytest.raises(ValueError, match="norm"):
        mod.sample(zero, np.array([0.5]))
    with pytest.raises(ValueError, match="norm"):
        mod.measure_probability(zero, 0)
    with pytest.raises(ValueError, match="probability"):
        mod.collapse(zero, 0, 0)


def test_collapse_onto_impossible_outcome_leaves_state(mod: ModuleType) -> None:
    s = np.zeros(8, dtype=np.complex128)
    s[0] = 1  # qubit 2 is certainly 0
    with pytest.raises(ValueError, match="probability"):
        mod.collapse(s, 2, 1)
    np.testing.assert_array_equal(s, np.eye(8)[0])
    for bad_outcome in (2, -1):
        with pytest.raises(ValueError):
            mod.collapse(s, 2, bad_outcome)
    for bad_qubit in (3, -1):
        with pytest.raises(ValueError):
            mod.collapse(s, bad_qubit, 0)
        with pytest.raises(ValueError):
            mod.measure_probability(s, bad_qubit)


def test_bad_pauli_masks(mod: ModuleType) -> None:
    s = state()
    ok = np.array([1, 2], dtype=np.uint64)
    with pytest.raises(TypeError):
        mod.expectation_paulis(s, ok.astype(np.int64), ok)
    with pytest.raises(ValueError):
        mod.expectation_paulis(s, ok, ok[:1])
    with pytest.raises(ValueError):
        mod.expectation_paulis(s, ok, np.array([1, 8], dtype=np.uint64))  # qubit 3 of 3


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ({"kinds": np.array([0, 2], dtype=np.int32)}, "gate 1"),
        ({"ctrl_counts": np.array([0, 2], dtype=np.int32)}, "gate 1"),  # no target left
        ({"ctrl_counts": np.array([-1, 1], dtype=np.int32)}, "gate 0"),
        ({"qubits": np.array([0, 1, 3], dtype=np.int32)}, "gate 1"),  # out of range
        ({"qubits": np.array([0, 1, 1], dtype=np.int32)}, "gate 1"),  # duplicate
        ({"matrix_offsets": np.array([0, 4, 7], dtype=np.int64)}, "matrix_offsets|gate 1"),
        ({"matrix_offsets": np.array([0, 2, 8], dtype=np.int64)}, "gate 0"),
        ({"kinds": np.array([1, 0], dtype=np.int32)}, "gate 0"),  # a diagonal needs 2 entries
        ({"ctrl_states": np.array([-1, 2], dtype=np.int64)}, "gate 1"),
        ({"qubit_offsets": np.array([0, 1, 2], dtype=np.int64)}, "qubit_offsets"),
        ({"qubit_offsets": np.array([0, 4, 3], dtype=np.int64)}, "offsets"),
        ({"qubit_offsets": np.array([0, 1], dtype=np.int64)}, "qubit_offsets"),
        ({"ctrl_counts": np.array([0], dtype=np.int32)}, "ctrl_counts"),
    ],
)
def test_bad_plan_raises_value_error_before_any_gate(
    mod: ModuleType, override: dict, message: str
) -> None:
    s = state()
    before = s.copy()
    with pytest.raises(ValueError, match=message):
        mod.run_plan(s, **plan_arrays(**override))
    np.testing.assert_array_equal(s, before)  # gate 0 was valid but did not run


@pytest.mark.parametrize(
    "field",
    [
        "kinds",
        "qubits",
        "qubit_offsets",
        "matrices",
        "matrix_offsets",
        "ctrl_counts",
        "ctrl_states",
    ],
)
def test_plan_wrong_dtype_raises_type_error(mod: ModuleType, field: str) -> None:
    arrays = plan_arrays()
    wrong = np.float32 if arrays[field].dtype != np.float32 else np.int64
    arrays[field] = arrays[field].real.astype(wrong)  # .real is a no-op for the integer fields
    with pytest.raises(TypeError):
        mod.run_plan(state(), **arrays)


def test_set_num_threads_validates(mod: ModuleType) -> None:
    for bad in (0, -3):
        with pytest.raises(ValueError):
            mod.set_num_threads(bad)
    with pytest.raises(TypeError):
        mod.set_num_threads(1.5)
    assert mod.get_num_threads() >= 1
    assert mod.simd_level() in ("avx512f", "avx2", "generic")
    assert isinstance(mod.has_openmp(), bool)


def test_thread_count_round_trips() -> None:
    old = ck.get_num_threads()
    try:
        ck.set_num_threads(3)
        assert ck.get_num_threads() == (3 if ck.has_openmp() else 1)
    finally:
        ck.set_num_threads(old)


# ---------------------------------------------------------------------------------------------
# Inputs other than the in-place state are not modified
# ---------------------------------------------------------------------------------------------


def test_inputs_are_not_modified() -> None:
    s = state(5)
    matrix = np.ascontiguousarray(np.kron(H, CX))
    diag = D2.copy()
    u = np.sort(np.random.default_rng(0).random(50))
    x = np.array([0, 3, 5], dtype=np.uint64)
    z = np.array([1, 3, 16], dtype=np.uint64)
    plan = plan_arrays()
    inputs = [matrix, diag, u, x, z, *plan.values()]
    copies = [a.copy() for a in inputs]
    targets, controls = (4, 0, 2), (1,)
    ck.apply_matrix(s, targets, matrix, controls, 1)
    ck.apply_diagonal(s, (3, 1), diag)
    ck.run_plan(s, **plan)
    frozen = s.copy()
    ck.probabilities(s)
    ck.norm_squared(s)
    ck.sample(s, u)
    ck.expectation_paulis(s, x, z)
    ck.measure_probability(s, 3)
    np.testing.assert_array_equal(s, frozen)  # read-only calls leave the state alone
    for a, b in zip(inputs, copies):
        np.testing.assert_array_equal(a, b)
    assert targets == (4, 0, 2) and controls == (1,)


# ---------------------------------------------------------------------------------------------
# Reference counts and memory
# ---------------------------------------------------------------------------------------------


def _refcounts(objs: list[Any]) -> list[int]:
    return [sys.getrefcount(o) for o in objs]


def test_refcounts_stable_over_1000_calls() -> None:
    s = state(4)
    s64 = state(4, np.complex64)
    targets, controls = (0, 2), (3,)
    u = np.sort(np.random.default_rng(1).random(20))
    x = np.array([0, 3], dtype=np.uint64)
    z = np.array([1, 3], dtype=np.uint64)
    plan = plan_arrays()
    objs = [s, s64, CX, D2, targets, controls, u, x, z, *plan.values()]
    before = _refcounts(objs)
    for _ in range(1000):
        for st in (s, s64):
            ck.apply_matrix(st, targets, CX, controls, 0)
            ck.apply_diagonal(st, targets, D2)
            ck.run_plan(st[:8], **plan)
            ck.probabilities(st)
            ck.norm_squared(st)
            ck.sample(st, u)
            ck.expectation_paulis(st, x, z)
            ck.measure_probability(st, 1)
            ck.collapse(st, 1, 0)
    del st  # the loop variable holds a reference of its own
    assert _refcounts(objs) == before


def test_refcounts_stable_on_error_paths() -> None:
    s = state(4)
    bad_plan = plan_arrays(qubits=np.array([0, 1, 1], dtype=np.int32))
    targets, dup = (0, 9), (1, 1)
    fuse_code = np.array([1, 2**63 - 4, 0, 1, 0], dtype=np.int64)  # offset + 4 wraps
    objs = [s, CX, targets, dup, fuse_code, *bad_plan.values()]
    before = _refcounts(objs)
    for _ in range(1000):
        for call in (
            lambda: ck.apply_matrix(s, targets, CX),
            lambda: ck.apply_matrix(s, dup, CX),
            lambda: ck.apply_matrix(s, (0, 1), H),
            lambda: ck.run_plan(s[:8], **bad_plan),
            lambda: ck.sample(s, np.array([0.5, 0.1])),
            lambda: ck.expectation_paulis(s, np.ones(2, np.uint64), np.ones(1, np.uint64)),
            lambda: ck.expectation_paulis(s, np.ones(1, np.uint64), np.full(1, 2**63, np.uint64)),
            lambda: ck.fuse_blocks(fuse_code, np.ones(4, np.complex128), np.zeros(4, complex)),
            lambda: ck.apply_matrix(s, [0, 2**64], CX),
        ):
            with pytest.raises(ValueError):
                call()
    assert _refcounts(objs) == before


def test_results_are_fresh_and_not_leaked() -> None:
    s = state(10)
    u = np.sort(np.random.default_rng(2).random(100))
    x = np.zeros(4, dtype=np.uint64)
    z = np.arange(4, dtype=np.uint64)
    for make in (
        lambda: ck.probabilities(s),
        lambda: ck.sample(s, u),
        lambda: ck.expectation_paulis(s, x, z),
    ):
        out = make()
        assert sys.getrefcount(out) == 2 and out.base is None and out.flags.owndata
    for _ in range(10):  # warm up caches before measuring
        ck.probabilities(s)
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            ck.probabilities(s)
            ck.sample(s, u)
            ck.expectation_paulis(s, x, z)
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert end - start < 64 * 1024  # one probabilities array is 8 KiB; 1000 leaks would be 8 MB


# ---------------------------------------------------------------------------------------------
# Repeatable results
# ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64], ids=["c128", "c64"])
def test_repeated_calls_give_identical_results(dtype: type) -> None:
    rng = np.random.default_rng(3)
    base = state(15, dtype)
    m = np.linalg.qr(rng.normal(size=(16, 16)) + 1j * rng.normal(size=(16, 16)))[0]
    u = np.sort(rng.random(1000))
    x = rng.integers(0, 2**15, 30).astype(np.uint64)
    z = rng.integers(0, 2**15, 30).astype(np.uint64)
    results = []
    for _ in range(3):
        s = base.copy()
        ck.apply_matrix(s, (14, 2, 9, 0), m)
        ck.apply_diagonal(s, (5,), D2[:2])
        results.append(
            (
                s,
                ck.probabilities(s),
                ck.norm_squared(s),
                ck.sample(s, u),
                ck.expectation_paulis(s, x, z),
                ck.measure_probability(s, 7),
            )
        )
    for other in results[1:]:
        for a, b in zip(results[0], other):
            np.testing.assert_array_equal(a, b)


# ---------------------------------------------------------------------------------------------
# The GIL is released during kernel calls
# ---------------------------------------------------------------------------------------------


@contextmanager
def one_thread() -> Iterator[None]:
    old = ck.get_num_threads()
    ck.set_num_threads(1)  # leave the second core to the Python thread below
    try:
        yield
    finally:
        ck.set_num_threads(old)


def test_kernel_call_releases_the_gil() -> None:
    """While one thread is inside a long run_plan call, another keeps running Python code.

    If the call held the GIL, the main thread could not execute a single bytecode between
    the moments the worker entered and left the kernel; we count its loop iterations that fall
    strictly inside that window (with a margin at both ends)."""
    rng = np.random.default_rng(4)
    n = 20
    s = state(n)
    k = 5
    m = np.linalg.qr(rng.normal(size=(2**k, 2**k)) + 1j * rng.normal(size=(2**k, 2**k)))[0]
    with one_thread():
        t0 = time.perf_counter()
        ck.apply_matrix(s, tuple(range(n - k, n)), m)
        per_gate = max(time.perf_counter() - t0, 1e-4)
        gates = int(min(400, max(4, 0.4 / per_gate)))  # aim for roughly 0.4 s in the kernel
        plan = {
            "kinds": np.zeros(gates, dtype=np.int32),
            "qubits": np.array([(g + j) % n for g in range(gates) for j in range(k)], np.int32),
            "qubit_offsets": np.arange(0, k * gates + 1, k, dtype=np.int64),
            "matrices": np.tile(m.ravel(), gates),
            "matrix_offsets": np.arange(0, 4**k * gates + 1, 4**k, dtype=np.int64),
            "ctrl_counts": np.zeros(gates, dtype=np.int32),
            "ctrl_states": np.full(gates, -1, dtype=np.int64),
        }
        window: list[float] = []

        def worker() -> None:
            window.append(time.perf_counter())
            ck.run_plan(s, **plan)
            window.append(time.perf_counter())

        stamps: list[float] = []
        thread = threading.Thread(target=worker)
        thread.start()
        while thread.is_alive():
            stamps.append(time.perf_counter())
        thread.join()
    start, end = window
    margin = 0.1 * (end - start)
    inside = sum(start + margin < t < end - margin for t in stamps)
    assert end - start > 0.05
    assert inside > 100, f"main thread ran {inside} iterations during a {end - start:.2f}s call"


FORK_CHECK = """
import os, numpy as np
from qsession_provider.sim import _kernel as ck
ck.set_num_threads(2)
s = np.zeros(2**16, complex)
s[0] = 1
h = np.array([[1, 1], [1, -1]], complex) / np.sqrt(2)
ck.apply_matrix(s, (3,), h)  # a parallel region: the OpenMP thread pool now exists
pid = os.fork()
if pid == 0:
    ck.apply_matrix(s, (3,), h)
    os._exit(0 if abs(s[0] - 1) < 1e-12 and ck.get_num_threads() == 1 else 1)
_, status = os.waitpid(pid, 0)
print(os.waitstatus_to_exitcode(status))
"""


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_kernel_works_in_a_forked_child() -> None:
    """GNU libgomp hangs in a child forked after a parallel region; the kernel must not."""
    root = Path(ck.__file__).resolve().parents[2]
    path = os.pathsep.join(p for p in (str(root), os.environ.get("PYTHONPATH", "")) if p)
    out = subprocess.run(
        [sys.executable, "-c", FORK_CHECK],
        env=dict(os.environ, PYTHONPATH=path),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert out.stdout.strip() == "0"
