"""Calibrations through the Qiskit face: scheduled system calibrations, qiskit-ibm-runtime's
``Calibrator`` in our sessions, and ``service.backend(name, calibration_id=...)``."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

pytest.importorskip("qiskit_ibm_runtime")

from qiskit import QuantumCircuit  # noqa: E402
from qiskit.transpiler import generate_preset_pass_manager  # noqa: E402
from qiskit_ibm_runtime import Calibrator  # noqa: E402
from qiskit_ibm_runtime.exceptions import IBMInputValueError  # noqa: E402

from qsession_provider.core.calibrations import CalibrationSchedule  # noqa: E402
from qsession_provider.qiskit import (  # noqa: E402
    QiskitRuntimeService,
    SamplerV2,
    Session,
    VirtualClock,
)
from qsession_provider.qiskit._ibm_inputs import CALIBRATOR_SECONDS  # noqa: E402


@pytest.fixture
def service() -> Iterator[QiskitRuntimeService]:
    svc = QiskitRuntimeService(store=":memory:", clock=VirtualClock())
    yield svc
    svc.runtime.shutdown(wait=False, cancel_pending=True)


def _isa(backend: object) -> QuantumCircuit:
    qc = QuantumCircuit(1)
    qc.x(0)
    qc.measure_all()
    return generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)


def test_a_calibrator_in_our_session_makes_the_calibration_later_jobs_run_with(
    service: QiskitRuntimeService,
) -> None:
    falcon = service.backend("emulated_falcon_27")
    isa = _isa(falcon)
    with Session(backend=falcon) as session:
        calibration = Calibrator(session).run()
        assert calibration.result() == {
            "calibration_id": calibration.job_id(),
            "device": "emulated_falcon_27",
        }
        record = service.runtime.job(calibration.job_id()).record
        assert record.finished_at - record.started_at == CALIBRATOR_SECONDS
        assert calibration.session_id == session.session_id
        job = SamplerV2(mode=session).run([isa])
        result = job.result()
    assert job.calibration_id == calibration.job_id()
    assert result.metadata["calibration_id"] == calibration.job_id()
    # A backend asked for a calibration by id: its jobs name it.
    named = service.backend("emulated_falcon_27", calibration_id=calibration.job_id())
    assert named.calibration_id == calibration.job_id()
    assert SamplerV2(mode=named).run([isa]).calibration_id == calibration.job_id()
    with pytest.raises(IBMInputValueError, match="not a finished calibration"):
        service.backend("emulated_falcon_27", calibration_id=job.job_id())


def test_a_scheduled_calibration_preempts_a_sessions_queued_job(
    service: QiskitRuntimeService,
) -> None:
    runtime = service.runtime
    clock = runtime.clock
    runtime.schedule_calibrations(
        "emulated_falcon_27", CalibrationSchedule(every="1h", duration="5m", first="2s")
    )
    falcon = service.backend("emulated_falcon_27")
    isa = _isa(falcon)
    with Session(backend=falcon) as session:
        sampler = SamplerV2(mode=session)
        first, second = sampler.run([isa], shots=8000), sampler.run([isa], shots=100)
        second.result()
    start = clock.now()
    first_end = runtime.job(first.job_id()).record.finished_at
    second_start = runtime.job(second.job_id()).record.started_at
    assert second_start - first_end == pytest.approx(300.0)  # the calibration went between
    assert first.calibration_id is None and second.calibration_id is not None
    assert start >= second_start
