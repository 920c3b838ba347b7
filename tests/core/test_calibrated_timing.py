"""Timing with each shot's circuit duration from calibrated gate durations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from qsession_provider.core.calibrated_timing import CalibratedTiming
from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.ir.circuit import Barrier, Circuit, Gate, Measure, Reset
from qsession_provider.core.ir.observables import PauliSum, PauliTerm
from qsession_provider.core.ir.payload import (
    EstimatorPayload,
    EstimatorPub,
    RunPayload,
    SamplerPayload,
    SamplerPub,
)
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.errors import InputError

US = 1e-6
DURATIONS = {
    ("sx", (0,)): 0.03 * US,
    ("sx", (1,)): 0.05 * US,
    ("sx", (2,)): 0.04 * US,
    ("cx", (0, 1)): 0.4 * US,
    ("cx", (1, 2)): 0.6 * US,
    ("ecr", (2, 1)): 0.5 * US,
    ("measure", (0,)): 1.0 * US,
    ("measure", (1,)): 1.2 * US,
    ("measure", (2,)): 1.4 * US,
}


def timing(**changes: float) -> CalibratedTiming:
    fields = {"per_job": 1.0, "per_circuit": 0.1, "per_shot": 250 * US} | changes
    return CalibratedTiming(**fields, durations=DURATIONS)


def cx(control: int, target: int) -> Gate:
    return Gate("x", (target,), controls=(control,))


def test_parallel_operations_overlap_and_a_chain_adds_up() -> None:
    model = timing()
    parallel = Circuit(3, [Gate("sx", (0,)), Gate("sx", (1,)), Gate("sx", (2,))])
    assert model.circuit_seconds(parallel) == pytest.approx(0.05 * US)
    chain = Circuit(
        3,
        [Gate("sx", (0,)), cx(0, 1), cx(1, 2), Measure(2, "c", 0), Measure(0, "c", 1)],
        {"c": 2},
    )
    assert model.circuit_seconds(chain) == pytest.approx((0.03 + 0.4 + 0.6 + 1.4) * US)


def test_a_barrier_lines_its_qubits_up() -> None:
    model = timing()
    ops = [cx(0, 1), Barrier((0, 1, 2)), Gate("sx", (2,))]
    assert model.circuit_seconds(Circuit(3, ops)) == pytest.approx((0.4 + 0.04) * US)
    without = [cx(0, 1), Gate("sx", (2,))]
    assert model.circuit_seconds(Circuit(3, without)) == pytest.approx(0.4 * US)


def test_uncalibrated_operations_fall_back_to_means() -> None:
    model = timing()
    # ecr on (1, 2) is not calibrated: the mean ecr; cx on (2, 0): the mean cx;
    # h: the mean one-qubit gate; a reset: the qubit's measurement
    assert model.circuit_seconds(Circuit(3, [Gate("ecr", (1, 2))])) == pytest.approx(0.5 * US)
    assert model.circuit_seconds(Circuit(3, [cx(2, 0)])) == pytest.approx(0.5 * US)
    assert model.circuit_seconds(Circuit(3, [Gate("h", (1,))])) == pytest.approx(0.04 * US)
    assert model.circuit_seconds(Circuit(3, [Reset(1)])) == pytest.approx(1.2 * US)
    labelled = Gate("unitary", (2, 1), matrix=np.eye(4), label="ecr")
    assert model.circuit_seconds(Circuit(3, [labelled])) == pytest.approx(0.5 * US)


def test_job_duration_adds_every_shot_s_circuit_time() -> None:
    model = timing()
    ops = [Gate("sx", (0,)), cx(0, 1), Measure(0, "c", 0), Measure(1, "c", 1)]
    bell = Circuit(2, ops, {"c": 2})
    seconds = model.circuit_seconds(bell)
    assert seconds == pytest.approx((0.03 + 0.4 + 1.2) * US)
    sampler = SamplerPayload((SamplerPub(bell, None, 1000),))
    assert model.duration(sampler) == pytest.approx(1.0 + 0.1 + 1000 * (250 * US + seconds))
    run = RunPayload((bell, bell), 500)
    assert model.duration(run) == pytest.approx(1.0 + 0.2 + 1000 * (250 * US + seconds))
    unitary = Circuit(2, ops[:2])
    pub = EstimatorPub(unitary, None, PauliSum([PauliTerm("ZZ", (0, 1))]), precision=0.02)
    shots = math.ceil(1 / 0.02**2)
    want = 1.0 + 0.1 + shots * (250 * US + model.circuit_seconds(unitary))
    assert model.duration(EstimatorPayload((pub,))) == pytest.approx(want)
    assert not model.is_zero and CalibratedTiming().is_zero


@pytest.mark.parametrize("bad", [-1e-9, float("nan"), float("inf"), "1us"])
def test_bad_durations_are_refused(bad: object) -> None:
    with pytest.raises(InputError, match="duration of cx on"):
        CalibratedTiming(durations={("cx", (0, 1)): bad})  # type: ignore[dict-item]


def test_a_device_s_jobs_take_their_calibrated_time_on_the_clock() -> None:
    model = timing()

    def execute(program_id: str, payload: object) -> dict[str, object]:
        return {}

    circuit = Circuit(2, [cx(0, 1), Measure(1, "c", 0)], {"c": 1})
    device = Device("timed_qpu", 3, execute, timing=model, programs={"sampler"})
    with Runtime(devices=[device], clock=VirtualClock()) as rt:
        job = rt.submit("sampler", "timed_qpu", SamplerPayload((SamplerPub(circuit, None, 100),)))
        job.result(timeout=5)
        record = job.record
    want = 1.0 + 0.1 + 100 * (250 * US + (0.4 + 1.2) * US)
    assert record.finished_at - record.started_at == pytest.approx(want)


def test_a_circuit_s_duration_is_computed_once_per_model(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[Circuit] = []
    schedule = CalibratedTiming._schedule

    def counted(self: CalibratedTiming, circuit: Circuit) -> float:
        calls.append(circuit)
        return schedule(self, circuit)

    monkeypatch.setattr(CalibratedTiming, "_schedule", counted)
    model, other = timing(), timing(per_shot=0.0)
    circuit = Circuit(2, [cx(0, 1)])
    assert [model.circuit_seconds(circuit) for _ in range(3)] == [pytest.approx(0.4 * US)] * 3
    assert other.circuit_seconds(circuit) == pytest.approx(0.4 * US)
    assert model.circuit_seconds(circuit) == pytest.approx(0.4 * US)
    assert len(calls) == 2
