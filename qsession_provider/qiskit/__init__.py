"""The Qiskit face: runtime service, sessions, primitives and a BackendV2 over the local runtime."""

from __future__ import annotations

from .._optional import require

require("qiskit", "qiskit", "qsession_provider.qiskit")
require("qiskit_ibm_runtime", "qiskit", "qsession_provider.qiskit")

from ._translate import circuit_to_program, sparse_pauli_to_sum  # noqa: E402

__all__ = ["circuit_to_program", "sparse_pauli_to_sum"]
