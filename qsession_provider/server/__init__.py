"""The runtime as a service: ``qsession serve`` and its HTTP API (Starlette on uvicorn).

:func:`~.app.create_app` builds the ASGI app of a runtime; :mod:`.serve` runs it. The API
(JSON under ``/api/v1``) is the contract the remote client
(:mod:`qsession_provider.client.remote`) speaks. This package loads the ASGI stack; the
faces, the core and the client's embedded path never import it.
"""

from __future__ import annotations

from .app import create_app

__all__ = ["create_app"]
