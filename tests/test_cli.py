"""The ``qsession`` command: devices, plugins, sessions and jobs of a store."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsession_provider.cli import main
from qsession_provider.core import Circuit, Gate, Measure, Runtime, SQLiteStore, VirtualClock
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.plugins.builtin import statevector_device


def test_devices_and_plugins(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["devices"]) == 0
    out = capsys.readouterr().out
    assert "statevector" in out and "emulated_falcon_27" in out and "emulated_eagle_127" in out
    assert main(["plugins"]) == 0
    assert "qsession_provider.plugins.builtin" in capsys.readouterr().out


def test_sessions_and_jobs_of_a_store(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    path = str(tmp_path / "s.sqlite3")
    rt = Runtime(store=SQLiteStore(path), clock=VirtualClock(), devices=[statevector_device()])
    program = Circuit(1, [Gate("h", (0,)), Measure(0, "c", 0)], {"c": 1})
    session = rt.open_session("statevector", name="cli-demo")
    job = rt.submit(
        "sampler",
        "statevector",
        SamplerPayload((SamplerPub(program, None, 10),)),
        session_id=session.id,
    )
    job.result()
    rt.close_session(session.id)
    rt.shutdown()

    assert main(["--store", path, "sessions"]) == 0
    out = capsys.readouterr().out
    assert session.id in out and "cli-demo" in out and "closed" in out
    assert main(["--store", path, "jobs", "--session", session.id]) == 0
    out = capsys.readouterr().out
    assert job.id in out and "DONE" in out
    assert main(["--store", path, "jobs", "--pending"]) == 0
    assert job.id not in capsys.readouterr().out
    assert main(["--store", path, "store"]) == 0
    assert capsys.readouterr().out.strip() == str(Path(path).resolve())


def test_bad_limit_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["jobs", "--limit", "0"]) == 2
    assert "--limit must be at least 1" in capsys.readouterr().err
