"""The Cirq face: a session-aware ``cirq.Sampler`` over the local runtime."""

from __future__ import annotations

from .._optional import require

require("cirq", "cirq", "qsession_provider.cirq")

from ._translate import circuit_to_program, pauli_sum_to_sum, resolver_values  # noqa: E402

__all__ = ["circuit_to_program", "pauli_sum_to_sum", "resolver_values"]
