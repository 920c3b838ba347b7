"""Bounds checks of the compiled kernel's entry points at the edges of int64 (issue 20, item 6).

Every offset, size, count, qubit and mask that reaches ``csrc/module.c`` is checked in a form
that cannot wrap: values near ``INT64_MAX``/``INT64_MIN`` (crafted so that ``offset + size``
or ``2 * offset`` would wrap), negative values and oversized Python integers raise a
ValueError or TypeError naming the argument, and leave the arrays untouched. The valid edges
(a block ending exactly at the end of ``out``, the highest qubit, the largest ``ctrl_state``,
empty plans) still work. ``tools/fuzz_kernels.py`` runs the same kind of arguments at random
under AddressSanitizer.
"""

from __future__ import annotations

import tracemalloc
from types import ModuleType
from typing import Any

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref
from tests.sim.test_kernel_tiles import tiled_args
from tests.sim.test_kernel_vs_reference import random_phases, random_state, random_unitary

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)
H = np.array([[1, 1], [1, -1]], dtype=np.complex128) / np.sqrt(2)
X = np.array([[0, 1], [1, 0]], dtype=np.complex128)
ERRORS = (ValueError, TypeError, OverflowError)


@pytest.fixture(params=[ck, ref], ids=["kernel", "reference"])
def mod(request: pytest.FixtureRequest) -> ModuleType:
    return request.param


def state(n: int = 3, dtype: type = np.complex128) -> np.ndarray:
    return random_state(np.random.default_rng(n), n, dtype)


# ---------------------------------------------------------------------------------------------
# fuse_blocks: the offsets of the reproducer
# ---------------------------------------------------------------------------------------------

# One dense 1-qubit block (out[0:4]) with one 1-qubit dense component (components[0:4]):
# code = [nblocks, out_offset, kind, k, ncomp, ckind, nt, nc, t0, ctrl_state, data_offset]
FUSE_OK = [1, 0, 0, 1, 1, 0, 1, 0, 0, -1, 0]
OUT_AT, DATA_AT, NT_AT, NC_AT = 1, 10, 6, 7


def fuse(code: list[int], ncomp: int = 4, nout: int = 4) -> tuple[np.ndarray, np.ndarray]:
    """Run ck.fuse_blocks on code; returns (out, its copy from before the call)."""
    comp = np.arange(ncomp, dtype=np.complex128) + 1j
    out = np.full(nout, 7 + 7j, dtype=np.complex128)
    before = out.copy()
    ck.fuse_blocks(np.array(code, dtype=np.int64), comp, out)
    return out, before


@pytest.mark.parametrize(
    "offset",
    [
        INT64_MAX,  # + 4 wraps to INT64_MIN + 3
        INT64_MAX - 3,  # + 4 wraps to exactly INT64_MIN
        INT64_MAX - 2,
        2**63 - 8,  # 2 * offset (complex -> double index) wraps to -16
        2**62,  # 4 * offset wraps
        INT64_MIN,
        INT64_MIN + 1,
        -1,
        -4,
        1,  # one past the room left: [1, 5) of 4
        5,
    ],
)
@pytest.mark.parametrize(("at", "what"), [(OUT_AT, "block output"), (DATA_AT, "component data")])
def test_fuse_blocks_refuses_offsets_that_wrap(offset: int, at: int, what: str) -> None:
    code = list(FUSE_OK)
    code[at] = offset
    with pytest.raises(ValueError, match=rf"code\[{at}\] = {offset}: {what} out of range"):
        fuse(code)


def test_fuse_blocks_refuses_counts_that_wrap() -> None:
    for at, value in [
        (NT_AT, INT64_MAX),  # nt + nc wraps negative with nc = 1 below
        (NC_AT, INT64_MAX),
        (NT_AT, INT64_MIN),
        (NC_AT, INT64_MIN),
        (NT_AT, 2**62),
    ]:
        code = list(FUSE_OK)
        code[at] = value
        if at == NT_AT:
            code[NC_AT] = 1
        with pytest.raises(ValueError, match=rf"code\[{at}\] = {value}: bad component qubit"):
            fuse(code)
    for code, message in [
        ([INT64_MAX], "ends inside a block header"),
        ([INT64_MAX, *FUSE_OK[1:]], "ends inside a block header"),
        ([1, 0, 0, 1, INT64_MAX, *FUSE_OK[5:]], "ends inside a component"),
        ([1, 0, 0, INT64_MAX, 0], r"code\[3\] = 9223372036854775807: block size"),
        ([1, 0, 0, 1, INT64_MIN], r"code\[4\] = -9223372036854775808: negative component count"),
        ([1, 0, INT64_MIN, 1, 0], r"code\[2\] = -9223372036854775808: block kind"),
        ([INT64_MIN], r"code\[0\] = -9223372036854775808: code must start"),
    ]:
        with pytest.raises(ValueError, match=message):
            fuse(code)


