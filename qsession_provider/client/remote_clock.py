"""The clock of a remote runtime: :class:`RemoteClock`, the server's time over HTTP.

Faces read ``runtime.clock.now()`` (session details, elapsed times) and
``runtime.clock.virtual``; a test of remote code on a ``qsession serve --virtual-clock``
server moves time with :meth:`RemoteClock.advance` (admin tokens only). Timers, holds
and waits belong to the runtime, so they run on the server: those methods of the
:class:`~qsession_provider.core.clock.Clock` protocol raise here.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any, NoReturn

from ..errors import QSessionError
from .transport import Transport

__all__ = ["RemoteClock"]


class RemoteClock:
    """The server's clock (see the module docstring).

    Args:
        http: the transport of the runtime.
    """

    def __init__(self, http: Transport) -> None:
        self._http = http
        self._virtual: bool | None = None

    @property
    def virtual(self) -> bool:
        """True when the server runs on a virtual clock (asked once)."""
        if self._virtual is None:
            self.now()
        return bool(self._virtual)

    def now(self) -> float:
        """The server's current time, POSIX seconds."""
        answer = self._http.request("GET", "/clock")
        self._virtual = bool(answer["virtual"])
        return float(answer["now"])

    def advance(self, duration: float | str) -> float:
        """Move the server's virtual clock forward; returns the new time.

        Args:
            duration: seconds or a duration string (``"30m"``).

        Raises:
            ForbiddenError: the token is not an admin's, or the server's clock is real.
            InputError: a malformed duration.
        """
        answer = self._http.request("POST", "/clock/advance", body={"seconds": duration})
        return float(answer["now"])

    def sleep(self, seconds: float) -> None:
        """Sleep ``seconds`` of real time on a real clock (refused on a virtual one)."""
        if self.virtual:
            self._server_side("sleep")
        time.sleep(max(0.0, float(seconds)))

    def call_at(self, when: float, callback: Callable[[], object]) -> NoReturn:
        """Refused: timers run on the server."""
        self._server_side("call_at")

    def call_later(self, delay: float, callback: Callable[[], object]) -> NoReturn:
        """Refused: timers run on the server."""
        self._server_side("call_later")

    def hold(self) -> NoReturn:
        """Refused: only the server's runtime holds its clock."""
        self._server_side("hold")

    def wait_for(self, predicate: Callable[[], bool], timeout: Any, cond: Any) -> NoReturn:
        """Refused: wait on a job handle instead (it long-polls the server)."""
        self._server_side("wait_for")

    def close(self) -> None:
        """Nothing to stop (the runtime's ``shutdown`` closes the connection)."""

    def _server_side(self, what: str) -> NoReturn:
        raise QSessionError(
            f"clock.{what} is not available on a remote runtime: its clock runs on the "
            f"server at {self._http.url}"
        )

    def __repr__(self) -> str:
        return f"<RemoteClock {self._http.url}>"
