"""Two VQE workloads in one session, run from a thread pool, told apart by job tags.

IBM's guide ("Run two VQE algorithms in a session by using threading"): two estimators
created inside ``with Session(...)``, tagged ``["cobyla"]`` and ``["nelder-mead"]``, each
driven by scipy's ``minimize`` in its own thread. Both workloads share the session (and the
emulated QPU, one job at a time); the tags find each workload's jobs afterwards. A
VirtualClock makes the ~2 s the device spends per job pass instantly.

python examples/qiskit_vqe_threads_tags.py
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
from qiskit.circuit.library import real_amplitudes
from qiskit.quantum_info import SparsePauliOp
from qiskit.transpiler import generate_preset_pass_manager
from scipy.optimize import minimize

from qsession_provider.qiskit import Estimator, QiskitRuntimeService, Session, VirtualClock


def cost_func(params: np.ndarray, ansatz: Any, hamiltonian: Any, estimator: Estimator) -> float:
    result = estimator.run([(ansatz, hamiltonian, params)]).result()
    return float(result[0].data.evs)


def main() -> None:
    service = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    backend = service.backend("emulated_falcon_27")
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
    ansatz = pm.run(real_amplitudes(2, reps=2))
    hamiltonian = SparsePauliOp(["ZZ", "XI", "IX"], [1.0, 0.5, 0.5]).apply_layout(ansatz.layout)
    exact = float(
        np.linalg.eigvalsh(SparsePauliOp(["ZZ", "XI", "IX"], [1, 0.5, 0.5]).to_matrix())[0]
    )
    x0 = np.full(ansatz.num_parameters, 0.1)

    def minimize_thread(estimator: Estimator, method: str) -> Any:
        return minimize(
            cost_func,
            x0,
            args=(ansatz, hamiltonian, estimator),
            method=method,
            options={"maxiter": 60},
        )

    with Session(backend=backend) as session, ThreadPoolExecutor() as executor:
        estimator1 = Estimator()
        estimator2 = Estimator()
        for estimator in (estimator1, estimator2):
            estimator.options.default_precision = 0.01
            estimator.options.seed_estimator = 7

        # Use different tags to differentiate the jobs.
        estimator1.options.environment.job_tags = ["cobyla"]
        estimator2.options.environment.job_tags = ["nelder-mead"]

        # Submit the two workloads.
        cobyla_future = executor.submit(minimize_thread, estimator1, "cobyla")
        nelder_mead_future = executor.submit(minimize_thread, estimator2, "nelder-mead")

        # Get workload results.
        cobyla_result = cobyla_future.result()
        nelder_mead_result = nelder_mead_future.result()

    print(f"exact ground energy: {exact:.4f}")
    for name, result in (("cobyla", cobyla_result), ("nelder-mead", nelder_mead_result)):
        jobs = service.jobs(job_tags=[name], session_id=session.session_id, limit=None)
        print(
            f"{name:>11}: energy {result.fun:+.4f} after {result.nfev} evaluations, "
            f"{len(jobs)} jobs tagged {jobs[0].tags}"
        )
    details = session.details()
    total = len(service.jobs(session_id=session.session_id, limit=None))
    print(
        f"session {details['state']}, {total} jobs, "
        f"device time {details['usage_time']:.1f} s (virtual)"
    )


if __name__ == "__main__":
    main()
