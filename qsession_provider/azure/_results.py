"""A ``run`` job's neutral result -> azure's ``microsoft.quantum-results.v2`` outcomes.

Each shot's outcome is the list of its classical bits, bit 0 first (``[0, 1]``); a circuit
with several classical registers gives a tuple of such lists, one per register in circuit
order (``([0, 1], [1])``); its display string is the ``str()`` of the outcome.

The registers arrive packed (:class:`~qsession_provider.core.ir.bits.PackedBits`; results
stored before bits were kept packed hold uint8 arrays): the distinct shots are found on the
packed bytes and only they are unpacked.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from ..core.ir.bits import PackedBits, as_packed

__all__ = ["INTERNAL_PREFIX", "Outcomes", "decode", "copy_outcome"]

#: Registers named with this prefix hold bits a program measured but never output (QIR
#: results read only by its branches): they are left out of the outcomes.
INTERNAL_PREFIX = "_"


class Outcomes(NamedTuple):
    """The distinct outcomes of a job, their counts, and each shot's index into them."""

    outcomes: list[Any]
    counts: list[int]
    shot_indices: list[int]


def decode(raw: Any) -> Outcomes | None:
    """The outcomes of a ``run`` result, or None for a result of another program."""
    if not (isinstance(raw, Mapping) and isinstance(raw.get("results"), list)):
        return None
    (experiment,) = raw["results"][:1]
    shots = int(experiment["shots"])
    packed = [
        as_packed(bits, where=f"register {name!r}").reshape(shots)
        for name, bits in experiment["registers"].items()
        if not name.startswith(INTERNAL_PREFIX)
    ]
    if not packed or sum(p.num_bits for p in packed) == 0:
        empty: Any = [] if len(packed) <= 1 else tuple([] for _ in packed)
        return Outcomes([empty], [shots], [0] * shots)
    joined = np.concatenate([p.data for p in packed], axis=1)
    uniq, inverse, counts = np.unique(joined, axis=0, return_inverse=True, return_counts=True)
    parts, at = [], 0
    for p in packed:  # unpack the distinct rows only
        parts.append(PackedBits(p.num_bits, uniq[:, at : at + p.num_bytes]).unpack())
        at += p.num_bytes
    # Outcomes in the order of their bit lists (bit 0 first), as they always were.
    order = np.lexsort(np.concatenate(parts, axis=1).T[::-1])
    rank = np.empty_like(order)
    rank[order] = np.arange(len(order))
    columns = [part[order].tolist() for part in parts]
    outcomes: list[Any] = [parts[0] if len(parts) == 1 else tuple(parts) for parts in zip(*columns)]
    return Outcomes(outcomes, counts[order].tolist(), rank[np.ravel(inverse)].tolist())


def copy_outcome(outcome: Any) -> Any:
    """A copy of one outcome (each shot of ``get_results_shots`` gets its own lists)."""
    return tuple(list(p) for p in outcome) if isinstance(outcome, tuple) else list(outcome)
