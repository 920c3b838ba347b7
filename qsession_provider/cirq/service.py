"""A Cirq service over the local runtime, shaped like ``azure.quantum.cirq`` and ``cirq_ionq``.

:class:`Service` lists the runtime's devices as :class:`~.target.Target` objects and
submits, finds and lists jobs; a target submits circuits, opens sessions and hands out
samplers bound to itself.

Unlike Azure's ``AzureQuantumService.get_target()``, which builds a fresh target object
on every call, a service returns **the same** :class:`Target` object for a name every
time. A session opened with ``target.open_session()`` therefore also applies to
``service.run(..., target=name)``, ``service.create_job(...)`` and
``service.sampler(name)`` - the way Azure's Qiskit provider caches its backends.
As on Azure (``SessionHost``, see :mod:`.host`), every submission through a target joins
the target's *latest* session.

``Service(url="http://127.0.0.1:8765", token="qs_...")`` works on the runtime of a
``qsession serve`` server; a plain ``Service()`` does when ``$QSESSION_URL`` (with
``$QSESSION_TOKEN``) is set (:func:`qsession_provider.client.runtime_for`).
"""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

import cirq

from ..client import KEEP_DEFAULT, RuntimeAPI, runtime_for
from ..client.handles import Handle
from ..core.clock import Clock
from ..core.device import Device
from ..core.job import JobStatus
from ..errors import InputError
from ._results import JobResult
from .job import STATUS_NAMES, Job
from .sampler import Sampler
from .session import Session
from .target import Target

__all__ = ["Service", "Target"]

_STATUS_BY_NAME = {name: status for status, name in STATUS_NAMES.items()}


