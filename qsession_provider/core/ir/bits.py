"""Measured bits kept packed, eight to a byte, in the layout of Qiskit's ``BitArray``.

The engine's sampler and ``run`` results hold one :class:`PackedBits` per classical register;
stores keep them packed (the encoding's ``"__bits__"`` tag), and each face reads them as it
needs: the Qiskit face hands :attr:`PackedBits.data` to ``BitArray`` as it is, the Cirq and
Azure faces unpack only what they report.

Layout (Qiskit's ``BitArray``): a bit string of ``num_bits`` bits takes
``ceil(num_bits / 8)`` bytes, big-endian: the last byte holds bits 0-7, bit 0 its least
significant bit, and unused high bits of the first byte are zero. Bit ``j`` is bit ``j`` of
the register (column ``j`` of :meth:`PackedBits.unpack`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from ...errors import InputError

__all__ = ["PackedBits", "as_packed", "num_bytes"]


def num_bytes(num_bits: int) -> int:
    """Bytes per bit string of ``num_bits`` bits."""
    return (num_bits + 7) // 8


class PackedBits:
    """Bit strings of ``num_bits`` bits, packed: ``data`` is uint8 ``(*shape, num_bytes)``.

    ``shape`` holds every axis but the bits (for a sampler pub ``(*pub_shape, shots)``).
    ``np.asarray(packed)`` gives the unpacked ``(*shape, num_bits)`` uint8 bits.

    Args:
        num_bits: bits per string (0 or more).
        data: the packed bytes (taken as they are, not copied).

    Raises:
        InputError: ``data`` is not a uint8 array whose last axis has
            ``ceil(num_bits / 8)`` bytes, or ``num_bits`` is not a non-negative integer.

    Example:
        >>> bits = PackedBits.from_bits(np.array([[1, 0, 0, 0, 0, 0, 0, 0, 1]]))
        >>> bits.data.tolist(), bits.shape
        ([[1, 1]], (1,))
    """

    __slots__ = ("num_bits", "data")
    #: Not an array for numpy's operators (``packed == array`` is not elementwise).
    __array_ufunc__ = None

    def __init__(self, num_bits: int, data: np.ndarray) -> None:
        if isinstance(num_bits, bool) or not isinstance(num_bits, (int, np.integer)):
            raise InputError(f"num_bits must be an integer, got {num_bits!r}")
        if num_bits < 0:
            raise InputError(f"num_bits must be 0 or more, got {num_bits}")
        if not isinstance(data, np.ndarray) or data.dtype != np.uint8:
            raise InputError(f"packed bits must be a uint8 array, got {_describe(data)}")
        if data.ndim < 1 or data.shape[-1] != num_bytes(int(num_bits)):
            raise InputError(
                f"packed bits of {num_bits} bits need {num_bytes(int(num_bits))} bytes on the "
                f"last axis, got shape {data.shape}"
            )
        self.num_bits = int(num_bits)
        self.data = data

    @classmethod
    def from_bits(cls, bits: Any) -> PackedBits:
        """Pack ``(..., n)`` 0/1 bits (column ``j`` = bit ``j``; nonzero counts as 1)."""
        arr = bits if type(bits) is np.ndarray else np.asarray(bits)
        if arr.ndim < 1:
            raise InputError("bits need at least one axis (the bits of each string)")
        if arr.dtype != _UINT8 and arr.dtype != np.bool_:
            arr = arr != 0
        packed = np.packbits(arr, -1, "little")
        if packed.shape[-1] > 1:
            packed = np.ascontiguousarray(packed[..., ::-1])
        return _make(arr.shape[-1], packed)

    @property
    def shape(self) -> tuple[int, ...]:
        """Every axis but the bits, e.g. ``(*pub_shape, shots)``."""
        return self.data.shape[:-1]

    @property
    def num_bytes(self) -> int:
        """Bytes per bit string."""
        return int(self.data.shape[-1])

    @property
    def nbytes(self) -> int:
        """Bytes held."""
        return int(self.data.nbytes)

    def unpack(self, dtype: Any = np.uint8) -> np.ndarray:
        """The bits, ``(*shape, num_bits)`` 0/1 of ``dtype`` (column ``j`` = bit ``j``)."""
        data = self.data[..., ::-1] if self.data.shape[-1] > 1 else self.data
        bits = np.unpackbits(data, axis=-1, count=self.num_bits, bitorder="little")
        if np.dtype(dtype) == np.uint8:
            return bits
        if np.dtype(dtype).itemsize == 1:  # int8, bool: the same bytes
            return bits.view(dtype)
        return bits.astype(dtype)

    def __array__(self, dtype: Any = None, copy: bool | None = None) -> np.ndarray:
        if copy is False:
            raise ValueError("unpacking PackedBits always makes a new array")
        return self.unpack(np.uint8 if dtype is None else dtype)

    def __getitem__(self, index: Any) -> PackedBits:
        """The strings at ``index`` of the leading axes (the bits axis is never indexed)."""
        key = index if isinstance(index, tuple) else (index,)
        if any(k is Ellipsis or k is None for k in key) or len(key) > len(self.shape):
            raise InputError(f"cannot index packed bits of shape {self.shape} with {index!r}")
        return PackedBits(self.num_bits, self.data[(*key, slice(None))])

    def reshape(self, *shape: int) -> PackedBits:
        """The same strings with leading axes ``shape``."""
        dims = shape[0] if len(shape) == 1 and isinstance(shape[0], tuple) else shape
        return PackedBits(self.num_bits, self.data.reshape(*dims, self.num_bytes))

    @staticmethod
    def concatenate(parts: Sequence[PackedBits], axis: int = 0) -> PackedBits:
        """Join bit strings of the same width along leading axis ``axis``."""
        if not parts:
            raise InputError("nothing to concatenate")
        widths = {p.num_bits for p in parts}
        if len(widths) != 1:
            raise InputError(f"cannot concatenate packed bits of widths {sorted(widths)}")
        ndim = len(parts[0].shape)
        if not -ndim <= axis < ndim:
            raise InputError(f"axis {axis} is not a leading axis of shape {parts[0].shape}")
        axis = axis % ndim
        return PackedBits(parts[0].num_bits, np.concatenate([p.data for p in parts], axis=axis))

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PackedBits):
            return NotImplemented
        return (
            self.num_bits == other.num_bits
            and self.data.shape == other.data.shape
            and np.array_equal(self.unpack(), other.unpack())
        )

    __hash__ = None  # type: ignore[assignment]  # mutable data, like an ndarray

    def __repr__(self) -> str:
        return f"PackedBits(num_bits={self.num_bits}, shape={self.shape})"


_UINT8 = np.dtype(np.uint8)
_new = object.__new__


def _make(num_bits: int, data: np.ndarray) -> PackedBits:
    """A :class:`PackedBits` of checked parts (the tiny-job path skips the checks)."""
    made: PackedBits = _new(PackedBits)
    made.num_bits = num_bits
    made.data = data
    return made


def as_packed(value: Any, *, where: str = "register") -> PackedBits:
    """``value`` as :class:`PackedBits`: packed bits as they are, or an unpacked 0/1 array.

    Unpacked ``(..., n)`` uint8 arrays are what results stored before bits were kept packed
    hold (the encoding's ``"__nd__"`` tag), so every reader of a stored result goes through
    here.

    Raises:
        InputError: ``value`` is neither (the message starts with ``where``).
    """
    if isinstance(value, PackedBits):
        return value
    try:
        arr = np.asarray(value)
    except (TypeError, ValueError):
        arr = None
    if arr is None or arr.ndim < 1 or arr.dtype.kind not in "biu":
        raise InputError(f"{where}: expected bits, got {_describe(value)}")
    return PackedBits.from_bits(arr)


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.dtype} array of shape {value.shape}"
    return type(value).__name__
