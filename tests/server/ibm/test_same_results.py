"""Through the server or embedded, one seed gives one result.

The test transpiles the circuits once (for our backend) and writes them as QPY; the client
process loads them and runs qiskit-ibm-runtime's own primitives against the server, this
process runs the same primitives in a session of the embedded runtime (our Qiskit face on
a virtual clock). Counts, bitstrings, expectation values and standard deviations must be
equal, not merely close.
"""

from __future__ import annotations

import warnings
from pathlib import Path

import numpy as np
import pytest

from ..conftest import ServerProcess
from .conftest import FALCON, run_client

qiskit = pytest.importorskip("qiskit")

SAMPLER_SEED = 1234
ESTIMATOR_SEED = 77

_CLIENT = f"""
from qiskit import qpy
from qiskit.quantum_info import SparsePauliOp
from qiskit_ibm_runtime import Session, SamplerV2 as Sampler, EstimatorV2 as Estimator
with open(QPY_PATH, "rb") as f:
    sampled, measured_free = qpy.load(f)
backend = service.backend({FALCON!r})
with Session(backend=backend) as session:
    sampler = Sampler(mode=session)
    sampler.options.simulator.seed_simulator = {SAMPLER_SEED}
    estimator = Estimator(mode=session)
    estimator.options.seed_estimator = {ESTIMATOR_SEED}
    estimator.options.default_precision = 0.02
    observables = [[SparsePauliOp(o).apply_layout(measured_free.layout)] for o in OBS]
    pub = sampler.run([sampled], shots=300).result()[0]
    out["bitstrings"] = pub.data.meas.get_bitstrings()
    values = estimator.run([(measured_free, observables, PARAMS)]).result()[0]
    out["evs"] = values.data.evs.tolist()
    out["stds"] = values.data.stds.tolist()
"""

OBSERVABLES = ["ZZI", "XXI", "IZZ", "YIY"]


def _circuits(backend: object) -> tuple[object, object, list[list[float]]]:
    from qiskit import QuantumCircuit
    from qiskit.circuit import ParameterVector
    from qiskit.transpiler import generate_preset_pass_manager

    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=3)
    ghz = QuantumCircuit(3)
    ghz.h(0)
    ghz.cx(0, 1)
    ghz.cx(1, 2)
    ghz.rx(0.4, 2)
    ghz.measure_all()
    theta = ParameterVector("t", 3)
    ansatz = QuantumCircuit(3)
    for q in range(3):
        ansatz.ry(theta[q], q)
    ansatz.cx(0, 1)
    ansatz.cx(1, 2)
    params = [[0.1, 0.2, 0.3], [1.0, -0.5, 2.0]]
    return pm.run(ghz), pm.run(ansatz), params


def test_server_and_embedded_results_are_equal(server: ServerProcess, tmp_path: Path) -> None:
    from qiskit import qpy
    from qiskit.quantum_info import SparsePauliOp
    from qiskit_ibm_runtime import EstimatorV2, SamplerV2

    from qsession_provider.qiskit import QiskitRuntimeService, Session, VirtualClock

    service = QiskitRuntimeService(clock=VirtualClock())
    backend = service.backend(FALCON)
    sampled, measured_free, params = _circuits(backend)
    qpy_path = tmp_path / "circuits.qpy"
    with open(qpy_path, "wb") as f:
        qpy.dump([sampled, measured_free], f)

    out = run_client(
        server,
        _CLIENT,
        tmp_path,
        files={"QPY_PATH": str(qpy_path), "OBS": OBSERVABLES, "PARAMS": params},
    )

    observables = [[SparsePauliOp(o).apply_layout(measured_free.layout)] for o in OBSERVABLES]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        with Session(backend=backend) as session:
            sampler = SamplerV2(mode=session)
            sampler.options.simulator.seed_simulator = SAMPLER_SEED
            estimator = EstimatorV2(mode=session)
            estimator.options.seed_estimator = ESTIMATOR_SEED
            estimator.options.default_precision = 0.02
            pub = sampler.run([sampled], shots=300).result()[0]
            values = estimator.run([(measured_free, observables, params)]).result()[0]
    assert out["bitstrings"] == pub.data.meas.get_bitstrings()
    assert len(set(out["bitstrings"])) > 1  # a real distribution, not one outcome
    assert np.array_equal(np.array(out["evs"]), values.data.evs)
    assert np.array_equal(np.array(out["stds"]), values.data.stds)
    assert np.array(out["evs"]).shape == (4, 2)  # observables (4, 1) x parameter sets (2,)
