"""What the runtime's parts share: one lock, the clock, the store, events, deferred work.

The scheduler and the session rules change state only under :attr:`RuntimeContext.lock`.
Anything that must not run under it - handing a job to the executor, calling listeners
and done-callbacks - is deferred with :meth:`RuntimeContext.after_unlock` and runs when
the outermost :meth:`RuntimeContext.locked` block exits, in the same order it was posted.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Iterator

from .clock import Clock
from .events import EventEmitter
from .store import Store

__all__ = ["RuntimeContext"]


class RuntimeContext:
    """Shared state of one runtime (internal).

    Args:
        clock: the runtime clock.
        store: the runtime store.
        emitter: the event emitter.
        owner: this runtime's process-record id (written on jobs and sessions).
    """

    def __init__(self, clock: Clock, store: Store, emitter: EventEmitter, owner: str) -> None:
        self.clock = clock
        self.store = store
        self.emitter = emitter
        self.owner = owner
        self.lock = threading.RLock()
        self._deferred: list[Callable[[], object]] = []
        self._local = threading.local()

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the runtime lock; on the outermost exit run deferred work, then events."""
        local = self._local
        depth = getattr(local, "depth", 0)
        local.depth = depth + 1
        try:
            with self.lock:
                yield
        finally:
            local.depth = depth
        if depth == 0:
            self.flush()

    def after_unlock(self, fn: Callable[[], object]) -> None:
        """Run ``fn()`` once the lock is released (call with the lock held)."""
        self._deferred.append(fn)

    def flush(self) -> None:
        """Run deferred work and deliver events, iteratively (never recursively).

        Deferred work may itself defer more (an inline executor finishing a job at once
        starts the next one); the loop picks it up instead of recursing.
        """
        local = self._local
        if getattr(local, "flushing", False):
            return
        local.flushing = True
        try:
            while True:
                with self.lock:
                    batch, self._deferred = self._deferred, []
                if not batch:
                    break
                for fn in batch:
                    fn()
            self.emitter.drain()
        finally:
            local.flushing = False
