"""cirq."""
