"""``QiskitRuntimeService``: qiskit-ibm-runtime's service, over the local runtime.

``QiskitRuntimeService()`` with no arguments opens (or joins) the runtime of the default
store: ``$QSESSION_STORE`` if set, else a file in the user data directory. Jobs and
sessions persist there, so ``service.job(id)`` finds a job after the process that ran it
has exited, and several processes can share it.

How a clock and a store combine (:func:`qsession_provider.client.open_runtime` decides):
there is one runtime per store file per process, shared by every face (Qiskit, Azure-style,
Cirq), created with the clock of the first opener (wall time if none was given); asking for
the same store file with a different clock is refused (``IBMInputValueError``), because one
store's sessions cannot live on two timelines. ``store=":memory:"`` is private to the
service that opened it, and a ``clock`` without a ``store`` gets a timeline of its own (an
in-memory runtime per clock object), so a test can simply write::

    clock = VirtualClock()                       # from qsession_provider.qiskit
    service = QiskitRuntimeService(clock=clock)
    ...
    clock.advance("30m")                         # session timers fire, in milliseconds

On a ``VirtualClock`` (auto-advance, the default) a thread waiting for a job result jumps
virtual time to the next event, so emulated QPU time and timeouts cost nothing real.

A runtime served by ``qsession serve`` takes IBM's own words::

    service = QiskitRuntimeService(url="http://127.0.0.1:8765", token="qs_...")

and a plain ``QiskitRuntimeService()`` connects there when ``$QSESSION_URL`` (with
``$QSESSION_TOKEN``) is set (:func:`qsession_provider.client.runtime_for`). Jobs and
sessions are then the token's user's, charged to the token's instance.

The other cloud arguments (``channel``, ``filename``, ``name``, ``proxies``, ``verify``,
``private_endpoint``, ``url_resolver``, ``region``, ``plans_preference``, ``tags``, and
``url``/``token`` when they name IBM's own cloud or come with ``store``/``clock``) are
accepted and ignored, so code that builds the cloud service runs unchanged; ``instance``
names the fair-share instance jobs are charged to (default ``"default"``; on a server, the
token's).
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime.exceptions import (
    IBMInputValueError,
    IBMNotAuthorizedError,
    IBMRuntimeError,
    RuntimeJobNotFound,
)

from ..client import KEEP_DEFAULT, RuntimeAPI, runtime_for
from ..client.handles import Handle
from ..core.calibrations import CALIBRATION_PROGRAM
from ..core.clock import Clock
from ..core.job import Job
from ..core.job import JobStatus as CoreStatus
from ..errors import InvalidJobStateError, JobNotFoundError, NotAuthorizedError, QSessionError
from ._convert import check_job_tags, to_timestamp
from ._decoding import decoding_from_metadata, primitive_of
from ._errors import ibm_errors
from ._translations import TranslationCache
from .backend import QSessionBackend
from .fake_backends import device_name
from .runtime_job import RuntimeJob

__all__ = ["QiskitRuntimeService"]


class QiskitRuntimeService(Handle):
    """The runtime service: backends, jobs and usage of the local runtime.

    Pickles as its runtime's address (store file, or server URL and token) and instance,
    and reconnects on unpickling (:mod:`qsession_provider.client.handles`).

    Args:
        url: the URL of a ``qsession serve`` server (ignored when it is IBM's cloud, or
            with ``store`` or ``clock``, which choose the local runtime).
        token: the server's token for ``url`` (default ``$QSESSION_TOKEN``).
        channel, filename, name, proxies, verify, private_endpoint, url_resolver, region,
            plans_preference, tags: cloud arguments, ignored.
        instance: the instance (user or group) jobs are charged to; fair share is across
            instances. Default ``"default"``; on a server, the token's instance.
        store: the store file (``str`` or path); None: ``$QSESSION_STORE`` or the user data
            directory; ``":memory:"``: an in-memory store of this service's own.
        clock: the runtime's clock, e.g. a :class:`~qsession_provider.core.VirtualClock`
            (see the module docstring for how it combines with ``store``).
        keep_results: how many of the latest results an in-memory store keeps (default
            100; None: all; see :func:`~qsession_provider.client.open_runtime`).

    Raises:
        IBMInputValueError: the store's runtime already runs on another clock; a malformed
            ``url`` or token; the server cannot be reached.
        IBMNotAuthorizedError: the server does not know the token.

    Example:
        >>> from qsession_provider.qiskit import QiskitRuntimeService, VirtualClock
        >>> service = QiskitRuntimeService(store=":memory:")
        >>> [b.name for b in service.backends(simulator=False)]
        ['emulated_eagle_127', 'emulated_falcon_27']
        >>> service.backend("statevector").name
        'statevector'
    """

    #: Jobs run in a session-aware runtime, not qiskit-ibm-runtime's local mode (whose
    #: executor path would bypass sessions).
    is_local = False

    def __init__(
        self,
        channel: str | None = None,
        token: str | None = None,
        url: str | None = None,
        filename: str | None = None,
        name: str | None = None,
        instance: str | None = None,
        proxies: dict[str, Any] | None = None,
        verify: bool | None = None,
        private_endpoint: bool | None = None,
        url_resolver: Callable[..., Any] | None = None,
        region: str | None = None,
        plans_preference: list[str] | None = None,
        tags: list[str] | None = None,
        *,
        store: str | os.PathLike[str] | None = None,
        clock: Clock | None = None,
        keep_results: int | None = KEEP_DEFAULT,
    ) -> None:
        del channel, filename, name, proxies, verify, private_endpoint
        del url_resolver, region, plans_preference, tags
        if instance is not None and (not isinstance(instance, str) or not instance):
            raise IBMInputValueError(f"instance must be a non-empty string, got {instance!r}")
        # A server's URL, unless it is IBM's own or a store/clock asks for the local runtime
        # (then url and token stay ignored cloud arguments, as in code built for the cloud).
        local = store is not None or clock is not None
        server = None if url is None or local or _is_ibm_cloud(url) else url
        try:
            runtime = runtime_for(
                url=server,
                token=token if server is not None else None,
                store=None if store is None else os.fspath(store),
                clock=clock,
                keep_results=keep_results,
            )
        except NotAuthorizedError as exc:
            raise IBMNotAuthorizedError(str(exc)) from exc
        except QSessionError as exc:
            raise IBMInputValueError(str(exc)) from exc
        self._setup(runtime, instance or getattr(runtime, "instance", None) or "default")

    def _setup(
        self, runtime: RuntimeAPI, instance: str, translations: TranslationCache | None = None
    ) -> None:
        self._runtime = runtime
        self._instance = instance
        self._translations = translations if translations is not None else TranslationCache()
        self._backends: dict[tuple[str, str, bool], QSessionBackend] = {}

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        return self._runtime, type(self)._from_pickle, (self._instance,)

    @classmethod
    def _from_pickle(cls, runtime: RuntimeAPI, instance: str) -> QiskitRuntimeService:
        service = cls.__new__(cls)
        service._setup(runtime, instance)
        return service

    @classmethod
    def _for_backend(cls, backend: QSessionBackend) -> QiskitRuntimeService:
        """A service over the runtime of a backend built without one (internal)."""
        service = cls.__new__(cls)
        service._setup(backend.runtime, backend.instance or "default", backend.translations)
        return service

    # -- runtime, clock, account ---------------------------------------------------------------
    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime behind this service (a :class:`~qsession_provider.core.Runtime`)."""
        return self._runtime

    @property
    def translations(self) -> TranslationCache:
        """Circuit and observable translations its backends reuse between jobs."""
        return self._translations

    @property
    def clock(self) -> Clock:
        """The runtime's clock (advance it if it is a ``VirtualClock``)."""
        return self._runtime.clock

    @property
    def channel(self) -> str:
        """Always ``"local"``."""
        return "local"

    def active_instance(self) -> str:
        """The instance jobs are charged to."""
        return self._instance

    def instances(self) -> list[dict[str, Any]]:
        """The instances of this account: here only the active one."""
        return [{"crn": self._instance, "name": self._instance, "plan": "local", "tags": []}]

    def active_account(self) -> dict[str, Any]:
        """The account in use: the channel, the instance and the store location."""
        return {"channel": "local", "instance": self._instance, "store": self.store_location}

    @property
    def store_location(self) -> str:
        """Where the runtime's store lives."""
        # Not part of RuntimeAPI yet: the embedded runtime's store says where it lives.
        return self._runtime.location

    def usage(self) -> dict[str, Any]:
        """Usage of the active instance, as IBM's ``usage()`` reports it: its plan, its
        usage limit and the quantum seconds its jobs used in the limit's period (all its
        finished jobs when it has no limit), and what remains."""
        with ibm_errors():
            usage = dict(self._runtime.usage(self._instance))
        if usage.get("usage_limit_seconds") is None:
            usage["usage_consumed_seconds"] = sum(
                job.record.execution_time or 0.0
                for job in self._runtime.jobs(instance=self._instance, pending=False)
            )
        else:
            usage["usage_remaining_seconds"] = max(
                usage["usage_limit_seconds"] - usage["usage_consumed_seconds"], 0.0
            )
        return usage

    # -- backends --------------------------------------------------------------------------------
    def backend(
        self,
        name: str,
        instance: str | None = None,
        use_fractional_gates: bool | None = False,
        calibration_id: str | None = None,
    ) -> QSessionBackend:
        """The backend called ``name`` (one object per name, instance and fractional choice
        per service). ``use_fractional_gates=True`` adds the fractional gates the device's
        calibration has (``rx``, ``rzz`` on IBM's Heron fake backends) to its target.

        ``calibration_id`` (the id of a finished calibration job of the device, e.g. a
        ``Calibrator``'s) makes the backend's jobs run with that calibration: their
        ``metadata["calibration_id"]`` names it instead of the latest one.

        Raises:
            QiskitBackendNotFoundError: ``"No backend matches the criteria."``
            IBMInputValueError: ``calibration_id`` is not a finished calibration of it.
        """
        name = device_name(name) or name  # a fake backend, or the real name it stands for
        instance = instance or self._instance
        if calibration_id is not None:
            self._check_calibration(name, calibration_id)
        key = (name, instance, bool(use_fractional_gates), calibration_id)
        backend = self._backends.get(key)
        if backend is None:
            if not isinstance(name, str) or name not in {d.name for d in self._runtime.devices()}:
                raise QiskitBackendNotFoundError("No backend matches the criteria.")
            backend = QSessionBackend(
                self._runtime,
                name,
                service=self,
                instance=instance,
                translations=self._translations,
                use_fractional_gates=bool(use_fractional_gates),
                calibration_id=calibration_id,
            )
            backend = self._backends.setdefault(key, backend)
        return backend

    def _check_calibration(self, device: str, calibration_id: str) -> None:
        """Raise ``IBMInputValueError`` unless ``calibration_id`` is a finished calibration
        job of ``device``."""
        try:
            record = self._runtime.job(calibration_id).record
        except JobNotFoundError:
            record = None
        if (
            record is None
            or record.program_id != CALIBRATION_PROGRAM
            or record.device != device
            or record.status is not CoreStatus.DONE
        ):
            raise IBMInputValueError(
                f"calibration_id {calibration_id!r} is not a finished calibration of {device}"
            )

    def backends(
        self,
        name: str | None = None,
        min_num_qubits: int | None = None,
        instance: str | None = None,
        dynamic_circuits: bool | None = None,
        filters: Callable[[QSessionBackend], bool] | None = None,
        *,
        use_fractional_gates: bool | None = False,
        calibration_id: str | None = None,
        include_mocks: bool = False,
        simulator: bool | None = None,
        operational: bool | None = None,
        **kwargs: Any,
    ) -> list[QSessionBackend]:
        """The backends matching every filter, by name.

        Args:
            name: only the backend of that name.
            min_num_qubits: at least this many qubits.
            instance: charge their jobs to this instance.
            use_fractional_gates: as for :meth:`backend`.
            dynamic_circuits, calibration_id, include_mocks: ignored.
            filters: a callable ``backend -> bool``.
            simulator: only simulators (True) or only emulated QPUs (False).
            operational: every local device is operational (False matches none).
            **kwargs: ``attribute=value`` filters on the backend or its device
                (``num_qubits=27``, ``backend_name="statevector"``).
        """
        del dynamic_circuits, calibration_id, include_mocks
        out = []
        for device in self._runtime.devices():
            if name is not None and device.name != name:
                continue
            if min_num_qubits is not None and device.num_qubits < min_num_qubits:
                continue
            if simulator is not None and bool(device.simulator) != bool(simulator):
                continue
            if operational is not None and not operational:
                continue
            backend = self.backend(
                device.name, instance=instance, use_fractional_gates=use_fractional_gates
            )
            if not all(_attribute(backend, key) == value for key, value in kwargs.items()):
                continue
            if filters is not None and not filters(backend):
                continue
            out.append(backend)
        return out

    def least_busy(
        self,
        min_num_qubits: int | None = None,
        instance: str | None = None,
        filters: Callable[[QSessionBackend], bool] | None = None,
        use_fractional_gates: bool | None = False,
        **kwargs: Any,
    ) -> QSessionBackend:
        """The matching backend with the fewest queued and running jobs.

        Emulated QPUs come first unless ``simulator=True`` is asked for (the cloud has no
        simulators); ties go to the first name.

        Raises:
            QiskitBackendNotFoundError: ``"No backend matches the criteria."``
        """
        candidates = self.backends(
            min_num_qubits=min_num_qubits,
            instance=instance,
            filters=filters,
            use_fractional_gates=use_fractional_gates,
            **kwargs,
        )
        if "simulator" not in kwargs and any(not b.simulator for b in candidates):
            candidates = [b for b in candidates if not b.simulator]
        if not candidates:
            raise QiskitBackendNotFoundError("No backend matches the criteria.")
        return min(candidates, key=lambda b: self._runtime.pending_jobs(b.name))

    # -- jobs ------------------------------------------------------------------------------------
    def _job(self, core_job: Job) -> RuntimeJob:
        metadata = core_job.metadata
        return RuntimeJob(
            core_job,
            service=self,
            decoding=decoding_from_metadata(metadata),
            primitive_id=primitive_of(metadata, core_job.program_id),
        )

    def job(self, job_id: str) -> RuntimeJob:
        """The job with this id (from any process sharing the store).

        Raises:
            RuntimeJobNotFound: ``"Job not found: ..."``
        """
        try:
            core_job = self._runtime.job(job_id)
        except JobNotFoundError as exc:
            raise RuntimeJobNotFound(f"Job not found: {job_id}") from exc
        return self._job(core_job)

    def jobs(
        self,
        limit: int | None = 10,
        skip: int = 0,
        backend_name: str | None = None,
        pending: bool | None = None,
        program_id: str | None = None,
        instance: str | None = None,
        job_tags: list[str] | None = None,
        session_id: str | None = None,
        created_after: Any = None,
        created_before: Any = None,
        descending: bool = True,
        include_mocks: bool = False,
    ) -> list[RuntimeJob]:
        """Jobs matching every filter, newest first unless ``descending=False``.

        Args:
            limit: at most this many (None: all).
            skip: skip this many first.
            backend_name: only jobs of this backend.
            pending: True: QUEUED and RUNNING; False: DONE, CANCELLED and ERROR.
            program_id: ``"sampler"``, ``"estimator"`` or ``"executor"``.
            instance: jobs of this instance (default: the active instance).
            job_tags: jobs carrying all of these tags.
            session_id: jobs of this session or batch (an unknown id gives ``[]``).
            created_after, created_before: datetimes (naive ones are local time), inclusive.
            descending: newest first.
            include_mocks: ignored.

        Raises:
            IBMInputValueError: ``"job_tags needs to be a list of strings."`` and other
                invalid values.
        """
        del include_mocks
        tags = check_job_tags(job_tags)
        # Executor jobs are core "sampler" jobs, told apart by their metadata.
        by_metadata = program_id in ("sampler", "executor")
        query: dict[str, Any] = {
            "device": backend_name,
            "pending": pending,
            "program_id": "sampler" if by_metadata else program_id,
            "tags": tags,
            "session_id": session_id,
            "instance": instance or self._instance,
            "created_after": to_timestamp(created_after, "created_after"),
            "created_before": to_timestamp(created_before, "created_before"),
            "descending": descending,
        }
        with ibm_errors():
            if not by_metadata:
                found = self._runtime.jobs(limit=limit, skip=skip, **query)
                return [self._job(j) for j in found]
            found = [
                j
                for j in self._runtime.jobs(limit=None, **query)
                if primitive_of(j.metadata, j.program_id) == program_id
            ]
        found = found[skip:] if limit is None else found[skip : skip + limit]
        return [self._job(j) for j in found]

    def delete_job(self, job_id: str) -> None:
        """Delete a finished job with its result.

        Raises:
            RuntimeJobNotFound: no such job.
            IBMRuntimeError: ``"Failed to delete job: ..."`` (the job has not finished).
            IBMNotAuthorizedError: the job belongs to another instance than this service's.
        """
        try:
            self._runtime.delete_job(job_id, instance=self._instance)  # only its instance may
        except JobNotFoundError as exc:
            raise RuntimeJobNotFound(f"Job not found: {job_id}") from exc
        except InvalidJobStateError as exc:
            raise IBMRuntimeError(f"Failed to delete job: {exc}") from exc
        except NotAuthorizedError as exc:  # ForbiddenError: a job of another instance
            raise IBMNotAuthorizedError(f"Failed to delete job: {exc}") from exc

    def __eq__(self, other: object) -> bool:
        return (
            isinstance(other, QiskitRuntimeService)
            and other._runtime is self._runtime
            and other._instance == self._instance
        )

    def __hash__(self) -> int:
        return hash((id(self._runtime), self._instance))

    def __repr__(self) -> str:
        return f"<QiskitRuntimeService store={self.store_location!r} instance={self._instance!r}>"


def _is_ibm_cloud(url: Any) -> bool:
    """True for a URL of IBM's own cloud (kept as an ignored cloud argument)."""
    host = urlsplit(url).hostname if isinstance(url, str) else None
    return bool(host) and (host == "ibm.com" or str(host).endswith(".ibm.com"))


def _attribute(backend: Any, key: str) -> Any:
    """``backend.<key>``, else ``backend.device.<key>``; ``backend_name`` is the name."""
    if key == "backend_name":
        return backend.name
    if key == "n_qubits":
        key = "num_qubits"
    if hasattr(backend, key):
        return getattr(backend, key)
    return getattr(backend.device, key, None)
