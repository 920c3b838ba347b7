"""Automatic precision through the Qiskit face: wide circuits sampled in complex64 say so in
their metadata (pub ``simulator_metadata``, ``run`` ``ExperimentResult.metadata``), narrow
ones keep the reference primitives' metadata, and ``QSESSION_PRECISION=double`` forces
complex128."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.primitives import StatevectorSampler  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)
from qsession_provider.sim.precision import AUTO_SINGLE_FROM, PRECISION_ENV  # noqa: E402

SINGLE = {"method": "statevector", "simulation_precision": "single"}


@pytest.fixture
def service(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[QiskitRuntimeService]:
    monkeypatch.delenv(PRECISION_ENV, raising=False)
    svc = QiskitRuntimeService(store=tmp_path / "store.sqlite3", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def _circuit(n: int, seed: int = 4) -> QuantumCircuit:
    """Random ry layers with CX chains over ``n`` qubits, all measured."""
    rng = np.random.default_rng(seed)
    qc = QuantumCircuit(n)
    for layer in range(2):
        for q in range(n):
            qc.ry(float(rng.uniform(0, 3)), q)
        for q in range(layer % 2, n - 1, 2):
            qc.cx(q, q + 1)
    qc.measure_all()
    return qc


def test_wide_sampler_pubs_say_single_and_narrow_ones_keep_the_reference_metadata(
    service: QiskitRuntimeService,
) -> None:
    wide, narrow = _circuit(AUTO_SINGLE_FROM), _circuit(3)
    with Session(backend=service.backend("statevector")) as session:
        result = SamplerV2(mode=session).run([wide, narrow], shots=100).result()
    assert result[0].metadata["simulator_metadata"] == SINGLE
    assert result[0].data.meas.num_shots == 100
    assert result[0].data.meas.num_bits == AUTO_SINGLE_FROM
    reference = StatevectorSampler().run([narrow], shots=100).result()[0].metadata
    assert result[1].metadata == reference  # {"shots": 100, "circuit_metadata": {}}


def test_backend_run_results_say_single_in_their_metadata(service: QiskitRuntimeService) -> None:
    backend = service.backend("statevector")
    wide, narrow = _circuit(AUTO_SINGLE_FROM), _circuit(3)
    result = backend.run([wide, narrow], shots=50, seed_simulator=3).result()
    assert result.results[0].metadata == {"method": "statevector", "simulation_precision": "single"}
    assert result.results[1].metadata == {"method": "statevector"}
    assert sum(result.get_counts(0).values()) == 50


def test_seeded_wide_sampling_is_reproducible(service: QiskitRuntimeService) -> None:
    wide = _circuit(AUTO_SINGLE_FROM)
    sampler = SamplerV2(
        mode=service.backend("statevector"), options={"simulator": {"seed_simulator": 42}}
    )
    a = sampler.run([wide], shots=200).result()[0].data.meas.get_bitstrings()
    b = sampler.run([wide], shots=200).result()[0].data.meas.get_bitstrings()
    sampler.options.simulator.seed_simulator = 43
    c = sampler.run([wide], shots=200).result()[0].data.meas.get_bitstrings()
    assert a == b and a != c


def test_the_environment_forces_double_precision(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(PRECISION_ENV, "double")
    svc = QiskitRuntimeService(store=tmp_path / "double.sqlite3", clock=VirtualClock())
    try:
        result = SamplerV2(mode=svc.backend("statevector")).run(
            [_circuit(AUTO_SINGLE_FROM)], shots=20
        )
        assert "simulator_metadata" not in result.result()[0].metadata
    finally:
        svc.runtime.shutdown(wait=False, cancel_pending=True)
