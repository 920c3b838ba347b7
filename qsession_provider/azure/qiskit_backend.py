"""The Azure dialect's Qiskit integration: ``backend.open_session(...)`` on our backends.

azure-quantum's Qiskit backends are session hosts: ``with backend.open_session(name=...,
job_failure_policy=...) as session:`` opens an Azure session on the backend's target, and
every ``backend.run`` joins the latest session opened through the backend. The Qiskit face
keeps that behaviour without depending on this package: a backend creates a
:class:`BackendSessionHost` on first use (importing this module then) and hands
``open_session``, ``latest_session`` and ``get_latest_session_id`` over to it.

This module is the one deliberate edge between two faces, and it points one way: it
receives the backend object and never imports the Qiskit face (nor Qiskit).
"""

from __future__ import annotations

from typing import Protocol

from ..client import RuntimeAPI
from .session import SessionHost
from .workspace import Workspace

__all__ = ["BackendSessionHost"]


class SessionBackend(Protocol):
    """What the host needs of a backend: its runtime and its (device) name."""

    @property
    def name(self) -> str:
        """The backend's name: the device its jobs run on."""
        ...

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime the backend submits to."""
        ...


class BackendSessionHost(SessionHost):
    """The Azure session host of one Qiskit backend.

    Sessions open on the backend's device, in a workspace over the backend's runtime (made
    once, here). As in azure-quantum, leaving a ``with backend.open_session():`` block
    closes the session but keeps it as the latest, so later runs are rejected until a new
    session is opened or ``latest_session`` is set to None.

    Args:
        backend: the backend (a ``QSessionBackend``, or any object with ``runtime`` and
            ``name``).

    Example (the backend hands its ``open_session`` to its host):
        >>> with backend.open_session(name="bells") as session:  # doctest: +SKIP
        ...     job = backend.run(qc, shots=100)  # joins the session
    """

    def __init__(self, backend: SessionBackend) -> None:
        self._backend = backend
        self._workspace = Workspace(runtime=backend.runtime)

    def _get_azure_workspace(self) -> Workspace:
        """The workspace (on the backend's runtime) sessions open in."""
        return self._workspace

    def _get_azure_target_id(self) -> str:
        """The backend's name: its sessions run on its device."""
        return self._backend.name
