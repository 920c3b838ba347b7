"""Quick start: run a Qiskit circuit and a Cirq circuit on the qsession_provider engine.

pip install -e ".[all]" && python examples/quickstart.py
"""

from __future__ import annotations

import cirq
import numpy as np
from qiskit import QuantumCircuit
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qsession_provider.cirq import circuit_to_program as cirq_to_program
from qsession_provider.qiskit import circuit_to_program, sparse_pauli_to_sum
from qsession_provider.sim import StatevectorSimulator


def main() -> None:
    sim = StatevectorSimulator()

    # A parameterised Qiskit circuit: compile once, bind many.
    theta = Parameter("θ")
    qc = QuantumCircuit(3)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    qc.cx(1, 2)
    program = circuit_to_program(qc)
    obs = sparse_pauli_to_sum(SparsePauliOp.from_list([("ZII", 1.0), ("XXX", 1.0)]))
    for value in np.linspace(0, np.pi, 3):
        (ev,) = sim.expectation_values(program, [obs], {"θ": float(value)})
        print(f"θ={value:.2f}  <ZII + XXX> = {ev:+.4f}")

    # Sampling a GHZ state measured into a register.
    qc.measure_all()
    bits = sim.sample(circuit_to_program(qc), shots=1000, values={"θ": np.pi / 2}, seed=7)["meas"]
    counts = {}
    for row in bits:
        key = "".join(str(b) for b in row[::-1])
        counts[key] = counts.get(key, 0) + 1
    print("GHZ counts:", dict(sorted(counts.items())))

    # The same engine behind a Cirq circuit.
    a, b = cirq.LineQubit.range(2)
    circuit = cirq.Circuit(cirq.H(a), cirq.CNOT(a, b), cirq.measure(a, b, key="m"))
    prog, _qubits = cirq_to_program(circuit)
    m = sim.sample(prog, shots=10, seed=1)["m"]
    print("cirq Bell samples:", [tuple(int(x) for x in row) for row in m])


if __name__ == "__main__":
    main()
