"""What the runtime's parts share: one lock, the clock, the store, events, deferred work.

The scheduler and the session rules change state only under :attr:`RuntimeContext.lock`.
Anything that must not run under it - handing a job to the executor, calling listeners
and done-callbacks - is deferred with :meth:`RuntimeContext.after_unlock` and runs when
the outermost :meth:`RuntimeContext.locked` block exits, in the same order it was posted.
"""

from __future__ import annotations

import threading
from collections.abc import Callable

from ..clock import Clock
from ..store.protocol import Store
from .events import EventEmitter

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

    def locked(self) -> _Locked:
        """Hold the runtime lock; on the outermost exit run deferred work, then events.

        (A small class rather than a generator context manager: it is entered several
        times per job.) If the block raises, deferred work waits for the next exit.
        """
        return _Locked(self)

    def owned(self) -> bool:
        """True if this thread is inside :meth:`locked` or running deferred work."""
        local = self._local
        return getattr(local, "depth", 0) > 0 or getattr(local, "flushing", False)

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


class _Locked:
    """The context manager of :meth:`RuntimeContext.locked`."""

    __slots__ = ("_ctx", "_depth")

    def __init__(self, ctx: RuntimeContext) -> None:
        self._ctx = ctx
        self._depth = 0

    def __enter__(self) -> None:
        local = self._ctx._local
        depth = self._depth = getattr(local, "depth", 0)
        local.depth = depth + 1
        try:
            self._ctx.lock.acquire()
        except BaseException:
            local.depth = depth
            raise

    def __exit__(self, exc_type: object, exc: object, tb: object) -> None:
        ctx = self._ctx
        ctx.lock.release()
        ctx._local.depth = self._depth
        if self._depth == 0 and exc_type is None:
            ctx.flush()
