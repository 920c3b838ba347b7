"""What a forecast reports: per mode, what the cloud would count; prices; the table."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..errors import InputError
from .trace import TracedJob

__all__ = ["MODES", "Forecast", "ModeForecast", "Prices"]

#: The execution modes compared: IBM's session, batch and job modes.
MODES = ("session", "batch", "job")


@dataclass(frozen=True)
class Prices:
    """A user's price table (nothing is built in): per billed second, per shot, per job."""

    per_second: float = 0.0
    per_shot: float = 0.0
    per_task: float = 0.0
    currency: str = "USD"

    def __post_init__(self) -> None:
        for name in ("per_second", "per_shot", "per_task"):
            value = getattr(self, name)
            if (
                isinstance(value, bool)
                or not isinstance(value, (int, float))
                or not (math.isfinite(value) and value >= 0)
            ):
                raise InputError(f"price {name} must be a number >= 0, got {value!r}")
        if not isinstance(self.currency, str) or not self.currency:
            raise InputError(f"currency must be a non-empty string, got {self.currency!r}")

    @classmethod
    def coerce(cls, prices: Prices | Mapping[str, Any] | None) -> Prices | None:
        """``prices`` as :class:`Prices` (from a mapping of its fields).

        Raises:
            InputError: an unknown key or a bad value.
        """
        if prices is None or isinstance(prices, Prices):
            return prices
        if not isinstance(prices, Mapping):
            raise InputError(f"prices must be a Prices or a mapping, got {prices!r}")
        unknown = sorted(set(prices) - {"per_second", "per_shot", "per_task", "currency"})
        if unknown:
            raise InputError(
                f"unknown price key(s) {unknown}; known: per_second, per_shot, per_task, currency"
            )
        return cls(**prices)

    def cost(self, billed_seconds: float, shots: int, jobs: int) -> float:
        """The price of ``billed_seconds``, ``shots`` and ``jobs``."""
        return billed_seconds * self.per_second + shots * self.per_shot + jobs * self.per_task


@dataclass(frozen=True)
class ModeForecast:
    """One mode's figures (seconds on the runtime's clock).

    Attributes:
        mode: ``session``, ``batch`` or ``job``.
        job_seconds: quantum seconds of each job (None: it never ran).
        quantum_seconds: their sum.
        billed_seconds: what the service counts as usage: a session's wall time on the
            device (from its first job's start, think time included, gaps past the
            interactive timeout excluded); a batch's and job mode's quantum seconds.
        wall_seconds: from the first submission to the last job's end (queueing included).
        queued_seconds: time the jobs spent queued, in all.
        shots: shots of the jobs that ran.
        failed: jobs that did not end DONE (or were refused).
        cost: with prices, the price of ``billed_seconds``, ``shots`` and the jobs.
    """

    mode: str
    job_seconds: tuple[float | None, ...]
    quantum_seconds: float
    billed_seconds: float
    wall_seconds: float
    queued_seconds: float
    shots: int
    failed: int
    cost: float | None = None


@dataclass(frozen=True)
class Forecast:
    """A workload's figures in each mode, side by side (:meth:`table`)."""

    jobs: tuple[TracedJob, ...]
    modes: dict[str, ModeForecast]
    prices: Prices | None = None
    notes: tuple[str, ...] = field(default=())

    def __getitem__(self, mode: str) -> ModeForecast:
        return self.modes[mode]

    def table(self) -> str:
        """The figures as a plain-text table, modes side by side."""
        modes = list(self.modes.values())
        rows: list[tuple[str, list[str]]] = [
            ("jobs", [str(len(m.job_seconds)) for m in modes]),
            ("quantum seconds", [f"{m.quantum_seconds:.2f}" for m in modes]),
            ("billed seconds", [f"{m.billed_seconds:.2f}" for m in modes]),
            ("wall time incl. queue (s)", [f"{m.wall_seconds:.2f}" for m in modes]),
            ("time queued (s)", [f"{m.queued_seconds:.2f}" for m in modes]),
            ("failed jobs", [str(m.failed) for m in modes]),
        ]
        if self.prices is not None:
            unit = self.prices.currency
            rows.append((f"cost ({unit})", [f"{m.cost or 0.0:.2f}" for m in modes]))
        width = max(len(r[0]) for r in rows)
        cols = [max(len(m.mode), *(len(r[1][i]) for r in rows)) for i, m in enumerate(modes)]
        head = " " * width + "  " + "  ".join(m.mode.rjust(c) for m, c in zip(modes, cols))
        lines = [head]
        for label, values in rows:
            lines.append(
                label.ljust(width) + "  " + "  ".join(v.rjust(c) for v, c in zip(values, cols))
            )
        seconds = [j.seconds for j in self.jobs]
        lines.append("")
        lines.append(
            f"{len(seconds)} jobs, modelled quantum seconds per job: "
            + ", ".join(f"{s:.2f}" for s in seconds[:10])
            + (" ..." if len(seconds) > 10 else "")
        )
        lines.extend(self.notes)
        return "\n".join(lines)
