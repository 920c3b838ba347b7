"""``Session`` and ``Batch``: qiskit-ibm-runtime's classes, backed by real local sessions.

Both subclass qiskit-ibm-runtime's ``Session``/``Batch``, so every primitive that accepts
those - our :class:`~.primitives.SamplerV2`/:class:`~.primitives.EstimatorV2`,
qiskit-ibm-runtime's own ``SamplerV2``/``EstimatorV2``, and its executor-based ``Sampler``,
``Estimator`` and ``Executor`` - runs inside them, by ``mode=session`` or inside
``with Session(...)``. qiskit-ibm-runtime's primitives submit through
:meth:`Session._run`, whose inputs are decoded into the request ours build; both reach the
runtime through :meth:`Session._submit`.

Unlike qiskit-ibm-runtime's local mode (where a session is a no-op), the session is opened
in the runtime when the object is created (``create_new=True``): ``session_id`` is its id;
``status()``/``details()``/``usage()`` read it; its rules (max time from the first job's start,
interactive timeout, 30-minute idle-open timeout, close, cancel, root job) all apply, on
the runtime's clock. Sessions are opened on simulators too (IBM's cloud skips them there).

Core state → ``details()["state"]`` → ``status()``:

==========  =================  ======================================
core        ``state``          ``status()``
==========  =================  ======================================
open        ``open``           ``Pending``
active      ``active``         ``In progress, accepting new jobs``
inactive    ``inactive``       ``Pending``
draining    ``pending_closed`` ``In progress, not accepting new jobs``
closed      ``closed``         ``Closed``
==========  =================  ======================================
"""

from __future__ import annotations

import warnings
from types import TracebackType
from typing import Any

from qiskit.providers import BackendV2
from qiskit_ibm_runtime.batch import Batch as IBMBatch
from qiskit_ibm_runtime.exceptions import IBMInputValueError, IBMRuntimeError
from qiskit_ibm_runtime.session import Session as IBMSession

from ..client.api import RuntimeAPI
from ..client.handles import Handle
from ..core.dialect_words import ibm_details
from ..core.session import SessionMode, SessionRecord, SessionState
from ..errors import PlanError, SessionClosedError
from ._errors import SESSION_CLOSED, ibm_errors
from ._ibm_inputs import request_from_ibm
from ._requests import JobRequest
from ._submit import submit
from .backend import QSessionBackend
from .fake_backends import as_backend
from .runtime_job import RuntimeJob
from .service import QiskitRuntimeService

__all__ = ["Batch", "Session", "session_details"]

#: The 15 keys of qiskit-ibm-runtime's ``Session.details()`` for a core session record at a
#: time (one table for the face, the server's IBM API and the dashboard).
session_details = ibm_details


