"""Lifecycle events: the listener protocol the runtime calls, and the ordered emitter.

The core does not import pluggy: ``plugins/manager.py`` wraps the plugin hooks in a
:class:`RuntimeListener`. Listeners are called in event order, never while the runtime
holds its lock, from whichever runtime thread drains the queue; an exception in a
listener is logged and does not disturb the runtime. Listeners must not block waiting
for jobs.
"""

from __future__ import annotations

import logging
import threading
from collections import deque
from collections.abc import Callable, Iterable
from typing import Protocol, runtime_checkable

from ..job import Job
from ..session import SessionRecord, SessionState

__all__ = ["RuntimeListener", "EventEmitter"]

_log = logging.getLogger(__name__)


@runtime_checkable
class RuntimeListener(Protocol):
    """Observer of job and session lifecycles. Implement only what you need.

    Every method is optional: the runtime looks each one up and skips missing ones. A
    listener may also have ``wants(method: str) -> bool``: events for which it returns
    False are not queued for it (the plugin listener skips hooks nobody implements).
    """

    def job_submitted(self, job: Job) -> None:
        """A job was accepted and queued."""

    def job_started(self, job: Job) -> None:
        """A job began executing on its device."""

    def job_finished(self, job: Job) -> None:
        """A job reached DONE, ERROR or CANCELLED."""

    def session_state_changed(
        self, session: SessionRecord, old: SessionState | None, new: SessionState
    ) -> None:
        """A session changed state (``old`` is None when it was just opened)."""


class EventEmitter:
    """Queues events under the runtime lock; delivers them in order after it is released.

    The runtime calls :meth:`post` while holding its lock and :meth:`drain` after
    releasing it. Whichever thread drains delivers everything queued so far, so order is
    global and a listener that calls back into the runtime cannot re-enter delivery.
    """

    def __init__(self, listeners: Iterable[object] = ()) -> None:
        self._listeners: list[object] = list(listeners)
        self._queue: deque[Callable[[], object]] = deque()
        self._delivering = threading.Lock()

    def add_listener(self, listener: object) -> None:
        """Add a listener (any object with some of the :class:`RuntimeListener` methods)."""
        self._listeners = [*self._listeners, listener]

    def remove_listener(self, listener: object) -> None:
        """Remove a listener added before."""
        self._listeners = [x for x in self._listeners if x is not listener]

    @property
    def has_listeners(self) -> bool:
        """True if any listener is registered."""
        return bool(self._listeners)

    def post(self, method: str, *args: object) -> None:
        """Queue ``listener.<method>(*args)`` for every listener.

        A listener with a ``wants(method) -> bool`` method (as the plugin listener has)
        is skipped when it returns False.
        """
        for listener in self._listeners:
            fn = getattr(listener, method, None)
            if fn is None:
                continue
            wants = getattr(listener, "wants", None)
            if wants is None or wants(method):
                self._queue.append(_bind(fn, args))

    def post_call(self, fn: Callable[[], object]) -> None:
        """Queue an arbitrary callback (job done-callbacks)."""
        self._queue.append(fn)

    def drain(self) -> None:
        """Deliver queued events in order unless another thread is already delivering."""
        while self._queue:
            if not self._delivering.acquire(blocking=False):
                return  # the delivering thread re-checks the queue before it stops
            try:
                while self._queue:
                    fn = self._queue.popleft()
                    try:
                        fn()
                    except Exception:
                        _log.exception("runtime listener %r failed", fn)
            finally:
                self._delivering.release()


def _bind(fn: Callable[..., object], args: tuple[object, ...]) -> Callable[[], object]:
    return lambda: fn(*args)