@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN, 2**62, 64, 63, -2])
@pytest.mark.parametrize("field", ["qubit", "ctrl_state"])
def test_fuse_blocks_refuses_huge_qubits_and_ctrl_states(value: int, field: str) -> None:
    # A controlled 1-qubit component in a 2-qubit block: ... nt=1 nc=1 t0=0 c0=1 cs=-1 doff=0
    code = [1, 0, 0, 2, 1, 0, 1, 1, 0, 1, -1, 0]
    at = 8 if field == "qubit" else 10
    code[at] = value
    message = "component qubit outside its block" if field == "qubit" else "bad ctrl_state"
    with pytest.raises(ValueError, match=rf"code\[{at}\] = {value}: {message}"):
        fuse(code, nout=16)


def test_fuse_blocks_leaves_out_untouched_when_a_later_block_is_bad() -> None:
    code = FUSE_OK + FUSE_OK[1:]
    code[0] = 2
    code[len(FUSE_OK) + OUT_AT - 1] = INT64_MAX - 3  # the second block's output offset
    comp = np.ones(4, dtype=np.complex128)
    out = np.full(8, 7 + 7j, dtype=np.complex128)
    with pytest.raises(ValueError, match="block output out of range"):
        ck.fuse_blocks(np.array(code, dtype=np.int64), comp, out)
    np.testing.assert_array_equal(out, np.full(8, 7 + 7j))  # the first block was not written


def test_fuse_blocks_valid_edges(mod: ModuleType) -> None:
    """A block that ends exactly at the end of out, data that ends exactly at the end of
    components, the largest block (6 qubits) and the largest ctrl_state."""
    rng = np.random.default_rng(7)
    u = random_unitary(rng, 1)
    d = random_phases(rng, 2)
    comp = np.concatenate([np.zeros(3, np.complex128), u.ravel(), d])  # data at 3 and 7
    code = [
        3,
        *(12, 0, 1, 1, 0, 1, 0, 0, -1, 3),  # dense 1-qubit block at out[12:16]
        *(16, 1, 2, 1, 1, 2, 0, 1, 0, -1, 7),  # diagonal 2-qubit block at out[16:20]
        *(20, 0, 6, 1, 1, 1, 5, 5, 0, 1, 2, 3, 4, 31, 7),  # 6-qubit block, 5 controls
    ]
    out = np.full(20 + 4**6, np.nan, dtype=np.complex128)
    mod.fuse_blocks(np.array(code, dtype=np.int64), comp, out)
    np.testing.assert_allclose(out[12:16], u.ravel())
    np.testing.assert_allclose(out[16:20], d[[0, 2, 1, 3]])  # component qubits (1, 0)
    big = out[20:].reshape(64, 64)
    expected = np.ones(64, dtype=np.complex128)
    expected[31] = d[0]  # controls (qubits 0..4) all 1, target (qubit 5) 0
    expected[63] = d[1]
    np.testing.assert_allclose(big, np.diag(expected), atol=1e-15)
    assert np.isnan(out[:12]).all()


def test_fuse_blocks_code_may_share_memory_with_out() -> None:
    """The kernel works on a private copy of the checked code: writing out cannot change it."""
    buffer = np.zeros(8, dtype=np.complex128)
    code = buffer.view(np.int64)[:5]
    code[:] = [1, 0, 0, 1, 0]  # one dense 1-qubit block, no components, at out[0:4]
    ck.fuse_blocks(code, np.zeros(0, dtype=np.complex128), buffer)
    np.testing.assert_array_equal(buffer[:4], np.eye(2).ravel())
    np.testing.assert_array_equal(buffer[4:], 0)


# ---------------------------------------------------------------------------------------------
# run_plan and run_tiled: offsets, counts and qubits at the edges of int64/int32
# ---------------------------------------------------------------------------------------------


def plan(**override: Any) -> dict[str, Any]:
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


def i64(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int64)


def i32(*values: int) -> np.ndarray:
    return np.array(values, dtype=np.int32)


