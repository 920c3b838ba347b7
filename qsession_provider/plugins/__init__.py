"""Plugins: device registration and lifecycle hooks through pluggy.

Third-party plugins import :data:`hookimpl` and implement hooks from
:mod:`qsession_provider.plugins.hookspecs`; faces get runtimes from :mod:`qsession_provider.client`.
"""

from __future__ import annotations

from .hookspecs import PROJECT_NAME, hookimpl, hookspec
from .manager import (
    ENTRY_POINT_GROUP,
    TRACE_ENV_VAR,
    PluginListener,
    build_device_registry,
    get_plugin_manager,
    scheduling_policy,
)

__all__ = [
    "ENTRY_POINT_GROUP",
    "PROJECT_NAME",
    "TRACE_ENV_VAR",
    "PluginListener",
    "build_device_registry",
    "get_plugin_manager",
    "hookimpl",
    "hookspec",
    "scheduling_policy",
]
