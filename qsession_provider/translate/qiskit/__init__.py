"""qiskit."""
