"""What instances may do: plans, usage limits and reservations, as the scheduler enforces them.

The scheduler holds one :class:`Allowances` when the runtime was given instance plans or
reservations (``Runtime(plans=..., reservations=...)``), and asks it, under the runtime lock:

- at submission (:meth:`Allowances.check_submit`): an instance that has met its usage limit
  gets :class:`~qsession_provider.errors.UsageLimitError` with the service's words;
- when a session opens (:meth:`Allowances.check_session`): a dedicated session on the
  ``open`` plan is :class:`~qsession_provider.errors.PlanError` (the faces run its jobs in
  job mode instead, with the service's warning);
- before a job starts (:meth:`Allowances.refusal`): during a reservation only the reserving
  instance's jobs start on the device; a job of an instance over its limit fails;
- when a job ends (:meth:`Allowances.charge`): its device seconds count against its
  instance's limit; reaching it fails the instance's queued jobs at once.

Usage is the modelled device time of finished jobs (``finished_at - started_at``, the
quantum seconds the cloud bills) within the plan's rolling period, on the runtime's clock.
A reservation's end fails the reserving instance's session jobs still queued on the device
(the seed's warning); its job-mode jobs go back to fair share.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable, Iterable, Mapping

from ...errors import InputError, PlanError, UsageLimitError
from ..clock import Timer
from ..plans import OPEN_PLAN_SESSIONS, USAGE_LIMIT_MET, InstancePlan, Reservation
from ..session import SessionMode
from .context import RuntimeContext
from .queues import QueuedJob

__all__ = ["Allowances", "WAIT"]

#: :meth:`Allowances.refusal`'s answer for a job that must wait (a reservation holds it).
WAIT = "wait"

_DEFAULT_PLAN = InstancePlan()


class Allowances:
    """Plans, limits and reservations of one runtime (see the module docstring).

    Args:
        ctx: the runtime's context (clock, lock).
        plans: plan per instance; other instances have the default (``premium``, no limit).
        reservations: device reservations.
        on_window: called (lock held) with a reservation when its window opens and when it
            closes, so the scheduler can start the right jobs and end what must end.

    Raises:
        InputError: two reservations of one device overlap, or a plan is not an
            :class:`~qsession_provider.core.plans.InstancePlan`.
    """

    def __init__(
        self,
        ctx: RuntimeContext,
        plans: Mapping[str, InstancePlan],
        reservations: Iterable[Reservation],
        on_window: Callable[[Reservation, bool], None],
    ) -> None:
        for instance, plan in plans.items():
            if not isinstance(plan, InstancePlan):
                raise InputError(f"the plan of instance {instance!r} must be an InstancePlan")
        self.ctx = ctx
        self.plans = dict(plans)
        self.reservations: list[Reservation] = []
        self._on_window = on_window
        self._used: dict[str, deque[tuple[float, float]]] = {}
        self._timers: list[Timer] = []
        for reservation in reservations:
            self.reserve(reservation)

    # -- plans and limits ----------------------------------------------------------------
    def plan(self, instance: str) -> InstancePlan:
        """The plan of ``instance`` (the default plan if none was given)."""
        return self.plans.get(instance, _DEFAULT_PLAN)

    def used(self, instance: str, now: float) -> float:
        """Quantum seconds ``instance`` used within its plan's period up to ``now``."""
        entries = self._used.get(instance)
        if not entries:
            return 0.0
        since = now - self.plan(instance).period
        while entries and entries[0][0] <= since:
            entries.popleft()
        return sum(seconds for _, seconds in entries)

    def over_limit(self, instance: str, now: float) -> bool:
        """True once ``instance`` has used all its limit for the period."""
        limit = self.plan(instance).usage_limit
        return limit is not None and self.used(instance, now) >= limit

    def limit_message(self, instance: str, now: float) -> str:
        """The service's words, with the figures."""
        plan = self.plan(instance)
        return (
            f"{USAGE_LIMIT_MET} Instance {instance!r} used {self.used(instance, now):g} of its "
            f"{plan.usage_limit:g} quantum seconds in the last {plan.period:g} s."
        )

    def check_submit(self, instance: str, now: float) -> None:
        """Refuse new work of an instance over its limit.

        Raises:
            UsageLimitError: the instance has met its usage limit.
        """
        if self.over_limit(instance, now):
            raise UsageLimitError(self.limit_message(instance, now))

    def check_session(self, instance: str, mode: SessionMode) -> None:
        """Refuse session execution mode where the plan has none.

        Raises:
            PlanError: a dedicated session for an instance on the ``open`` plan.
        """
        if mode is SessionMode.DEDICATED and not self.plan(instance).sessions_allowed:
            raise PlanError(OPEN_PLAN_SESSIONS)

    def charge(self, instance: str, seconds: float, now: float) -> bool:
        """Count ``seconds`` of device time for ``instance``; True if that met its limit."""
        if seconds <= 0 or self.plan(instance).usage_limit is None:
            return False
        before = self.over_limit(instance, now)
        self._used.setdefault(instance, deque()).append((now, seconds))
        return not before and self.over_limit(instance, now)

    def load(self, instance: str, finished: Iterable[tuple[float, float]]) -> None:
        """Seed the usage of ``instance`` from stored jobs: ``(finished_at, seconds)``."""
        entries = self._used.setdefault(instance, deque())
        entries.extend(sorted((t, s) for t, s in finished if s > 0))

    # -- reservations --------------------------------------------------------------------
    def reserve(self, reservation: Reservation) -> None:
        """Add a reservation and arm its window's timers.

        Raises:
            InputError: it overlaps another reservation of the same device.
        """
        if not isinstance(reservation, Reservation):
            raise InputError(f"not a Reservation: {reservation!r}")
        for other in self.reservations:
            if other.device == reservation.device and (
                reservation.start < other.end and other.start < reservation.end
            ):
                raise InputError(
                    f"the reservation of {reservation.device} for {reservation.instance!r} "
                    f"({reservation.start:g}-{reservation.end:g}) overlaps the one for "
                    f"{other.instance!r} ({other.start:g}-{other.end:g})"
                )
        self.reservations.append(reservation)
        call = self.ctx.clock.call_at
        self._timers.append(call(reservation.start, lambda: self._window(reservation, True)))
        self._timers.append(call(reservation.end, lambda: self._window(reservation, False)))

    def reserved_for(self, device: str, now: float) -> str | None:
        """The instance holding a reservation of ``device`` at ``now``, or None."""
        for reservation in self.reservations:
            if reservation.device == device and reservation.covers(now):
                return reservation.instance
        return None

    def refusal(self, entry: QueuedJob, device: str, now: float) -> str | None:
        """Why ``entry`` may not start now: :data:`WAIT` (another instance's reservation),
        a message (its instance is over its limit: the job fails), or None (it may start)."""
        record = entry.job.record
        if not record.system:
            holder = self.reserved_for(device, now)
            if holder is not None and holder != record.instance:
                return WAIT
        if self.over_limit(record.instance, now):
            return self.limit_message(record.instance, now)
        return None

    def close(self) -> None:
        """Cancel the reservation timers (the runtime is shutting down)."""
        for timer in self._timers:
            timer.cancel()
        self._timers.clear()

    def _window(self, reservation: Reservation, opens: bool) -> None:
        with self.ctx.locked():
            self._on_window(reservation, opens)
