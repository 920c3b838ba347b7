"""The remote client's transport: straight to ``httpx.HTTPTransport`` on loopback, through
the ``httpx.Client`` otherwise (and for an injected client), with the same requests sent
and the same answers and errors either way."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest

httpx = pytest.importorskip("httpx")

from qsession_provider.client.transport import (  # noqa: E402
    ServerUnreachableError,
    Transport,
)
from qsession_provider.errors import JobNotFoundError, QSessionError  # noqa: E402


class Recorder:
    """A mock server: records requests, answers by path."""

    def __init__(self) -> None:
        self.seen: list[dict[str, Any]] = []

    def __call__(self, request: Any) -> Any:
        self.seen.append(
            {
                "method": request.method,
                "url": str(request.url),
                "headers": {k.lower(): v for k, v in request.headers.items()},
                "body": request.read(),
                "timeout": request.extensions.get("timeout"),
            }
        )
        path = request.url.path
        if path.endswith("/gone"):
            return httpx.Response(204)
        if path.endswith("/missing"):
            error = {"type": "JobNotFoundError", "message": "no job with id 'x'", "code": "c"}
            return httpx.Response(404, json={"error": error})
        if path.endswith("/broken"):
            return httpx.Response(502, text="bad gateway")
        return httpx.Response(200, json={"echo": json.loads(request.read() or b"null")})


@pytest.fixture(params=["direct", "client"])
def pair(request: Any) -> Iterator[tuple[Transport, Recorder]]:
    recorder = Recorder()
    mock = httpx.MockTransport(recorder)
    if request.param == "direct":
        transport = Transport("http://127.0.0.1:9", "tok", timeout=7.0)
        assert transport._direct is not None
        transport._direct.close()
        transport._direct = mock  # type: ignore[assignment]
    else:
        transport = Transport(
            "http://127.0.0.1:9", "tok", timeout=7.0, client=httpx.Client(transport=mock)
        )
        assert transport._direct is None
    yield transport, recorder
    transport.close()


def test_requests_and_answers_are_the_same_either_way(pair: tuple[Transport, Recorder]) -> None:
    transport, recorder = pair
    body = {"payload": '{"a":"\\u00e9"}', "n": 1}
    assert transport.request("POST", "/jobs", body=body) == {"echo": body}
    assert transport.request("GET", "/jobs", params=[("status", "DONE"), ("status", "ERROR")]) == {
        "echo": None
    }
    sent, listed = recorder.seen
    assert sent["method"] == "POST" and sent["url"] == "http://127.0.0.1:9/api/v1/jobs"
    assert sent["headers"]["authorization"] == "Bearer tok"
    assert sent["headers"]["content-type"] == "application/json"
    assert sent["headers"]["accept"] == "application/json"
    assert sent["body"] == json.dumps(body, separators=(",", ":")).encode()
    assert listed["url"] == "http://127.0.0.1:9/api/v1/jobs?status=DONE&status=ERROR"
    assert "content-type" not in listed["headers"] and listed["body"] == b""


def test_errors_are_the_same_either_way(pair: tuple[Transport, Recorder]) -> None:
    transport, _ = pair
    assert transport.request("DELETE", "/jobs/gone") is None
    with pytest.raises(JobNotFoundError, match="no job") as missing:
        transport.request("GET", "/jobs/missing")
    assert missing.value.code == "c"  # type: ignore[attr-defined]
    with pytest.raises(QSessionError, match="HTTP 502.*bad gateway"):
        transport.request("GET", "/broken")


def test_a_long_poll_reads_for_longer(pair: tuple[Transport, Recorder]) -> None:
    transport, recorder = pair
    transport.request("POST", "/jobs/x/wait", body={"timeout": None}, wait=25.0)
    timeout = recorder.seen[-1]["timeout"]
    if transport._direct is not None:  # an injected client keeps its own timeouts
        assert timeout["read"] == pytest.approx(32.0) and timeout["connect"] == 7.0


@pytest.mark.parametrize(
    ("url", "direct"),
    [
        ("http://127.0.0.1:8765", True),
        ("http://localhost:8765", True),
        ("http://[::1]:8765", True),
        ("http://example.invalid:8765", False),
        ("https://quantum.example.org", False),
    ],
)
def test_only_loopback_goes_straight_to_the_transport(url: str, direct: bool) -> None:
    transport = Transport(url, "tok", timeout=1.0)
    try:
        assert (transport._direct is not None) is direct
    finally:
        transport.close()
    assert transport.closed
    with pytest.raises(QSessionError, match="closed"):
        transport.request("GET", "/whoami")


def test_an_unreachable_loopback_server_is_named() -> None:
    import socket

    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    transport = Transport(f"http://127.0.0.1:{port}", "tok", timeout=0.2)
    try:
        with pytest.raises(ServerUnreachableError, match=f"127.0.0.1:{port}"):
            transport.request("GET", "/whoami")
        with pytest.raises(ServerUnreachableError):  # retried for the timeout, then named
            transport.request("POST", "/jobs/x/wait", body={}, wait=1.0, retry=True)
    finally:
        transport.close()
