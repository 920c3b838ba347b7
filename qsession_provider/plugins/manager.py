"""Building plugin managers and runtimes from plugins. Nothing happens at import time.

:func:`get_plugin_manager` adds the hook specifications, registers the built-in devices
under the name ``"builtin"`` (as any third-party plugin would register) and loads the
``qsession_provider`` entry-point group. Set ``QSESSION_TRACE_HOOKS=1`` to print every
hook call to stderr. :func:`open_runtime` is how faces get the shared runtime of a store.
"""

from __future__ import annotations

import os
import sys
from typing import Any

import pluggy

from ..core.clock import Clock
from ..core.device import Device, DeviceRegistry
from ..core.executors import Executor
from ..core.job import Job
from ..core.policies import FairSharePolicy, SchedulingPolicy
from ..core.runtime import Runtime
from ..core.session import SessionRecord, SessionState
from ..errors import InputError, PluginError, QSessionError
from . import hookspecs

__all__ = [
    "ENTRY_POINT_GROUP",
    "TRACE_ENV_VAR",
    "get_plugin_manager",
    "build_device_registry",
    "scheduling_policy",
    "PluginListener",
    "open_runtime",
]

#: Entry-point group third-party plugins register under.
ENTRY_POINT_GROUP = "qsession_provider"
#: Set to ``1`` to trace hook calls to stderr.
TRACE_ENV_VAR = "QSESSION_TRACE_HOOKS"


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
    """A :class:`~qsession_provider.core.events.RuntimeListener` that calls the hooks.

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


def open_runtime(
    path: str | None = None,
    *,
    clock: Clock | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    policy: SchedulingPolicy | None = None,
    work_conserving: bool | None = None,
    executor: Executor | None = None,
) -> Runtime:
    """The shared runtime of the store at ``path``, created from plugins if needed.

    Everything opened on the same store in one process shares this runtime (see
    :meth:`~qsession_provider.core.runtime.Runtime.for_store` for how the clock and the
    store combine). Plugins are loaded only when the runtime is created.

    Args:
        path: store file (None: ``$QSESSION_STORE`` or the user data directory;
            ``":memory:"``: an in-memory store shared within the process).
        clock: the clock (default: wall time).
        plugin_manager: use this manager instead of :func:`get_plugin_manager`.
        policy: the scheduling policy (default: a plugin's, else fair share).
        work_conserving: shorthand for ``FairSharePolicy(work_conserving=...)``.
        executor: where payloads are computed (default: a thread pool).

    Raises:
        InputError: both ``policy`` and ``work_conserving`` given.
        QSessionError: the store's runtime exists with another clock or policy.
        PluginError: a plugin failed.
    """
    if policy is not None and work_conserving is not None:
        raise InputError("pass either policy or work_conserving, not both")

    def setup() -> dict[str, Any]:
        pm = plugin_manager if plugin_manager is not None else get_plugin_manager()
        devices = build_device_registry(pm)
        chosen = policy or scheduling_policy(pm, list(devices))
        if chosen is None:
            chosen = FairSharePolicy(work_conserving=bool(work_conserving))
        return {
            "devices": devices,
            "listeners": [PluginListener(pm)],
            "policy": chosen,
            "executor": executor,
        }

    runtime = Runtime.for_store(path, clock=clock, policy=policy, setup=setup)
    if (
        work_conserving is not None
        and getattr(runtime.policy, "work_conserving", None) != work_conserving
    ):
        raise QSessionError(
            f"the runtime for store {runtime.store.location} already runs with policy "
            f"{runtime.policy!r}, not work_conserving={work_conserving}"
        )
    return runtime
