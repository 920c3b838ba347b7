"""``qsession serve --calibrate DEVICE=EVERY/DURATION``: parsed into schedules, or refused."""

from __future__ import annotations

import pytest

from qsession_provider.cli import EXIT_FAILED, main
from qsession_provider.cli.admin import calibration_schedules
from qsession_provider.core.calibrations import CalibrationSchedule
from qsession_provider.errors import InputError


def test_specs_become_schedules() -> None:
    assert calibration_schedules(["emulated_falcon_27=24h/10m", "qpu=100/5"]) == {
        "emulated_falcon_27": CalibrationSchedule(every=86400, duration=600),
        "qpu": CalibrationSchedule(every=100, duration=5),
    }


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("emulated_falcon_27", "DEVICE=EVERY/DURATION"),
        ("qpu=24h", "DEVICE=EVERY/DURATION"),
        ("qpu=1m/2m", "hold the device for good"),
        ("qpu=soon/1m", "every"),
    ],
)
def test_bad_specs_are_refused_before_anything_starts(
    spec: str, message: str, capsys: pytest.CaptureFixture[str], tmp_path: object
) -> None:
    with pytest.raises(InputError, match=message):
        calibration_schedules([spec])
    store = str(tmp_path / "store.sqlite3")  # type: ignore[operator]
    assert main(["--store", store, "serve", "--port", "0", "--calibrate", spec]) == EXIT_FAILED
    assert message in capsys.readouterr().err
