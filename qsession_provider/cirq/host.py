"""A device of a runtime that hosts sessions, as Azure Quantum's ``SessionHost``.

Every submission through a host joins the host's *latest* session, looked up at the time
of the submission: :class:`~qsession_provider.cirq.Target` is a host, and a
:class:`~qsession_provider.cirq.Sampler` built on one follows it. Opening a session makes
it the latest (closing the previous latest first); closing the latest session does not
clear it, so later submissions are refused with a clear ``SessionClosedError`` until
another session is opened or ``host.latest_session = None`` goes back to job mode.
"""

from __future__ import annotations

import threading
from typing import Any

from ..client import RuntimeAPI
from ..errors import InputError
from .session import Session, session_id_of

__all__ = ["SessionHost"]


class SessionHost:
    """A device of a runtime whose submissions join its latest session.

    Args:
        runtime: the runtime.
        device: the device name.
    """

    def __init__(self, runtime: RuntimeAPI, device: str) -> None:
        self._runtime = runtime
        self._device_name = device
        self._latest_session: Session | None = None
        self._lock = threading.Lock()

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime the host belongs to."""
        return self._runtime

    @property
    def name(self) -> str:
        """The device name."""
        return self._device_name

    @property
    def latest_session(self) -> Session | None:
        """The session later submissions join (None: job mode). Settable."""
        return self._latest_session

    @latest_session.setter
    def latest_session(self, session: Any) -> None:
        """Set a :class:`Session`, another face's session object, a session id, or None."""
        if session is not None and not isinstance(session, Session):
            session = Session(self._runtime, session_id_of(session) or "")
        if session is not None and session.target != self.name:
            raise InputError(f"session {session.id} runs on {session.target!r}, not {self.name!r}")
        self._latest_session = session

    def get_latest_session_id(self) -> str | None:
        """Id of :attr:`latest_session`, or None."""
        session = self._latest_session
        return None if session is None else session.id

    def open_session(
        self,
        name: str | None = None,
        *,
        mode: str = "dedicated",
        max_time: float | str | None = None,
        job_failure_policy: Any = None,
    ) -> Session:
        """Open a session on this device and make it the :attr:`latest_session`.

        The previous latest session, if any, is closed first (Azure's rule). Use the
        result as a context manager to close the session at the end of a block.

        Args:
            name: session name (default ``session-<id>``).
            mode: ``"dedicated"`` or ``"batch"``.
            max_time: maximum session time, seconds or ``"25m"``-style (default 8 h).
            job_failure_policy: ``"abort"`` (default, as on Azure) or ``"continue"``.

        Raises:
            InputError: invalid mode, max_time or policy.
        """
        with self._lock:
            if self._latest_session is not None:
                self._latest_session.close()
            self._latest_session = Session.open(
                self._runtime,
                self.name,
                name,
                mode=mode,
                max_time=max_time,
                job_failure_policy=job_failure_policy,
            )
            return self._latest_session
