"""Cirq measurements and classical controls → IR registers and conditions."""

from __future__ import annotations

from collections.abc import Mapping

import cirq

from ...core.ir.circuit import Condition
from ...errors import InvalidCircuitError

__all__ = ["condition_for", "measurement_key"]


def measurement_key(gate: cirq.MeasurementGate) -> str:
    """The register name of a plain Z-basis measurement (refusing inversions and confusion)."""
    key = str(gate.mkey)
    if any(gate.full_invert_mask()):
        raise InvalidCircuitError(
            f"measurement {key!r} has an invert_mask, which is not supported; "
            "apply X gates before the measurement instead"
        )
    if gate.confusion_map:
        raise InvalidCircuitError(
            f"measurement {key!r} has a confusion_map (a noise model), which is not supported"
        )
    return key


def condition_for(condition: cirq.Condition, registers: Mapping[str, int]) -> Condition:
    """The IR condition for a simple Cirq key condition on an earlier measurement.

    Supported: ``KeyCondition`` on a one-qubit key (the bit is 1), and
    ``BitMaskKeyCondition`` comparing the whole key, or one bit of it, with a value.
    Cirq reads a key as a big-endian integer (first qubit most significant) while an IR
    register's bit ``j`` is the ``j``-th measured qubit, hence the bit reversals.
    """
    if not isinstance(condition, (cirq.KeyCondition, cirq.BitMaskKeyCondition)):
        raise InvalidCircuitError(f"unsupported classical condition {condition}")
    key = str(condition.key)
    size = registers.get(key)
    if size is None:
        raise InvalidCircuitError(
            f"classical condition {condition} refers to key {key!r}, which is not measured earlier"
        )
    if condition.index not in (-1, 0):
        raise InvalidCircuitError(f"unsupported classical condition {condition}: index must be -1")
    if isinstance(condition, cirq.KeyCondition):
        if size == 1:
            return Condition(key, 1)
        raise InvalidCircuitError(
            f"unsupported classical condition {condition}: 'any bit of a {size}-bit key is 1' "
            "cannot be expressed; condition on a one-qubit key or use BitMaskKeyCondition"
        )
    full = (1 << size) - 1
    mask = full if condition.bitmask is None else condition.bitmask & full
    target = condition.target_value & mask
    if mask == full and (condition.equal_target or size == 1):
        value = target if condition.equal_target else target ^ 1
        return Condition(key, _reverse_bits(value, size))
    if mask and mask & (mask - 1) == 0:  # a single bit of the key
        bit = size - mask.bit_length()  # big-endian position -> measured-qubit index
        value = 1 if target else 0
        return Condition(key, value if condition.equal_target else value ^ 1, bit)
    raise InvalidCircuitError(f"unsupported classical condition {condition}")


def _reverse_bits(value: int, size: int) -> int:
    """``value`` with its ``size`` low bits in reverse order."""
    return int(format(value, f"0{size}b")[::-1], 2) if size else 0