PLAN_EDGES = [
    ({"qubit_offsets": i64(0, INT64_MIN, 3)}, r"gate 0: qubit_offsets\[1\]"),
    ({"qubit_offsets": i64(0, INT64_MAX, 3)}, r"gate 0: qubit_offsets\[1\]"),
    ({"qubit_offsets": i64(0, -1, 3)}, r"gate 0: qubit_offsets\[1\]"),
    ({"qubit_offsets": i64(0, 4, 3)}, r"gate 0: qubit_offsets\[1\] = 4"),
    ({"qubit_offsets": i64(INT64_MIN, 1, 3)}, "qubit_offsets must start at 0"),
    ({"qubit_offsets": i64(0, 1, INT64_MAX)}, "qubit_offsets must start at 0"),
    ({"matrix_offsets": i64(0, INT64_MIN, 8)}, r"gate 0: matrix_offsets\[1\]"),
    ({"matrix_offsets": i64(0, INT64_MAX, 8)}, r"gate 0: matrix_offsets\[1\]"),
    ({"matrix_offsets": i64(0, INT64_MIN + 4, 8)}, r"gate 0: matrix_offsets\[1\]"),
    ({"matrix_offsets": i64(0, 4, INT64_MAX)}, "matrix_offsets must start at 0"),
    ({"ctrl_counts": i32(0, INT32_MIN)}, "gate 1: 2 qubits with ctrl_counts"),
    ({"ctrl_counts": i32(0, INT32_MAX)}, "gate 1: 2 qubits with ctrl_counts"),
    ({"ctrl_counts": i32(INT32_MIN, 1)}, "gate 0: 1 qubits with ctrl_counts"),
    ({"ctrl_states": i64(-1, INT64_MAX)}, "gate 1: ctrl_state 9223372036854775807"),
    ({"ctrl_states": i64(-1, INT64_MIN)}, "gate 1: ctrl_state -9223372036854775808"),
    ({"ctrl_states": i64(INT64_MIN, -1)}, "gate 0: ctrl_state"),  # no controls: only -1 or 0
    ({"kinds": i32(INT32_MIN, 0)}, "gate 0: kind"),
    ({"kinds": i32(0, INT32_MAX)}, "gate 1: kind"),
    ({"qubits": i32(INT32_MAX, 1, 2)}, "gate 0: qubit 2147483647 out of range"),
    ({"qubits": i32(0, INT32_MIN, 2)}, "gate 1: qubit -2147483648 out of range"),
    ({"qubits": i32(0, 1, 64)}, "gate 1: qubit 64 out of range"),
]


@pytest.mark.parametrize(("override", "message"), PLAN_EDGES)
def test_run_plan_refuses_edge_values_before_any_gate(override: dict, message: str) -> None:
    s = state()
    before = s.copy()
    with pytest.raises(ValueError, match=message):
        ck.run_plan(s, **plan(**override))
    np.testing.assert_array_equal(s, before)


@pytest.mark.parametrize(("override", "message"), PLAN_EDGES)
def test_reference_refuses_the_same_plans(override: dict, message: str) -> None:
    with pytest.raises(ValueError):
        ref.run_plan(state(), **plan(**override))


TILE_EDGES = [
    ({"tile_offsets": i64(0, INT64_MIN, 2)}, r"tile 0: tile_offsets\[1\]"),
    ({"tile_offsets": i64(0, INT64_MAX, 2)}, r"tile 0: tile_offsets\[1\]"),
    ({"tile_offsets": i64(0, 3, 2)}, r"tile 0: tile_offsets\[1\] = 3"),
    ({"tile_offsets": i64(0, 1, INT64_MAX)}, "tile_offsets must start at 0"),
    ({"tile_qubit_offsets": i64(0, INT64_MIN, 2)}, r"tile 0: tile_qubit_offsets\[1\]"),
    ({"tile_qubit_offsets": i64(0, INT64_MAX, 2)}, r"tile 0: tile_qubit_offsets\[1\]"),
    ({"tile_qubit_offsets": i64(0, 2, INT64_MIN)}, "tile_qubit_offsets must start at 0"),
    ({"tile_qubits": i32(0, INT32_MAX)}, "tile 0: local qubits"),
    ({"tile_qubits": i32(INT32_MIN, 2)}, "tile 0: local qubits"),
    ({"qubit_offsets": i64(0, INT64_MIN, 2)}, r"gate 0: qubit_offsets\[1\]"),
    ({"qubits": i32(INT32_MAX, 3)}, "gate 0: qubit 2147483647 out of range for 2"),
]


