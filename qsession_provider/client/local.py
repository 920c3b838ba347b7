"""The embedded runtime: :func:`open_runtime` and the timelines of this process.

How faces find their runtime (every face calls :func:`open_runtime` with the ``store=`` and
``clock=`` its user gave):

- a store path (or None: ``$QSESSION_STORE`` or the user data directory) gives the one
  runtime of that store in this process, shared by every face; the first opener's clock
  runs it, and asking for the same store with another clock raises :class:`QSessionError`;
- ``":memory:"`` gives a new private runtime each time, as an SQLite ``:memory:``
  connection is private to the object that opened it;
- a clock without a store gives that clock's own timeline: the default store's runtime if
  it already runs on this very clock, else one in-memory runtime per clock, shared by every
  face built with that clock object.

In-memory runtimes keep the last :data:`KEEP_RESULTS` results (``keep_results=``; None keeps
all): a long session in one ``":memory:"`` runtime stays bounded. A job handle still
referenced keeps its own result; an older result looked up by id raises
:class:`~qsession_provider.errors.ResultUnavailableError`. Store files keep every result.
"""

from __future__ import annotations

import atexit
import threading
import weakref
from typing import Any

import pluggy

from ..core.clock import Clock
from ..core.runtime import Executor, FairSharePolicy, Runtime, SchedulingPolicy
from ..core.runtime.runtime import registered_runtime
from ..core.store import MemoryStore, resolve_store_path
from ..errors import InputError, QSessionError
from ..plugins.manager import (
    PluginListener,
    build_device_registry,
    get_plugin_manager,
    scheduling_policy,
)

__all__ = ["KEEP_DEFAULT", "KEEP_RESULTS", "MEMORY", "open_runtime"]

#: The store name that asks for a private in-memory runtime.
MEMORY = ":memory:"
#: How many of the latest results an in-memory runtime keeps unless told otherwise.
KEEP_RESULTS = 100


class _KeepDefault:
    """The type of :data:`KEEP_DEFAULT`."""

    def __repr__(self) -> str:
        return "KEEP_DEFAULT"


#: ``keep_results`` not given: in-memory runtimes keep :data:`KEEP_RESULTS` results, store
#: files all (faces pass it on as they got it).
KEEP_DEFAULT: Any = _KeepDefault()

_TIMELINES: weakref.WeakKeyDictionary[Clock, Runtime] = weakref.WeakKeyDictionary()
_PRIVATE: weakref.WeakSet[Runtime] = weakref.WeakSet()
_LOCK = threading.Lock()


def open_runtime(
    path: str | None = None,
    *,
    clock: Clock | None = None,
    plugin_manager: pluggy.PluginManager | None = None,
    policy: SchedulingPolicy | None = None,
    work_conserving: bool | None = None,
    executor: Executor | None = None,
    keep_results: int | None = KEEP_DEFAULT,
) -> Runtime:
    """The runtime for ``path`` and ``clock``, created from plugins if needed.

    See the module docstring for which runtime a store and a clock give. Plugins are
    loaded only when a runtime is created.

    Args:
        path: store file, or a PostgreSQL store's ``postgresql://`` URL (the ``postgres``
            extra); None for the default store; ``":memory:"`` for a private one.
        clock: the clock (default: wall time).
        plugin_manager: use this manager instead of :func:`get_plugin_manager`.
        policy: the scheduling policy (default: a plugin's, else fair share).
        work_conserving: shorthand for ``FairSharePolicy(work_conserving=...)``.
        executor: where payloads are computed (default: a thread pool).
        keep_results: for an in-memory runtime, how many of the latest results it keeps
            (default :data:`KEEP_RESULTS`; None: all). Store files keep every result.

    Raises:
        InputError: both ``policy`` and ``work_conserving`` given; ``keep_results`` for a
            store file, or not None or a non-negative integer.
        QSessionError: the store's runtime exists with another clock, policy or
            ``keep_results``.
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

    keep = KEEP_RESULTS if keep_results is KEEP_DEFAULT else keep_results
    if path is not None and str(path) == MEMORY:
        runtime = _private(clock, setup, keep)
    elif path is None and clock is not None:
        shared = registered_runtime(resolve_store_path(None))
        if shared is not None and shared.clock is clock:
            runtime = shared
        else:
            with _LOCK:
                runtime = _TIMELINES.get(clock)
                if runtime is None or runtime.closed:
                    runtime = _private(clock, setup, keep)
                    _TIMELINES[clock] = runtime
    else:
        runtime = Runtime.for_store(path, clock=clock, policy=policy, setup=setup)
    if keep_results is not KEEP_DEFAULT:
        _check_keep_results(runtime, keep_results)
    if (
        work_conserving is not None
        and getattr(runtime.policy, "work_conserving", None) != work_conserving
    ):
        raise QSessionError(
            f"the runtime for store {runtime.store.location} already runs with policy "
            f"{runtime.policy!r}, not work_conserving={work_conserving}"
        )
    return runtime


def _check_keep_results(runtime: Runtime, keep_results: int | None) -> None:
    """Refuse a ``keep_results`` the runtime's store does not have (a file, another value)."""
    kept = getattr(runtime.store, "keep_results", KEEP_DEFAULT)
    if kept is KEEP_DEFAULT:
        raise InputError(
            f"keep_results={keep_results!r} is for in-memory runtimes ({MEMORY!r}); the "
            f"store {runtime.store.location} keeps every result"
        )
    if kept != keep_results:
        raise QSessionError(
            f"the runtime for store {runtime.store.location} already keeps "
            f"keep_results={kept!r}, not {keep_results!r}"
        )


def _private(clock: Clock | None, setup: Any, keep_results: int | None) -> Runtime:
    """A new runtime on a private in-memory store."""
    store = MemoryStore(keep_results=keep_results)  # checks keep_results before any setup
    runtime = Runtime(store=store, clock=clock, **setup())
    _PRIVATE.add(runtime)
    return runtime


@atexit.register
def _shutdown_private_runtimes() -> None:
    """At exit, stop the private runtimes still open (their queued jobs are cancelled)."""
    for runtime in list(_PRIVATE):
        try:
            runtime.shutdown(wait=False, cancel_pending=True)
        except Exception:  # exiting anyway
            pass
