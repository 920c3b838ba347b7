"""One request per job: defaults and seeds resolved once, pubs coerced once, both doors alike."""

from __future__ import annotations

import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.primitives.containers import SamplerPub  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMInputValueError  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)
from qsession_provider.qiskit._ibm_inputs import request_from_ibm  # noqa: E402
from qsession_provider.qiskit._requests import (  # noqa: E402
    DEFAULT_PRECISION,
    DEFAULT_SHOTS,
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    default_precision,
    default_shots,
    primitive_request,
)
from qsession_provider.qiskit._translations import TranslationCache  # noqa: E402


@pytest.fixture
def service() -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def bell() -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    return qc


@pytest.mark.parametrize(
    ("options", "shots", "expected"),
    [
        ({}, None, DEFAULT_SHOTS),
        ({"default_shots": 100}, None, 100),
        ({"default_shots": 100}, 7, 7),
        ({}, 7, 7),
    ],
)
def test_default_shots(options: dict[str, Any], shots: int | None, expected: int) -> None:
    assert default_shots(options, shots) == expected


@pytest.mark.parametrize(
    ("options", "precision", "expected"),
    [
        ({}, None, DEFAULT_PRECISION),
        ({"default_precision": 0.1}, None, 0.1),
        ({"default_precision": 0.1, "default_shots": 400}, None, 0.05),  # shots win, as on IBM
        ({"default_shots": 0, "default_precision": 0.2}, None, 0.2),
        ({"default_shots": 400}, 0, 0),
    ],
)
def test_default_precision(options: dict[str, Any], precision: Any, expected: float) -> None:
    got = default_precision(options, precision)
    assert got == expected and type(got) is type(expected)


def test_seeds_come_from_the_options_of_either_primitive() -> None:
    cache = TranslationCache()
    pubs = coerce_sampler_pubs([bell()], 10)
    simulator = {"simulator": {"seed_simulator": 5}}
    sampler = primitive_request("sampler", pubs, simulator, cache=cache, tags=[])
    assert sampler.payload.seed == 5 and sampler.program_id == "sampler"
    qc = QuantumCircuit(1)
    epubs = coerce_estimator_pubs([(qc, SparsePauliOp("Z"))], 0.0, cache)
    both = {**simulator, "seed_estimator": 9}
    assert primitive_request("estimator", epubs, both, cache=cache, tags=[]).payload.seed == 9
    fallback = primitive_request("estimator", epubs, simulator, cache=cache, tags=[])
    assert fallback.payload.seed == 5 and fallback.program_id == "estimator"


def test_coercion_names_the_pub_and_refuses_no_pubs() -> None:
    with pytest.raises(IBMInputValueError, match="pub 1: "):
        coerce_sampler_pubs([bell(), (bell(), [1.0])], 10)
    with pytest.raises(IBMInputValueError, match="No pubs"):
        coerce_sampler_pubs([], 10)
    with pytest.raises(IBMInputValueError, match="iterable of pubs"):
        coerce_sampler_pubs("abc", 10)


def test_the_ibm_door_and_ours_build_the_same_request() -> None:
    cache = TranslationCache()
    options = {"default_shots": 30, "simulator": {"seed_simulator": 3}}
    circuit = bell()
    pubs = [SamplerPub.coerce(circuit)]  # as qiskit-ibm-runtime sends them: no shots yet
    ibm = request_from_ibm(
        "sampler",
        {"pubs": pubs, "options": options, "version": 2},
        {"job_tags": ["a"], "max_execution_time": 60, "instance": "team"},
        cache=cache,
    )
    ours = primitive_request(
        "sampler",
        coerce_sampler_pubs([circuit], default_shots(options)),
        options,
        cache=cache,
        tags=["a"],
        max_execution_time=60,
        instance="team",
    )
    assert ibm.payload.pubs[0] is ours.payload.pubs[0]  # one cached neutral pub
    assert ibm.payload.seed == ours.payload.seed == 3
    assert (ibm.tags, ibm.max_execution_time, ibm.instance) == (["a"], 60, "team")
    assert (ours.tags, ours.max_execution_time, ours.instance) == (["a"], 60, "team")
    assert ibm.decoding.describe() == ours.decoding.describe()
    with pytest.raises(IBMInputValueError, match="Program 'other' is not supported"):
        request_from_ibm("other", {}, None, cache=cache)


def test_each_pub_is_coerced_once_per_job(
    service: QiskitRuntimeService, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[Any] = []
    original = SamplerPub.coerce.__func__  # type: ignore[attr-defined]

    def counting(cls: Any, pub: Any, shots: Any = None) -> Any:
        calls.append(pub)
        return original(cls, pub, shots)

    monkeypatch.setattr(SamplerPub, "coerce", classmethod(counting))
    backend = service.backend("statevector")
    circuits = [bell(), bell()]
    with Session(backend=backend) as session:
        SamplerV2(mode=session).run(circuits, shots=5).result()
    SamplerV2(mode=backend).run(circuits, shots=5).result()
    assert len(calls) == 4


def test_estimator_defaults_reach_the_job(service: QiskitRuntimeService) -> None:
    qc = QuantumCircuit(1)
    estimator = EstimatorV2(mode=service.backend("statevector"), options={"default_shots": 400})
    job = estimator.run([(qc, SparsePauliOp("Z"))])
    assert job.result()[0].metadata["target_precision"] == pytest.approx(1 / math.sqrt(400))
    assert job.inputs["options"] == {"default_shots": 400}
    assert np.isfinite(job.result()[0].data.evs)
