"""The kernels' fused block matrices (``fuse_blocks``, csrc/fusion.c) against the numpy
reference and against applying the components one by one; its argument checks."""

from __future__ import annotations

from types import ModuleType

import numpy as np
import pytest

from qsession_provider.sim import _kernel as ck
from qsession_provider.sim import _reference as ref
from tests.sim.test_kernel_vs_reference import random_phases, random_state, random_unitary


def random_blocks(rng: np.random.Generator, count: int) -> tuple[list[int], np.ndarray, int]:
    """fuse_blocks code, component data and the output size for ``count`` random blocks."""
    code, data, out = [count], [], 0
    offset = 0
    for _ in range(count):
        kind = int(rng.integers(2))
        k = int(rng.integers(1, 6))
        ncomp = int(rng.integers(0, 5))
        code += [out, kind, k, ncomp]
        for _ in range(ncomp):
            ckind = 1 if kind == 1 else int(rng.integers(2))
            nt = int(rng.integers(1, k + 1))
            nc = int(rng.integers(0, k - nt + 1))
            qs = [int(q) for q in rng.permutation(k)[: nt + nc]]
            cs = int(rng.integers(2**nc)) if nc and rng.random() < 0.5 else -1
            d = random_unitary(rng, nt).ravel() if ckind == 0 else random_phases(rng, nt)
            code += [ckind, nt, nc, *qs, cs, offset]
            data.append(d)
            offset += len(d)
        out += 4**k if kind == 0 else 2**k
    comp = np.concatenate(data) if data else np.zeros(0, dtype=np.complex128)
    return code, comp.astype(np.complex128), out


@pytest.mark.parametrize("seed", range(6))
def test_fuse_blocks_matches_reference_and_products(seed: int) -> None:
    rng = np.random.default_rng(seed)
    code, comp, size = random_blocks(rng, 6)
    code_arr = np.array(code, dtype=np.int64)
    a = np.full(size, np.nan, dtype=np.complex128)
    b = a.copy()
    ck.fuse_blocks(code_arr, comp, a)
    ref.fuse_blocks(code_arr, comp, b)
    np.testing.assert_allclose(a, b, atol=1e-12)
    # Each dense block applied to a state equals its components applied one by one.
    at = 1
    for _ in range(code[0]):
        out, kind, k, ncomp = code[at : at + 4]
        at += 4
        comps = []
        for _ in range(ncomp):
            ckind, nt, nc = code[at : at + 3]
            qs = code[at + 3 : at + 3 + nt + nc]
            cs, doff = code[at + 3 + nt + nc], code[at + 4 + nt + nc]
            size_c = 4**nt if ckind == 0 else 2**nt
            comps.append((ckind, qs[:nt], qs[nt:], cs, comp[doff : doff + size_c]))
            at += 5 + nt + nc
        state = random_state(rng, k + 1)
        fused, stepwise = state.copy(), state.copy()
        if kind == 0:
            ck.apply_matrix(fused, tuple(range(k)), a[out : out + 4**k].reshape(2**k, 2**k))
        else:
            ck.apply_diagonal(fused, tuple(range(k)), a[out : out + 2**k])
        for ckind, tg, cg, cs, d in comps:
            if ckind == 0:
                ck.apply_matrix(stepwise, tg, d.reshape(2 ** len(tg), -1), cg, cs)
            else:
                ck.apply_diagonal(stepwise, tg, d, cg, cs)
        np.testing.assert_allclose(fused, stepwise, atol=1e-12)


BAD_CODES = [
    ([], "number of blocks"),
    ([1, 0, 0], "block header"),
    ([1, 0, 2, 1, 0], "block kind"),
    ([1, 0, 0, 7, 0], "1..6"),
    ([1, 0, 0, 1, -1], "negative"),
    ([1, 60, 0, 2, 0], "output out of range"),
    ([1, 0, 0, 2, 1, 3, 1, 0, 0, -1, 0], "component kind"),
    ([1, 0, 1, 2, 1, 0, 1, 0, 0, -1, 0], "diagonal components only"),
    ([1, 0, 0, 2, 1, 0, 3, 0, 0, 1, 2, -1, 0], "qubit count"),
    ([1, 0, 0, 2, 1, 0, 1, 0, 2, -1, 0], "outside its block"),
    ([1, 0, 0, 2, 1, 0, 1, 1, 0, 0, -1, 0], "twice"),
    ([1, 0, 0, 2, 1, 0, 1, 1, 0, 1, 2, 0], "ctrl_state"),
    ([1, 0, 0, 2, 1, 0, 1, 0, 0, -1, 3], "data out of range"),
    ([1, 0, 0, 2, 1, 0, 1, 0, 0, -1, 0, 9], "trailing"),
    ([1, 0, 0, 2, 1, 0, 1, 0, 0], "inside a component"),
]


@pytest.mark.parametrize("mod", [ck, ref], ids=["kernel", "reference"])
@pytest.mark.parametrize(("code", "message"), BAD_CODES)
def test_fuse_blocks_rejects_bad_code(mod: ModuleType, code: list[int], message: str) -> None:
    comp = np.ones(4, dtype=np.complex128)
    out = np.zeros(16, dtype=np.complex128)
    with pytest.raises(ValueError, match=message):
        mod.fuse_blocks(np.array(code, dtype=np.int64), comp, out)
    assert not out.any()


@pytest.mark.parametrize("mod", [ck, ref], ids=["kernel", "reference"])
def test_fuse_blocks_argument_types(mod: ModuleType) -> None:
    code = np.array([1, 0, 0, 1, 0], dtype=np.int64)
    comp = np.ones(4, dtype=np.complex128)
    out = np.zeros(4, dtype=np.complex128)
    with pytest.raises(TypeError):
        mod.fuse_blocks(code.astype(np.int32), comp, out)
    with pytest.raises(TypeError):
        mod.fuse_blocks(code, comp.astype(np.complex64), out)
    with pytest.raises(TypeError):
        mod.fuse_blocks(code, comp, out.astype(np.complex64))
    out.setflags(write=False)
    with pytest.raises(ValueError, match="writeable"):
        mod.fuse_blocks(code, comp, out)
    fresh = np.zeros(4, dtype=np.complex128)
    mod.fuse_blocks(code, comp, fresh)
    np.testing.assert_array_equal(fresh, np.eye(2).ravel())  # no components: the identity
