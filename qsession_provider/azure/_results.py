"""A ``run`` job's neutral result -> azure's ``microsoft.quantum-results.v2`` outcomes.

Each shot's outcome is the list of its classical bits, bit 0 first (``[0, 1]``); a circuit
with several classical registers gives a tuple of such lists, one per register in circuit
order (``([0, 1], [1])``); its display string is the ``str()`` of the outcome.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

__all__ = ["Outcomes", "decode", "copy_outcome"]


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
    arrays = [
        np.asarray(bits, dtype=np.uint8).reshape(shots, -1)
        for bits in experiment["registers"].values()
    ]
    sizes = [a.shape[1] for a in arrays]
    if not arrays or sum(sizes) == 0:
        empty: Any = [] if len(arrays) <= 1 else tuple([] for _ in arrays)
        return Outcomes([empty], [shots], [0] * shots)
    joined = np.concatenate(arrays, axis=1)
    uniq, inverse, counts = np.unique(joined, axis=0, return_inverse=True, return_counts=True)
    outcomes: list[Any] = []
    for row in uniq.tolist():
        parts, at = [], 0
        for size in sizes:
            parts.append(row[at : at + size])
            at += size
        outcomes.append(parts[0] if len(parts) == 1 else tuple(parts))
    return Outcomes(outcomes, counts.tolist(), np.ravel(inverse).tolist())


def copy_outcome(outcome: Any) -> Any:
    """A copy of one outcome (each shot of ``get_results_shots`` gets its own lists)."""
    return tuple(list(p) for p in outcome) if isinstance(outcome, tuple) else list(outcome)
