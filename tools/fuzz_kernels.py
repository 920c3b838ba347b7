"""Fuzz the C kernel's entry points under AddressSanitizer and UndefinedBehaviorSanitizer.

    python tools/fuzz_kernels.py [--batches 20] [--iterations 3000] [--seed 0] [--rev REV]
                                 [--build-dir DIR] [--keep] [--timeout 600]

Opt-in, not part of the test suite (it compiles the extension, ~1-2 minutes on one core).

1. **Build.** The sources of ``qsession_provider/sim/csrc`` (the working tree, or ``--rev`` a
   git revision read with ``git show``, e.g. ``--rev HEAD~3`` to measure the code before a fix)
   are compiled with gcc, ``-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer`` (and
   ``-fopenmp`` when available), into a temporary directory as a top-level module ``_kernel``.
   The installed build in the source tree is never touched.
2. **Batches.** Each batch is a subprocess with ``LD_PRELOAD=$(gcc -print-file-name=libasan.so)``
   (CPython itself is not instrumented), ``ASAN_OPTIONS=detect_leaks=0`` and
   ``PYTHONMALLOC=malloc`` (so Python objects get redzones too). It makes ``--iterations`` calls
   with seed ``seed + batch``: every entry point gets valid arguments (which must succeed) and
   adversarial ones: offsets, sizes and counts near ``INT64_MAX``/``INT64_MIN`` (crafted so that
   ``offset + size`` or ``2 * offset`` wraps), negative values, out-of-range and duplicate
   qubits, wrong dtypes, strided, read-only or byte-swapped arrays, sequences whose
   ``__index__`` mutates the sequence. Any error other than ValueError, TypeError or
   OverflowError is a finding, and so is a valid call that is refused.
3. **Report.** Per batch: calls made, calls refused, and the outcome: ``ok``, ``asan`` (the
   sanitizer's summary line, e.g. ``heap-buffer-overflow ... in qs_fuse_blocks``), ``ubsan``
   (``runtime error`` lines: signed overflow, bad shifts), ``python`` (an unexpected exception
   or a valid call refused), ``crash`` (a signal without a sanitizer report) or ``timeout``;
   with the last call the batch made. The exit status is 1 if any batch found something.

Needs gcc with libasan/libubsan (Debian: ``gcc``), Python headers and numpy.

Figures (issue 20, 2-core VM, 20 batches of 3,000 calls): before the overflow-safe checks
(``--rev 3cf0bc1``) 20 of 20 batches found a problem, every one a heap-buffer-overflow or
use-after-free in ``fuse_blocks``; without ``fuse_blocks`` (``--skip fuse_blocks``) still 20
of 20, signed overflow in the offset checks of ``run_plan``/``run_tiled`` (UBSan). After: 0
of 20, and 0 of 20 batches of 10,000 calls (seeds 1000-1019; 200,000 calls, 69% refused).
``run_trajectories`` is compiled but not yet fuzzed.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import tempfile
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
CSRC = "qsession_provider/sim/csrc"
SANITIZE = ["-fsanitize=address,undefined", "-fno-omit-frame-pointer"]

# ---------------------------------------------------------------------------------------------
# Build
# ---------------------------------------------------------------------------------------------


def export_sources(rev: str | None, dest: Path) -> None:
    """Copy the kernel sources of the working tree, or of git revision ``rev``, into dest."""
    dest.mkdir(parents=True, exist_ok=True)
    if rev is None:
        for path in (ROOT / CSRC).iterdir():
            if path.suffix in (".c", ".h", ".inc"):
                shutil.copy2(path, dest / path.name)
        return
    names = subprocess.run(
        ["git", "ls-tree", "--name-only", rev, f"{CSRC}/"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    if not names:
        raise SystemExit(f"no kernel sources at revision {rev!r}")
    for name in names:
        blob = subprocess.run(
            ["git", "show", f"{rev}:{name}"], cwd=ROOT, capture_output=True, check=True
        ).stdout
        (dest / Path(name).name).write_bytes(blob)


def _gcc_accepts(flag: str, tmp: Path) -> bool:
    src = tmp / "flag_check.c"
    src.write_text("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
    done = subprocess.run(
        ["gcc", flag, str(src), "-o", str(tmp / "flag_check")], capture_output=True
    )
    return done.returncode == 0


def build(src: Path, out: Path) -> Path:
    """Compile the sources in src with the sanitizers into out; the path of the module."""
    import numpy

    out.mkdir(parents=True, exist_ok=True)
    omp = ["-fopenmp"] if _gcc_accepts("-fopenmp", out) else []
    cflags = [
        "-O1",
        "-g",
        "-fPIC",
        *SANITIZE,
        *omp,
        "-DNPY_NO_DEPRECATED_API=NPY_1_7_API_VERSION",
        f"-I{sysconfig.get_paths()['include']}",
        f"-I{numpy.get_include()}",
        f"-I{src}",
    ]
    objects = []
    for source in sorted(src.glob("*.c")):  # every C file of csrc, as setup.py lists them
        obj = out / f"{source.stem}.o"
        print(f"  gcc {source.name}", flush=True)
        subprocess.run(["gcc", *cflags, "-c", str(source), "-o", str(obj)], check=True)
        objects.append(str(obj))
    module = out / f"_kernel{sysconfig.get_config_var('EXT_SUFFIX')}"
    subprocess.run(["gcc", "-shared", *SANITIZE, *omp, *objects, "-o", str(module)], check=True)
    return module


# ---------------------------------------------------------------------------------------------
# The worker: random and adversarial calls (runs in the sanitized subprocess)
# ---------------------------------------------------------------------------------------------

INT64_MAX = 2**63 - 1
INT64_MIN = -(2**63)
INT32_MAX = 2**31 - 1
INT32_MIN = -(2**31)


@dataclass
class Call:
    """One call: the entry point, its arguments, and whether they are valid."""

    name: str
    args: tuple
    kwargs: dict
    valid: bool
    what: str
    #: (array, index, values): another thread cycles array[index] through values while the
    #: call is made a few times (arguments that change while the kernel runs)
    race: tuple[Any, int, list[int]] | None = None


class MutatingIndex:
    """An int whose ``__index__`` empties the list it sits in (a use-after-free probe)."""

    def __init__(self, value: int, victim: list) -> None:
        self.value = value
        self.victim = victim

    def __index__(self) -> int:
        self.victim.clear()
        self.victim.extend(object() for _ in range(3))
        return self.value


class Fuzzer:
    """Argument generators for every entry point of the kernel module."""

    def __init__(self, np: Any, rng: Any) -> None:
        self.np = np
        self.rng = rng

    # -- values -------------------------------------------------------------------------------

    def evil64(self, size: int = 1) -> int:
        """An int64 that is out of range, or wraps when ``size`` or itself is added to it."""
        r = int(self.rng.integers(0, 4))
        choices = [
            INT64_MAX,
            INT64_MAX - 1,
            INT64_MIN,
            INT64_MIN + 1,
            -1,
            -2,
            -size,
            2**62,
            2**62 + 1,
            2**32,
            2**31,
            INT64_MAX - size + 1 + min(r, size - 1),  # offset + size wraps to a negative
            INT64_MAX - size + 1,
            2**63 - 8 - r,  # 2 * offset wraps to a small negative number
            2**62 - r,  # 4 * offset wraps
            2**61 + r,
            INT64_MIN + size,
        ]
        return int(choices[int(self.rng.integers(len(choices)))])

    def evil32(self) -> int:
        choices = [INT32_MAX, INT32_MIN, -1, -2, 62, 63, 64, 65, 1000, INT32_MAX - 1]
        return int(choices[int(self.rng.integers(len(choices)))])

    def evil_int(self) -> Any:
        """A Python integer for a qubit or count argument."""
        choices: list[Any] = [
            -1,
            64,
            63,
            62,
            2**31,
            2**32 + 1,
            INT64_MAX,
            INT64_MIN,
            2**63,
            2**64,
            -(2**64),
            10**30,
            True,
        ]
        return choices[int(self.rng.integers(len(choices)))]

    def state(self, n: int, dtype: Any = None) -> Any:
        """A random normalised state; sometimes at an address that is only element-aligned."""
        np = self.np
        dtype = np.dtype(dtype or (np.complex128 if self.rng.random() < 0.6 else np.complex64))
        s = self.rng.normal(size=2**n) + 1j * self.rng.normal(size=2**n)
        s = (s / np.linalg.norm(s)).astype(dtype)
        if self.rng.random() < 0.2:  # valid: aligned for its dtype, not for a vector register
            shift = dtype.alignment
            raw = np.zeros(s.nbytes + 64, dtype=np.uint8)
            start = (-raw.ctypes.data) % 64 + shift
            view = raw[start : start + s.nbytes].view(dtype)
            view[:] = s
            return view
        return s

    def bad_array(self, good: Any) -> Any:
        """good with one defect: dtype, byte order, layout, dimensions, length or writability."""
        np = self.np
        r = int(self.rng.integers(8))
        if r == 0:
            return good.real.astype(np.float64) if np.iscomplexobj(good) else good.astype(float)
        if r == 1:
            return good.astype(good.dtype.newbyteorder(">"))
        if r == 2:
            return np.repeat(good, 2)[::2] if good.ndim == 1 else np.asfortranarray(good)
        if r == 3:
            return good.reshape(1, -1)
        if r == 4:
            return good[: max(len(good) - 1, 0)] if good.ndim == 1 else good[:-1]
        if r == 5:
            frozen = good.copy()
            frozen.flags.writeable = False
            return frozen
        if r == 6:
            return good.tolist()
        return np.concatenate([good, good]) if good.ndim == 1 else good

    def unitary(self, k: int) -> Any:
        np = self.np
        z = self.rng.normal(size=(2**k, 2**k)) + 1j * self.rng.normal(size=(2**k, 2**k))
        return np.ascontiguousarray(np.linalg.qr(z)[0])

    def phases(self, k: int) -> Any:
        return self.np.exp(1j * self.rng.uniform(0, 6.3, size=2**k))

    # -- entry points -------------------------------------------------------------------------

    def gate(self, name: str) -> Call:
        n = int(self.rng.integers(1, 9))
        k = int(self.rng.integers(1, min(n, 6) + 1))
        qs = [int(q) for q in self.rng.permutation(n)]
        targets, rest = qs[:k], qs[k:]
        nc = int(self.rng.integers(0, min(len(rest), 3) + 1))
        controls = rest[:nc]
        cs = int(self.rng.integers(2**nc)) if nc and self.rng.random() < 0.5 else -1
        data = self.unitary(k) if name == "apply_matrix" else self.phases(k)
        args: list[Any] = [self.state(n), list(targets), data, list(controls), cs]
        if self.rng.random() < 0.3:
            return Call(name, tuple(args), {}, True, f"n={n} k={k} nc={nc}")
        r = int(self.rng.integers(6))
        if r == 0 or r == 1:
            which = args[1] if r == 0 or not controls else args[3]
            which[int(self.rng.integers(len(which)))] = self.evil_int()
            what = "evil qubit"
        elif r == 2:
            args[4] = self.evil_int() if self.rng.random() < 0.5 else self.evil64()
            what = "evil ctrl_state"
        elif r == 3:
            i = int(self.rng.choice([0, 2]))
            args[i] = self.bad_array(args[i])
            what = f"bad argument {i}"
        elif r == 4:
            victim: list[Any] = list(targets)
            victim[0] = MutatingIndex(victim[0], victim)
            args[1] = victim
            what = "mutating __index__"
        else:
            args[1] = list(targets) + [targets[0]] if len(targets) < 6 else [0] * 7
            what = "duplicate or too many targets"
        return Call(name, tuple(args), {}, False, what)

    def plan_arrays(self, n: int, count: int, local: list[int] | None = None) -> dict[str, Any]:
        """Valid run_plan arrays for ``count`` random gates on n qubits (or on len(local))."""
        np = self.np
        width = len(local) if local else n
        kinds, qubits, qoff, mats, moff, cc, cs = [], [], [0], [], [0], [], []
        for _ in range(count):
            kind = int(self.rng.integers(2))
            k = int(self.rng.integers(1, min(width, 4) + 1))
            nc = int(self.rng.integers(0, min(width - k, 2) + 1))
            qs = [int(q) for q in self.rng.permutation(width)[: k + nc]]
            qubits += qs[k:] + qs[:k]  # controls first, then targets
            data = self.unitary(k).ravel() if kind == 0 else self.phases(k)
            mats.append(data)
            kinds.append(kind)
            qoff.append(len(qubits))
            moff.append(moff[-1] + len(data))
            cc.append(nc)
            cs.append(int(self.rng.integers(2**nc)) if nc and self.rng.random() < 0.5 else -1)
        return {
            "kinds": np.array(kinds, dtype=np.int32),
            "qubits": np.array(qubits, dtype=np.int32),
            "qubit_offsets": np.array(qoff, dtype=np.int64),
            "matrices": np.concatenate(mats) if mats else np.zeros(0, np.complex128),
            "matrix_offsets": np.array(moff, dtype=np.int64),
            "ctrl_counts": np.array(cc, dtype=np.int32),
            "ctrl_states": np.array(cs, dtype=np.int64),
        }

    def mutate_arrays(self, arrays: dict[str, Any]) -> str:
        """Replace one entry of one integer array with an adversarial value (or one array)."""
        np = self.np
        names = [k for k, v in arrays.items() if v.dtype.kind == "i" and len(v)]
        if not names or self.rng.random() < 0.15:
            key = str(self.rng.choice(list(arrays)))
            arrays[key] = self.bad_array(arrays[key])
            return f"bad {key}"
        key = str(self.rng.choice(names))
        a = arrays[key].copy()
        i = int(self.rng.integers(len(a)))
        if a.dtype == np.int64:
            size = int(self.rng.choice([1, 2, 4, 16, 64, 256, 4096]))
            a[i] = self.evil64(size)
        else:
            a[i] = self.evil32()
        arrays[key] = a
        return f"{key}[{i}]={int(a[i])}"

    def run_plan(self) -> Call:
        n = int(self.rng.integers(1, 9))
        arrays = self.plan_arrays(n, int(self.rng.integers(0, 5)))
        valid = self.rng.random() < 0.2
        what = "valid" if valid else self.mutate_arrays(arrays)
        return Call("run_plan", (self.state(n),), arrays, valid, what)

    def tiled_arrays(self, n: int) -> dict[str, Any]:
        np = self.np
        parts: list[dict[str, Any]] = []
        toff, tq, tqoff = [0], [], [0]
        for _ in range(int(self.rng.integers(1, 4))):
            nl = int(self.rng.integers(0, n + 1))
            local = sorted(int(q) for q in self.rng.permutation(n)[:nl])
            count = int(self.rng.integers(0, 4))
            parts.append(self.plan_arrays(n, count, local or None))
            toff.append(toff[-1] + count)
            tq += local
            tqoff.append(len(tq))
        qubits = [p["qubits"] for p in parts]
        lengths = [len(p["qubits"]) for p in parts]
        arrays = {
            "kinds": np.concatenate([p["kinds"] for p in parts]),
            "qubits": np.concatenate(qubits).astype(np.int32),
            "qubit_offsets": np.array([0], np.int64),
            "matrices": np.concatenate([p["matrices"] for p in parts]),
            "matrix_offsets": np.array([0], np.int64),
            "ctrl_counts": np.concatenate([p["ctrl_counts"] for p in parts]),
            "ctrl_states": np.concatenate([p["ctrl_states"] for p in parts]),
        }
        qoff, moff, qbase, mbase = [0], [0], 0, 0
        for p, length in zip(parts, lengths):
            qoff += [int(x) + qbase for x in p["qubit_offsets"][1:]]
            moff += [int(x) + mbase for x in p["matrix_offsets"][1:]]
            qbase += length
            mbase += len(p["matrices"])
        arrays["qubit_offsets"] = np.array(qoff, np.int64)
        arrays["matrix_offsets"] = np.array(moff, np.int64)
        arrays["tile_offsets"] = np.array(toff, np.int64)
        arrays["tile_qubits"] = np.array(tq, np.int32)
        arrays["tile_qubit_offsets"] = np.array(tqoff, np.int64)
        return arrays

    def run_tiled(self) -> Call:
        n = int(self.rng.integers(1, 9))
        arrays = self.tiled_arrays(n)
        valid = self.rng.random() < 0.2
        what = "valid" if valid else self.mutate_arrays(arrays)
        return Call("run_tiled", (self.state(n),), arrays, valid, what)

    def fuse_code(self) -> tuple[list[int], Any, int, list[tuple[int, int]]]:
        """Valid fuse_blocks code, component data, output size, and (index, size) of offsets."""
        np = self.np
        count = int(self.rng.integers(0, 4))
        code, data, out, offset, slots = [count], [], 0, 0, []
        for _ in range(count):
            kind = int(self.rng.integers(2))
            k = int(self.rng.integers(1, 5))
            ncomp = int(self.rng.integers(0, 4))
            size = 4**k if kind == 0 else 2**k
            slots.append((len(code), size))
            code += [out, kind, k, ncomp]
            for _ in range(ncomp):
                ckind = 1 if kind == 1 else int(self.rng.integers(2))
                nt = int(self.rng.integers(1, k + 1))
                nc = int(self.rng.integers(0, k - nt + 1))
                qs = [int(q) for q in self.rng.permutation(k)[: nt + nc]]
                cs = int(self.rng.integers(2**nc)) if nc and self.rng.random() < 0.5 else -1
                d = self.unitary(nt).ravel() if ckind == 0 else self.phases(nt)
                slots.append((len(code) + 4 + nt + nc, len(d)))
                code += [ckind, nt, nc, *qs, cs, offset]
                data.append(d)
                offset += len(d)
            out += size
        comp = np.concatenate(data) if data else np.zeros(0, dtype=np.complex128)
        return code, comp.astype(np.complex128), out, slots

    def fuse_blocks(self) -> Call:
        np = self.np
        code, comp, size, slots = self.fuse_code()
        out = np.zeros(size, dtype=np.complex128)
        r = self.rng.random()
        if r < 0.2:
            return Call("fuse_blocks", (np.array(code, np.int64), comp, out), {}, True, "valid")
        if r < 0.6 and slots:  # an offset that wraps when the block or data size is added
            at, length = slots[int(self.rng.integers(len(slots)))]
            code[at] = self.evil64(length)
            what = f"offset code[{at}]={code[at]} (size {length})"
        elif len(code) > 1:
            at = int(self.rng.integers(len(code)))
            code[at] = self.evil64(int(self.rng.choice([1, 2, 4, 16])))
            what = f"code[{at}]={code[at]}"
        else:
            code = [self.evil64()]
            what = f"code[0]={code[0]}"
        args: list[Any] = [np.array(code, np.int64), comp, out]
        if self.rng.random() < 0.1:
            i = int(self.rng.integers(3))
            args[i] = self.bad_array(args[i])
            what += f", bad argument {i}"
        return Call("fuse_blocks", tuple(args), {}, False, what)

    def readout(self) -> Call:
        np = self.np
        n = int(self.rng.integers(0, 9))  # 0 qubits: a state of one amplitude
        s = self.state(n)
        name = str(
            self.rng.choice(
                [
                    "probabilities",
                    "norm_squared",
                    "sample",
                    "expectation_paulis",
                    "measure_probability",
                    "collapse",
                    "permute_qubits",
                ]
            )
        )
        valid = self.rng.random() < 0.3
        if name in ("probabilities", "norm_squared"):
            return Call(name, (s if valid else self.bad_array(s),), {}, valid, "state")
        if name == "sample":
            u = np.sort(self.rng.random(int(self.rng.integers(0, 50))))
            if not valid:
                bad = [np.nan, 1.0, -0.0 - 1e-300, np.inf, -1.0, 2.0**63]
                if len(u) and self.rng.random() < 0.6:
                    u[int(self.rng.integers(len(u)))] = bad[int(self.rng.integers(len(bad)))]
                else:
                    u = self.bad_array(u) if len(u) else np.array([0.5, 0.1])
            return Call(name, (s, u), {}, valid, "uniforms")
        if name == "expectation_paulis":
            t = int(self.rng.integers(1, 6))
            x = self.rng.integers(0, 2**n, size=t, endpoint=False).astype(np.uint64)
            z = self.rng.integers(0, 2**n, size=t, endpoint=False).astype(np.uint64)
            if not valid:
                if self.rng.random() < 0.7:
                    which = x if self.rng.random() < 0.5 else z
                    masks = [2**n, 2**63, 2**64 - 1, 2**62, 1 << 40]
                    which[int(self.rng.integers(t))] = masks[int(self.rng.integers(len(masks)))]
                else:
                    x = self.bad_array(x)
            return Call(name, (s, x, z), {}, valid, "masks")
        if name in ("measure_probability", "collapse"):
            valid = valid and n > 0  # a state of 0 qubits has no qubit to measure
            qubit: Any = int(self.rng.integers(max(n, 1)))
            outcome: Any = int(self.rng.integers(2))
            if name == "collapse":  # outcome 1 of a random state has nonzero probability
                args: tuple = (s, qubit, outcome)
            else:
                args = (s, qubit)
            if not valid:
                args = list(args)  # type: ignore[assignment]
                i = int(self.rng.integers(1, len(args)))
                args[i] = self.evil_int()  # type: ignore[index]
                args = tuple(args)
            return Call(name, args, {}, valid, "qubit/outcome")
        source: list[Any] = [int(q) for q in self.rng.permutation(n)]
        if not valid:
            r = int(self.rng.integers(4))
            if r == 0 and n > 0:
                source[int(self.rng.integers(n))] = self.evil_int()
            elif r == 1 or n == 0:
                source = source + [0]
            elif r == 2 and n > 1:
                source[0] = source[1]
            else:
                source[0] = MutatingIndex(source[0], source)
        return Call(name, (s, source), {}, valid, "source")

    def race_fuse(self) -> Call:
        """Many blocks, so the kernel runs long; one output offset flips to a wrapping value."""
        np = self.np
        count = 40
        code: list[int] = [count]
        out_at: list[int] = []
        comp = self.unitary(2).ravel()
        for b in range(count):
            out_at.append(len(code))
            code += [b * 256, 0, 4, 6]
            for _ in range(6):
                qs = [int(q) for q in self.rng.permutation(4)[:2]]
                code += [0, 2, 0, *qs, -1, 0]
        array = np.array(code, dtype=np.int64)
        at = out_at[int(self.rng.integers(count // 2, count))]
        values = [int(array[at]), INT64_MAX - 255, int(array[at]), 2**63 - 8, -256]
        out = np.zeros(256 * count, dtype=np.complex128)
        return Call(
            "fuse_blocks", (array, comp, out), {}, False, f"race on code[{at}]", (array, at, values)
        )

    def race_paulis(self) -> Call:
        """A state big enough for the kernel to release the GIL; one mask flips out of range."""
        np = self.np
        n = 13
        x = self.rng.integers(0, 2**n, size=16).astype(np.uint64)
        z = self.rng.integers(0, 2**n, size=16).astype(np.uint64)
        t = int(self.rng.integers(16))
        values = [int(x[t]), 2**63 | int(x[t]), int(x[t]), 2**40]
        return Call(
            "expectation_paulis",
            (self.state(n, np.complex128), x, z),
            {},
            False,
            f"race on x_masks[{t}]",
            (x, t, values),
        )

    def threads(self) -> Call:
        value: Any = self.evil_int() if self.rng.random() < 0.7 else 1.5
        return Call("set_num_threads", (value,), {}, False, f"n={value!r}")

    def calls(self, iterations: int, skip: frozenset[str] = frozenset()) -> Iterator[Call]:
        """iterations calls; entry points named in skip are left out."""
        makers: list[Callable[[], Call]] = [
            lambda: self.gate("apply_matrix"),
            lambda: self.gate("apply_diagonal"),
            self.run_plan,
            self.run_tiled,
            self.fuse_blocks,
            self.fuse_blocks,
            self.readout,
            self.threads,
        ]
        races = [self.race_fuse, self.race_paulis]
        for _ in range(iterations):
            for _attempt in range(1000):
                if self.rng.random() < 0.01:
                    call = races[int(self.rng.integers(len(races)))]()
                else:
                    call = makers[int(self.rng.integers(len(makers)))]()
                if call.name not in skip:
                    break
            else:
                raise ValueError(f"--skip {','.join(sorted(skip))} leaves nothing to call")
            yield call


def call_racing(fn: Callable[..., Any], call: Call, repeats: int = 8) -> None:
    """Make the call repeats times while another thread cycles one argument entry."""
    assert call.race is not None
    array, index, values = call.race
    stop = threading.Event()

    def flip() -> None:
        i = 0
        while not stop.is_set():
            array[index] = values[i % len(values)]
            i += 1

    flipper = threading.Thread(target=flip)
    flipper.start()
    try:
        for _ in range(repeats):
            try:
                fn(*call.args, **call.kwargs)
            except (ValueError, TypeError, OverflowError):
                pass
    finally:
        stop.set()
        flipper.join()


def worker(module_path: str, seed: int, iterations: int, skip: frozenset[str]) -> int:
    """Make the calls of one batch; prints one line per call, a summary line at the end."""
    import importlib.util

    import numpy as np

    spec = importlib.util.spec_from_file_location("_kernel", module_path)
    assert spec is not None and spec.loader is not None
    ck = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(ck)
    threads = ck.get_num_threads()
    fuzzer = Fuzzer(np, np.random.default_rng(seed))
    refused = findings = 0
    out = sys.stdout
    calls = fuzzer.calls(iterations, skip)
    for i in range(iterations):
        try:
            call = next(calls)
        except Exception as exc:  # a bug of this script, not of the kernel
            out.write(f"GENERATOR {type(exc).__name__}: {exc}\n")
            raise
        out.write(f"CALL {i} {call.name} valid={call.valid} {call.what}\n")
        out.flush()
        try:
            if call.race is not None:
                call_racing(getattr(ck, call.name), call)
            else:
                getattr(ck, call.name)(*call.args, **call.kwargs)
        except (ValueError, TypeError, OverflowError) as exc:
            refused += 1
            if call.valid:
                findings += 1
                out.write(f"FINDING valid call refused: {type(exc).__name__}: {exc}\n")
        except Exception as exc:  # anything else is a bug in the kernel module
            findings += 1
            out.write(f"FINDING {type(exc).__name__}: {exc}\n")
        finally:
            ck.set_num_threads(threads)
    out.write(f"DONE calls={iterations} refused={refused} findings={findings}\n")
    return 1 if findings else 0


# ---------------------------------------------------------------------------------------------
# The driver: batches in sanitized subprocesses, and the report
# ---------------------------------------------------------------------------------------------


@dataclass
class Batch:
    """The outcome of one batch."""

    seed: int
    outcome: str
    detail: str
    calls: str
    last: str


def run_batch(
    module: Path, seed: int, iterations: int, timeout: float, skip: frozenset[str]
) -> Batch:
    asan = subprocess.run(
        ["gcc", "-print-file-name=libasan.so"], capture_output=True, text=True, check=True
    ).stdout.strip()
    env = dict(
        os.environ,
        LD_PRELOAD=asan,
        ASAN_OPTIONS="detect_leaks=0:abort_on_error=0:allocator_may_return_null=1",
        UBSAN_OPTIONS="print_stacktrace=1",
        PYTHONMALLOC="malloc",
        OMP_NUM_THREADS="2",
    )
    cmd = [sys.executable, __file__, "--worker", str(module), str(seed), str(iterations)]
    cmd.append(",".join(sorted(skip)))
    try:
        done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as exc:
        stdout = exc.stdout.decode() if isinstance(exc.stdout, bytes) else exc.stdout or ""
        lines = [x for x in stdout.splitlines() if x.startswith("CALL")]
        return Batch(seed, "timeout", f"after {timeout:.0f}s", "?", lines[-1] if lines else "")
    lines = done.stdout.splitlines()
    calls = [x for x in lines if x.startswith("CALL")]
    summary = next((x for x in lines if x.startswith("DONE")), "")
    last = calls[-1] if calls else ""
    counts = summary.removeprefix("DONE ") if summary else f"{len(calls)} calls, then died"
    asan_summary = re.search(r"SUMMARY: AddressSanitizer: (.*)", done.stderr)
    ubsan = re.findall(r"^(\S+:\d+:\d+: runtime error: .*)$", done.stderr, re.MULTILINE)
    found = [x.removeprefix("FINDING ") for x in lines if x.startswith("FINDING")]
    if asan_summary:
        report = done.stderr[done.stderr.find("ERROR: AddressSanitizer") :]
        frame = re.search(r"#\d+ 0x[0-9a-f]+ in (\S+) (\S+)", report)
        where = f"; stack: {frame.group(1)} {frame.group(2)}" if frame else ""
        also = f"; {len(ubsan)} UBSan reports before" if ubsan else ""
        return Batch(seed, "asan", asan_summary.group(1) + where + also, counts, last)
    if ubsan:
        return Batch(seed, "ubsan", f"{len(ubsan)} reports, first: {ubsan[0]}", counts, last)
    generator = next((x for x in lines if x.startswith("GENERATOR")), "")
    if generator:
        return Batch(seed, "script", f"fuzz_kernels.py failed: {generator}", counts, last)
    if done.returncode < 0 or not summary:
        tail = done.stderr.strip().splitlines()[-1:] or [""]
        return Batch(seed, "crash", f"exit {done.returncode} {tail[0]}", counts, last)
    if found:
        return Batch(seed, "python", f"{len(found)}: {found[0]}", counts, "")
    return Batch(seed, "ok", "", counts, "")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["--worker"]:
        return worker(argv[1], int(argv[2]), int(argv[3]), frozenset(filter(None, argv[4:5])))
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--batches", type=int, default=20)
    parser.add_argument("--iterations", type=int, default=3000, help="calls per batch")
    parser.add_argument("--seed", type=int, default=0, help="batch b uses seed + b")
    parser.add_argument("--rev", help="git revision of the sources (default: working tree)")
    parser.add_argument("--build-dir", type=Path, help="build here (default: a temp dir)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary build")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds per batch")
    parser.add_argument(
        "--skip", default="", help="entry points to leave out, comma-separated (e.g. fuse_blocks)"
    )
    args = parser.parse_args(argv)
    skip = frozenset(filter(None, args.skip.split(",")))
    if shutil.which("gcc") is None:
        raise SystemExit("gcc is needed to build the sanitized kernel")
    tmp = None if args.build_dir else Path(tempfile.mkdtemp(prefix="qsession-fuzz-"))
    work = args.build_dir or tmp
    assert work is not None
    try:
        label = (args.rev or "working tree") + (f", without {args.skip}" if skip else "")
        print(f"building the kernel ({label}) with {' '.join(SANITIZE)} in {work}", flush=True)
        export_sources(args.rev, work / "src")
        module = build(work / "src", work / "build")
        bad = 0
        for b in range(args.batches):
            batch = run_batch(module, args.seed + b, args.iterations, args.timeout, skip)
            bad += batch.outcome != "ok"
            line = f"batch {b:3d} seed {batch.seed:5d}  {batch.outcome:7s} {batch.calls}"
            print(line + (f"\n    {batch.detail}" if batch.detail else ""), flush=True)
            if batch.last:
                print(f"    last call: {batch.last}", flush=True)
        print(f"{label}: {bad} of {args.batches} batches found a problem", flush=True)
        return 1 if bad else 0
    finally:
        if not args.keep and tmp is not None:
            shutil.rmtree(tmp, ignore_errors=True)
        elif args.keep:
            print(f"build kept in {work}")


if __name__ == "__main__":
    sys.exit(main())
