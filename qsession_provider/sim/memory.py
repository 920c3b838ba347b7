"""State buffers: how much memory there is, aligned zeroed states, the memory guard, and
widening a state over the simulated qubits to the whole register."""

from __future__ import annotations

import mmap
import os
from typing import Any

import numpy as np

from ..errors import ResourceTooLargeError

__all__ = ["StateMemory", "aligned_zeros", "available_memory", "scatter_into"]

_SMALL = 1 << 26  # states up to 64 MiB skip the available-memory check
_HUGE = 1 << 22  # states from 4 MiB up live in anonymous maps with transparent huge pages


def available_memory() -> int:
    """Bytes of memory the OS reports as available (MemAvailable), or physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return int(os.sysconf("SC_AVPHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
    except (ValueError, OSError, AttributeError):  # pragma: no cover - non-POSIX
        return 1 << 62


def aligned_zeros(size: int, dtype: Any) -> np.ndarray:
    """A zeroed 1-D array whose data starts on a 64-byte boundary (whole vector loads).

    Memory comes from the OS already zeroed, so pages are only touched when used (no extra
    pass, no resident copy). Large states are anonymous maps advised to use transparent huge
    pages where the OS allows, which spares TLB misses when tiles gather strided runs.
    """
    itemsize = np.dtype(dtype).itemsize
    nbytes = size * itemsize
    if nbytes >= _HUGE:
        try:
            buf = mmap.mmap(-1, nbytes, flags=mmap.MAP_PRIVATE | mmap.MAP_ANONYMOUS)
        except (OSError, ValueError, AttributeError):
            buf = None
        if buf is not None:
            advice = getattr(mmap, "MADV_HUGEPAGE", None)
            if advice is not None:
                try:
                    buf.madvise(advice)
                except OSError:
                    pass
            return np.frombuffer(buf, dtype=dtype)  # page-aligned, writeable
    raw = np.zeros(nbytes + 64, dtype=np.uint8)
    start = (-raw.ctypes.data) % 64
    return raw[start : start + nbytes].view(dtype)


def _gib(nbytes: float) -> str:
    return f"{nbytes / 2**30:.1f} GiB"


class StateMemory:
    """Allocates states of one dtype, refusing those that would not fit.

    Args:
        dtype: complex128 or complex64.
        max_memory: refuse states larger than this many bytes; default (None): the memory
            the OS reports as available when a large state is allocated.
    """

    def __init__(self, dtype: np.dtype, max_memory: int | None = None) -> None:
        self.dtype = dtype
        self.max_memory = max_memory

    def check(self, width: int, what: str, copies: int = 1) -> None:
        """Raise if ``copies`` states of ``width`` qubits would not fit.

        Raises:
            ResourceTooLargeError: naming ``what`` needs them, and how much is available.
        """
        need = (2**width) * self.dtype.itemsize * copies
        if self.max_memory is None and need <= _SMALL:
            return  # not worth reading /proc/meminfo for
        limit = self.max_memory if self.max_memory is not None else available_memory()
        if need > limit:
            raise ResourceTooLargeError(
                f"{what} needs a {width}-qubit {self.dtype.name} statevector of {_gib(need)}, but "
                f"only {_gib(limit)} is available; "
                + (
                    "use precision='single' to halve it, or fewer qubits"
                    if self.dtype.itemsize > 8
                    else "use fewer qubits"
                )
            )

    def zero_state(self, width: int) -> np.ndarray:
        """A new state |0...0> of ``width`` qubits (checked against the limit first)."""
        self.check(width, "this circuit")
        state = aligned_zeros(2**width, self.dtype)
        state[0] = 1.0
        return state


def scatter_into(full: np.ndarray, compact: np.ndarray, active: tuple[int, ...], n: int) -> None:
    """Copy the state over ``active`` (ascending) into ``full`` with the idle qubits at 0.

    A strided numpy copy: runs of consecutive active or idle qubits become one axis each,
    idle axes are fixed at index 0 (no index arrays, no extra memory).
    """
    used = set(active)
    dims: list[int] = []  # axis sizes, most significant qubit first
    pick: list[int | slice] = []
    q = n - 1
    while q >= 0:
        status = q in used
        length = 0
        while q >= 0 and (q in used) == status:
            length += 1
            q -= 1
        dims.append(2**length)
        pick.append(slice(None) if status else 0)
    # The trailing Ellipsis keeps a view when every qubit is idle (a zero-qubit program:
    # the state is [1] at index 0), where plain integer indexing would give a scalar.
    view = full.reshape(dims)[(*pick, Ellipsis)]
    view[...] = compact.reshape(view.shape)
