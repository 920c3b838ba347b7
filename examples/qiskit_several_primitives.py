"""Invoke several primitives in one session: a Sampler and an Estimator.

IBM's guide ("Invoke multiple primitives in a session"), line for line, with pubs that use
full PUB semantics: a parameter sweep broadcast against two observables, and a circuit
measured into two classical registers.

python examples/qiskit_several_primitives.py
"""

from __future__ import annotations

import numpy as np
from qiskit import ClassicalRegister, QuantumCircuit, QuantumRegister
from qiskit.circuit import Parameter
from qiskit.quantum_info import SparsePauliOp

from qsession_provider.qiskit import (
    Estimator,
    QiskitRuntimeService,
    Sampler,
    Session,
)


def main() -> None:
    service = QiskitRuntimeService()
    backend = service.backend("statevector")

    sampler_circuit = QuantumCircuit(
        QuantumRegister(3), ClassicalRegister(2, "pair"), ClassicalRegister(1, "flag")
    )
    sampler_circuit.h(0)
    sampler_circuit.cx(0, 1)
    sampler_circuit.x(2)
    sampler_circuit.measure([0, 1], [0, 1])
    sampler_circuit.measure(2, 2)

    theta = Parameter("θ")
    circuit = QuantumCircuit(2)
    circuit.ry(theta, 0)
    circuit.cx(0, 1)
    observables = [[SparsePauliOp("ZZ")], [SparsePauliOp("XX")]]  # shape (2, 1)
    angles = np.linspace(0, np.pi, 3)[:, None]  # 3 parameter sets: shape (3,) -> evs (2, 3)

    with Session(backend=backend):
        sampler = Sampler()
        estimator = Estimator()

        job = sampler.run([sampler_circuit], shots=1000)
        result = job.result()
        print(f" > Counts (pair): {result[0].data.pair.get_counts()}")
        print(f" > Counts (flag): {result[0].data.flag.get_counts()}")

        job = estimator.run([(circuit, observables, angles)], precision=0)
        result = job.result()
        print(f" > Expectation values, shape {result[0].data.evs.shape}:")
        print(np.round(result[0].data.evs, 4))
        print(f" > Metadata: {result[0].metadata}")


if __name__ == "__main__":
    main()
