"""Building plugin managers and runtimes from plugins. Nothing happens at import time.

:func:`get_plugin_manager` adds the hook specifications, registers the built-in devices
under the name ``"builtin"`` (as any third-party plugin would register) and loads the
``qsession_provider`` entry-point group. Set ``QSESSION_TRACE_HOOKS=1`` to print every
hook call to stderr. Runtimes are built from
these in :mod:`qsession_provider.client`.
"""

from __future__ import annotations

import importlib.util
import os
import sys

import pluggy

from ..core.device import Device, DeviceRegistry
from ..core.job import Job
from ..core.runtime.policies import SchedulingPolicy
from ..core.session import SessionRecord, SessionState
from ..errors import PluginError
from . import hookspecs

__all__ = [
    "ENTRY_POINT_GROUP",
    "TRACE_ENV_VAR",
    "get_plugin_manager",
    "build_device_registry",
    "scheduling_policy",
    "PluginListener",
]

#: Entry-point group third-party plugins register under.
ENTRY_POINT_GROUP = "qsession_provider"
#: Set to ``1`` to trace hook calls to stderr.
TRACE_ENV_VAR = "QSESSION_TRACE_HOOKS"
#: This package's own entry-point plugins and the packages each needs (else skipped).
_OWN_PLUGINS_NEED = {"qiskit_fake_backends": ("qiskit", "qiskit_ibm_runtime")}


def get_plugin_manager(
    *, load_entry_points: bool = True, include_builtin: bool = True
) -> pluggy.PluginManager:
    """A new plugin manager with the specs, the built-in plugin and installed plugins.

    Args:
        load_entry_points: load the ``qsession_provider`` entry-point group.
        include_builtin: register the built-in devices (as plugin ``"builtin"``).

    Raises:
        PluginError: an installed plugin fails to import or implements an unknown
            ``qsession_*`` hook.
    """
    pm = pluggy.PluginManager(hookspecs.PROJECT_NAME)
    pm.add_hookspecs(hookspecs)
    if include_builtin:
        from . import builtin  # imports the engine; only needed when building devices

        pm.register(builtin, name="builtin")
    if load_entry_points:
        for plugin, needs in _OWN_PLUGINS_NEED.items():  # a face's plugin needs its framework
            if any(importlib.util.find_spec(module) is None for module in needs):
                pm.set_blocked(plugin)
        try:
            pm.load_setuptools_entrypoints(ENTRY_POINT_GROUP)
        except Exception as exc:
            raise PluginError(
                f"a plugin of entry-point group {ENTRY_POINT_GROUP!r} failed to load: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    try:
        pm.check_pending()
    except pluggy.PluginValidationError as exc:
        raise PluginError(f"plugin {exc.plugin!r}: {exc}") from exc
    if os.environ.get(TRACE_ENV_VAR) == "1":
        pm.trace.root.setwriter(sys.stderr.write)
        pm.enable_tracing()
    return pm


def build_device_registry(pm: pluggy.PluginManager) -> DeviceRegistry:
    """Call ``qsession_register_devices`` on every plugin and return the filled registry.

    Plugins are called one by one (in pluggy's order) so a failure names its plugin.

    Raises:
        PluginError: a plugin raised or registered something invalid (names the plugin).
    """
    registry = DeviceRegistry()
    trace = pm.trace.root.get("hook")  # writes only when tracing is on
    for impl in reversed(pm.hook.qsession_register_devices.get_hookimpls()):
        if impl.hookwrapper or impl.wrapper:
            raise PluginError(
                f"plugin {impl.plugin_name!r}: qsession_register_devices does not support "
                "wrapper implementations"
            )
        trace(f"qsession_register_devices [{impl.plugin_name}]")
        kwargs = {name: registry for name in impl.argnames if name == "registry"}
        try:
            impl.function(**kwargs)
        except Exception as exc:
            raise PluginError(
                f"plugin {impl.plugin_name!r} failed to register its devices: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
    return registry


def scheduling_policy(pm: pluggy.PluginManager, devices: list[Device]) -> SchedulingPolicy | None:
    """The policy a plugin provides through ``qsession_scheduling_policy``, or None.

    Raises:
        PluginError: the returned object does not implement ``SchedulingPolicy``.
    """
    policy = pm.hook.qsession_scheduling_policy(devices=devices)
    if policy is not None and not isinstance(policy, SchedulingPolicy):
        raise PluginError(
            f"qsession_scheduling_policy returned {policy!r}, which has no "
            "select()/charge() methods"
        )
    return policy


class PluginListener:
    """A :class:`~qsession_provider.core.runtime.events.RuntimeListener` that calls the hooks.

    :meth:`wants` tells the runtime which events have a hook implementation, so events
    nobody implements are not even queued (checked at each event, so plugins registered
    later are seen). With ``QSESSION_TRACE_HOOKS=1`` every event is wanted, so the trace
    shows every hook call.
    """

    _HOOKS = {
        "job_submitted": "qsession_job_submitted",
        "job_started": "qsession_job_started",
        "job_finished": "qsession_job_finished",
        "session_state_changed": "qsession_session_state_changed",
    }

    def __init__(self, pm: pluggy.PluginManager) -> None:
        self._hook = pm.hook
        self._always = os.environ.get(TRACE_ENV_VAR) == "1"

    def wants(self, method: str) -> bool:
        """True if a plugin implements the hook behind listener method ``method``."""
        name = self._HOOKS.get(method)
        return name is None or self._always or bool(getattr(self._hook, name).get_hookimpls())

    def job_submitted(self, job: Job) -> None:
        self._hook.qsession_job_submitted(job=job)

    def job_started(self, job: Job) -> None:
        self._hook.qsession_job_started(job=job)

    def job_finished(self, job: Job) -> None:
        self._hook.qsession_job_finished(job=job)

    def session_state_changed(
        self, session: SessionRecord, old: SessionState | None, new: SessionState
    ) -> None:
        self._hook.qsession_session_state_changed(session=session, old_state=old, new_state=new)
