"""Which session or backend a primitive runs in: the one place the ambient session is read.

qiskit-ibm-runtime's rule, which user code relies on: a primitive created inside
``with Session(...)`` (or ``with Batch(...)``) without a ``mode`` joins that session. The
context variable behind it belongs to qiskit-ibm-runtime
(``qiskit_ibm_runtime.utils.default_session``); our :class:`~.session.Session` sets it by
calling its base class's ``__enter__``/``__exit__``, so qiskit-ibm-runtime's own primitives
see our sessions too. This module is the only one of ours that reads it.

Resolution (mirrors ``qiskit_ibm_runtime.base_primitive.get_mode_service_backend``, with
our backend in the role of ``IBMBackend``):

=========================================  =====================================================
``mode``                                   runs in
=========================================  =====================================================
our ``Session`` / ``Batch``                that session
our backend, no ``with`` session open      job mode on that backend
our backend, our ``with`` session open     the open session (logged), if it is on the same
                                           backend; a different backend is a ``ValueError``
``None``, our ``with`` session open        the open session
``None``, nothing open                     ``ValueError("A backend or session must be
                                           specified.")``
anything else                              ``ValueError`` saying what is accepted
=========================================  =====================================================

A qiskit-ibm-runtime ``Session`` (not ours) opened around our backend gives no real session:
a primitive created with ``mode=None`` inside it runs in job mode on that backend, with a
warning in the log.
"""

from __future__ import annotations

import logging
from typing import Any

from qiskit_ibm_runtime.session import Session as IBMSession
from qiskit_ibm_runtime.utils.default_session import get_cm_session

from .backend import QSessionBackend
from .fake_backends import as_backend
from .session import Session

__all__ = ["current_session", "resolve_mode"]

_log = logging.getLogger(__name__)


def current_session() -> IBMSession | None:
    """The session of the innermost open ``with Session(...)`` block in this context, or None."""
    return get_cm_session()


def resolve_mode(mode: Any) -> tuple[Session | None, QSessionBackend]:
    """The session (None in job mode) and backend a primitive created with ``mode`` uses.

    Raises:
        ValueError: ``mode`` is not accepted, or no mode is given and no session is open.
    """
    if isinstance(mode, Session):
        return mode, mode._backend
    if not isinstance(mode, str):  # a fake backend object runs on its device, as IBM's local mode
        mode = as_backend(mode)
    ambient = current_session()
    if isinstance(mode, QSessionBackend):
        if isinstance(ambient, Session):
            _log.warning(
                "A backend was passed in as the mode but a session context manager is open so "
                "this job will run inside this session/batch instead of in job mode."
            )
            if ambient._backend is not mode:
                raise ValueError(
                    "The backend passed in to the primitive is different from the session "
                    "backend. Please check which backend you intend to use or leave the mode "
                    "parameter empty to use the session backend."
                )
            return ambient, mode
        return None, mode
    if mode is None:
        if isinstance(ambient, Session):
            return ambient, ambient._backend
        backend = getattr(ambient, "_backend", None)
        if isinstance(backend, QSessionBackend):
            _log.warning(
                "The open session is a qiskit_ibm_runtime.Session, which has no server session "
                "here; this job runs in job mode on %s. Use qsession_provider.qiskit.Session "
                "for real session behaviour.",
                backend.name,
            )
            return None, backend
        if ambient is not None:
            raise ValueError(
                "The open session's backend is not a qsession_provider backend; get one with "
                "QiskitRuntimeService().backend(name) and open qsession_provider.qiskit.Session."
            )
        raise ValueError("A backend or session must be specified.")
    raise ValueError(
        "mode must be a qsession_provider.qiskit Session or Batch, a backend from "
        f"QiskitRuntimeService().backend(name), or None; got {type(mode).__name__}"
    )
