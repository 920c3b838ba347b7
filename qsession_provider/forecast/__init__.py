"""Cost and time forecast: run a workload once, see what each execution mode would count.

:func:`forecast` runs the user's unchanged workload (a script or a callable) on a virtual
clock against the emulated QPUs (:mod:`.trace`), then replays the jobs it submitted in
session, batch and job mode (:mod:`.replay`) and reports, side by side (:mod:`.report`):
quantum seconds per job, the usage each mode is billed (a session's wall time including
the think time between jobs; a batch's and job mode's quantum seconds), the wall time
including queueing, and with a user's price table the cost::

    from qsession_provider.forecast import forecast

    result = forecast("vqe.py", prices={"per_second": 1.60})
    print(result.table())

The command ``qsession forecast vqe.py`` prints the same table.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ..core.runtime.fault_kinds import Fault
from ..errors import InputError
from .replay import replay
from .report import MODES, Forecast, ModeForecast, Prices
from .trace import Trace, TracedJob, Workload, record

__all__ = [
    "MODES",
    "Forecast",
    "ModeForecast",
    "Prices",
    "Trace",
    "TracedJob",
    "forecast",
    "record",
    "replay",
]


def forecast(
    workload: Workload,
    *,
    argv: Sequence[str] = (),
    think_time: float | None = None,
    prices: Prices | Mapping[str, Any] | None = None,
    modes: Iterable[str] = MODES,
    faults: Iterable[Fault] = (),
    session_options: Mapping[str, Any] | None = None,
) -> Forecast:
    """Run ``workload`` once and forecast it in each of ``modes``.

    Args:
        workload: a script's path (run as ``__main__`` with ``argv``) or a callable of no
            arguments; its faces must use the default runtime (no ``store=``, ``clock=``
            or ``url=``).
        argv: the script's arguments.
        think_time: seconds of classical work between a job's end and the next submission
            (None: measured while the workload runs).
        prices: the user's price table (:class:`Prices` or a mapping of its fields).
        modes: which of ``session``, ``batch``, ``job`` to report.
        faults: scripted faults installed on every replay (e.g. another tenant's load, to
            see queueing); times count from the first submission.
        session_options: passed to ``open_session`` (e.g. ``interactive_ttl``, ``max_ttl``).

    Raises:
        InputError: an unknown mode, bad prices, a workload that submitted nothing.
        QSessionError: the workload failed.
    """
    chosen = list(modes)
    unknown = [m for m in chosen if m not in MODES]
    if unknown or not chosen:
        raise InputError(f"modes must be some of {', '.join(MODES)}, got {chosen!r}")
    table = Prices.coerce(prices)
    faults = list(faults)
    trace = record(workload, argv=argv, think_time=think_time)
    results = {
        mode: replay(trace, mode, prices=table, faults=faults, session_options=session_options)
        for mode in chosen
    }
    notes = []
    if think_time is None:
        notes.append("think time between jobs: as measured while the workload ran")
    return Forecast(trace.jobs, results, table, tuple(notes))
