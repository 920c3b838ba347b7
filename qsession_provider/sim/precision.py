"""Which floating-point precision a simulator computes in: ``auto``, ``double`` or ``single``.

``double`` keeps every state in complex128 and ``single`` in complex64. ``auto`` (the
default) is complex128 for everything a user can read exactly (final states,
probabilities, expectation values, the trajectory and density-matrix engines) and complex64
for *sampling* circuits that touch at least :data:`AUTO_SINGLE_FROM` qubits.

Why sampling may use single precision: complex64 rounds each amplitude to a relative
2**-24 (about 6e-8) per gate, so after thousands of gates a probability is off by well
under 1e-5 of itself, while the kernel sums the cumulative distribution in double and
normalises by the computed total. Sampled counts carry shot noise of about 1/sqrt(shots)
relative to the outcome counts: 3e-2 at 1,000 shots, still 1e-3 at a million, orders of
magnitude above the rounding. No realistic number of shots can tell the two precisions
apart. Width 16 is where single precision starts to win clearly (measured, 1,000 shots of
depth-12 random circuits, best of 7 interleaved runs: 0.67x of the complex128 time at 16
qubits, 0.5-0.57x from 18 to 22; 0.85-1.1x at 14 qubits and below, where fixed costs
dominate), so narrower circuits stay in double and their bits are exactly those of
``precision="double"``.

The default comes from the ``QSESSION_PRECISION`` environment variable (``auto``,
``double`` or ``single``), read when a simulator is created (the built-in devices create
theirs when a runtime registers its devices); ``QSESSION_PRECISION=double`` forces
complex128 sampling everywhere.
"""

from __future__ import annotations

import os

from ..errors import InputError

__all__ = ["AUTO_SINGLE_FROM", "PRECISIONS", "PRECISION_ENV", "resolve_precision"]

#: Environment variable giving the precision of simulators created without one.
PRECISION_ENV = "QSESSION_PRECISION"
#: The precisions a simulator accepts.
PRECISIONS = ("auto", "double", "single")
#: ``auto`` samples circuits touching at least this many qubits in complex64.
AUTO_SINGLE_FROM = 16


def resolve_precision(precision: str | None) -> str:
    """``precision``, or the environment's default (``auto`` when unset), checked.

    Raises:
        InputError: not one of :data:`PRECISIONS` (naming where the value came from).
    """
    if precision is not None:
        if precision not in PRECISIONS:
            raise InputError(
                f"precision must be one of {', '.join(map(repr, PRECISIONS))}, got {precision!r}"
            )
        return precision
    value = os.environ.get(PRECISION_ENV, "").strip()
    if not value:
        return "auto"
    if value.lower() not in PRECISIONS:
        raise InputError(
            f"environment variable {PRECISION_ENV}={value!r} is not a precision; "
            f"choose one of {', '.join(PRECISIONS)}"
        )
    return value.lower()
