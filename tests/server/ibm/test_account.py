"""``qsession ibm-account``: a saved account, then a plain ``QiskitRuntimeService()``.

The command writes qiskit-ibm-runtime's own account file (by its ``save_account``) and
prints the environment the client needs; a client process with that ``HOME`` and that
environment builds ``QiskitRuntimeService()`` with no arguments and runs a session on the
server.
"""

from __future__ import annotations

import json
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from qsession_provider.cli import EXIT_NOT_AUTHORIZED, main
from qsession_provider.server.ibm.identity import instance_crn
from qsession_provider.server.ibm.urls import client_endpoints

from ..conftest import ServerProcess, token_of
from .conftest import FALCON, client_env, run_client


def _exports(text: str) -> dict[str, str]:
    """The ``export K=V`` lines of the command's output."""
    env = {}
    for line in text.splitlines():
        if line.startswith("export "):
            key, _, value = line[len("export ") :].partition("=")
            env[key] = shlex.split(value)[0]
    return env


def test_saved_account_makes_a_plain_service_talk_to_the_server(
    server: ServerProcess, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    cmd = [sys.executable, "-m", "qsession_provider.cli", "ibm-account"]
    cmd += ["--url", server.url, "--token", token_of("alice")]
    env = client_env(server, HOME=str(home))
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    exports = _exports(done.stdout)
    assert exports == {k: v for k, v in client_endpoints(server.url).items() if k != "url"}
    saved = json.loads((home / ".qiskit" / "qiskit-ibm.json").read_text())
    account = saved["default-ibm-quantum-platform"]
    assert account["channel"] == "ibm_quantum_platform"
    assert account["url"] == client_endpoints(server.url)["url"]
    assert account["instance"] == instance_crn("inst-a")
    assert account["token"] == token_of("alice")

    code = f"""
    from qiskit import QuantumCircuit
    from qiskit.transpiler import generate_preset_pass_manager
    from qiskit_ibm_runtime import Session, SamplerV2 as Sampler
    service = QiskitRuntimeService()
    backend = service.backend({FALCON!r})
    circuit = QuantumCircuit(1)
    circuit.x(0)
    circuit.measure_all()
    isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(circuit)
    with Session(backend=backend) as session:
        result = Sampler(mode=session).run([isa], shots=20).result()
        out["counts"] = result[0].data.meas.get_counts()
    out["instance"] = service.active_account()["instance"]
    """
    out = run_client(server, code, tmp_path, service=False, env={"HOME": str(home), **exports})
    assert out["counts"] == {"1": 20}
    assert out["instance"] == instance_crn("inst-a")


def test_the_command_writes_the_given_file_and_refuses_to_overwrite(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "accounts.json"
    argv = ["ibm-account", "--url", server.url, "--token", token_of("bob")]
    assert main([*argv, "--filename", str(target), "--name", "local"]) == 0
    out = capsys.readouterr().out
    assert f"export IAM_URL={server.url}/ibm/iam" in out
    saved = json.loads(target.read_text())
    assert saved["local"]["instance"] == instance_crn("inst-b")
    assert saved["local"]["is_default_account"] is True

    assert main([*argv, "--filename", str(target), "--name", "local"]) == 1
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--filename", str(target), "--name", "local", "--overwrite"]) == 0


def test_the_command_names_what_is_wrong(
    server: ServerProcess, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = str(tmp_path / "accounts.json")
    argv = ["ibm-account", "--url", server.url, "--filename", target]
    assert main([*argv, "--token", "not-a-token"]) == EXIT_NOT_AUTHORIZED
    assert "token" in capsys.readouterr().err
    assert main([*argv, "--token", token_of("alice"), "--instance", "inst-b"]) == 1
    assert "belongs to instance 'inst-a', not 'inst-b'" in capsys.readouterr().err
    # an administrator may save an account for any instance
    assert main([*argv, "--token", token_of("root"), "--instance", "inst-b"]) == 0
    assert json.loads(Path(target).read_text())["default-ibm-quantum-platform"]["instance"] == (
        instance_crn("inst-b")
    )
    assert not Path(tmp_path / "nothing.json").exists()


def test_the_command_needs_a_server(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.delenv("QSESSION_URL", raising=False)
    assert main(["ibm-account", "--filename", str(tmp_path / "a.json")]) == 1
    assert "ibm-account needs a server" in capsys.readouterr().err
