"""runtime_for: a URL (or $QSESSION_URL) gives a remote runtime, else the embedded one.

``connect`` is replaced by a stand-in here (no server needed); the faces' tests against a
real ``qsession serve`` are in ``tests/*_adapter/test_remote.py``.
"""

from __future__ import annotations

import subprocess
import sys
from typing import Any

import pytest

from qsession_provider.client import TOKEN_ENV, URL_ENV, choose, open_runtime, runtime_for
from qsession_provider.core.clock import VirtualClock
from qsession_provider.errors import InputError


class FakeRemote:
    """What ``connect`` returns here: remembers its arguments."""

    def __init__(self, url: str, token: str) -> None:
        self.url, self.token, self.closed = url, token, False


@pytest.fixture
def connected(monkeypatch: pytest.MonkeyPatch) -> list[FakeRemote]:
    made: list[FakeRemote] = []

    def fake_connect(url: str, token: str, **kwargs: Any) -> FakeRemote:
        made.append(FakeRemote(url, token))
        return made[-1]

    monkeypatch.setattr(choose, "connect", fake_connect)
    monkeypatch.setattr(choose, "_SHARED", {})
    monkeypatch.delenv(URL_ENV, raising=False)
    monkeypatch.delenv(TOKEN_ENV, raising=False)
    return made


def test_a_url_connects_once_per_url_and_token(connected: list[FakeRemote]) -> None:
    one = runtime_for(url="http://127.0.0.1:8765", token="a")
    assert (one.url, one.token) == ("http://127.0.0.1:8765", "a")
    assert runtime_for(url="http://127.0.0.1:8765/", token="a") is one  # shared by faces
    other = runtime_for(url="http://127.0.0.1:8765", token="b")
    assert other is not one and len(connected) == 2
    one.closed = True  # shut down: the next face connects again
    assert runtime_for(url="http://127.0.0.1:8765", token="a") is not one


def test_the_environment_names_the_server_for_plain_faces(
    connected: list[FakeRemote], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:9000")
    monkeypatch.setenv(TOKEN_ENV, "env-token")
    remote = runtime_for()
    assert (remote.url, remote.token) == ("http://127.0.0.1:9000", "env-token")
    assert runtime_for(token="given").token == "given"
    assert runtime_for(url="http://127.0.0.1:1", token=None).token == "env-token"
    clock = VirtualClock()
    local = runtime_for(clock=clock)  # an explicit clock (or store) means the local runtime
    try:
        assert local is open_runtime(clock=clock) and not isinstance(local, FakeRemote)
    finally:
        local.shutdown()


def test_url_with_store_or_clock_and_a_missing_token_are_refused(
    connected: list[FakeRemote], monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(InputError, match="not both"):
        runtime_for(url="http://127.0.0.1:8765", token="a", store=":memory:")
    with pytest.raises(InputError, match="not both"):
        runtime_for(url="http://127.0.0.1:8765", token="a", clock=VirtualClock())
    with pytest.raises(InputError, match=r"a token is needed .* \$QSESSION_TOKEN"):
        runtime_for(url="http://127.0.0.1:8765")
    monkeypatch.setenv(URL_ENV, "http://127.0.0.1:8765")
    with pytest.raises(InputError, match="QSESSION_TOKEN"):
        runtime_for()
    assert connected == []


def test_without_a_url_the_embedded_runtime(connected: list[FakeRemote]) -> None:
    runtime = runtime_for(store=":memory:")
    try:
        assert runtime.location.startswith(":memory:") and connected == []
    finally:
        runtime.shutdown()


def test_the_faces_and_the_client_load_no_http_stack_until_a_url_is_asked_for() -> None:
    code = (
        "import sys\n"
        "import qsession_provider.client\n"
        "import qsession_provider.qiskit, qsession_provider.azure, qsession_provider.cirq\n"
        "print(sorted(m for m in ('httpx', 'starlette', 'uvicorn') if m in sys.modules))\n"
        "from qsession_provider.client import connect\n"
        "try:\n"
        "    connect('http://127.0.0.1:9', 't', timeout=1)\n"
        "except Exception as exc:\n"
        "    print(type(exc).__name__, 'httpx' in sys.modules)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], check=True, capture_output=True, text=True)
    assert out.stdout.split("\n")[:2] == ["[]", "ServerUnreachableError True"]
