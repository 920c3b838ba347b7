"""``qsession serve``: one process owning the runtime, served on uvicorn until a signal.

:func:`build_runtime` opens the store's runtime with the devices and policy of the
installed plugins, adopting the work a previous server left (``adopt_orphans=True``: its
queued jobs run, its running jobs re-run if deterministic). :func:`serve` runs the app,
prints ``qsession serve: listening on http://HOST:PORT`` once it accepts connections, and
on SIGINT or SIGTERM stops: long-polls are ended, uvicorn finishes the requests in flight,
then ``runtime.shutdown(keep_queued=True)`` leaves queued jobs queued in the store for the
next start, and the process exits 0.
"""

from __future__ import annotations

import contextlib
import logging
import signal
import sys
import threading
from collections.abc import Generator, Mapping
from types import FrameType
from typing import Any

import uvicorn

from ..core.calibrations import CalibrationSchedule
from ..core.clock import DEFAULT_VIRTUAL_EPOCH, Clock, VirtualClock
from ..core.runtime import Executor, FairSharePolicy, Runtime
from ..core.store import resolve_store_path
from ..core.store.postgres_open import open_store
from ..core.store.protocol import JobQuery, SessionQuery
from ..plugins.manager import (
    PluginListener,
    build_device_registry,
    get_plugin_manager,
    scheduling_policy,
)
from .app import DEFAULT_MAX_BODY, DEFAULT_MAX_QUEUED, create_app

__all__ = ["build_runtime", "serve", "SHUTDOWN_TIMEOUT"]

_log = logging.getLogger("qsession_provider.server")

#: Clock seconds a stopping server waits for running jobs before failing them.
SHUTDOWN_TIMEOUT = 30.0
#: Real seconds uvicorn waits for requests in flight once stopping.
GRACEFUL_SECONDS = 5


def _latest_time(path: str) -> float:
    """The latest time written on the newest job and session of the store (0 if none)."""
    store = open_store(path)
    try:
        records: list[Any] = [
            *store.query_jobs(JobQuery(limit=1)),
            *store.query_sessions(SessionQuery(limit=1)),
        ]
    finally:
        store.close()
    times = [0.0]
    for record in records:
        for name in ("created_at", "started_at", "finished_at", "closed_at", "last_job_completed"):
            value = getattr(record, name, None)
            if isinstance(value, (int, float)):
                times.append(float(value))
    return max(times)


def build_runtime(
    store: str | None = None, *, virtual_clock: bool = False, executor: Executor | None = None
) -> Runtime:
    """The runtime a server serves: the store's, with the plugins' devices and policy.

    Args:
        store: store path (None: ``$QSESSION_STORE`` or the user data directory).
        virtual_clock: run on a :class:`VirtualClock` with auto-advance (administrators may
            move it); it starts where the store's newest records left off, so a restarted
            server's times continue.
        executor: where jobs are computed (default: a thread pool; ``--dask``: a
            :class:`~qsession_provider.core.runtime.dask_executor.DaskExecutor`).
    """
    path = resolve_store_path(store)
    clock: Clock | None = None
    if virtual_clock:
        clock = VirtualClock(max(DEFAULT_VIRTUAL_EPOCH, _latest_time(path)))
    pm = get_plugin_manager()
    devices = build_device_registry(pm)
    policy = scheduling_policy(pm, list(devices)) or FairSharePolicy()
    return Runtime.for_store(
        path,
        clock=clock,
        policy=policy,
        devices=devices,
        listeners=[PluginListener(pm)],
        executor=executor,
        adopt_orphans=True,
    )


class _Server(uvicorn.Server):
    """uvicorn's server, printing its URL once ready and stopping quietly on a signal."""

    def __init__(self, config: uvicorn.Config, on_stop: Any) -> None:
        super().__init__(config)
        self._on_stop = on_stop

    async def startup(self, sockets: Any = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.servers:
            host, port = self.servers[0].sockets[0].getsockname()[:2]
            shown = f"[{host}]" if ":" in host else host
            print(f"qsession serve: listening on http://{shown}:{port}", flush=True)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        self._on_stop()
        super().handle_exit(sig, frame)

    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        # As uvicorn's, without raising the signal again afterwards: a signal is how this
        # server is asked to stop, and a clean stop exits 0.
        if threading.current_thread() is not threading.main_thread():
            yield
            return
        signals = (signal.SIGINT, signal.SIGTERM)
        original = {sig: signal.signal(sig, self.handle_exit) for sig in signals}
        try:
            yield
        finally:
            for sig, handler in original.items():
                signal.signal(sig, handler)


def serve(
    *,
    host: str = "127.0.0.1",
    port: int = 8765,
    store: str | None = None,
    virtual_clock: bool = False,
    max_body: int = DEFAULT_MAX_BODY,
    max_queued: int = DEFAULT_MAX_QUEUED,
    log_level: str = "info",
    dask: str | None = None,
    dask_slots: int | None = None,
    calibrations: Mapping[str, CalibrationSchedule] | None = None,
) -> int:
    """Serve the store's runtime until SIGINT or SIGTERM; returns the exit status (0).

    Args:
        host: interface to listen on.
        port: TCP port (0: a free one, printed).
        store: store path (see :func:`build_runtime`).
        virtual_clock: run on a virtual clock administrators can advance.
        max_body: largest request body in bytes.
        max_queued: most queued or running jobs per user.
        log_level: ``debug`` logs one line per request.
        dask: a Dask scheduler's address: jobs are computed on its workers.
        dask_slots: jobs of each simulator device that may run on the cluster at once.
        calibrations: periodic calibrations per QPU device.
    """
    level = getattr(logging, log_level.upper())
    logging.basicConfig(
        level=level, stream=sys.stderr, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    logging.getLogger("qsession_provider").setLevel(level)
    executor = None
    if dask is not None:
        from ..core.runtime.dask_executor import DaskExecutor

        executor = DaskExecutor(dask, slots=dask_slots)
        workers = executor.prepare_workers()
        _log.info("computing jobs on the Dask cluster at %s (%d workers)", dask, len(workers))
    runtime = build_runtime(store, virtual_clock=virtual_clock, executor=executor)
    for device, schedule in (calibrations or {}).items():
        runtime.schedule_calibrations(device, schedule)
    orphans = getattr(runtime, "orphans", None)
    if orphans is not None and any(vars(orphans).values()):
        _log.info("took over the work of stopped processes: %s", orphans)
    app = create_app(runtime, max_body=max_body, max_queued_per_user=max_queued)
    state = app.state.qsession
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level=level,
        log_config=None,
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=GRACEFUL_SECONDS,
        server_header=False,
    )
    server = _Server(config, on_stop=state.waits.stop)
    try:
        server.run()
    finally:
        state.waits.stop()
        state.executor.shutdown(wait=False)
        _log.info("stopping the runtime; queued jobs stay queued in %s", runtime.location)
        runtime.shutdown(keep_queued=True, timeout=SHUTDOWN_TIMEOUT)
        if executor is not None:
            executor.shutdown(wait=False)
    return 0 if server.started else 1
