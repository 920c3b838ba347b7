"""The forecast: a VQE's figures in each mode match the hand computation from the timing model."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from qsession_provider.client import open_runtime
from qsession_provider.core.ir.circuit import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.errors import InputError, QSessionError
from qsession_provider.faults import TenantLoad
from qsession_provider.forecast import Prices, forecast

DEVICE = "emulated_falcon_27"  # TimingModel(per_job=1.0, per_circuit=0.05, per_shot=250e-6)
SHOTS = 1000
#: One job: 1 s + 1 circuit x 0.05 s + 1000 shots x 250 us = 1.3 s of the device.
JOB = 1.0 + 0.05 + SHOTS * 250e-6
ITERATIONS = 20
THINK = 2.0  # the optimiser's seconds between a result and the next job


def ansatz(theta: float) -> SamplerPayload:
    ops = [Gate("ry", (0,), (theta,)), Gate("x", (1,), controls=(0,))]
    ops += [Measure(0, "c", 0), Measure(1, "c", 1)]
    return SamplerPayload((SamplerPub(Circuit(2, ops, {"c": 2}), np.zeros((0,)), SHOTS),), seed=5)


def vqe() -> None:
    """A 20-iteration VQE as a user writes it: in a session, one job per step, waiting for
    each result before the optimiser picks the next parameter."""
    runtime = open_runtime()  # the default runtime: what faces without store= get
    session = runtime.open_session(DEVICE)
    theta = 0.1
    for _ in range(ITERATIONS):
        job = runtime.submit("sampler", DEVICE, ansatz(theta), session_id=session.id)
        job.result()
        theta += 0.05
    runtime.close_session(session.id)


def test_a_vqe_in_session_batch_and_job_mode_matches_the_hand_computation() -> None:
    result = forecast(vqe, think_time=THINK, prices={"per_second": 1.6, "per_task": 0.5})
    assert len(result.jobs) == ITERATIONS
    assert [j.seconds for j in result.jobs] == pytest.approx([JOB] * ITERATIONS)
    assert [j.after for j in result.jobs] == [None, *range(ITERATIONS - 1)]
    session, batch, job = result["session"], result["batch"], result["job"]
    for mode in (session, batch, job):
        assert mode.job_seconds == pytest.approx((JOB,) * ITERATIONS)
        assert mode.quantum_seconds == pytest.approx(26.0)  # 20 x 1.3 s
        assert mode.failed == 0 and mode.queued_seconds == pytest.approx(0)
        # nobody else on the device: 20 jobs and 19 pauses of 2 s
        assert mode.wall_seconds == pytest.approx(ITERATIONS * JOB + (ITERATIONS - 1) * THINK)
    # a session is billed its wall time on the device, the think time included: 64 s
    assert session.billed_seconds == pytest.approx(26.0 + 19 * 2.0)
    assert batch.billed_seconds == pytest.approx(26.0)  # a batch: its jobs' quantum seconds
    assert job.billed_seconds == pytest.approx(26.0)
    assert session.cost == pytest.approx(64.0 * 1.6 + 20 * 0.5)
    assert batch.cost == pytest.approx(26.0 * 1.6 + 20 * 0.5)
    table = result.table()
    assert "billed seconds" in table and "64.00" in table and "26.00" in table


def test_think_time_past_the_interactive_timeout_is_not_billed() -> None:
    result = forecast(
        vqe, think_time=10.0, modes=["session"], session_options={"interactive_ttl": 5.0}
    )
    # each pause outlasts the 5 s window: the session goes inactive, the device is freed,
    # and only the 5 s waited for the next job count: 20 x 1.3 + 19 x 5
    assert result["session"].billed_seconds == pytest.approx(26.0 + 19 * 5.0)


def test_another_tenants_load_shows_as_queueing_in_job_mode() -> None:
    load = [TenantLoad(DEVICE, at=0.5, jobs=4, seconds=10.0)]
    result = forecast(vqe, think_time=THINK, faults=load, modes=["session", "job"])
    session, job = result["session"], result["job"]
    assert session.quantum_seconds == pytest.approx(26.0)
    assert job.quantum_seconds == pytest.approx(26.0)
    # in a session the device stays dedicated between iterations: the tenant waits; in job
    # mode the tenant's jobs run when the first job ends, so the second one queues behind them
    assert session.queued_seconds == pytest.approx(0)
    # job mode: a tenant job takes the device whenever one of ours ends (ours is still in
    # its 2 s of think time), so each of our next 4 jobs waits 10 - 2 = 8 s
    assert job.queued_seconds == pytest.approx(4 * (10.0 - THINK))
    assert job.wall_seconds == pytest.approx(64.0 + job.queued_seconds)


def test_a_script_runs_unchanged(tmp_path: Path) -> None:
    script = tmp_path / "loop.py"
    script.write_text(
        "import sys\n"
        "from qsession_provider.client import open_runtime\n"
        "from tests_forecast_payload import payload\n"
        "rt = open_runtime()\n"
        "for _ in range(int(sys.argv[1])):\n"
        "    rt.submit('sampler', 'emulated_falcon_27', payload()).result()\n"
    )
    (tmp_path / "tests_forecast_payload.py").write_text(
        "import numpy as np\n"
        "from qsession_provider.core.ir.circuit import Circuit, Gate, Measure\n"
        "from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub\n"
        "def payload():\n"
        "    c = Circuit(1, [Gate('x', (0,)), Measure(0, 'c', 0)], {'c': 1})\n"
        "    return SamplerPayload((SamplerPub(c, np.zeros((0,)), 1000),))\n"
    )
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        result = forecast(str(script), argv=["3"], think_time=0.0, modes=["job"])
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("tests_forecast_payload", None)
    assert result["job"].quantum_seconds == pytest.approx(3 * JOB)


def test_bad_input_is_named() -> None:
    with pytest.raises(InputError, match="modes must be some of"):
        forecast(vqe, modes=["sessions"])
    with pytest.raises(InputError, match="price per_second must be a number >= 0"):
        forecast(vqe, prices=Prices(per_second=-1))
    with pytest.raises(InputError, match="unknown price key"):
        forecast(vqe, prices={"per_minute": 1})
    with pytest.raises(InputError, match="no workload script"):
        forecast("/nonexistent/script.py")
    with pytest.raises(InputError, match="submitted no job"):
        forecast(lambda: None)


def test_a_failing_workload_is_reported_with_its_error() -> None:
    def broken() -> None:
        raise ValueError("bad ansatz")

    with pytest.raises(QSessionError, match="the workload failed: ValueError: bad ansatz"):
        forecast(broken)


def test_the_command_prints_the_table(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from qsession_provider.cli import main

    script = tmp_path / "vqe_script.py"
    script.write_text("from tests_forecast_vqe import vqe\nvqe()\n")
    (tmp_path / "tests_forecast_vqe.py").write_text(Path(__file__).read_text())
    prices = tmp_path / "prices.toml"
    prices.write_text('per_second = 1.6\ncurrency = "EUR"\n')
    scenario = tmp_path / "busy.toml"
    scenario.write_text(f'[[load]]\ndevice = "{DEVICE}"\nat = 0.5\njobs = 4\nseconds = 10\n')
    import sys

    sys.path.insert(0, str(tmp_path))
    try:
        code = main(
            [
                "forecast",
                str(script),
                "--think-time",
                "2",
                "--prices",
                str(prices),
                "--per-task",
                "0.5",
                "--modes",
                "session,batch",
                "--scenario",
                str(scenario),
            ]
        )
    finally:
        sys.path.remove(str(tmp_path))
        sys.modules.pop("tests_forecast_vqe", None)
    out = capsys.readouterr()
    assert code == 0, out.err
    lines = out.out.splitlines()
    assert lines[0].split() == ["session", "batch"]
    assert next(x for x in lines if x.startswith("billed seconds")).split()[-2:] == [
        "64.00",
        "26.00",
    ]
    # the other tenant's load queues the batch's jobs, not the dedicated session's
    assert next(x for x in lines if x.startswith("time queued")).split()[-2:] == ["0.00", "32.00"]
    assert next(x for x in lines if x.startswith("cost (EUR)")).split()[-2:] == [
        f"{64 * 1.6 + 10:.2f}",
        f"{26 * 1.6 + 10:.2f}",
    ]


def test_the_command_names_a_missing_script(capsys: pytest.CaptureFixture[str]) -> None:
    from qsession_provider.cli import main

    assert main(["forecast", "/nonexistent/vqe.py"]) == 1
    assert "no workload script at /nonexistent/vqe.py" in capsys.readouterr().err
