"""A plugin whose scheduling policy is not a policy."""

from __future__ import annotations

from typing import Any

from qsession_provider.plugins import hookimpl


@hookimpl
def qsession_scheduling_policy(devices: list[Any]) -> object:
    return "round robin, please"
