"""Runtime process records: who owns which jobs in a shared store, and who is gone.

Each runtime registers a :class:`ProcessRecord` in its store: a random owner id, the pid,
the host, a start token and a heartbeat. Jobs and sessions carry the owner id. When a
store is opened, and then at every heartbeat of each live runtime, records of processes
that are gone are swept: their unfinished jobs become ERROR (``orphaned``) and their open
sessions close (``owner_exited``).

A process counts as gone when, on the same host,

* Linux: ``/proc/<pid>`` is missing or the process there started at another time
  (the start token is the kernel's start time, so a recycled pid is not mistaken);
* other POSIX systems: ``os.kill(pid, 0)`` reports no such process;

and, on another host or on Windows, when its heartbeat is older than ``stale_after``.
Heartbeats are real (wall-clock) time, whatever clock the runtime itself uses.

Each record also names the runtime's clock (:func:`clock_id`): ``"real"`` for wall time
(one timeline for every process), ``"virtual:<id>"`` for a virtual clock (a timeline of
its own). The jobs and sessions of a store carry that clock's times, so a runtime refuses
to share a store with a live process on another timeline (:func:`check_same_clock`):
their timestamps would mix, and each would read the other's timers against the wrong
time. Records without a clock (written by older versions) are not checked.
"""

from __future__ import annotations

import os
import socket
import sys
import threading
import uuid
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from ...errors import QSessionError
from ..clock import Clock, RealClock, Timer

__all__ = [
    "ProcessRecord",
    "check_same_clock",
    "clock_id",
    "current_process",
    "is_process_alive",
    "Heartbeat",
    "HEARTBEAT_INTERVAL",
    "STALE_AFTER",
]

#: Seconds between heartbeats.
HEARTBEAT_INTERVAL = 10.0
#: A heartbeat older than this marks a process on another host (or on Windows) as gone.
STALE_AFTER = 120.0


@dataclass(frozen=True)
class ProcessRecord:
    """One runtime process registered in a store.

    Attributes:
        id: owner id written on the jobs and sessions it accepts (unique per runtime).
        pid: operating-system process id.
        hostname: host the process runs on.
        start_token: identifies this incarnation of ``pid`` (Linux start time), or "".
        started_at: wall-clock registration time.
        heartbeat: wall-clock time of the last heartbeat.
        clock: the runtime's timeline (:func:`clock_id`), or "" if unknown.
    """

    id: str
    pid: int
    hostname: str
    start_token: str
    started_at: float
    heartbeat: float
    clock: str = ""


#: Timeline ids of the virtual clocks of this process (one per clock object).
_TIMELINES: weakref.WeakKeyDictionary[object, str] = weakref.WeakKeyDictionary()
_TIMELINES_LOCK = threading.Lock()


def clock_id(clock: Clock | None) -> str:
    """The timeline of ``clock``: ``"real"`` for wall time (None: a runtime's default
    clock), else ``"<kind>:<id>"`` with an id unique to this clock object."""
    if clock is None or isinstance(clock, RealClock):
        return "real"
    kind = type(clock).__name__.removesuffix("Clock").lower() or "clock"
    with _TIMELINES_LOCK:
        try:
            known = _TIMELINES.get(clock)
        except TypeError:  # not weak-referenceable: an id for this call only
            return f"{kind}:{uuid.uuid4().hex[:12]}"
        if known is None:
            known = _TIMELINES[clock] = f"{kind}:{uuid.uuid4().hex[:12]}"
        return known


def check_same_clock(
    own: ProcessRecord,
    others: Iterable[ProcessRecord],
    location: str,
    alive: Callable[[ProcessRecord], bool] | None = None,
) -> None:
    """Refuse to share the store at ``location`` with a live process on another clock.

    Raises:
        QSessionError: naming the other process (pid, host) and both clocks.
    """
    if not own.clock:
        return
    is_alive = alive if alive is not None else is_process_alive
    for other in others:
        if other.id == own.id or not other.clock or other.clock == own.clock:
            continue
        if is_alive(other):
            raise QSessionError(
                f"the store at {location} is in use by process {other.pid} on "
                f"{other.hostname} with clock {other.clock!r}; this runtime's clock is "
                f"{own.clock!r}. Processes sharing a store must share one timeline (all on "
                "real time): use another store, or the same clock"
            )


def _start_token(pid: int) -> str | None:
    """The kernel start time of ``pid`` on Linux, "" elsewhere, None if no such process."""
    if not sys.platform.startswith("linux"):
        return ""
    try:
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as fh:
            stat = fh.read()
    except OSError:
        return None
    # The command name (field 2) may contain spaces and parentheses: split after the last ')'.
    fields = stat[stat.rfind(")") + 2 :].split()
    if fields and fields[0] in ("Z", "X"):
        return None  # a zombie (exited, not yet reaped) or dead process
    return fields[19] if len(fields) > 19 else ""


def current_process(clock: Clock | None = None) -> ProcessRecord:
    """A fresh record for this process on ``clock`` (new owner id on every call)."""
    now = RealClock().now()
    pid = os.getpid()
    return ProcessRecord(
        id=uuid.uuid4().hex,
        pid=pid,
        hostname=socket.gethostname(),
        start_token=_start_token(pid) or "",
        started_at=now,
        heartbeat=now,
        clock=clock_id(clock),
    )


def is_process_alive(
    record: ProcessRecord, *, now: float | None = None, stale_after: float = STALE_AFTER
) -> bool:
    """Best judgement whether the process behind ``record`` still runs (see module doc)."""
    now = RealClock().now() if now is None else now
    same_host = record.hostname == socket.gethostname()
    if same_host and record.pid == os.getpid():
        return record.start_token == (_start_token(record.pid) or "")
    if same_host and sys.platform.startswith("linux"):
        token = _start_token(record.pid)
        return token is not None and (not record.start_token or token == record.start_token)
    if same_host and os.name == "posix":
        try:
            os.kill(record.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            return True
        return True
    return now - record.heartbeat <= stale_after


class Heartbeat:
    """Calls ``beat()`` every ``interval`` seconds of ``clock`` until stopped.

    The beats are timers of ``clock``: by default a private
    :class:`~qsession_provider.core.clock.RealClock` (one daemon thread, closed by
    :meth:`stop`); tests pass a :class:`~qsession_provider.core.clock.VirtualClock` and
    advance it. A beat that raises is skipped (a busy or closed store must not stop the
    beating).
    """

    def __init__(
        self,
        beat: Callable[[], object],
        interval: float = HEARTBEAT_INTERVAL,
        clock: Clock | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"the heartbeat interval must be > 0 seconds, got {interval!r}")
        self._beat = beat
        self._interval = interval
        self._own_clock = clock is None
        self._clock: Clock = clock if clock is not None else RealClock()
        self._lock = threading.Lock()
        self._stopped = False
        self._timer: Timer | None = None

    def start(self) -> None:
        """Start beating (the first beat comes one interval from now)."""
        self._schedule()

    def stop(self) -> None:
        """Stop beating (idempotent); a beat already under way finishes."""
        with self._lock:
            self._stopped = True
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        if self._own_clock:
            self._clock.close()

    def _schedule(self) -> None:
        with self._lock:
            if not self._stopped:
                self._timer = self._clock.call_later(self._interval, self._tick)

    def _tick(self) -> None:
        if self._stopped:
            return
        try:
            self._beat()
        except Exception:  # a busy or closed store must not stop the beating
            pass
        self._schedule()
