"""A plugin with a typo in a hook name (pluggy must refuse it)."""

from __future__ import annotations

from typing import Any

from qsession_provider.plugins import hookimpl


@hookimpl
def qsession_regsiter_devices(registry: Any) -> None:
    """Never called: the name does not match any hook specification."""
