"""A real ``qsession serve`` for tests of remote runtimes, and tokens for its users.

Test modules put the test directory on ``sys.path`` (the suite imports test files in
importlib mode, so this module is not importable otherwise) and take what they need::

    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from remote_fixtures import Server, serve_module  # noqa: E402

    server = pytest.fixture(scope="module")(serve_module)

:class:`Server` starts ``python -m qsession_provider.cli serve --port 0 --store <tmp>
[--virtual-clock]`` on 127.0.0.1, reads the URL from its first stdout line, makes tokens
with ``qsession token create`` on the same store, and always stops the process
(SIGTERM, then SIGKILL after a timeout). Only loopback traffic.
"""

from __future__ import annotations

import contextlib
import io
import os
import signal
import socket
import subprocess
import sys
import threading
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from qsession_provider import cli

__all__ = ["Server", "serve_module", "in_process_app", "free_port", "START_TIMEOUT"]

#: Real seconds a server may take to print its URL.
START_TIMEOUT = 60.0
#: Real seconds a stopping server may take before it is killed.
STOP_TIMEOUT = 20.0


class Server:
    """One ``qsession serve`` subprocess on a store file.

    Args:
        store: the store file, or a ``postgresql://`` URL.
        virtual_clock: start it with ``--virtual-clock``.
        extra: more ``serve`` options (``--max-queued 3``).
        port: the port (0: a free one; a fixed one lets a restarted server keep its URL).
    """

    def __init__(
        self,
        store: Path | str,
        *,
        virtual_clock: bool = True,
        extra: tuple[str, ...] = (),
        port: int = 0,
    ) -> None:
        self.store = store if str(store).startswith("postgresql://") else Path(store)
        self.virtual_clock = virtual_clock
        self.extra = extra
        self.port = port
        self.url = ""
        self.process: subprocess.Popen[str] | None = None
        self._tokens: dict[str, str] = {}
        self._stderr: list[str] = []
        self._drainer = threading.Thread()

    def start(self) -> Server:
        """Start the process and wait for its URL (raises with its stderr if it dies)."""
        args = ["serve", "--port", str(self.port), "--store", str(self.store), *self.extra]
        if self.virtual_clock:
            args.append("--virtual-clock")
        env = {k: v for k, v in os.environ.items() if not k.startswith("QSESSION_")}
        self.process = subprocess.Popen(
            [sys.executable, "-m", "qsession_provider.cli", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            env=env,
        )
        self._drainer = threading.Thread(target=self._drain_stderr, daemon=True)
        self._drainer.start()
        found: list[str] = []
        reader = threading.Thread(target=lambda: found.append(self.process.stdout.readline()))
        reader.daemon = True
        reader.start()
        reader.join(START_TIMEOUT)
        line = found[0].strip() if found else ""
        prefix = "qsession serve: listening on "
        if not line.startswith(prefix):
            self.stop()
            raise RuntimeError(
                f"qsession serve did not start (stdout {line!r}):\n" + "".join(self._stderr)
            )
        self.url = line[len(prefix) :]
        return self

    def _drain_stderr(self) -> None:
        assert self.process is not None and self.process.stderr is not None
        for line in self.process.stderr:
            self._stderr.append(line)

    def token(
        self, name: str, instance: str = "default", *, admin: bool = False, share: float = 1.0
    ) -> str:
        """A token for user ``name``, made once per name by ``qsession token create``.

        The command runs in this process (``cli.main``, as the ``qsession`` script does)
        so a test can make a user of its own cheaply.
        """
        if name not in self._tokens:
            args = ["--store", str(self.store), "token", "create", name, "--instance", instance]
            args += ["--share", str(share), *(["--admin"] if admin else [])]
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                code = cli.main(args)
            assert code == 0, f"qsession token create failed for {name!r}"
            self._tokens[name] = out.getvalue().strip().splitlines()[-1]
        return self._tokens[name]

    def stop(self, *, sig: int = signal.SIGTERM) -> int | None:
        """Stop the process (``sig``, then SIGKILL after :data:`STOP_TIMEOUT`); its exit code."""
        process = self.process
        if process is None:
            return None
        if process.poll() is None:
            process.send_signal(sig)
            try:
                process.wait(STOP_TIMEOUT)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(STOP_TIMEOUT)
        self._drainer.join(STOP_TIMEOUT)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
        return process.returncode

    @property
    def stderr(self) -> str:
        """What the server wrote to stderr so far."""
        return "".join(self._stderr)


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve_module(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """A virtual-clock server for a test module (wrap with ``pytest.fixture(scope="module")``)."""
    server = Server(tmp_path_factory.mktemp("served") / "store.sqlite3").start()
    try:
        yield server
    finally:
        server.stop()


def in_process_app(runtime: Any) -> Any:
    """Starlette's ``TestClient`` over ``create_app(runtime)`` (an ``httpx.Client``).

    Use as a context manager; pass it to ``connect(url, token, client=...)`` with the URL
    ``http://testserver``.
    """
    with warnings.catch_warnings():  # Starlette asks for httpx2, which we do not need
        warnings.simplefilter("ignore")
        from starlette.testclient import TestClient

    from qsession_provider.server.app import create_app

    return TestClient(create_app(runtime))