class Service(Handle):
    """The local runtime as a Cirq service (Azure Quantum / IonQ shaped).

    Args:
        store: store path for :func:`~qsession_provider.client.open_runtime` (default
            ``$QSESSION_STORE`` or the user data directory).
        clock: clock of a runtime opened here (e.g. a ``VirtualClock``).
        runtime: use this runtime instead of opening one.
        default_target: target used when a call names none.
        url: the URL of a ``qsession serve`` server to work on (not with ``store``/``clock``).
        token: the server's token for ``url`` (default ``$QSESSION_TOKEN``).
        keep_results: how many of the latest results an in-memory store keeps (default 100;
            None: all; see :func:`~qsession_provider.client.open_runtime`).

    A service pickles as its runtime's address and default target, and reconnects on
    unpickling (:mod:`qsession_provider.client.handles`).

    Raises:
        InputError: ``runtime`` or ``url`` together with ``store``/``clock``; an unknown
            ``default_target``; a malformed URL or token.
        NotAuthorizedError: the server does not know the token.
        QSessionError: the server cannot be reached.

    Example:
        >>> import cirq
        >>> from qsession_provider.cirq import Service, VirtualClock
        >>> from qsession_provider.core import MemoryStore, Runtime
        >>> from qsession_provider.plugins import build_device_registry, get_plugin_manager
        >>> devices = build_device_registry(get_plugin_manager(load_entry_points=False))
        >>> runtime = Runtime(store=MemoryStore(), clock=VirtualClock(), devices=devices)
        >>> service = Service(runtime=runtime, default_target="emulated_falcon_27")
        >>> q0, q1 = cirq.LineQubit.range(2)
        >>> bell = cirq.Circuit(cirq.H(q0), cirq.CNOT(q0, q1), cirq.measure(q0, q1, key="m"))
        >>> target = service.get_target()
        >>> with target.open_session(name="bell") as session:
        ...     result = service.run(bell, repetitions=100, seed=1)
        >>> sorted(result.histogram(key="m"))
        [0, 3]
        >>> service.get_job(result.job_id).session_id == session.id
        True
        >>> runtime.shutdown()
    """

    def __init__(
        self,
        *,
        store: str | None = None,
        clock: Clock | None = None,
        runtime: RuntimeAPI | None = None,
        default_target: str | None = None,
        url: str | None = None,
        token: str | None = None,
        keep_results: int | None = KEEP_DEFAULT,
    ) -> None:
        if runtime is not None and (store is not None or clock is not None or url is not None):
            raise InputError("pass either a runtime or a store/clock (or a url), not both")
        if runtime is None:
            runtime = runtime_for(
                url=url, token=token, store=store, clock=clock, keep_results=keep_results
            )
        self._runtime = runtime
        if default_target is not None:
            self._runtime.device(default_target)  # DeviceNotFoundError now
        self._default_target = default_target
        self._targets: dict[str, Target] = {}
        self._lock = threading.Lock()

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime behind the service."""
        return self._runtime

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        return self._runtime, type(self)._from_pickle, (self._default_target,)

    @classmethod
    def _from_pickle(cls, runtime: RuntimeAPI, default_target: str | None) -> Service:
        return cls(runtime=runtime, default_target=default_target)

    # -- targets ------------------------------------------------------------------------------
    def targets(self, name: str | None = None) -> list[Target]:
        """Every target (device), or the one called ``name``, sorted by name."""
        devices = self._runtime.devices()
        return [self._target(d) for d in devices if name is None or d.name == name]

    def get_target(self, name: str | None = None) -> Target:
        """The target called ``name`` (default: the service's default target).

        The same object is returned for a name on every call (see the module docstring).

        Raises:
            ValueError: no name and no default target ("No default target specified for
                job."), or no such device (``DeviceNotFoundError``, which is a ValueError).
        """
        if name is None:
            name = self._default_target
            if name is None:
                raise ValueError("No default target specified for job.")
        return self._target(self._runtime.device(name))

    def sampler(
        self, target: str | None = None, seed: cirq.RANDOM_STATE_OR_SEED_LIKE = None
    ) -> Sampler:
        """A sampler on ``target`` (default: the default target), joining its latest session."""
        return self.get_target(target).sampler(seed=seed)

    # -- jobs ---------------------------------------------------------------------------------
    def create_job(
        self,
        program: cirq.AbstractCircuit,
        repetitions: int,
        name: str = "cirq-job",
        target: str | None = None,
        param_resolver: cirq.ParamResolverOrSimilarType = None,
        *,
        seed: int | None = None,
    ) -> Job:
        """Submit ``program`` to a target (joining its latest session) and return the job.

        Raises:
            ValueError: no target, unknown target, or bad input (nothing is queued).
            SessionClosedError: the target's latest session no longer accepts jobs.
        """
        return self.get_target(target).submit(
            program, name=name, repetitions=repetitions, param_resolver=param_resolver, seed=seed
        )

    def run(
        self,
        program: cirq.AbstractCircuit,
        repetitions: int,
        target: str | None = None,
        name: str = "cirq-job",
        param_resolver: cirq.ParamResolverOrSimilarType = None,
        seed: int | None = None,
        timeout_seconds: float | None = 300,
    ) -> JobResult:
        """Run ``program`` and wait for its result.

        Returns:
            A ``cirq.Result`` (:class:`~qsession_provider.cirq.JobResult`, with ``job_id``).

        Raises:
            ValueError: no target, unknown target, or bad input.
            TimeoutError: not finished within ``timeout_seconds`` clock seconds.
            UnsuccessfulJobError: the job failed or was cancelled.
        """
        job = self.create_job(
            program, repetitions, name=name, target=target, param_resolver=param_resolver, seed=seed
        )
        return job.sweep_results(timeout_seconds)[0]

    def get_job(self, job_id: str) -> Job:
        """The job with this id (any face's job in the store).

        Raises:
            JobNotFoundError: no such job (a ``LookupError``).
        """
        return Job(self._runtime, self._runtime.job(job_id))

    def list_jobs(
        self,
        status: str | Iterable[str] | None = None,
        limit: int | None = 100,
        *,
        target: str | None = None,
        session_id: str | None = None,
        name_prefix: str | None = None,
    ) -> list[Job]:
        """Jobs in the store, newest first (jobs of every face).

        Args:
            status: a status string (``"ready"``, ``"running"``, ``"completed"``,
                ``"failed"``, ``"canceled"``) or several.
            limit: at most this many (None: all).
            target: only jobs of this device.
            session_id: only jobs of this session.
            name_prefix: only jobs whose name starts with this.

        Raises:
            ValueError: an unknown status.
        """
        statuses = None if status is None else _core_statuses(status)
        jobs = self._runtime.jobs(
            status=statuses,
            device=target,
            session_id=session_id,
            name_prefix=name_prefix,
            limit=limit,
        )
        return [Job(self._runtime, job) for job in jobs]

    def get_session(self, session_id: str) -> Session:
        """The session with this id (opened by any face).

        Raises:
            SessionNotFoundError: no such session.
        """
        return Session(self._runtime, session_id)

    def _target(self, device: Device) -> Target:
        with self._lock:
            target = self._targets.get(device.name)
            if target is None:
                target = self._targets[device.name] = Target(self._runtime, device)
            return target

    def __repr__(self) -> str:
        location = self._runtime.location
        return f"<cirq Service {location} default={self._default_target!r}>"


def _core_statuses(status: str | Iterable[str]) -> list[JobStatus]:
    items = [status] if isinstance(status, str) else list(status)
    out = []
    for item in items:
        found = _STATUS_BY_NAME.get(str(item).lower())
        if found is None:
            raise InputError(
                f"unknown job status {item!r}; expected one of {sorted(_STATUS_BY_NAME)}"
            )
        out.append(found)
    return out