@pytest.mark.parametrize(("override", "message"), TILE_EDGES)
def test_run_tiled_refuses_edge_values_before_any_gate(override: dict, message: str) -> None:
    s = state(4)
    before = s.copy()
    with pytest.raises(ValueError, match=message):
        ck.run_tiled(s, **tiled_args(**override))
    np.testing.assert_array_equal(s, before)


@pytest.mark.parametrize(("override", "message"), TILE_EDGES)
def test_reference_refuses_the_same_tiles(override: dict, message: str) -> None:
    with pytest.raises(ValueError):
        ref.run_tiled(state(4), **tiled_args(**override))


def test_plans_and_tiles_valid_edges(mod: ModuleType) -> None:
    """No gates at all; no tiles; a tile over every qubit; a 6-target gate; the largest
    ctrl_state; the highest qubit."""
    empty = {
        "kinds": i32(),
        "qubits": i32(),
        "qubit_offsets": i64(0),
        "matrices": np.zeros(0, dtype=np.complex128),
        "matrix_offsets": i64(0),
        "ctrl_counts": i32(),
        "ctrl_states": i64(),
    }
    s = state(7)
    before = s.copy()
    mod.run_plan(s, **empty)
    mod.run_tiled(s, **empty, tile_offsets=i64(0), tile_qubits=i32(), tile_qubit_offsets=i64(0))
    np.testing.assert_array_equal(s, before)

    rng = np.random.default_rng(3)
    u6 = random_unitary(rng, 6)
    arrays = {
        "kinds": i32(0, 0),
        "qubits": i32(6, 0, 1, 2, 3, 4, 5, 0, 1, 2, 3, 4, 5, 6),  # 6 targets; 6 controls
        "qubit_offsets": i64(0, 7, 14),
        "matrices": np.concatenate([u6.ravel(), X.ravel()]),
        "matrix_offsets": i64(0, 4**6, 4**6 + 4),
        "ctrl_counts": i32(1, 6),
        "ctrl_states": i64(-1, 2**6 - 1),
    }
    expected = before.copy()
    ref.apply_matrix(expected, (0, 1, 2, 3, 4, 5), u6, (6,), -1)
    ref.apply_matrix(expected, (6,), X, (0, 1, 2, 3, 4, 5), 2**6 - 1)
    a, b = before.copy(), before.copy()
    mod.run_plan(a, **arrays)
    whole = {"tile_offsets": i64(0, 2), "tile_qubits": i32(*range(7))}
    mod.run_tiled(b, **arrays, **whole, tile_qubit_offsets=i64(0, 7))
    np.testing.assert_allclose(a, expected, atol=1e-12)
    np.testing.assert_allclose(b, expected, atol=1e-12)


# ---------------------------------------------------------------------------------------------
# Gates, measurement, permutation, masks, uniforms, threads: Python integers beyond int64
# ---------------------------------------------------------------------------------------------

HUGE = [INT64_MAX, INT64_MIN, 2**63, 2**64, -(2**64), 10**30, 64, 63, -1]


@pytest.mark.parametrize("value", HUGE)
@pytest.mark.parametrize("where", ["targets", "controls"])
def test_gate_qubits_at_the_edges(mod: ModuleType, value: int, where: str) -> None:
    s = state()
    before = s.copy()
    kwargs = {"controls": (1, value)} if where == "controls" else {}
    targets = (0,) if where == "controls" else (0, value)
    matrix = H if where == "controls" else np.kron(H, X)
    with pytest.raises(ValueError, match=where):
        mod.apply_matrix(s, targets, matrix, **kwargs)
    with pytest.raises(ValueError, match=where):
        mod.apply_diagonal(s, targets, np.ones(len(targets) * 2, np.complex128), **kwargs)
    np.testing.assert_array_equal(s, before)


@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN, 2**63, 10**30, 2, -2])
def test_ctrl_state_at_the_edges(mod: ModuleType, value: int) -> None:
    with pytest.raises(ValueError, match="ctrl_state"):
        mod.apply_matrix(state(), (0,), H, (1,), value)


def test_too_many_qubits_in_a_list(mod: ModuleType) -> None:
    s = state()
    with pytest.raises(ValueError, match="targets"):
        mod.apply_matrix(s, tuple(range(7)), np.eye(128, dtype=np.complex128))
    with pytest.raises(ValueError, match="controls"):
        mod.apply_matrix(s, (0,), H, tuple(range(1, 100)))
    with pytest.raises(ValueError, match="source"):
        mod.permute_qubits(s, list(range(100)))


