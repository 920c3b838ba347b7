"""Unchanged ``qiskit_ibm_runtime`` code with real sessions: only the service line changes.

:class:`IBMCompatibleService` *is a* ``qiskit_ibm_runtime.QiskitRuntimeService`` and its
backends are ``qiskit_ibm_runtime.IBMBackend`` objects, so qiskit-ibm-runtime's own
``Session``, ``Batch``, ``SamplerV2``, ``EstimatorV2`` and executor-based primitives take
their cloud code path - and that path lands in the local runtime::

    from qiskit_ibm_runtime import Session, SamplerV2          # unchanged
    from qsession_provider.qiskit.ibm_compat import IBMCompatibleService

    service = IBMCompatibleService()                           # was: QiskitRuntimeService()
    backend = service.least_busy(operational=True, simulator=False)
    with Session(backend=backend, max_time="25m") as session:  # a real session
        job = SamplerV2().run([isa_circuit])

How: qiskit-ibm-runtime's ``Session`` opens, closes, cancels and reads a server session
through ``service._get_api_client(instance)`` (``create_session``, ``close_session``,
``cancel_session``, ``session_details``) and submits through ``service._run(...)``; this
service answers both from the runtime. Everything else (``backend``, ``backends``,
``least_busy``, ``job``, ``jobs``, ``delete_job``, ``usage``, ...) delegates to
:class:`~.service.QiskitRuntimeService`. As on IBM: simulators get no session
(``session_id`` is None there), ``backend.run`` is not supported, a submission the runtime
refuses raises ``IBMRuntimeError("Failed to run program: ...")``.

This relies on private qiskit-ibm-runtime interfaces - ``QiskitRuntimeService._run``,
``_get_api_client``, ``_get_api_clients``, ``_active_api_client``, the session endpoints of
its ``RuntimeClient`` and their response fields, ``RequestsApiError`` status codes,
``IBMBackend.__init__`` and its lazy ``__getattr__`` - checked against qiskit-ibm-runtime
0.51. Prefer :mod:`qsession_provider.qiskit` (public API only) where the import line can
change.
"""

from __future__ import annotations

import copy
import datetime as _dt
from typing import Any

import qiskit_ibm_runtime
from qiskit_ibm_runtime.api.exceptions import RequestsApiError
from qiskit_ibm_runtime.exceptions import IBMRuntimeError
from qiskit_ibm_runtime.ibm_backend import IBMBackend
from qiskit_ibm_runtime.models import QasmBackendConfiguration

from ..client.api import RuntimeAPI
from ..errors import QSessionError, SessionNotFoundError
from ._errors import ibm_errors
from ._ibm_inputs import request_from_ibm
from ._submit import submit
from .backend import QSessionBackend
from .service import QiskitRuntimeService
from .session import session_details

__all__ = ["IBMCompatibleBackend", "IBMCompatibleService"]

#: ``details()`` key -> the session API field qiskit-ibm-runtime's ``Session`` reads.
_SERVER_FIELDS = {
    "interactive_timeout": "interactive_ttl",
    "max_time": "max_ttl",
    "active_timeout": "active_ttl",
    "usage_time": "elapsed_time",
}


class _SessionClient:
    """The session endpoints of qiskit-ibm-runtime's ``RuntimeClient``, on the runtime."""

    def __init__(self, service: QiskitRuntimeService) -> None:
        self._service = service
        self._instance = service.active_instance()

    def create_session(
        self, backend: str, instance: str | None, max_time: int | None, mode: str, **_: Any
    ) -> dict[str, Any]:
        with ibm_errors():
            record = self._service.runtime.open_session(
                backend, mode=mode, max_ttl=max_time, instance=instance or self._instance
            )
        return {"id": record.id}

    def close_session(self, session_id: str) -> None:
        with ibm_errors():
            self._service.runtime.close_session(session_id)

    def cancel_session(self, session_id: str) -> None:
        with ibm_errors():
            self._service.runtime.cancel_session(session_id)

    def session_details(self, session_id: str) -> dict[str, Any]:
        runtime = self._service.runtime
        try:
            record = runtime.session(session_id)
        except SessionNotFoundError as exc:
            raise RequestsApiError(str(exc), 404) from None
        details = session_details(record, runtime.clock.now())
        return {_SERVER_FIELDS.get(key, key): value for key, value in details.items()}


