"""Helpers for the server tests: payload texts, tokens, and the real server as a subprocess.

:class:`ServerProcess` starts ``python -m qsession_provider.cli serve --port 0`` on
127.0.0.1 and reads the URL from its first stdout line; it is always stopped (SIGTERM,
then SIGKILL after a timeout). Tests share one server per module through fixtures.
"""

from __future__ import annotations

import os
import select
import signal
import subprocess
import sys
import time
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from qsession_provider.core import Circuit, Gate, Measure
from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub
from qsession_provider.core.store import SQLiteStore
from qsession_provider.core.user import TokenRecord, hash_token

with warnings.catch_warnings():
    # Starlette 1.x asks for the httpx2 fork for its test client; httpx still works.
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

__all__ = ["TestClient"]

API = "/api/v1"
#: Real seconds a server gets to start or stop.
START_TIMEOUT = 60.0
STOP_TIMEOUT = 30.0

#: user -> (instance, admin); the token of each user is ``tok-<user>``.
USERS = {"alice": ("inst-a", False), "bob": ("inst-b", False), "root": ("ops", True)}


def token_of(user: str) -> str:
    return f"tok-{user}"


def auth(user: str) -> dict[str, str]:
    """The Authorization header of ``user``."""
    return {"Authorization": f"Bearer {token_of(user)}"}


def add_tokens(store: Any, users: dict[str, tuple[str, bool]] = USERS) -> None:
    """Write the tokens of ``users`` into ``store``."""
    for name, (instance, admin) in users.items():
        store.add_token(TokenRecord(name, hash_token(token_of(name)), instance, 1.0, admin))


def bell(shots: int = 16) -> Circuit:
    return Circuit(
        2,
        [Gate("h", (0,)), Gate("x", (1,), controls=(0,)), Measure(0, "c", 0), Measure(1, "c", 1)],
        {"c": 2},
    )


def sampler_text(shots: int = 16, *, seed: int | None = None, qubits: int = 2) -> str:
    """The encoded text of a sampler payload (a Bell pair on ``qubits`` >= 2 wires)."""
    circuit = bell() if qubits == 2 else _wide(qubits)
    return SamplerPayload((SamplerPub(circuit, None, shots),), seed=seed).to_json_text()


def _wide(qubits: int) -> Circuit:
    ops: list[Any] = [Gate("h", (0,))]
    ops += [Gate("x", (q + 1,), controls=(q,)) for q in range(qubits - 1)]
    ops += [Measure(q, "c", q) for q in range(qubits)]
    return Circuit(qubits, ops, {"c": qubits})


def job_body(device: str = "statevector", **extra: Any) -> dict[str, Any]:
    """A POST /jobs body for a small sampler job."""
    body: dict[str, Any] = {"program_id": "sampler", "device": device, "payload": sampler_text()}
    body.update(extra)
    return body


class ServerProcess:
    """``qsession serve`` in a subprocess, on 127.0.0.1 and a free port."""

    def __init__(self, store: Path, *args: str, log: Path | None = None) -> None:
        self.store = store
        self.args = args
        self.log = log or store.with_suffix(".log")
        self.proc: subprocess.Popen[bytes] | None = None
        self.url = ""

    def start(self) -> ServerProcess:
        cmd = [sys.executable, "-m", "qsession_provider.cli", "serve", "--port", "0"]
        cmd += ["--store", str(self.store), *self.args]
        env = {k: v for k, v in os.environ.items() if not k.startswith("QSESSION_")}
        with open(self.log, "ab") as err:
            self.proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=err, env=env)
        assert self.proc.stdout is not None
        deadline = time.monotonic() + START_TIMEOUT
        line = b""
        while not line.endswith(b"\n"):
            left = deadline - time.monotonic()
            ready, _, _ = select.select([self.proc.stdout], [], [], max(0.0, left))
            if not ready:
                self.kill()
                raise AssertionError(f"the server did not start: {self.log.read_text()}")
            chunk = os.read(self.proc.stdout.fileno(), 1)
            if not chunk:
                self.proc.wait()
                raise AssertionError(f"the server exited: {self.log.read_text()}")
            line += chunk
        text = line.decode().strip()
        prefix = "qsession serve: listening on "
        assert text.startswith(prefix), text
        self.url = text[len(prefix) :]
        return self

    def client(self, user: str, **kwargs: Any) -> httpx.Client:
        """A keep-alive client of ``user``."""
        return httpx.Client(base_url=self.url + API, headers=auth(user), timeout=60.0, **kwargs)

    def terminate(self) -> int:
        """SIGTERM, wait; SIGKILL if it does not stop. Returns the exit status."""
        assert self.proc is not None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                return self.proc.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                self.kill()
        return self.proc.wait()

    def kill(self) -> None:
        """SIGKILL (kill -9) and reap."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def close(self) -> None:
        if self.proc is not None:
            self.terminate()
            if self.proc.stdout is not None:
                self.proc.stdout.close()


def new_store(path: Path, users: dict[str, tuple[str, bool]] = USERS) -> Path:
    """A store file at ``path`` holding the tokens of ``users``."""
    store = SQLiteStore(str(path))
    try:
        add_tokens(store, users)
    finally:
        store.close()
    return path


@pytest.fixture(scope="module")
def server_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    """Start servers for a module; every one is stopped at the end."""
    started: list[ServerProcess] = []

    def start(*args: str, store: Path | None = None) -> ServerProcess:
        if store is None:
            store = new_store(tmp_path_factory.mktemp("server") / "store.sqlite3")
        server = ServerProcess(store, *args)
        started.append(server)
        return server.start()

    yield start
    for server in started:
        server.close()
