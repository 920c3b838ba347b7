"""The Dask executor: jobs' computation on the workers of a Dask distributed cluster.

The runtime keeps the scheduler, the session rules, the clock and the store; a job goes to
Dask only when our scheduler starts it (:class:`~.execution.Execution` calls
:meth:`DaskExecutor.submit_job`), so session order, one-job-at-a-time devices and fair
share hold as with the thread pool. What travels is text in our stable encoding
(:func:`~qsession_provider.core.ir.encoding.dumps`; payloads by their ``to_json_text``):
the device's *name*, the program id and the payload go out, the encoded result comes
back; no framework object is pickled. A worker rebuilds the device from its plugins
(:mod:`qsession_provider.plugins.dask_worker`, named here by import path only: the core
never imports the plugins), so workers need
``qsession_provider`` and the plugins of the devices they run, never qiskit or cirq.

What happens when things break:

* A worker dies while it holds a job: Dask runs the task again on another worker. The
  executor watches the scheduler's ``remove-worker`` events and allows that once, for a
  deterministic job (:func:`~.adoption.is_deterministic`: a seed gives the same result);
  a job without a seed, or whose second worker dies too, fails with
  :class:`WorkerLostError` naming the worker. (With the scheduler's
  ``distributed.scheduler.allowed-failures`` at 0, Dask itself gives up at the first death:
  the job fails ``KilledWorker``.) A job Dask had already handed to the dying worker but
  not yet started there counts the same.
* The connection to the scheduler is lost: running jobs fail with
  :class:`ClusterUnavailableError`; :attr:`DaskExecutor.available` is False, so the
  runtime starts nothing more and queued jobs stay queued; a background thread reconnects
  and the runtime dispatches again (:meth:`DaskExecutor.on_available`).
* A state too large for the worker: the engine's memory guard runs on the worker, against
  the worker's ``memory_limit``, and the job's error names the worker and its limit.
* Large states on the workers with the memory for them: with ``memory_resource="MEMORY"``
  each job asks Dask for ``MEMORY`` = the bytes of its complex128 state (``16 * 2**n`` for
  ``n`` touched qubits), so Dask runs it only on a worker started with enough of that
  resource (``dask worker ... --resources MEMORY=64e9``), and never more jobs at once than
  a worker's memory holds. A job larger than any worker's offer is sent without the
  request, and the memory guard there decides (a Clifford circuit needs no state).

Dask is imported here only when a :class:`DaskExecutor` is created.
"""

from __future__ import annotations

import concurrent.futures
import importlib
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ... import errors
from ...errors import InputError, QSessionError
from ..device import Device
from ..ir.encoding import loads
from .adoption import is_deterministic
from .checks import encode

__all__ = [
    "ClusterUnavailableError",
    "DaskExecutor",
    "WORKER_MODULE",
    "WORKER_TASK",
    "WorkerError",
    "WorkerLostError",
]

_log = logging.getLogger(__name__)

#: The module workers run, by import path: it builds devices from plugins.
WORKER_MODULE = "qsession_provider.plugins.dask_worker"
#: The function a job runs on a worker (module, name).
WORKER_TASK = (WORKER_MODULE, "run_job")
#: Key of :attr:`Device.properties` through which a device says how many of its jobs may
#: run on the cluster at once (default: its ``slots``).
CLUSTER_SLOTS = "cluster_slots"

#: Seconds the executor trusts what it read of the workers' memory offers.
OFFERS_MAX_AGE = 5.0
#: (result, encoded result, error) as :mod:`.execution` expects from a computation.
Outcome = tuple[Any, Any, "BaseException | None"]


class ClusterUnavailableError(QSessionError):
    """The Dask scheduler cannot be reached (the job was running, or could not be sent)."""


class WorkerLostError(QSessionError):
    """The Dask worker computing a job died, and the job is not run again."""


class WorkerError(QSessionError):
    """A job failed on a Dask worker with an error that is not one of ours."""


def _remote_call(module: str, name: str, *args: Any) -> Any:
    """Runs on a worker: import ``module.name`` there and call it (see :data:`WORKER_TASK`)."""
    return getattr(importlib.import_module(module), name)(*args)


def _import_distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:
        raise QSessionError(
            "the Dask executor needs dask distributed: pip install 'qsession-provider[dask]' "
            f"({exc})"
        ) from None
    return distributed


