"""Hook specifications: every hook a ``qsession_provider`` plugin can implement.

A plugin is a module or object with functions marked by :data:`hookimpl`, registered
through the ``qsession_provider`` entry-point group::

    # pyproject.toml of the plugin's distribution
    [project.entry-points.qsession_provider]
    my_devices = "my_package.qsession_plugin"

    # my_package/qsession_plugin.py
    from qsession_provider.plugins import hookimpl
    from qsession_provider.core.device import Device

    @hookimpl
    def qsession_register_devices(registry):
        registry.register(Device("my_qpu", 5, my_execute, slots=1))

Hooks are grouped by lifecycle below. Implementations may take any subset of a hook's
arguments, by name. The built-in devices use exactly this mechanism
(:mod:`qsession_provider.plugins.builtin`, registered as ``"builtin"``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pluggy

if TYPE_CHECKING:
    from ..core.device import Device, DeviceRegistry
    from ..core.job import Job
    from ..core.runtime.policies import SchedulingPolicy
    from ..core.session import SessionRecord, SessionState

__all__ = ["PROJECT_NAME", "hookspec", "hookimpl"]

#: The pluggy project name; hooks are named ``qsession_*``.
PROJECT_NAME = "qsession_provider"

#: Marks a hook specification (this module only).
hookspec = pluggy.HookspecMarker(PROJECT_NAME)
#: Marks a hook implementation (what plugins use).
hookimpl = pluggy.HookimplMarker(PROJECT_NAME)


# ---------------------------------------------------------------------------------------
# Devices
# ---------------------------------------------------------------------------------------


@hookspec
def qsession_register_devices(registry: DeviceRegistry) -> None:
    """Register devices (backends) with the runtime.

    Called once for each plugin when a runtime is created from a plugin manager
    (:func:`qsession_provider.client.open_runtime`), in pluggy's usual order (plugins
    registered later run first).

    Args:
        registry: call ``registry.register(device)`` with each
            :class:`~qsession_provider.core.device.Device`. A name that is already
            taken raises :class:`~qsession_provider.errors.PluginError`; pass
            ``replace=True`` to override a device on purpose.

    Returns:
        Nothing; the return value is ignored.
    """


# ---------------------------------------------------------------------------------------
# Scheduling
# ---------------------------------------------------------------------------------------


@hookspec(firstresult=True)
def qsession_scheduling_policy(devices: list[Device]) -> SchedulingPolicy | None:
    """Provide the scheduling policy of a new runtime.

    ``firstresult``: the first implementation that returns something other than None
    wins. Not called when the caller passes a policy explicitly. When no plugin answers,
    the runtime uses :class:`~qsession_provider.core.runtime.policies.FairSharePolicy`.

    Args:
        devices: the devices the runtime will serve.

    Returns:
        An object implementing
        :class:`~qsession_provider.core.runtime.policies.SchedulingPolicy`, or None.
    """


# ---------------------------------------------------------------------------------------
# Job lifecycle (observers)
# ---------------------------------------------------------------------------------------


@hookspec
def qsession_job_submitted(job: Job) -> None:
    """A job was accepted and queued.

    Called after the runtime released its lock, in event order, from a runtime thread.
    Observers must be quick and must not wait for jobs; exceptions are logged and
    otherwise ignored.

    Args:
        job: the job handle (read its ``record`` for a consistent snapshot).
    """


@hookspec
def qsession_job_started(job: Job) -> None:
    """A job began executing on its device (same calling rules as submitted).

    Args:
        job: the job handle.
    """


@hookspec
def qsession_job_finished(job: Job) -> None:
    """A job reached DONE, ERROR or CANCELLED (same calling rules as submitted).

    Args:
        job: the job handle; ``job.error_code`` says why a job failed or was cancelled.
    """


# ---------------------------------------------------------------------------------------
# Session lifecycle (observers)
# ---------------------------------------------------------------------------------------


@hookspec
def qsession_session_state_changed(
    session: SessionRecord, old_state: SessionState | None, new_state: SessionState
) -> None:
    """A session or batch changed state (same calling rules as the job hooks).

    Args:
        session: the session record right after the change.
        old_state: the previous state, or None when the session was just opened.
        new_state: the new state (``open``, ``active``, ``inactive``, ``draining``,
            ``closed``).
    """
