"""The Qiskit face's hot path: iterative loops and the runtime's fast paths give the same
results and stored jobs as the general path."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit.library import efficient_su2  # noqa: E402
from qiskit.primitives import StatevectorEstimator  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402

from qsession_provider.core.ir.encoding import loads  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
)
from qsession_provider.qiskit._decoding import decoding_from_metadata  # noqa: E402


@pytest.fixture
def service(tmp_path: Path) -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3")
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def test_an_iterative_estimator_loop_is_exact_and_follows_edited_observables(
    service: QiskitRuntimeService,
) -> None:
    rng = np.random.default_rng(1)
    circuit = efficient_su2(4, reps=2)
    hamiltonian = SparsePauliOp(["XXYZ", "ZIIZ", "YYII"], [0.5, -1.0, 0.25])
    reference = StatevectorEstimator()
    with Session(backend=service.backend("statevector")) as session:
        estimator = EstimatorV2(mode=session)
        for k in range(6):
            if k == 3:
                hamiltonian.coeffs[0] = 2.0  # edited in place between jobs
            values = rng.uniform(-np.pi, np.pi, circuit.num_parameters)
            ours = estimator.run([(circuit, hamiltonian, values)], precision=0).result()
            ref = reference.run([(circuit, hamiltonian, values)], precision=0).result()
            np.testing.assert_allclose(ours[0].data.evs, ref[0].data.evs, atol=1e-10)


def _bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


def test_tiny_sampler_jobs_match_with_and_without_the_fast_paths(
    service: QiskitRuntimeService,
) -> None:
    scheduler = service.runtime._scheduler
    counts = {}
    for fast in (True, False):
        scheduler.inline_max_work = 1 << 10 if fast else 0
        scheduler.small_job_work = 1 << 14 if fast else 0
        with Session(backend=service.backend("statevector")) as session:
            sampler = SamplerV2(mode=session, options={"simulator": {"seed_simulator": 11}})
            job = sampler.run([_bell()], shots=64)
            if fast:
                assert job.status() == "DONE"  # ran at submission
            counts[fast] = job.result()[0].data.meas.get_counts()
            store = service.runtime.store
            stored = store.get_job(job.job_id())
            assert stored.status.value == "DONE" and stored.started_at is not None
        # The stored job decodes to the same result (as another process would read it).
        raw = loads(store.get_result(job.job_id()) or "null")
        decoded = decoding_from_metadata(stored.metadata).decode(raw)
        assert decoded[0].data.meas.get_counts() == counts[fast]
    assert counts[True] == counts[False]
