"""The official qiskit-ibm-runtime client, unchanged, in a subprocess against ``qsession serve``.

:func:`run_client` runs a piece of user code in a fresh interpreter whose only imports are
``qiskit_ibm_runtime`` and ``qiskit`` (and the standard library): the service is built as
on IBM Cloud, ``QiskitRuntimeService(channel="ibm_quantum_platform", url=..., token=...,
instance=<CRN>)``, and pointed at the server by the environment
(:func:`~qsession_provider.server.ibm.urls.client_endpoints`) alone. The code fills a dict
``out`` with what the test checks; the child also reports which ``qsession_provider``
modules it loaded, and :func:`run_client` asserts there are none.

Servers run on a virtual clock: session timers and emulated-QPU job times pass as the
client's status polls wait on the runtime (auto-advance), never by sleeping.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.server.ibm.identity import instance_crn
from qsession_provider.server.ibm.urls import client_endpoints

from ..conftest import USERS, ServerProcess, token_of

pytest.importorskip("qiskit_ibm_runtime", reason="the IBM API tests need the qiskit extra")

#: Real seconds one client script may take.
CLIENT_TIMEOUT = 240.0
#: An emulated QPU: 1 s per job + 50 ms per circuit + 250 us per shot, one slot.
FALCON = "emulated_falcon_27"

_PRELUDE = """\
import json, os, sys, warnings
warnings.simplefilter("ignore", DeprecationWarning)
from qiskit_ibm_runtime import QiskitRuntimeService
out = {}


def error_of(call):
    # [class name, message] of what call() raises, or None
    try:
        call()
    except Exception as exc:
        return [type(exc).__name__, str(exc)]
    return None
"""
_SERVICE = """\
service = QiskitRuntimeService(
    channel="ibm_quantum_platform", url=URL, token=TOKEN, instance=INSTANCE
)
"""
_EPILOGUE = """\
out["_loaded"] = sorted(m for m in sys.modules if m.split(".")[0] == "qsession_provider")
with open(OUT_PATH, "w") as f:
    json.dump(out, f)
"""


def client_env(server: ServerProcess, **extra: str) -> dict[str, str]:
    """The environment of a client process: the IAM and IBM Cloud endpoints on ``server``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("QSESSION_", "QISKIT_IBM"))}
    endpoints = client_endpoints(server.url)
    env.update({k: v for k, v in endpoints.items() if k != "url"})
    env["QISKIT_IBM_RUNTIME_LOG_LEVEL"] = "WARNING"
    env.update(extra)
    return env


def run_client(
    server: ServerProcess,
    code: str | Sequence[str],
    tmp_path: Path,
    *,
    user: str = "alice",
    token: str | None = None,
    instance: str | None = None,
    service: bool = True,
    env: dict[str, str] | None = None,
    files: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Run ``code`` (or its pieces, each dedented) with qiskit-ibm-runtime in a subprocess;
    returns its ``out`` dict.

    ``code`` sees ``service`` (unless ``service=False``), ``out`` (fill it, JSON only),
    ``error_of(call)`` (what ``call()`` raises: ``[class name, message]`` or None),
    ``URL``, ``TOKEN``, ``INSTANCE``, ``TMP`` (``tmp_path`` as text) and the names of
    ``files`` (values written as JSON constants). It fails the test, with the child's
    stderr, if the child fails or loaded any module of ours.
    """
    constants = {
        "URL": client_endpoints(server.url)["url"],
        "TOKEN": token_of(user) if token is None else token,
        "INSTANCE": instance_crn(USERS[user][0]) if instance is None else instance,
        "TMP": str(tmp_path),
        "OUT_PATH": str(tmp_path / "client-out.json"),
        **(files or {}),
    }
    header = "".join(f"{name} = {json.dumps(value)}\n" for name, value in constants.items())
    pieces = [code] if isinstance(code, str) else list(code)
    body = "".join(textwrap.dedent(piece) for piece in pieces)
    script = header + _PRELUDE + (_SERVICE if service else "") + body
    script += "\n" + _EPILOGUE
    path = tmp_path / "client.py"
    path.write_text(script)
    proc = subprocess.run(
        [sys.executable, str(path)],
        env=client_env(server, **(env or {})),
        capture_output=True,
        text=True,
        timeout=CLIENT_TIMEOUT,
        cwd=tmp_path,
    )
    if proc.returncode != 0:
        raise AssertionError(f"the client failed ({proc.returncode}):\n{proc.stderr[-6000:]}")
    out: dict[str, Any] = json.loads((tmp_path / "client-out.json").read_text())
    assert out.pop("_loaded") == [], "the client process loaded qsession_provider modules"
    out["_stderr"] = proc.stderr
    return out


@pytest.fixture(scope="module")
def server(server_factory: Any) -> ServerProcess:
    """The module's server, on a virtual clock."""
    return server_factory("--virtual-clock")