class IBMCompatibleBackend(IBMBackend):
    """An ``IBMBackend`` over a device of the local runtime (made by the service).

    Args:
        backend: the :class:`~.backend.QSessionBackend` it stands for.
        service: the :class:`IBMCompatibleService` that made it.
    """

    def __init__(self, backend: QSessionBackend, service: IBMCompatibleService) -> None:
        device = backend.device
        configuration = QasmBackendConfiguration(
            backend_name=device.name,
            backend_version=str(backend.backend_version),
            n_qubits=device.num_qubits,
            basis_gates=list(device.basis_gates),
            gates=[],
            local=True,
            simulator=device.simulator,
            conditional=True,
            open_pulse=False,
            memory=True,
            coupling_map=[list(edge) for edge in device.coupling_map or ()] or None,
            online_date=_dt.datetime(2025, 1, 1, tzinfo=_dt.timezone.utc),
            description=device.description,
        )
        super().__init__(configuration, service, service._client, instance=backend.instance)
        self._local = backend

    def _convert_to_target(self, refresh: bool = False) -> None:
        self._target = self._local.target

    @property
    def target(self) -> Any:
        """The device's ``Target``."""
        return self._local.target

    def target_history(self, datetime: Any = None) -> Any:
        """The device's ``Target`` (it does not change over time)."""
        return self._local.target

    def properties(self, refresh: bool = False, datetime: Any = None) -> None:
        """No calibration properties are modelled: None."""
        return None

    def status(self) -> Any:
        """The device's status (``pending_jobs`` is its queue)."""
        return self._local.status()

    def refresh(self) -> None:
        """Nothing to refresh."""

    def get_translation_stage_plugin(self) -> str:
        """Qiskit's default translation to the device's basis."""
        return "default"

    def __deepcopy__(self, memo: dict[int, Any] | None = None) -> IBMCompatibleBackend:
        clone = copy.copy(self)
        clone._options = copy.deepcopy(self._options, memo)
        return clone


