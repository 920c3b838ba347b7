"""A clock whose time moves only when told to: deterministic, fast session tests.

The no-deadlock rule
--------------------
A caller blocked on a job (``job.result()``) whose only obstacle is virtual time - an
emulated QPU still "executing", a session waiting for its interactive window to expire -
would wait forever if nobody advanced the clock. :class:`VirtualClock` therefore has two
modes:

* ``auto_advance=True`` (the default): while a thread waits through
  :meth:`VirtualClock.wait_for` (which every ``job.wait``/``job.result`` does) and the
  runtime is *idle* - no job is being computed, no timer callback is running, no dispatch
  is in progress - the clock jumps straight to the next due event and fires it, then
  checks again. Time passes exactly as far as needed and no further, in deterministic
  event order, and a wait with ``timeout=`` times out at precisely that virtual instant.
  This is the default because the most common user code - submit, then ``result()`` -
  would otherwise hang.
* ``auto_advance=False`` (manual): time moves only through :meth:`VirtualClock.advance`.
  Use it when a test wants to look at intermediate states. A wait that cannot progress
  (runtime idle, the clock not advanced for ``stall_timeout`` real seconds) raises
  :class:`~qsession_provider.errors.ClockStalledError` instead of hanging.

"Idle" means that no :class:`~.timers.Activity` is held (see
:meth:`VirtualClock.hold`). User code outside the runtime (a classical optimiser between
two jobs) is not runtime activity: with auto-advance, time does not wait for it.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable
from datetime import datetime, timezone

from ...errors import ClockStalledError, InputError, QSessionError
from .timers import Activity, Timer, parse_duration

__all__ = ["VirtualClock", "DEFAULT_VIRTUAL_EPOCH"]

#: Where a :class:`VirtualClock` starts unless told otherwise: 2025-01-01T00:00:00Z.
DEFAULT_VIRTUAL_EPOCH = 1735689600.0


class VirtualClock:
    """Time that moves only when advanced; timers fire in order, deterministically.

    Args:
        start: initial time, POSIX seconds or an aware ``datetime``
            (default 2025-01-01T00:00:00Z, so runs are reproducible).
        auto_advance: let blocked waiters move time to the next due event while the
            runtime is idle (see the module docstring). Default True.
        stall_timeout: manual mode only: real seconds a wait may see an idle runtime and
            an unmoving clock before it raises ``ClockStalledError``; None waits forever.

    Example:
        >>> clock = VirtualClock(start=0)
        >>> fired = []
        >>> _ = clock.call_later(600, lambda: fired.append(clock.now()))
        >>> clock.advance("10m")
        600.0
        >>> fired
        [600.0]
    """

    virtual = True

    def __init__(
        self,
        start: float | datetime = DEFAULT_VIRTUAL_EPOCH,
        *,
        auto_advance: bool = True,
        stall_timeout: float | None = 60.0,
    ) -> None:
        if isinstance(start, datetime):
            if start.tzinfo is None:
                start = start.replace(tzinfo=timezone.utc)
            start = start.timestamp()
        self._now = float(start)
        self.auto_advance = bool(auto_advance)
        self.stall_timeout = stall_timeout
        self._cv = threading.Condition()
        self._heap: list[tuple[float, int, Timer]] = []
        self._seq = itertools.count()
        self._busy = 0
        self._generation = 0  # bumped whenever time moves or a timer fires
        self._waiters: dict[threading.Condition, int] = {}
        self._advance_lock = threading.Lock()
        self._local = threading.local()

    # -- reading and scheduling ----------------------------------------------------------
    def now(self) -> float:
        return self._now

    def call_at(self, when: float, callback: Callable[[], object]) -> Timer:
        timer = Timer(float(when), callback)
        with self._cv:
            heapq.heappush(self._heap, (timer.when, next(self._seq), timer))
        self._notify_waiters()
        return timer

    def call_later(self, delay: float, callback: Callable[[], object]) -> Timer:
        return self.call_at(self._now + delay, callback)

    def next_event(self) -> float | None:
        """Time of the earliest pending timer, or None."""
        with self._cv:
            self._drop_cancelled()
            return self._heap[0][0] if self._heap else None

    def pending(self) -> int:
        """Number of pending (not cancelled) timers."""
        with self._cv:
            return sum(1 for _, _, t in self._heap if not t.cancelled)

    @property
    def idle(self) -> bool:
        """True when no runtime activity is held on this clock."""
        with self._cv:
            return self._busy == 0

    # -- activity --------------------------------------------------------------------------
    def hold(self) -> Activity:
        with self._cv:
            self._busy += 1
        return Activity(self._release)

    def _release(self) -> None:
        with self._cv:
            self._busy -= 1
            idle = self._busy == 0
            if idle:
                self._cv.notify_all()
        if idle:
            self._notify_waiters()

    # -- moving time -----------------------------------------------------------------------
    def advance(self, duration: float | int | str) -> float:
        """Move time forward by ``duration`` (seconds or ``"10m"``-style), firing due timers.

        Timers fire in time order, each with :meth:`now` equal to its due time. Before each
        step the clock waits until the runtime is idle, so work started by one timer (a
        queued job starting on a freed device) is done, and its own timers are due in the
        same call if they fall inside the window. ``advance(0)`` just settles the runtime.

        Returns:
            The new time.

        Raises:
            InputError: a negative or malformed duration.
            QSessionError: called from inside a timer callback.
        """
        return self.advance_to(self._now + parse_duration(duration))

    def advance_to(self, when: float | datetime) -> float:
        """Move time forward to ``when``; see :meth:`advance`.

        Raises:
            InputError: ``when`` is in the clock's past.
        """
        if isinstance(when, datetime):
            when = when.timestamp()
        if when < self._now:
            raise InputError(f"cannot move a clock backwards (now {self._now}, asked {when})")
        self._refuse_in_callback("advance")
        with self._advance_lock:
            while True:
                with self._cv:
                    self._cv.wait_for(lambda: self._busy == 0)
                    due = self._pop_next_due(limit=when)
                    if not due:
                        if when > self._now:
                            self._now = float(when)
                            self._generation += 1
                        break
                self._fire(due)
        self._notify_waiters()
        return self._now

    def sleep(self, seconds: float | int | str) -> None:
        """Block until ``seconds`` of virtual time have passed (auto-advance applies)."""
        target = self._now + parse_duration(seconds)
        cond = threading.Condition()
        timer = self.call_at(target, _noop)
        try:
            self.wait_for(lambda: self._now >= target, None, cond)
        finally:
            timer.cancel()

    def wait_for(
        self,
        predicate: Callable[[], bool],
        timeout: float | None,
        cond: threading.Condition,
    ) -> bool:
        deadline = None if timeout is None else self._now + max(0.0, float(timeout))
        # The deadline is an event too, so auto-advance stops exactly there.
        deadline_timer = None if deadline is None else self.call_at(deadline, _noop)
        with self._cv:
            self._waiters[cond] = self._waiters.get(cond, 0) + 1
        try:
            stalled_since: float | None = None
            seen_generation = -1
            while True:
                with cond:
                    if predicate():
                        return True
                    if deadline is not None and self._now >= deadline:
                        return False
                    self._refuse_in_callback("wait")
                    with self._cv:
                        busy, generation = self._busy, self._generation
                        has_event = self._has_pending()
                    can_step = self.auto_advance and busy == 0 and has_event
                    if not can_step:
                        if not self.auto_advance and busy == 0 and self.stall_timeout is not None:
                            if generation != seen_generation:
                                seen_generation, stalled_since = generation, time.monotonic()
                            elif time.monotonic() - stalled_since > self.stall_timeout:
                                raise ClockStalledError(
                                    "waiting on a manual VirtualClock that nobody advances: the "
                                    "runtime is idle and only virtual time can make progress "
                                    f"(next event at {self.next_event()}). Call clock.advance() "
                                    "from another thread or use VirtualClock(auto_advance=True)."
                                )
                        else:
                            stalled_since, seen_generation = None, -1
                        # Notified when the runtime goes idle, a timer is added or time moves;
                        # the bounded wait is only a guard against a missed notification.
                        cond.wait(0.05)
                        continue
                self._step()
        finally:
            with self._cv:
                left = self._waiters[cond] - 1
                if left:
                    self._waiters[cond] = left
                else:
                    del self._waiters[cond]
            if deadline_timer is not None:
                deadline_timer.cancel()

    def close(self) -> None:
        with self._cv:
            self._heap.clear()

    # -- internals ---------------------------------------------------------------------------
    def _step(self) -> None:
        """Auto-advance: fire the timers at the earliest due time if the runtime is idle."""
        if not self._advance_lock.acquire(blocking=False):
            return  # someone else is moving time; they will notify us
        try:
            with self._cv:
                if self._busy:
                    return
                due = self._pop_next_due(limit=None)
            if due:
                self._fire(due)
        finally:
            self._advance_lock.release()
        self._notify_waiters()

    def _pop_next_due(self, limit: float | None) -> list[Timer]:
        """Pop the timers due at the earliest pending time (<= limit); set the time. Holds _cv.

        Returns an empty list when nothing is due. Otherwise the caller owns one unit of
        activity (the callbacks are runtime activity) and must pass the list to
        :meth:`_fire`, which releases it.
        """
        while True:
            self._drop_cancelled()
            if not self._heap or (limit is not None and self._heap[0][0] > limit):
                return []
            when = self._heap[0][0]
            due = []
            while self._heap and self._heap[0][0] == when:
                _, _, timer = heapq.heappop(self._heap)
                if not timer.cancelled:
                    due.append(timer)
            if due:  # else every timer at that time was cancelled meanwhile: look again
                break
        if when > self._now:
            self._now = when
        self._generation += 1
        self._busy += 1
        return due

    def _fire(self, due: list[Timer]) -> None:
        self._local.in_callback = True
        try:
            for timer in due:
                timer._run()
        finally:
            self._local.in_callback = False
            self._release()

    def _drop_cancelled(self) -> None:
        while self._heap and self._heap[0][2].cancelled:
            heapq.heappop(self._heap)

    def _has_pending(self) -> bool:
        self._drop_cancelled()
        return bool(self._heap)

    def _notify_waiters(self) -> None:
        with self._cv:
            conds = list(self._waiters)
        for cond in conds:
            with cond:
                cond.notify_all()

    def _refuse_in_callback(self, what: str) -> None:
        if getattr(self._local, "in_callback", False):
            raise QSessionError(
                f"cannot {what} on a VirtualClock from inside one of its timer callbacks "
                "(it would wait for itself)"
            )

    def __repr__(self) -> str:
        mode = "auto" if self.auto_advance else "manual"
        stamp = datetime.fromtimestamp(self._now, tz=timezone.utc).isoformat()
        return f"VirtualClock({stamp}, {mode}, pending={self.pending()})"


def _noop() -> None:
    """A timer that only marks a point in time (a wait deadline)."""
