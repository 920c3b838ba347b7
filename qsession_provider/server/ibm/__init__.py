"""The IBM Quantum Platform API, the part qiskit-ibm-runtime calls, next to our own API.

The official client runs unchanged against ``qsession serve``: its IAM token exchange and
instance discovery (:mod:`.iam`), backends and usage (:mod:`.backends`), jobs
(:mod:`.jobs`) and sessions and batches (:mod:`.sessions`), on the runtime the server
already serves (its sessions, fair share and clock). Where each lives and how the client is
pointed at it: :mod:`.urls`. Tokens are the server's service tokens; an instance is named by
a CRN (:mod:`.identity`).

Importing this package loads no framework; decoding a job submission or encoding a result
needs qiskit, loaded by :mod:`.codec` on the first such request (501 naming the extra when
qiskit is missing).
"""

from __future__ import annotations

from starlette.routing import BaseRoute

from . import backends, iam, jobs, sessions
from .urls import RUNTIME_PATH, client_endpoints

__all__ = ["client_endpoints", "routes"]


def routes() -> list[BaseRoute]:
    """Every route of the IBM API (under ``/ibm``)."""
    return [
        *iam.routes(),
        *backends.routes(RUNTIME_PATH),
        *jobs.routes(RUNTIME_PATH),
        *sessions.routes(RUNTIME_PATH),
    ]
