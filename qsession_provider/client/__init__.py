"""The one door to a runtime: every face gets its runtime here.

:func:`open_runtime` gives the embedded runtime of this process (the default); the
interface every face relies on is :class:`~.api.RuntimeAPI`, so a runtime served by
another process can stand behind the same faces.
"""

from __future__ import annotations

from .api import RuntimeAPI
from .local import open_runtime

__all__ = ["RuntimeAPI", "open_runtime"]
