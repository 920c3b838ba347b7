"""Execution spans on primitive results and queue estimates in ``job.metrics()``.

The emulated Falcon takes 1 s + 50 ms per circuit execution + 250 us per shot per job, on
a VirtualClock: the spans and estimates below follow that timing model exactly.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone

import numpy as np
import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.circuit import Parameter  # noqa: E402
from qiskit.quantum_info import SparsePauliOp  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.execution_span import ExecutionSpans, SliceSpan  # noqa: E402

from qsession_provider.qiskit import (  # noqa: E402
    EstimatorV2,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

START = datetime(2025, 1, 1, tzinfo=timezone.utc).timestamp()


@pytest.fixture
def service() -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=":memory:", clock=VirtualClock(start=START))
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def _isa(backend: object, measure: bool = True) -> QuantumCircuit:
    theta = Parameter("t")
    qc = QuantumCircuit(2)
    qc.ry(theta, 0)
    qc.cx(0, 1)
    if measure:
        qc.measure_all()
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    return pm.run(qc)


def _seconds(when: datetime) -> float:
    return when.timestamp() - START


def test_sampler_spans_follow_the_timing_model_pub_by_pub(service: QiskitRuntimeService) -> None:
    falcon = service.backend("emulated_falcon_27")
    timing = service.runtime.device("emulated_falcon_27").timing
    isa = _isa(falcon)
    with Session(backend=falcon) as session:
        job = SamplerV2(mode=session).run([(isa, [[0.1], [0.2], [0.3]], 1000), (isa, [0.4], 200)])
        result = job.result()
    spans = result.metadata["execution"]["execution_spans"]
    assert isinstance(spans, ExecutionSpans) and len(spans) == 2
    assert all(isinstance(span, SliceSpan) for span in spans)
    metrics = job.metrics()["timestamps"]
    started = datetime.fromisoformat(metrics["running"].replace("Z", "+00:00"))
    finished = datetime.fromisoformat(metrics["finished"].replace("Z", "+00:00"))
    first, second = spans
    assert _seconds(first.start) == pytest.approx(_seconds(started) + timing.per_job)
    assert _seconds(first.stop) - _seconds(first.start) == pytest.approx(
        3 * timing.per_circuit + 3 * 1000 * timing.per_shot
    )
    assert second.start == first.stop and second.stop == finished
    assert _seconds(second.stop) - _seconds(second.start) == pytest.approx(
        timing.per_circuit + 200 * timing.per_shot
    )
    # Each span covers all of its pub's data.
    assert first.pub_idxs == [0] and second.pub_idxs == [1]
    assert first.mask(0).shape == (3,) and first.mask(0).all()
    assert [s for s in spans.filter_by_pub(1) if s.size] == [second]


def test_estimator_spans_count_the_shots_its_precision_costs(
    service: QiskitRuntimeService,
) -> None:
    falcon = service.backend("emulated_falcon_27")
    timing = service.runtime.device("emulated_falcon_27").timing
    isa = _isa(falcon, measure=False)
    obs = SparsePauliOp("ZZ").apply_layout(isa.layout)
    job = EstimatorV2(mode=falcon).run([(isa, obs, [0.1]), (isa, obs, [0.2])], precision=0.05)
    spans = job.result().metadata["execution"]["execution_spans"]
    width = [_seconds(s.stop) - _seconds(s.start) for s in spans]
    assert width == pytest.approx([timing.per_circuit + 400 * timing.per_shot] * 2)


def test_simulator_spans_take_the_jobs_real_time_which_a_virtual_clock_does_not_move(
    service: QiskitRuntimeService,
) -> None:
    sim = service.backend("statevector")
    qc = QuantumCircuit(1)
    qc.h(0)
    qc.measure_all()
    result = SamplerV2(mode=sim).run([qc, qc], shots=10).result()
    spans = result.metadata["execution"]["execution_spans"]
    assert len(spans) == 2 and spans.start == spans.stop  # no time passed on the clock
    assert result[0].metadata == {"shots": 10, "circuit_metadata": {}}  # pub metadata as before


def test_draw_execution_spans_draws_our_spans(service: QiskitRuntimeService) -> None:
    pytest.importorskip("plotly")
    from qiskit_ibm_runtime.visualization import draw_execution_spans

    falcon = service.backend("emulated_falcon_27")
    isa = _isa(falcon)
    with Session(backend=falcon) as session:
        sampler = SamplerV2(mode=session)
        results = [sampler.run([(isa, [0.1 * k])]).result() for k in range(3)]
    figure = draw_execution_spans(*[r.metadata["execution"]["execution_spans"] for r in results])
    assert len(figure.data) == 3  # one trace per job's spans
    # one span per job: its start, its stop and a break
    assert all(len(trace.x) == 3 for trace in figure.data)


def test_metrics_report_queue_position_and_estimates_while_queued(
    service: QiskitRuntimeService,
) -> None:
    clock = service.runtime.clock
    falcon = service.backend("emulated_falcon_27")
    timing = service.runtime.device("emulated_falcon_27").timing
    isa = _isa(falcon)
    one = timing.per_job + timing.per_circuit + 100 * timing.per_shot  # one job's time
    sampler = SamplerV2(mode=falcon)
    jobs = [sampler.run([(isa, [0.1])], shots=100) for _ in range(3)]
    assert jobs[0].metrics()["position_in_queue"] is None  # running
    last = jobs[2].metrics()
    assert last["position_in_queue"] == 2
    start = datetime.fromisoformat(last["estimated_start_time"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(last["estimated_completion_time"].replace("Z", "+00:00"))
    assert _seconds(start) == pytest.approx(2 * one, abs=1e-3)
    assert _seconds(end) == pytest.approx(3 * one, abs=1e-3)
    jobs[0].result()  # the first job ends: the last moves up
    assert jobs[2].metrics()["position_in_queue"] == 1
    for job in jobs:
        job.result()
    done = jobs[2].metrics()
    assert done["position_in_queue"] is None and done["estimated_start_time"] is None
    assert np.isclose(clock.now() - START, 3 * one)