@pytest.mark.parametrize("value", HUGE)
def test_single_qubit_arguments_at_the_edges(mod: ModuleType, value: int) -> None:
    s = state()
    before = s.copy()
    with pytest.raises(ValueError, match="qubit"):
        mod.measure_probability(s, value)
    with pytest.raises(ValueError, match="qubit"):
        mod.collapse(s, value, 0)
    with pytest.raises(ValueError, match="outcome"):
        mod.collapse(s, 0, value)
    with pytest.raises(ValueError, match="source"):
        mod.permute_qubits(s, [0, 1, value])
    np.testing.assert_array_equal(s, before)


def test_wrong_integer_types_raise_type_error(mod: ModuleType) -> None:
    s = state()
    for bad in (1.0, "0", b"0", None, [0]):
        with pytest.raises(TypeError):
            mod.measure_probability(s, bad)
        with pytest.raises(TypeError):
            mod.collapse(s, 0, bad)
    with pytest.raises(TypeError):
        mod.apply_matrix(s, (np.float64(0.0),), H)
    with pytest.raises(TypeError):
        mod.permute_qubits(s, 3)


@pytest.mark.parametrize("mask", [8, 2**62, 2**63, 2**64 - 1])
@pytest.mark.parametrize("field", ["x_masks", "z_masks"])
def test_pauli_masks_at_the_edges(mod: ModuleType, mask: int, field: str) -> None:
    masks = {"x_masks": np.array([1, 2], np.uint64), "z_masks": np.array([3, 4], np.uint64)}
    masks[field] = np.array([1, mask], dtype=np.uint64)
    with pytest.raises(ValueError, match=field if mod is ck else "term 1|qubits"):
        mod.expectation_paulis(state(), masks["x_masks"], masks["z_masks"])


def test_pauli_masks_valid_edge(mod: ModuleType) -> None:
    s = state()
    full = np.array([7, 0, 7], dtype=np.uint64)  # every qubit, on the 3 of the state
    out = mod.expectation_paulis(s, full, full[::-1].copy())
    np.testing.assert_allclose(out, ref.expectation_paulis(s, full, full[::-1].copy()))


@pytest.mark.parametrize("bad", [np.inf, -np.inf, np.nan, 2.0**63, -(2.0**63), 1.0, -1e-300])
def test_uniforms_at_the_edges(mod: ModuleType, bad: float) -> None:
    with pytest.raises(ValueError, match="uniforms"):
        mod.sample(state(), np.array([0.1, bad]))


def test_no_uniforms_is_no_shots(mod: ModuleType) -> None:
    out = mod.sample(state(), np.zeros(0))
    assert out.shape == (0,) and out.dtype == np.int64


@pytest.mark.parametrize("value", [INT64_MAX, INT64_MIN, 2**63, 2**64, 4097, 0, -1])
def test_set_num_threads_at_the_edges(mod: ModuleType, value: int) -> None:
    old = mod.get_num_threads()
    with pytest.raises(ValueError):
        mod.set_num_threads(value)
    assert mod.get_num_threads() == old


# ---------------------------------------------------------------------------------------------
# Arguments that change while they are read
# ---------------------------------------------------------------------------------------------


class ClearingIndex:
    """A qubit number whose ``__index__`` empties (and refills) the list holding it."""

    def __init__(self, value: int, victim: list) -> None:
        self.value = value
        self.victim = victim

    def __index__(self) -> int:
        self.victim.clear()
        self.victim.extend(object() for _ in range(3))
        return self.value


def test_a_list_emptied_by_index_is_read_safely() -> None:
    """The qubits are read from a snapshot of the list, so the items still to be read stay
    alive (reading them from the list itself would read freed memory)."""
    s = state()
    expected = s.copy()
    ref.apply_matrix(expected, (0, 1), np.kron(X, H))
    targets: list[Any] = [0, 1]
    targets[0] = ClearingIndex(0, targets)
    ck.apply_matrix(s, targets, np.kron(X, H))
    np.testing.assert_allclose(s, expected, atol=1e-14)
    source: list[Any] = [2, 0, 1]
    source[0] = ClearingIndex(2, source)
    ck.permute_qubits(s, source)
    ref.permute_qubits(expected, [2, 0, 1])
    np.testing.assert_allclose(s, expected, atol=1e-14)


