"""The one door to a runtime: every face gets its runtime here.

:func:`open_runtime` gives the embedded runtime of this process (the default);
:func:`connect` a runtime served by ``qsession serve``; :func:`runtime_for` picks one of
them from a face's arguments and ``$QSESSION_URL``/``$QSESSION_TOKEN``. The interface
every face relies on is :class:`~.api.RuntimeAPI`, which both implement. httpx is loaded
only when a URL is asked for (:mod:`.remote`).
"""

from __future__ import annotations

from .api import RuntimeAPI
from .choose import TOKEN_ENV, URL_ENV, connect, runtime_for
from .local import KEEP_DEFAULT, KEEP_RESULTS, open_runtime

__all__ = [
    "RuntimeAPI",
    "open_runtime",
    "KEEP_DEFAULT",
    "KEEP_RESULTS",
    "connect",
    "runtime_for",
    "URL_ENV",
    "TOKEN_ENV",
]
