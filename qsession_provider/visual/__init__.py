"""Pictures and progress bars: what a session did (matplotlib) and how far a wait is (tqdm).

- :func:`draw_timeline` (``visual/timeline.py``): a matplotlib figure of a session's jobs
  on device-slot lanes; needs the ``plot`` extra (``pip install 'qsession-provider[plot]'``).
- :func:`timeline_of` (``visual/sources.py``): the
  :class:`~qsession_provider.core.timeline.Timeline` of a session object, a session id and
  a runtime, or a list of jobs.
- :func:`wait_all`, :func:`progress_observer` (``visual/progress.py``): tqdm bars while waiting.

This layer reads ``core`` and ``client``; it never imports a face or a framework. Names
load lazily, so importing the package loads neither matplotlib nor tqdm.
"""

from __future__ import annotations

import importlib
from typing import Any

__all__ = ["draw_timeline", "timeline_of", "wait_all", "progress_observer"]

_HOMES = {
    "draw_timeline": "timeline",
    "timeline_of": "sources",
    "wait_all": "progress",
    "progress_observer": "progress",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(importlib.import_module(f"{__name__}.{home}"), name)


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