@dataclass(eq=False)
class _InFlight:
    """A job on the cluster: its Dask future and the future the runtime waits on."""

    job_id: str
    deterministic: bool
    outcome: concurrent.futures.Future[Outcome]
    task: Any = None
    deaths: list[str] = field(default_factory=list)


class DaskExecutor:
    """Computes jobs on a Dask distributed cluster (see the module docstring).

    Args:
        address: the scheduler's address (``"tcp://scheduler:8786"``), or a
            ``distributed.Client`` to use (then the caller closes it).
        slots: jobs of a device that may run on the cluster at once: an ``int`` for every
            simulator device, or a mapping ``{device name: n}``. Unlisted devices use
            ``device.properties["cluster_slots"]`` if set, else ``device.slots`` (a QPU-like
            device keeps one job at a time).
        plugins: modules, by import name, that workers register as plugins besides the
            installed entry points (devices an application registers itself).
        connect_timeout: seconds to wait for the scheduler when connecting.
        retry_interval: seconds between attempts to reconnect a lost scheduler.
        memory_resource: the name of the Dask worker resource that counts memory bytes,
            or None (see the module docstring).

    Raises:
        QSessionError: dask distributed is not installed, or the scheduler cannot be
            reached within ``connect_timeout``.
        InputError: a bad ``slots`` or ``plugins``.

    Example::

        with DaskExecutor("tcp://scheduler:8786") as executor:
            runtime = open_runtime(executor=executor)
    """

    def __init__(
        self,
        address: str | Any,
        *,
        slots: int | Mapping[str, int] | None = None,
        plugins: Sequence[str] = (),
        connect_timeout: float = 10.0,
        retry_interval: float = 1.0,
        memory_resource: str | None = None,
    ) -> None:
        self._slots = _check_slots(slots)
        if memory_resource is not None and (
            not isinstance(memory_resource, str) or not memory_resource
        ):
            raise InputError(f"memory_resource must be a resource name, got {memory_resource!r}")
        self.memory_resource = memory_resource
        self._offers: tuple[float, float] = (0.0, -1.0)  # (largest offer, when read)
        if isinstance(plugins, str) or not all(isinstance(p, str) and p for p in plugins):
            raise InputError(f"plugins must be a sequence of module names, got {plugins!r}")
        self.plugins = tuple(plugins)
        self._distributed = _import_distributed()
        self._connect_timeout = connect_timeout
        self._retry_interval = retry_interval
        self._lock = threading.Lock()
        self._inflight: dict[str, _InFlight] = {}
        self._listeners: list[Callable[[], None]] = []
        self._closed = False
        self._stop = threading.Event()
        self._watcher: threading.Thread | None = None
        self._keys = itertools.count()
        # Deaths are acted on here, off the client's event loop (cancelling needs it).
        self._side = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="qsession-dask")
        if isinstance(address, self._distributed.Client):
            self._own_client = False
            self._client = address
            self.address: str = address.scheduler.address
        else:
            if not isinstance(address, str) or not address:
                raise InputError(f"address must be a scheduler address, got {address!r}")
            self._own_client = True
            self.address = address
            self._client = self._connect()
        self._subscribe(self._client)

    # -- what the runtime asks --------------------------------------------------------------
    @property
    def available(self) -> bool:
        """True while the scheduler is connected; else jobs wait in the runtime's queues."""
        if self._closed:
            return False
        if self._client.status == "running":
            return True
        self._watch()
        return False

    def device_slots(self, device: Device) -> int:
        """Jobs of ``device`` that may run on the cluster at once (the ``slots`` argument)."""
        if isinstance(self._slots, Mapping):
            if device.name in self._slots:
                return self._slots[device.name]
        elif self._slots is not None and device.simulator:
            return self._slots
        declared = device.properties.get(CLUSTER_SLOTS)
        if isinstance(declared, int) and not isinstance(declared, bool) and declared >= 1:
            return declared
        return device.slots

    def on_available(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from a background thread) when a lost scheduler is back."""
        with self._lock:
            self._listeners.append(callback)

    def submit_job(
        self, device: Device, program_id: str, payload: Any, *, job_id: str = ""
    ) -> concurrent.futures.Future[Outcome]:
        """Send a job to the cluster; the future completes with ``(result, encoded, error)``.

        Raises:
            ClusterUnavailableError: the scheduler is not connected.
            InputError: the payload cannot be encoded.
        """
        if not self.available:
            raise ClusterUnavailableError(f"the Dask scheduler at {self.address} is not connected")
        text = encode(payload, "payload")
        key = f"qsession-{job_id or 'job'}-{next(self._keys)}-{id(self):x}"
        outcome: concurrent.futures.Future[Outcome] = concurrent.futures.Future()
        outcome.set_running_or_notify_cancel()
        flight = _InFlight(job_id, is_deterministic(program_id, payload), outcome)
        with self._lock:
            self._inflight[key] = flight
        try:
            resources = self._resources(payload)
            flight.task = self._client.submit(
                _remote_call,
                *WORKER_TASK,
                device.name,
                self.plugins,
                program_id,
                text,
                key=key,
                pure=False,
                resources=resources,
            )
        except Exception as exc:
            with self._lock:
                self._inflight.pop(key, None)
            raise ClusterUnavailableError(
                f"the job could not be sent to the Dask scheduler at {self.address}: {exc}"
            ) from exc
        flight.task.add_done_callback(lambda task: self._task_done(key, task))
        return outcome

    def _resources(self, payload: Any) -> dict[str, float] | None:
        """The Dask resources a job asks for: its state's bytes of ``memory_resource``."""
        if self.memory_resource is None:
            return None
        try:
            need = 16.0 * 2.0 ** int(payload.num_qubits)
        except (AttributeError, TypeError, ValueError):
            return None  # a payload of unknown size
        largest, read_at = self._offers
        if need > largest or time.monotonic() - read_at > OFFERS_MAX_AGE:
            largest = self._largest_offer()
        return {self.memory_resource: need} if need <= largest else None

    def _largest_offer(self) -> float:
        """The most ``memory_resource`` a worker of the cluster offers (asks the scheduler)."""
        workers = self._client.scheduler_info(n_workers=-1).get("workers", {})
        largest = max(
            (float(w.get("resources", {}).get(self.memory_resource, 0)) for w in workers.values()),
            default=0.0,
        )
        self._offers = (largest, time.monotonic())
        return largest

    def prepare_workers(self) -> dict[str, list[str]]:
        """Build the devices on every worker now (else each worker does at its first job);
        the device names of each worker, by address. Checks that the workers can run jobs.

        Raises:
            QSessionError: a worker cannot (``qsession_provider`` or a plugin missing
                there); the message names the error.
        """
        try:
            ready = self._client.run(_remote_call, WORKER_MODULE, "prepare", self.plugins)
        except Exception as exc:
            raise QSessionError(
                f"the Dask workers of {self.address} cannot run jobs: {type(exc).__name__}: {exc}"
            ) from None
        return {str(address): list(names) for address, names in ready.items()}

    def submit(self, fn: Callable[..., Any], /, *args: Any) -> concurrent.futures.Future[Any]:
        """Run a picklable ``fn(*args)`` on the cluster (the :class:`~.executors.Executor`
        protocol; jobs go through :meth:`submit_job`)."""
        return self._client.get_executor().submit(fn, *args)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop; jobs still on the cluster are cancelled and fail. Closes the client this
        executor opened. Idempotent."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
            flights = list(self._inflight.items())
            self._inflight.clear()
        self._stop.set()
        for _, flight in flights:
            _settle(flight, ClusterUnavailableError("the Dask executor was shut down"))
            if flight.task is not None:
                try:
                    flight.task.cancel()
                except Exception:  # the connection may be gone already
                    pass
        try:
            self._client.unsubscribe_topic("all")
        except Exception:  # never subscribed, or the connection is gone
            pass
        if self._own_client:
            try:
                self._client.close(timeout=self._connect_timeout)
            except Exception:  # closing a client whose scheduler is gone
                pass
        self._side.shutdown(wait=wait)

    def __enter__(self) -> DaskExecutor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "closed" if self._closed else self._client.status
        return f"<DaskExecutor {self.address} {state}>"

    # -- outcomes -----------------------------------------------------------------------------
    def _task_done(self, key: str, task: Any) -> None:
        """Dask's callback thread: turn the task's end into the job's outcome."""
        with self._lock:
            flight = self._inflight.pop(key, None)
        if flight is None or flight.outcome.done():
            return
        try:
            reply = task.result()
        except BaseException as exc:
            _settle(flight, self._task_error(exc, flight))
            return
        if reply[0] == "ok":
            try:
                flight.outcome.set_result((loads(reply[1]), reply[1], None))
            except Exception as exc:  # a result we cannot decode
                _settle(flight, exc)
        else:
            _settle(flight, _rebuild_error(reply[1], reply[2]))

    def _task_error(self, exc: BaseException, flight: _InFlight) -> BaseException:
        name = type(exc).__name__
        if isinstance(exc, concurrent.futures.CancelledError) or name == "FutureCancelledError":
            self._watch()
            return ClusterUnavailableError(
                f"the connection to the Dask scheduler at {self.address} was lost while the job ran"
            )
        if name == "KilledWorker":
            return WorkerLostError(f"the Dask workers running the job died: {exc}")
        return WorkerError(f"the Dask worker could not run the job: {name}: {exc}")

    # -- workers dying ---------------------------------------------------------------------------
    def _subscribe(self, client: Any) -> None:
        try:
            client.subscribe_topic("all", self._on_event)
        except Exception as exc:  # an old scheduler: Dask's own retries apply
            _log.warning("cannot watch the Dask scheduler's events: %s", exc)

    def _on_event(self, event: Any) -> None:
        """The client's event loop: a worker left; note the deaths of our jobs' workers."""
        _, message = event
        if not isinstance(message, dict) or message.get("action") != "remove-worker":
            return
        worker = str(message.get("worker", "?"))
        for key in message.get("processing-tasks", ()):
            with self._lock:
                flight = self._inflight.get(key)
                if flight is None:
                    continue
                flight.deaths.append(worker)
                if flight.deterministic and len(flight.deaths) == 1:
                    _log.warning(
                        "job %s: its Dask worker %s died; it runs again", flight.job_id, worker
                    )
                    continue
                self._inflight.pop(key, None)
            try:
                self._side.submit(self._give_up, flight)
            except RuntimeError:  # shut down meanwhile: shutdown settled every job
                pass

    def _give_up(self, flight: _InFlight) -> None:
        if len(flight.deaths) > 1:
            why = f"the Dask workers running it died twice ({', '.join(flight.deaths)})"
        else:
            why = (
                f"the Dask worker running it died ({flight.deaths[0]}) and the job has no seed, "
                "so it is not run again"
            )
        try:
            flight.task.cancel()
        except Exception:
            pass
        _settle(flight, WorkerLostError(why))

    # -- the connection -----------------------------------------------------------------------
    def _connect(self) -> Any:
        try:
            return self._distributed.Client(
                self.address, timeout=self._connect_timeout, set_as_default=False
            )
        except (OSError, TimeoutError) as exc:
            raise QSessionError(
                f"cannot reach the Dask scheduler at {self.address}: {type(exc).__name__}: {exc}"
            ) from None

    def _watch(self) -> None:
        """Start the thread that waits for the scheduler to come back (once at a time)."""
        with self._lock:
            if self._closed or (self._watcher is not None and self._watcher.is_alive()):
                return
            self._watcher = threading.Thread(
                target=self._reconnect, name="qsession-dask-reconnect", daemon=True
            )
            self._watcher.start()

    def _reconnect(self) -> None:
        while not self._stop.wait(self._retry_interval):
            client = self._client
            if client.status == "running":
                break
            if client.status in ("connecting", "newly-created"):
                continue  # the client itself is still trying
            if not self._own_client:
                continue  # the caller's client: only they can replace it
            try:
                fresh = self._connect()
            except QSessionError:
                continue
            self._subscribe(fresh)
            self._client = fresh
            break
        else:
            return
        _log.info("the Dask scheduler at %s is back", self.address)
        with self._lock:
            listeners = list(self._listeners)
        for listener in listeners:
            try:
                listener()
            except Exception:
                _log.exception("a Dask reconnection listener failed")


def _settle(flight: _InFlight, error: BaseException) -> None:
    if not flight.outcome.done():
        flight.outcome.set_result((None, None, error))


def _rebuild_error(name: str, message: str) -> BaseException:
    """An error raised on a worker, from its class name and message (ours by class)."""
    cls = getattr(errors, name, None)
    if isinstance(cls, type) and issubclass(cls, errors.QSessionError):
        return cls(message)
    return WorkerError(f"{name}: {message}")


def _check_slots(slots: Any) -> int | Mapping[str, int] | None:
    def good(n: Any) -> bool:
        return isinstance(n, int) and not isinstance(n, bool) and n >= 1

    if slots is None or good(slots):
        return slots
    if isinstance(slots, Mapping) and all(isinstance(k, str) and good(v) for k, v in slots.items()):
        return dict(slots)
    raise InputError(
        f"slots must be a positive integer or a mapping of device names to positive "
        f"integers, got {slots!r}"
    )
