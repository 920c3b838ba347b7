"""Replaying a trace in one mode on a private runtime with a manual virtual clock.

The recorded jobs are submitted again, in order, each no earlier than the end of the job it
waited for plus its think time; the device is the recorded one without its computation
(the timing model alone decides how long a job takes). In ``session`` mode the jobs run in
a dedicated session, in ``batch`` mode in a batch, in ``job`` mode alone; the session or
batch is closed after the last submission, as a ``with Session(...)`` block does. Scripted
faults (another tenant's load, an outage...) can be installed on each replay.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from ..core.clock import VirtualClock
from ..core.job import Job, JobStatus
from ..core.runtime import Runtime
from ..core.runtime.fault_kinds import Fault
from ..core.runtime.faults import FaultInjector
from ..core.store.memory import MemoryStore
from ..errors import QSessionError
from .report import ModeForecast, Prices
from .trace import Trace

__all__ = ["replay"]


def _no_computation(program_id: str, payload: Any) -> dict[str, Any]:
    return {}


def replay(
    trace: Trace,
    mode: str,
    *,
    prices: Prices | None = None,
    faults: Iterable[Fault] = (),
    session_options: Mapping[str, Any] | None = None,
) -> ModeForecast:
    """The figures of ``trace`` run in ``mode`` (``session``, ``batch`` or ``job``).

    Raises:
        QSessionError: the replay cannot go on (a job that never ends).
    """
    devices = [dataclasses.replace(d, execute=_no_computation) for d in trace.devices.values()]
    clock = VirtualClock(start=0, auto_advance=False)
    runtime = Runtime(devices=devices, clock=clock, store=MemoryStore(keep_results=0))
    try:
        return _replay(runtime, clock, trace, mode, prices, list(faults), session_options or {})
    finally:
        runtime.shutdown(wait=False, cancel_pending=True)
        clock.close()


def _replay(
    runtime: Runtime,
    clock: VirtualClock,
    trace: Trace,
    mode: str,
    prices: Prices | None,
    faults: list[Fault],
    options: Mapping[str, Any],
) -> ModeForecast:
    sessions: dict[str, str] = {}
    injector = FaultInjector(runtime, faults) if faults else None
    handles: list[Job | None] = []
    last_submit = 0.0
    for traced in trace.jobs:
        when = last_submit
        if traced.after is not None:
            waited = handles[traced.after]
            if waited is not None:
                _run_until(clock, waited.in_final_state)
                when = max(when, (waited.record.finished_at or clock.now()) + traced.think)
        if when > clock.now():
            clock.advance_to(when)
        session_id = None
        if mode != "job":
            session_id = sessions.get(traced.device)
            if session_id is None:
                kind = "dedicated" if mode == "session" else "batch"
                record = runtime.open_session(traced.device, mode=kind, **options)
                session_id = sessions[traced.device] = record.id
        try:
            handles.append(
                runtime.submit(
                    traced.program_id, traced.device, traced.payload, session_id=session_id
                )
            )
        except QSessionError:  # e.g. the session closed (max_time) before this job
            handles.append(None)
        last_submit = clock.now()
    for session_id in sessions.values():
        runtime.close_session(session_id)
    _run_until(clock, lambda: all(h is None or h.in_final_state() for h in handles))
    if injector is not None:
        injector.remove()
    records = [None if h is None else h.record for h in handles]
    ran = [r for r in records if r is not None and r.started_at is not None]
    job_seconds = tuple(None if r is None else r.execution_time for r in records)
    quantum = sum(s for s in job_seconds if s is not None)
    if mode == "job":
        billed = quantum
    else:
        billed = sum(runtime.session(s).usage_time for s in sessions.values())
    starts = [r.created_at for r in records if r is not None]
    ends = [r.finished_at for r in records if r is not None and r.finished_at is not None]
    shots = sum(traced.shots for traced, r in zip(trace.jobs, records) if r in ran)
    failed = sum(1 for r in records if r is None or r.status is not JobStatus.DONE)
    return ModeForecast(
        mode=mode,
        job_seconds=job_seconds,
        quantum_seconds=quantum,
        billed_seconds=billed,
        wall_seconds=(max(ends) - min(starts)) if ends and starts else 0.0,
        queued_seconds=sum((r.started_at or r.created_at) - r.created_at for r in ran),
        shots=shots,
        failed=failed,
        cost=None if prices is None else prices.cost(billed, shots, len(ran)),
    )


def _run_until(clock: VirtualClock, done: Callable[[], bool]) -> None:
    """Advance ``clock`` event by event until ``done()``."""
    while True:
        clock.advance(0)  # the runtime settles: started jobs have their end timers
        if done():
            return
        nxt = clock.next_event()
        if nxt is None:
            raise QSessionError("the replay stalled: a job never ends and nothing is scheduled")
        clock.advance_to(max(nxt, clock.now()))
