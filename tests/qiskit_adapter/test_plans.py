"""Plans, usage limits and reservations through the Qiskit face (on a manual virtual clock).

The emulated Falcon takes 1 s + 50 ms per circuit execution + 250 us per shot per job.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMRuntimeError, RuntimeJobFailureError  # noqa: E402

from qsession_provider.core.plans import InstancePlan, Reservation  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    Batch,
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)

START = 1_700_000_000.0


@pytest.fixture
def service() -> Iterator[QiskitRuntimeService]:
    clock = VirtualClock(start=START)
    svc = QiskitRuntimeService(clock=clock, instance="free")  # the clock's own runtime
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def _isa(backend: object) -> QuantumCircuit:
    qc = QuantumCircuit(2)
    qc.h(0)
    qc.cx(0, 1)
    qc.measure_all()
    pm = generate_preset_pass_manager(backend=backend, optimization_level=1, seed_transpiler=1)
    return pm.run(qc)


def test_on_the_open_plan_a_session_runs_its_jobs_in_job_mode_with_the_services_warning(
    service: QiskitRuntimeService,
) -> None:
    service.runtime.set_plan("free", InstancePlan("open"))
    falcon = service.backend("emulated_falcon_27")
    isa = _isa(falcon)
    with pytest.warns(UserWarning, match="not supported in the Open Plan. Jobs will run in job"):
        session = Session(backend=falcon)
    with session:
        job = SamplerV2(mode=session).run([isa], shots=100)
        assert job.session_id is None and job.result()[0].data.meas.num_shots == 100
    assert session.session_id is None and session.details() is None
    with Batch(backend=falcon) as batch:  # batch mode works on every plan
        assert SamplerV2(mode=batch).run([isa], shots=10).session_id == batch.session_id


def test_usage_limit_refuses_new_jobs_and_fails_queued_ones(service: QiskitRuntimeService) -> None:
    service.runtime.set_plan("free", InstancePlan("open", usage_limit=2))
    falcon = service.backend("emulated_falcon_27")
    sampler = SamplerV2(mode=falcon)
    isa = _isa(falcon)
    jobs = [sampler.run([isa], shots=1000) for _ in range(3)]  # 1.3 s each
    assert jobs[1].result()[0].data.meas.num_shots == 1000  # 2.6 s used: the limit is met
    with pytest.raises(RuntimeJobFailureError, match="met its usage limit"):
        jobs[2].result()
    usage = service.usage()
    assert usage["usage_limit_reached"] and usage["usage_remaining_seconds"] == 0.0
    assert usage["plan"] == "open" and usage["usage_consumed_seconds"] == pytest.approx(2.6)
    with pytest.raises(IBMRuntimeError, match="met its usage limit"):
        sampler.run([isa])


def test_a_session_running_across_the_end_of_its_reservation(
    service: QiskitRuntimeService,
) -> None:
    clock = service.runtime.clock
    service.runtime.reserve(
        Reservation("emulated_falcon_27", "free", start=START + 10, end=START + 20)
    )
    falcon = service.backend("emulated_falcon_27")
    other = QiskitRuntimeService(clock=clock, instance="physics")  # the same runtime
    assert other.runtime is service.runtime
    isa = _isa(falcon)
    clock.advance(9)
    # Another instance's job starts before the window (5.2 s): it is not cut short.
    theirs = SamplerV2(mode=other.backend("emulated_falcon_27")).run([isa] * 4, shots=4000)
    session = Session(backend=falcon)
    sampler = SamplerV2(mode=session)
    jobs = [sampler.run([isa], shots=20_000) for _ in range(3)]  # 6.05 s each
    assert theirs.result()[0].data.meas.num_shots == 4000
    jobs[0].result()  # starts when theirs ends (14.2 s), ends after the window (20.25 s)
    assert jobs[0].metrics()["timestamps"]["running"] == "2023-11-14T22:13:34.200Z"
    for job in jobs[1:]:  # still queued when the window closed at 20 s
        with pytest.raises(RuntimeJobFailureError, match="reservation of emulated_falcon_27"):
            job.result()
    session.close()
    later = SamplerV2(mode=other.backend("emulated_falcon_27")).run([isa], shots=10)
    assert later.result()[0].data.meas.num_shots == 10  # fair share again