class IBMCompatibleService(qiskit_ibm_runtime.QiskitRuntimeService):
    """A ``qiskit_ibm_runtime.QiskitRuntimeService`` whose server is the local runtime.

    Takes the arguments of :class:`~.service.QiskitRuntimeService` (cloud arguments are
    ignored; ``store`` and ``clock`` choose the runtime).

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit_ibm_runtime import Session
        >>> service = IBMCompatibleService(store=":memory:")
        >>> backend = service.backend("emulated_falcon_27")
        >>> with Session(backend=backend) as session:
        ...     state = session.details()["state"]
        >>> state, session.status()
        ('open', 'Closed')
    """

    def __new__(cls, *args: Any, **kwargs: Any) -> IBMCompatibleService:
        return object.__new__(cls)  # never the local-mode service, whatever the channel

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        # No super().__init__(): no account, no network. The attributes qiskit-ibm-runtime's
        # Session and primitives read are set here.
        self._local = QiskitRuntimeService(*args, **kwargs)
        self._client = _SessionClient(self._local)
        self._active_api_client = self._client
        self._channel = "local"
        self._compat: dict[tuple[str, str, bool], IBMCompatibleBackend] = {}

    # -- what qiskit-ibm-runtime's Session and primitives call ------------------------------------
    def _get_api_client(self, instance: str | None = None) -> _SessionClient:
        return self._client

    def _get_api_clients(self) -> dict[str, _SessionClient]:
        return {self._client._instance: self._client}

    def _run(
        self,
        program_id: str,
        inputs: Any,
        options: Any = None,
        result_decoder: Any = None,
        session_id: str | None = None,
        start_session: bool | None = False,
        calibration_id: str | None = None,
        dry_run: bool = False,
    ) -> Any:
        del result_decoder, start_session, calibration_id
        options = dict(options or {})
        backend = options.pop("backend", None)
        if isinstance(backend, str):
            backend = self.backend(backend)
        if not isinstance(backend, IBMCompatibleBackend):
            raise IBMRuntimeError("Failed to run program: no backend of this service was given")
        local = backend._local
        job_id = None
        if session_id is not None:
            try:
                root = self._local.runtime.session(session_id).root_job_id
            except QSessionError:
                root = None
            job_id = session_id if root is None else None  # the root job shares the id
        try:
            request = request_from_ibm(
                program_id, inputs, options, cache=local.translations, dry_run=dry_run
            )
            return submit(local, request, session_id=session_id, job_id=job_id)
        except IBMRuntimeError as exc:
            raise IBMRuntimeError(f"Failed to run program: {exc.message}") from exc

    # -- the public service API, delegated -------------------------------------------------------
    @property
    def local(self) -> QiskitRuntimeService:
        """The :class:`~.service.QiskitRuntimeService` this service delegates to."""
        return self._local

    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime behind the service."""
        return self._local.runtime

    @property
    def clock(self) -> Any:
        """The runtime's clock."""
        return self._local.clock

    @property
    def channel(self) -> str:
        """Always ``"local"``."""
        return "local"

    def backend(
        self,
        name: str,
        instance: str | None = None,
        use_fractional_gates: bool | None = False,
        calibration_id: str | None = None,
    ) -> IBMCompatibleBackend:
        """The ``IBMBackend`` for device ``name`` (one object per name, instance and
        fractional choice)."""
        local = self._local.backend(
            name, instance=instance, use_fractional_gates=use_fractional_gates
        )
        key = (local.name, local.instance, local.use_fractional_gates)
        if key not in self._compat:
            self._compat[key] = IBMCompatibleBackend(local, self)
        return self._compat[key]

    def backends(self, *args: Any, **kwargs: Any) -> list[IBMCompatibleBackend]:
        """As :meth:`.QiskitRuntimeService.backends`, as ``IBMBackend`` objects."""
        return [
            self.backend(b.name, b.instance, b.use_fractional_gates)
            for b in self._local.backends(*args, **kwargs)
        ]

    def least_busy(self, *args: Any, **kwargs: Any) -> IBMCompatibleBackend:
        """As :meth:`.QiskitRuntimeService.least_busy`, as an ``IBMBackend``."""
        local = self._local.least_busy(*args, **kwargs)
        return self.backend(local.name, local.instance, local.use_fractional_gates)

    def job(self, job_id: str) -> Any:
        """As :meth:`.QiskitRuntimeService.job`."""
        return self._local.job(job_id)

    def jobs(self, *args: Any, **kwargs: Any) -> list[Any]:
        """As :meth:`.QiskitRuntimeService.jobs`."""
        return self._local.jobs(*args, **kwargs)

    def delete_job(self, job_id: str) -> None:
        """As :meth:`.QiskitRuntimeService.delete_job`."""
        self._local.delete_job(job_id)

    def usage(self) -> dict[str, Any]:
        """As :meth:`.QiskitRuntimeService.usage`."""
        return self._local.usage()

    def instances(self) -> list[dict[str, Any]]:
        """As :meth:`.QiskitRuntimeService.instances`."""
        return self._local.instances()

    def active_instance(self) -> str:
        """As :meth:`.QiskitRuntimeService.active_instance`."""
        return self._local.active_instance()

    def active_account(self) -> dict[str, Any]:
        """As :meth:`.QiskitRuntimeService.active_account`."""
        return self._local.active_account()

    def __eq__(self, other: object) -> bool:
        return isinstance(other, IBMCompatibleService) and other._local == self._local

    def __hash__(self) -> int:
        return hash(self._local)

    def __repr__(self) -> str:
        return f"<IBMCompatibleService store={self._local.store_location!r}>"
