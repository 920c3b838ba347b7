"""The HTTP side of the remote client: one ``httpx.Client``, the bearer token, errors back.

Every request of a :class:`~.remote.RemoteRuntime` goes through one :class:`Transport`:
it adds ``Authorization: Bearer <token>``, sends JSON, and turns an error answer
(``{"error": {"type", "message", "code"}}``) back into the class of
:mod:`qsession_provider.errors` its ``type`` names (else :class:`QSessionError`), so faces
translate remote errors exactly as embedded ones. Network failures become
:class:`ServerUnreachableError` (a :class:`QSessionError`) naming the server; requests
that are safe to repeat (waits) are tried again while a server restarts.

``httpx.Client`` is thread-safe and keeps connections alive (HTTP/1.1): threads of one
process share its pool, one connection per request in flight. On loopback (where no proxy
applies) requests go straight to the client's ``httpx.HTTPTransport``, past the
``Client``'s per-request machinery (cookies, redirects, auth hooks, default headers), which
the API does not use and which costs about a tenth of a millisecond per request.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from typing import Any

import httpx

from .. import errors
from ..core.ir.encoding import compact
from ..errors import QSessionError

__all__ = ["API_PREFIX", "LONG_POLL", "Transport", "ServerUnreachableError", "error_from_answer"]

#: Where the API lives under the server's URL.
API_PREFIX = "/api/v1"
#: Real seconds the server holds a ``/wait`` request at most before answering.
LONG_POLL = 25.0

#: Error ``type`` names of early drafts of the contract, and what they mean now.
_ALIASES = {
    "Unauthorized": "NotAuthorizedError",
    "Forbidden": "ForbiddenError",
    "PayloadTooLarge": "RequestTooLargeError",
    "TooManyJobs": "TooManyJobsError",
    "NotFound": "InputError",
}
_JSON = "application/json"


class ServerUnreachableError(QSessionError):
    """The server did not answer (refused, reset or timed out): nothing was read back."""


def error_from_answer(status: int, body: Any, url: str) -> QSessionError:
    """The exception an error answer stands for.

    Args:
        status: the HTTP status.
        body: the decoded JSON body (or anything else the server sent).
        url: the request's URL, named when the body is not an error object.
    """
    error = body.get("error") if isinstance(body, dict) else None
    if not isinstance(error, dict) or not isinstance(error.get("message"), str):
        return QSessionError(f"HTTP {status} from {url}: {str(body)[:200]}")
    name = str(error.get("type", ""))
    cls = getattr(errors, _ALIASES.get(name, name), None)
    if not (isinstance(cls, type) and issubclass(cls, QSessionError)):
        cls = QSessionError
    exc = cls(error["message"])
    if error.get("code") is not None:
        exc.code = error["code"]  # type: ignore[attr-defined]
    return exc


class Transport:
    """JSON requests to one server with one token.

    Args:
        url: the server's URL (``http://host:port``), without the API prefix.
        token: the bearer token.
        timeout: seconds to connect, send and read (a long-poll adds :data:`LONG_POLL`).
        client: an ``httpx.Client`` to use (e.g. Starlette's ``TestClient``), with its own
            timeouts; it stays open when the transport closes. Default: a new keep-alive
            client.
    """

    def __init__(
        self, url: str, token: str, *, timeout: float, client: httpx.Client | None = None
    ) -> None:
        self.url = url
        self._base = url + API_PREFIX
        self._headers = {"Authorization": f"Bearer {token}", "Accept": _JSON}
        self._send_headers = {**self._headers, "Content-Type": _JSON}
        self._timeout = timeout
        self._own = client is None
        #: The transport requests go to directly (loopback only; None: through the client).
        self._direct: httpx.HTTPTransport | None = None
        if client is None:
            client, self._direct = _new_client(url, timeout)
        self._client = client
        self._timeouts = httpx.Timeout(timeout).as_dict()
        self.closed = False

    def request(
        self,
        method: str,
        path: str,
        *,
        body: Mapping[str, Any] | None = None,
        params: Any = None,
        wait: float | None = None,
        retry: bool = False,
    ) -> Any:
        """Send one request and return the decoded JSON answer (None for 204).

        Args:
            method: the HTTP method.
            path: the path below the API prefix (``/jobs``).
            body: a JSON object to send.
            params: query parameters (a list of pairs, for repeated names).
            wait: real seconds the server may hold the request (a long-poll); the read
                timeout grows by that much.
            retry: the request is safe to repeat (a wait): while the server cannot be
                reached (a restart), try again, backing off, for up to the transport's
                ``timeout`` real seconds.

        Raises:
            QSessionError: the server is unreachable or answered badly; or the class of
                :mod:`qsession_provider.errors` the error answer names.
        """
        if self.closed:
            raise QSessionError(f"the connection to {self.url} is closed")
        url = self._base + path
        headers = self._headers if body is None else self._send_headers
        content = None if body is None else compact(body)
        give_up = time.monotonic() + self._timeout
        pause = 0.05
        while True:
            try:
                if self._direct is not None:
                    status, data = self._send_direct(method, url, params, headers, content, wait)
                else:
                    status, data = self._send(method, url, params, headers, content, wait)
                break
            except httpx.HTTPError as exc:
                if not retry or self.closed or time.monotonic() + pause > give_up:
                    raise ServerUnreachableError(
                        f"cannot reach the qsession server at {self.url}: "
                        f"{exc or type(exc).__name__}"
                    ) from exc
                time.sleep(pause)  # the server is down: nothing to poll until it is back
                pause = min(pause * 2, 2.0)
        if status == 204:
            return None
        try:
            answer = json.loads(data)
        except ValueError:
            answer = data.decode("utf-8", errors="replace")
        if status >= 400:
            raise error_from_answer(status, answer, url)
        if not isinstance(answer, dict):
            raise QSessionError(f"unexpected answer from {url}: {str(answer)[:200]}")
        return answer

    def _send(
        self,
        method: str,
        url: str,
        params: Any,
        headers: dict[str, str],
        content: str | None,
        wait: float | None,
    ) -> tuple[int, bytes]:
        """One request through the ``httpx.Client``: ``(status, body)``."""
        options: dict[str, Any] = {"params": params, "headers": headers}
        if content is not None:
            options["content"] = content
        if wait is not None and self._own:  # an injected client keeps its own timeouts
            options["timeout"] = httpx.Timeout(self._timeout, read=self._timeout + wait)
        response = self._client.request(method, url, **options)
        return response.status_code, response.content

    def _send_direct(
        self,
        method: str,
        url: str,
        params: Any,
        headers: dict[str, str],
        content: str | None,
        wait: float | None,
    ) -> tuple[int, bytes]:
        """One request straight to the transport (see the module docstring)."""
        assert self._direct is not None
        timeouts = self._timeouts
        if wait is not None:
            timeouts = httpx.Timeout(self._timeout, read=self._timeout + wait).as_dict()
        request = httpx.Request(
            method,
            url,
            params=params,
            headers=headers,
            content=None if content is None else content.encode("utf-8"),
            extensions={"timeout": timeouts},
        )
        response = self._direct.handle_request(request)
        try:
            data = response.read()
        finally:
            response.close()
        return response.status_code, data

    def close(self) -> None:
        """Close the connections (an injected client is left open). Idempotent."""
        if not self.closed:
            self.closed = True
            if self._own:
                self._client.close()


def _new_client(url: str, timeout: float) -> tuple[httpx.Client, httpx.HTTPTransport | None]:
    """A keep-alive HTTP/1.1 client, enough connections for long-polling threads; and, on
    loopback, its transport, for requests sent directly (see the module docstring).

    Proxy settings of the environment apply except on loopback, where a proxy would only
    be in the way.
    """
    limits = httpx.Limits(max_connections=None, max_keepalive_connections=32)
    loopback = httpx.URL(url).host in ("127.0.0.1", "localhost", "::1")
    if not loopback:
        return httpx.Client(timeout=timeout, limits=limits, trust_env=True), None
    transport = httpx.HTTPTransport(limits=limits)
    return httpx.Client(timeout=timeout, transport=transport, trust_env=False), transport