class Session(Handle, IBMSession):
    """A dedicated session on a backend of this package (qiskit-ibm-runtime's ``Session``).

    Pickled, a session (and a primitive in session mode) carries its backend and session id
    and reattaches to the stored session on unpickling, without opening a new one. On a
    server any process can feed it; on a store file only the process that opened it can
    (the session's scheduling lives there): in another process ``run()`` raises
    ``IBMRuntimeError`` saying the session belongs to another process, while ``status()``
    and ``details()`` read it anywhere.

    Args:
        backend: a backend from :meth:`QiskitRuntimeService.backend`.
        max_time: maximum session time, from its first job's start: seconds (int) or a
            string such as ``"25m"`` or ``"1h 30m"`` (qiskit-ibm-runtime's parsing);
            None for the 8-hour default.
        create_new: open a session in the runtime (``from_id`` passes False).

    Raises:
        ValueError: ``backend`` is not a backend of this package.
        IBMInputValueError: invalid ``max_time``.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qsession_provider.qiskit import QiskitRuntimeService, Session, SamplerV2
        >>> backend = QiskitRuntimeService(store=":memory:").backend("statevector")
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.h(0), qc.cx(0, 1)
        >>> qc.measure_all()
        >>> with Session(backend=backend, max_time="25m") as session:
        ...     counts = SamplerV2().run([qc]).result()[0].data.meas.get_counts()
        ...     status = session.status()
        >>> sorted(counts), status, session.status()
        (['00', '11'], 'In progress, accepting new jobs', 'Closed')
    """

    #: The core session mode (``dedicated``; ``batch`` for :class:`Batch`).
    _core_mode = SessionMode.DEDICATED

    def __init__(
        self,
        backend: BackendV2,
        max_time: int | str | None = None,
        *,
        create_new: bool | None = True,
    ) -> None:
        backend = as_backend(backend)  # FakeSherbrooke() or "ibm_sherbrooke": our device
        if not isinstance(backend, QSessionBackend):
            if isinstance(backend, BackendV2):
                raise ValueError(
                    f"{type(self).__name__} needs a backend of qsession_provider (from "
                    f"QiskitRuntimeService().backend(name)); got {type(backend).__name__}"
                )
            raise ValueError(f"Invalid backend type {type(backend)}")
        super().__init__(backend, max_time, create_new=create_new)  # parses max_time as IBM
        service = backend.service
        if service is None:
            service = QiskitRuntimeService._for_backend(backend)
        self._service = service
        self._instance = backend.instance or service.active_instance()
        self._root_taken = False
        self._session_id = self._create_session(create_new=create_new)

    def _create_session(self, *, create_new: bool | None = True) -> str | None:
        """Open the session in the runtime; returns its id (None unless ``create_new``)."""
        if not create_new:
            return None
        try:
            with ibm_errors():
                record = self._backend.runtime.open_session(
                    self._backend.device.name,
                    mode=self._core_mode,
                    max_ttl=self._max_time,
                    instance=self._instance,
                )
        except IBMRuntimeError as exc:
            if not isinstance(exc.__cause__, PlanError):
                raise
            # The Open plan has no session mode: its jobs run in job mode (seed 001).
            warnings.warn(str(exc.__cause__), UserWarning, stacklevel=4)
            return None
        return record.id

    @property
    def _runtime(self) -> RuntimeAPI:
        return self._backend.runtime

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        state = (
            self._backend,
            self._session_id,
            self._max_time,
            self._instance,
            self._root_taken,
            self._active,
        )
        return self._runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(
        cls,
        runtime: RuntimeAPI,
        backend: QSessionBackend,
        session_id: str | None,
        max_time: int | None,
        instance: str,
        root_taken: bool,
        active: bool,
    ) -> Session:
        del runtime  # the backend's (reconnected on its own)
        session = cls(backend, create_new=False)
        session._session_id = session_id
        session._max_time = max_time
        session._instance = instance
        session._root_taken = root_taken
        session._active = active
        return session

    def _record(self) -> SessionRecord:
        with ibm_errors():
            return self._runtime.session(self._session_id)

    def _check_active(self) -> None:
        """qiskit-ibm-runtime's client-side guard: no job once the session is known closed.

        Raises:
            IBMRuntimeError: ``"The session is closed."``
        """
        if not self._active:
            raise IBMRuntimeError(SESSION_CLOSED)

    def _run(
        self,
        program_id: str,
        inputs: Any,
        options: dict[str, Any] | None = None,
        result_decoder: Any = None,
        calibration_id: str | None = None,
        dry_run: bool = False,
    ) -> RuntimeJob:
        """Submit a job as qiskit-ibm-runtime's primitives do (its inputs are decoded first).

        Args:
            program_id: ``"sampler"``, ``"estimator"`` or ``"executor"``.
            inputs: the primitive's inputs (pubs and primitive options, or executor params).
            options: runtime options: ``job_tags``, ``max_execution_time``, ``instance``, ...
            result_decoder: accepted for compatibility (results are decoded locally).
            calibration_id: accepted for compatibility.
            dry_run: accepted; the job runs (a ``UserWarning`` says so).

        Raises:
            IBMRuntimeError: ``"The session is closed."`` after ``close()``/``cancel()`` or
                once the runtime closed the session (max time, idle timeout, root job
                cancelled...).
            IBMInputValueError: invalid pubs or options; nothing is submitted.
        """
        del result_decoder, calibration_id
        self._check_active()  # qiskit-ibm-runtime's guard comes before any decoding
        cache = self._backend.translations
        request = request_from_ibm(program_id, inputs, options, cache=cache, dry_run=dry_run)
        return self._submit(request)

    def _submit(self, request: JobRequest) -> RuntimeJob:
        """Submit a request to the session (what every primitive's job comes down to).

        The first job shares the session's id (the "root job", as on IBM).

        Raises:
            IBMRuntimeError: ``"The session is closed."``; the session then refuses further
                jobs without asking the runtime.
        """
        self._check_active()
        session_id = self._session_id
        job_id = None if self._root_taken or session_id is None else session_id
        try:
            job = submit(
                self._backend,
                request,
                session_id=session_id,
                job_id=job_id,
                instance=self._instance,
            )
        except IBMRuntimeError as exc:
            if isinstance(exc.__cause__, SessionClosedError):
                self._active = False
            raise
        self._root_taken = True
        return job

    def cancel(self) -> None:
        """Close the session at once: queued jobs fail, running jobs finish."""
        self._active = False
        if self._session_id is not None:
            with ibm_errors():
                self._runtime.cancel_session(self._session_id)

    def close(self) -> None:
        """Stop accepting jobs; queued and running jobs run to completion, then it closes."""
        self._active = False
        if self._session_id is not None:
            with ibm_errors():
                self._runtime.close_session(self._session_id)

    def details(self) -> dict[str, Any] | None:
        """The session's details (qiskit-ibm-runtime's 15 keys), or None without a session id.

        Timestamps are ISO-8601 UTC strings on the runtime's clock; ``usage_time``,
        ``max_time``, ``interactive_timeout`` and ``active_timeout`` are seconds
        (``interactive_timeout`` is None for a batch, which has no interactive window).
        """
        if self._session_id is None:
            return None
        return session_details(self._record(), self._runtime.clock.now())

    def usage(self) -> float | None:
        """Seconds used: time holding the device (session) or summed job time (batch)."""
        details = self.details()
        return None if details is None else details["usage_time"]

    def draw_timeline(self, **options: Any) -> Any:
        """A matplotlib figure of the session's jobs over time (needs the ``plot`` extra).

        Options as for :func:`qsession_provider.visual.draw_timeline` (``others``, ``ax``,
        ``title``).
        """
        from ..visual.timeline import draw_timeline  # matplotlib loads only when drawing

        return draw_timeline(self._session_id, runtime=self._runtime, **options)

    @classmethod
    def from_id(
        cls,
        session_id: str,
        service: Any,
        use_fractional_gates: bool = False,
        calibration_id: str | None = None,
    ) -> Session:
        """A handle on an existing session (or batch) of ``service``'s runtime.

        Raises:
            IBMInputValueError: ``"Session not found: ..."``, or ``"Input ID ... has execution
                mode batch instead of dedicated."`` (and vice versa) when the id is a batch
                opened as a ``Session`` or the other way round.
        """
        del use_fractional_gates, calibration_id
        with ibm_errors():
            record = service.runtime.session(session_id)
        expected = cls._core_mode.value
        if record.mode.value != expected:
            raise IBMInputValueError(
                f"Input ID {session_id} has execution mode {record.mode.value} instead of "
                f"{expected}."
            )
        backend = service.backend(record.device, instance=record.instance)
        session = cls(backend, create_new=False)
        session._session_id = session_id
        session._max_time = int(record.max_ttl)
        session._instance = record.instance
        session._root_taken = record.root_job_id is not None
        if record.state is SessionState.CLOSED:
            session._active = False
        return session

    def __enter__(self) -> Session:
        super().__enter__()  # sets qiskit-ibm-runtime's context variable
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc_val: BaseException | None,
        exc_tb: TracebackType | None,
    ) -> None:
        super().__exit__(exc_type, exc_val, exc_tb)  # clears it, then close()

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self._session_id} on {self.backend()}>"


class Batch(Session, IBMBatch):
    """A batch on a backend of this package (qiskit-ibm-runtime's ``Batch``).

    Jobs of a batch may run in parallel (on devices with several slots) and in any order;
    there is no interactive window. Same arguments and methods as :class:`Session`.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qsession_provider.qiskit import QiskitRuntimeService, Batch, SamplerV2
        >>> backend = QiskitRuntimeService(store=":memory:").backend("statevector")
        >>> qc = QuantumCircuit(1)
        >>> qc.measure_all()
        >>> with Batch(backend=backend) as batch:
        ...     jobs = [SamplerV2(mode=batch).run([qc], shots=5) for _ in range(3)]
        >>> [job.result()[0].data.meas.get_counts() for job in jobs]
        [{'0': 5}, {'0': 5}, {'0': 5}]
    """

    _core_mode = SessionMode.BATCH
