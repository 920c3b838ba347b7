"""qiskit-ibm-runtime's own primitives inside a session of this package.

``qsession_provider.qiskit.Session`` subclasses ``qiskit_ibm_runtime.Session``, so IBM's
``SamplerV2``/``EstimatorV2`` and the newer executor-based ``Sampler``/``Estimator`` (which
do their processing client-side and send an ``executor`` program) run in it - by
``mode=session`` or inside ``with Session(...)`` - with real session semantics: job tags,
the root job, and refusal once the session is closed. (qiskit-ibm-runtime's local mode
would ignore the session and keep running executor jobs after it closed.)

python examples/qiskit_ibm_primitives_in_our_session.py
"""

from __future__ import annotations

import warnings

from qiskit import QuantumCircuit
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import EstimatorV2, SamplerV2
from qiskit_ibm_runtime.exceptions import IBMRuntimeError
from qiskit_ibm_runtime.executor_estimator import Estimator as ExecutorEstimator
from qiskit_ibm_runtime.executor_sampler import Sampler as ExecutorSampler

from qsession_provider.qiskit import QiskitRuntimeService, Session

# qiskit-ibm-runtime 0.50+ deprecates its SamplerV2/EstimatorV2; we use them on purpose.
warnings.filterwarnings("ignore", message="The (Sampler|Estimator)V2 class is deprecated")


def main() -> None:
    service = QiskitRuntimeService()
    backend = service.backend("statevector")
    bell = QuantumCircuit(2)
    bell.h(0)
    bell.cx(0, 1)
    measured = bell.measure_all(inplace=False)
    observables = [SparsePauliOp("ZZ"), SparsePauliOp("XX"), SparsePauliOp("ZI")]

    with Session(backend=backend) as session:
        sampler = SamplerV2()  # qiskit-ibm-runtime's class, joining our session
        sampler.options.environment.job_tags = ["ibm-v2"]
        job = sampler.run([measured], shots=100)
        print(
            f"IBM SamplerV2:        {job.result()[0].data.meas.get_counts()}  "
            f"(root job: {job.job_id() == session.session_id}, tags {job.tags})"
        )
        evs = EstimatorV2(mode=session).run([(bell, observables)]).result()[0].data.evs
        print(f"IBM EstimatorV2:      {evs.round(2).tolist()}")

        executor_sampler = ExecutorSampler()
        executor_sampler.options.environment.job_tags = ["executor"]
        job = executor_sampler.run([measured], shots=100)
        print(
            f"executor Sampler:     {job.result()[0].data.meas.get_counts()}  "
            f"(program {job.primitive_id}, tags {job.tags})"
        )
        evs = ExecutorEstimator(mode=session).run([(bell, observables)]).result()[0].data.evs
        print(f"executor Estimator:   {evs.round(2).tolist()}")

    for primitive in (sampler, executor_sampler):
        try:
            primitive.run([measured], shots=10)
        except IBMRuntimeError as exc:
            print(
                f"{type(primitive).__module__}.{type(primitive).__name__} after close: "
                f"{exc.message}"
            )
    jobs = service.jobs(session_id=session.session_id)
    print(f"the session's jobs: {[j.primitive_id for j in jobs]}")


if __name__ == "__main__":
    main()
