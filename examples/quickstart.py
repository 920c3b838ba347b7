"""Quick start: Qiskit code written for IBM's runtime, running on the local runtime.

Only the import line differs from IBM's documentation: a service, a backend, a session,
a sampler and an estimator - and the session is real (it has an id, a status, details, and
closes when the ``with`` block ends).

pip install -e ".[qiskit]" && python examples/quickstart.py
"""

from __future__ import annotations

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp

from qsession_provider.qiskit import EstimatorV2, QiskitRuntimeService, SamplerV2, Session


def main() -> None:
    service = QiskitRuntimeService()  # the local runtime, on the default store
    backend = service.backend("statevector")

    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    measured = bell.measure_all(inplace=False)

    with Session(backend=backend) as session:
        sampler = SamplerV2()  # created inside the block: runs in the session
        estimator = EstimatorV2()
        counts = sampler.run([measured], shots=1000).result()[0].data.meas.get_counts()
        observables = [SparsePauliOp("ZZ"), SparsePauliOp("XX"), SparsePauliOp("ZI")]
        evs = estimator.run([(bell, observables)], precision=0).result()[0].data.evs
        print(f"session {session.session_id}: {session.status()}")
        print(f"counts: {dict(sorted(counts.items()))}")
        print(f"<ZZ>, <XX>, <ZI> = {evs.round(6).tolist()}")
    print(f"after the with block: {session.status()}")


if __name__ == "__main__":
    main()
