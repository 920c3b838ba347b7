"""Scenario files: TOML and YAML load the same faults; mistakes are named with their place."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.runtime import Runtime
from qsession_provider.errors import InputError
from qsession_provider.faults import (
    Calibration,
    CancelJob,
    DeviceOffline,
    FailJob,
    JobMatch,
    SlowJob,
    StoreRefusal,
    TenantLoad,
    faults_from_mapping,
    inject,
    load_scenario,
)

TOML = """
[[fail]]
nth = 2
ibm_code = 1010

[[fail]]
tag = "flaky"
azure_code = "InvalidInputData"
message = "bad input"

[[slow]]
name = "long"
extra = "5m"

[[cancel]]
session = "s-1"
after = 3

[[offline]]
device = "qpu"
at = "1m"
duration = "10m"
refuse = true

[[load]]
device = "qpu"
at = 30
jobs = 4
seconds = 20
instance = "lab-b"

[[calibration]]
device = "qpu"
at = "1h"
duration = "15m"

[[store]]
at = 10
duration = 5
"""

YAML = """
fail:
  - {nth: 2, ibm_code: 1010}
  - {tag: flaky, azure_code: InvalidInputData, message: bad input}
slow:
  - {name: long, extra: 5m}
cancel:
  - {session: s-1, after: 3}
offline:
  - {device: qpu, at: 1m, duration: 10m, refuse: true}
load:
  - {device: qpu, at: 30, jobs: 4, seconds: 20, instance: lab-b}
calibration:
  - {device: qpu, at: 1h, duration: 15m}
store:
  - {at: 10, duration: 5}
"""

EXPECTED = [
    FailJob(JobMatch(nth=2), ibm_code=1010),
    FailJob(JobMatch(tag="flaky"), azure_code="InvalidInputData", message="bad input"),
    SlowJob(JobMatch(name="long"), extra=300),
    CancelJob(JobMatch(session="s-1"), after=3),
    DeviceOffline("qpu", at=60, duration=600, refuse=True),
    TenantLoad("qpu", at=30, jobs=4, seconds=20, instance="lab-b"),
    Calibration("qpu", at=3600, duration=900),
    StoreRefusal(at=10, duration=5),
]


@pytest.mark.parametrize(("suffix", "text"), [(".toml", TOML), (".yaml", YAML), (".yml", YAML)])
def test_toml_and_yaml_load_the_same_faults(tmp_path: Path, suffix: str, text: str) -> None:
    path = tmp_path / f"scenario{suffix}"
    path.write_text(text)
    assert load_scenario(path) == EXPECTED


def test_a_bad_entry_is_named_with_its_file_and_place(tmp_path: Path) -> None:
    path = tmp_path / "bad.toml"
    path.write_text('[[offline]]\ndevice = "qpu"\n\n[[offline]]\nat = "soon"\ndevice = "qpu"\n')
    with pytest.raises(InputError, match=r"bad.toml: offline\[1\]: at: invalid duration 'soon'"):
        load_scenario(path)


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"explode": []}, "unknown fault kind 'explode'"),
        ({"fail": [{"nth": 1, "colour": "red"}]}, r"fail\[0\]: unknown key\(s\) \['colour'\]"),
        ({"offline": [{"at": 5}]}, r"offline\[0\]: device is required"),
        ({"slow": [{"extra": -1}]}, r"slow\[0\]: extra: invalid duration"),
        ({"fail": "everything"}, "fail must be a list of tables"),
        ({"load": [{"device": "qpu", "jobs": 0}]}, "jobs must be a positive integer"),
        ({"offline": [{"device": "qpu", "refuse": "yes"}]}, "refuse must be true or false"),
    ],
)
def test_bad_scenarios_name_the_problem(data: dict, message: str) -> None:
    with pytest.raises(InputError, match=message):
        faults_from_mapping(data)


def test_unreadable_and_unknown_files(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="cannot read scenario file"):
        load_scenario(tmp_path / "missing.toml")
    (tmp_path / "s.json").write_text("{}")
    with pytest.raises(InputError, match="is .toml, .yaml or .yml"):
        load_scenario(tmp_path / "s.json")
    (tmp_path / "s.toml").write_text("[[fail]\n")
    with pytest.raises(InputError, match="not valid TOML"):
        load_scenario(tmp_path / "s.toml")
    (tmp_path / "s.yaml").write_text("fail: [\n")
    with pytest.raises(InputError, match="not valid YAML"):
        load_scenario(tmp_path / "s.yaml")


def test_inject_takes_a_file_a_mapping_or_faults_and_an_embedded_runtime_only(
    tmp_path: Path,
) -> None:
    path = tmp_path / "s.toml"
    path.write_text('[[fail]]\nnth = 1\nmessage = "boom"\n')
    from qsession_provider.core.device import Device

    echo = Device("qpu", 1, lambda program, payload: {}, programs={"sampler"})
    with Runtime(devices=[echo], clock=VirtualClock()) as rt:
        for faults in (path, str(path), {"fail": [{"nth": 1, "message": "boom"}]}):
            with inject(rt, faults) as injector:
                assert injector.faults == (FailJob(JobMatch(nth=1), message="boom"),)
        with pytest.raises(InputError, match="faults must be a list of faults"):
            inject(rt, 42)  # type: ignore[arg-type]
    with pytest.raises(InputError, match="embedded runtime only"):
        inject(object(), [])
