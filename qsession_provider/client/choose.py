"""Which runtime a face gets: :func:`runtime_for` (embedded or remote) and :func:`connect`.

Every face builds its runtime here from the words its user gave:

- a ``url`` (a face's own spelling: IBM's ``url``/``token``, Azure's ``QuantumEndpoint``
  and ``ApiKey``, Cirq's ``url``/``token``) gives a remote runtime (:func:`connect`);
- ``store``/``clock`` give the embedded runtime of this process (:func:`.local.open_runtime`);
- neither: ``$QSESSION_URL`` (with ``$QSESSION_TOKEN``) if set, so code that must not
  change runs against a server; else the embedded runtime of the default store.

One remote runtime per URL and token in a process (until it is shut down), shared by every
face, as one store's runtime is: a session opened through one face is fed through another.
This module never imports httpx: :mod:`.remote` is loaded only when a URL is asked for.
"""

from __future__ import annotations

import os
import threading
from typing import TYPE_CHECKING, Any

from ..core.clock import Clock
from ..errors import InputError
from .api import RuntimeAPI
from .local import KEEP_DEFAULT, open_runtime

if TYPE_CHECKING:
    from .remote import RemoteRuntime

__all__ = ["URL_ENV", "TOKEN_ENV", "connect", "runtime_for"]

#: The server a plain face connects to.
URL_ENV = "QSESSION_URL"
#: The token a plain face connects with.
TOKEN_ENV = "QSESSION_TOKEN"

_SHARED: dict[tuple[str, str], RemoteRuntime] = {}
_LOCK = threading.Lock()
if hasattr(os, "register_at_fork"):  # a forked child's connections are its own, not the parent's
    os.register_at_fork(after_in_child=_SHARED.clear)


def connect(url: str, token: str, *, timeout: float = 30.0, client: Any = None) -> RemoteRuntime:
    """A new :class:`~.remote.RemoteRuntime` on the server at ``url`` (see :func:`.remote.connect`).

    Raises:
        InputError: a malformed URL, token or timeout.
        NotAuthorizedError: the server does not know the token.
        QSessionError: the server cannot be reached.
    """
    from .remote import connect as remote_connect

    return remote_connect(url, token, timeout=timeout, client=client)


def runtime_for(
    *,
    url: str | None = None,
    token: str | None = None,
    store: str | None = None,
    clock: Clock | None = None,
    keep_results: int | None = KEEP_DEFAULT,
) -> RuntimeAPI:
    """The runtime a face built with these arguments uses (see the module docstring).

    Args:
        url: a server's URL; None: ``$QSESSION_URL`` unless ``store`` or ``clock`` is given.
        token: the token for ``url`` (None: ``$QSESSION_TOKEN``).
        store: the embedded runtime's store (see :func:`.local.open_runtime`).
        clock: the embedded runtime's clock.
        keep_results: results an in-memory embedded runtime keeps (see
            :func:`.local.open_runtime`); not for a server.

    Raises:
        InputError: ``url`` together with ``store`` or ``clock``; a URL without a token.
        NotAuthorizedError: the server does not know the token.
        QSessionError: the server cannot be reached; or as :func:`.local.open_runtime`.
    """
    if url is not None:
        if store is not None or clock is not None:
            raise InputError(
                "pass either url (a runtime served by qsession serve) or store/clock "
                "(the embedded runtime), not both"
            )
    elif store is None and clock is None:
        url = os.environ.get(URL_ENV) or None
    if url is None:
        return open_runtime(store, clock=clock, keep_results=keep_results)
    if keep_results is not KEEP_DEFAULT:
        raise InputError("keep_results is for an embedded in-memory runtime, not a server")
    if token is None:
        token = os.environ.get(TOKEN_ENV) or None
    if token is None:
        raise InputError(
            f"a token is needed to connect to {url}: pass token= or set ${TOKEN_ENV} "
            "(qsession token create NAME --instance INSTANCE prints one)"
        )
    key = (str(url).rstrip("/"), token)
    with _LOCK:
        runtime = _SHARED.get(key)
        if runtime is None or runtime.closed:
            runtime = _SHARED[key] = connect(url, token)
        return runtime