def test_private_copies_are_freed_on_every_path() -> None:
    """fuse_blocks copies its code and expectation_paulis its masks: refused or not, the copies
    are released (1000 leaked copies of 8 KB would be 8 MB)."""
    code = np.array([1, 0, 0, 1, 0] + [0] * 1000, dtype=np.int64)  # trailing entries: refused
    good = np.array([1, 0, 0, 1, 0], dtype=np.int64)
    comp, out = np.ones(4, np.complex128), np.zeros(4, np.complex128)
    s = state(4)
    x = np.zeros(1000, dtype=np.uint64)
    bad_x = x.copy()
    bad_x[-1] = 2**63
    calls = [
        lambda: ck.fuse_blocks(code, comp, out),
        lambda: ck.fuse_blocks(good, comp, out),
        lambda: ck.expectation_paulis(s, x, x),
        lambda: ck.expectation_paulis(s, bad_x, x),
    ]
    for call in calls:  # warm up
        try:
            call()
        except ValueError:
            pass
    tracemalloc.start()
    try:
        start, _ = tracemalloc.get_traced_memory()
        for _ in range(1000):
            for call in calls:
                try:
                    call()
                except ValueError:
                    pass
        end, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert end - start < 256 * 1024


# ---------------------------------------------------------------------------------------------
# Layout edges that are valid
# ---------------------------------------------------------------------------------------------


def element_aligned(a: np.ndarray) -> np.ndarray:
    """A copy of a at an address aligned for its dtype but not for any vector register."""
    raw = np.zeros(a.nbytes + 128, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64 + a.dtype.alignment
    view = raw[start : start + a.nbytes].view(a.dtype)
    view[:] = a
    return view


@pytest.mark.parametrize("dtype", [np.complex128, np.complex64])
def test_element_aligned_states_work(dtype: type) -> None:
    rng = np.random.default_rng(11)
    for n in (1, 3, 9):
        s = state(n, dtype)
        odd = element_aligned(s)
        assert odd.ctypes.data % 16 != 0 and odd.flags.aligned
        k = min(n, 2)
        u = random_unitary(rng, k)
        ck.apply_matrix(s, tuple(range(n - k, n)), u)
        ck.apply_matrix(odd, tuple(range(n - k, n)), u)
        np.testing.assert_array_equal(odd, s)
        np.testing.assert_array_equal(ck.probabilities(odd), ck.probabilities(s))


def test_one_qubit_state_edges(mod: ModuleType) -> None:
    s = np.array([1, 0], dtype=np.complex128)
    mod.apply_matrix(s, (0,), H)
    mod.permute_qubits(s, [0])
    assert mod.measure_probability(s, 0) == pytest.approx(0.5)
    with pytest.raises(ValueError, match="qubit 1 out of range for 1"):
        mod.measure_probability(s, 1)
    with pytest.raises(ValueError):
        mod.apply_matrix(s, (0,), H, (0,))


# ---------------------------------------------------------------------------------------------
# The fuzzer's calls against the installed build (no sanitizer: that is tools/fuzz_kernels.py)
# ---------------------------------------------------------------------------------------------


def test_fuzzer_calls_on_the_installed_kernel() -> None:
    """A short batch of tools/fuzz_kernels.py's random and adversarial calls on the installed
    module, in a subprocess (a crash fails the test instead of ending pytest): every valid
    call succeeds, every bad one raises ValueError/TypeError/OverflowError. This also keeps
    the opt-in fuzzer in step with the entry points."""
    import subprocess
    import sys
    from pathlib import Path

    script = Path(__file__).resolve().parents[2] / "tools" / "fuzz_kernels.py"
    if not script.exists():
        pytest.skip("tools/fuzz_kernels.py is not in this checkout")
    done = subprocess.run(
        [sys.executable, str(script), "--worker", str(ck.__file__), "7", "400", ""],
        capture_output=True,
        text=True,
        timeout=300,
    )
    lines = done.stdout.splitlines()
    findings = [line for line in lines if line.startswith("FINDING")]
    assert done.returncode == 0 and not findings, (findings, done.stderr[-2000:], lines[-3:])
    summary = lines[-1]
    assert summary.startswith("DONE calls=400 ") and "findings=0" in summary
    refused = int(summary.split("refused=")[1].split()[0])
    assert 0 < refused < 400  # both kinds of call were made
