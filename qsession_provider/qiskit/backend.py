"""``QSessionBackend``: a Qiskit ``BackendV2`` over one device of the local runtime.

``backend.run`` coerces and checks its input, translates the circuits into a neutral
``run`` payload and submits it to the runtime (``runtime.submit("run", device, ...)``),
so the job queues on the device with every other job - primitives, Cirq jobs, sessions -
under the same scheduling rules. Everything is checked before submission: a bad call
raises and leaves the runtime, its queues and its store untouched.

Run options
-----------
``shots`` (int >= 1), ``memory`` (bool), ``seed_simulator`` (int >= 0 or None),
``job_name`` (str), ``job_tags`` (list of str) and ``method`` (Aer's: ``"automatic"``,
``"statevector"`` or ``"stabilizer"``; see ``qsession_provider.sim.method``), with defaults
from :meth:`QSessionBackend.set_options`. For code written against other backends,
``meas_level=2`` (classified bits, the only level the engine produces), any
``meas_return`` (meaningful only for level 1, ignored at level 2 as Aer does) are
accepted, and ``noise_model`` as Aer takes it (a ``qiskit_aer.noise.NoiseModel``, replacing
the device's calibration noise; ``False`` runs ideally: ``qiskit/_noise.py``). Any other
option raises: unlike Aer, which ignores
unknown options silently, and BasicSimulator, which warns, a job here may wait in a
shared queue and take modelled device time, so a misspelt ``shot=100`` should not quietly
run 1024 shots.

Errors
------
Bad input raises ``IBMBackendValueError`` (a ``QiskitError`` and a ``ValueError``, the
class qiskit-ibm-runtime uses for invalid backend input), chained to the core error; the
message names the circuit and the problem. Other runtime failures at submission (for
example a runtime that was shut down) raise ``IBMBackendError``. Failures while the job
runs surface from ``job.result()`` as ``qiskit.providers.JobError``.

Azure-style sessions
--------------------
As with azure-quantum's Qiskit backends, ``with backend.open_session(name=...,
job_failure_policy=...) as session:`` opens a workspace-dialect session on its device, and
every ``backend.run`` joins the latest session opened through the backend (leaving the block
closes the session but keeps it as the latest, so later runs are rejected until a new
session is opened or ``latest_session`` is set to None). The session host lives in the
Azure face (:mod:`qsession_provider.azure.qiskit_backend`), which is loaded only when a
session is opened this way: the one deliberate edge between the faces.

On emulated QPUs (``simulator=False``) circuits must match the target, as on IBM hardware:
a gate outside the basis, or a two-qubit gate between uncoupled qubits, is refused with
the message qiskit-ibm-runtime's primitives use; transpile with
``generate_preset_pass_manager(backend=backend)`` first. Simulators run any circuit the
translator supports.
"""

from __future__ import annotations

import copy
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from qiskit.circuit import QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.transpiler import Target
from qiskit_ibm_runtime.exceptions import IBMBackendError, IBMBackendValueError
from qiskit_ibm_runtime.models import BackendStatus

from .. import __version__
from ..client.api import RuntimeAPI
from ..client.handles import Handle
from ..core.device import Device
from ..errors import InputError, QSessionError
from ._noise import noise_option
from ._payloads import run_payload
from ._run_checks import as_circuits, check_fits, resolve_run_options
from ._translations import TranslationCache
from .backend_job import BackendJob
from .target import device_target

if TYPE_CHECKING:
    from ..azure.qiskit_backend import BackendSessionHost
    from ..azure.session import Session as AzureSession
    from .service import QiskitRuntimeService

__all__ = ["QSessionBackend"]


class QSessionBackend(Handle, BackendV2):
    """A Qiskit ``BackendV2`` whose jobs run on a device of the local runtime.

    ``target`` is a real ``Target`` (see :mod:`qsession_provider.qiskit.target`), so
    ``generate_preset_pass_manager(backend=backend)``, ``BackendSamplerV2`` and
    ``BackendEstimatorV2`` work as with any Qiskit backend, and so do qiskit-ibm-runtime's
    primitives in local mode (``SamplerV2(mode=backend)``). ``simulator`` tells
    qiskit-ibm-runtime whether to check circuits against the target (emulated QPUs: yes).

    Args:
        runtime: the runtime that queues and runs the jobs.
        device: the device name (``"statevector"``, ``"emulated_falcon_27"``, ...).
        service: the service that made this backend, if any (``backend.service``).
        instance: the instance (user or group) jobs are charged to for fair share.
        translations: the translations to reuse between jobs (the service's; default: a
            cache of the backend's own).

    Raises:
        DeviceNotFoundError: the runtime has no such device.

    A backend pickles as its runtime's address, device name, instance, options, service and
    Azure-style latest session, and reconnects on unpickling
    (:mod:`qsession_provider.client.handles`): a ``multiprocessing`` worker runs its jobs on
    the same store file or server.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.transpiler import generate_preset_pass_manager
        >>> from qsession_provider.core.clock import VirtualClock
        >>> from qsession_provider.client import open_runtime
        >>> runtime = open_runtime(":memory:", clock=VirtualClock())
        >>> backend = QSessionBackend(runtime, "emulated_falcon_27")
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.h(0), qc.cx(0, 1), qc.measure_all()
        >>> isa = generate_preset_pass_manager(backend=backend, optimization_level=1).run(qc)
        >>> job = backend.run(isa, shots=1000, seed_simulator=7)
        >>> sorted(job.result().get_counts())
        ['00', '11']
        >>> core = job.core_job  # modelled device time: 1 s + 50 ms + 1000 shots x 250 us
        >>> round(core.finished_at - core.started_at, 6)
        1.3
        >>> runtime.shutdown()
    """

    def __init__(
        self,
        runtime: RuntimeAPI,
        device: str,
        *,
        service: QiskitRuntimeService | None = None,
        instance: str = "default",
        translations: TranslationCache | None = None,
        use_fractional_gates: bool = False,
        calibration_id: str | None = None,
    ) -> None:
        dev = runtime.device(device)
        super().__init__(
            provider=service,
            name=dev.name,
            description=dev.description or None,
            backend_version=__version__,
        )
        #: The runtime jobs are submitted to.
        self.runtime = runtime
        #: The core device.
        self.device: Device = dev
        #: True for simulators; qiskit-ibm-runtime then skips its ISA checks.
        self.simulator: bool = dev.simulator
        # ``_service``/``_instance`` are the attribute names IBMBackend uses too.
        self._service = service
        self._instance = instance
        #: Translations reused between jobs (shared with the service that made the backend).
        self.translations = translations if translations is not None else TranslationCache()
        self._device_target: Target | None = None
        #: The target also has the device's fractional gates (IBM's ``use_fractional_gates``).
        self.use_fractional_gates = bool(use_fractional_gates)
        #: The calibration its jobs run with (a finished calibration job of the device, as
        #: IBM's ``backend(name, calibration_id=...)``), or None for the latest one.
        self.calibration_id = calibration_id
        self._session_host: BackendSessionHost | None = None

    @property
    def service(self) -> QiskitRuntimeService | None:
        """The service that made this backend, or None."""
        return self._service

    @property
    def instance(self) -> str:
        """The instance jobs are charged to (fair share is across instances)."""
        return self._instance

    # -- Azure-style sessions (the Azure face, loaded on demand) ---------------------------------
    def open_session(self, *args: Any, **kwargs: Any) -> AzureSession:
        """Open an Azure-style session on the device; ``run`` then joins it.

        Takes the arguments of azure-quantum's ``open_session`` (``name``,
        ``job_failure_policy``, ...) and closes the previous latest session first.

        Returns:
            The open session (a context manager whose exit closes it).
        """
        return self._azure_session_host().open_session(*args, **kwargs)

    @property
    def latest_session(self) -> AzureSession | None:
        """The Azure-style session opened last through this backend (``run`` joins it), or None."""
        host = self._session_host
        return None if host is None else host.latest_session

    @latest_session.setter
    def latest_session(self, session: AzureSession | None) -> None:
        if session is None and self._session_host is None:
            return  # nothing to forget, and no reason to load the Azure face
        self._azure_session_host().latest_session = session

    def get_latest_session_id(self) -> str | None:
        """Id of :attr:`latest_session`, or None (without loading the Azure face)."""
        host = self._session_host
        return None if host is None else host.get_latest_session_id()

    def _azure_session_host(self) -> BackendSessionHost:
        if self._session_host is None:
            # The documented edge from this face to the Azure face, taken only when an
            # Azure-style session is used, so that backend.run alone never loads it.
            from ..azure.qiskit_backend import BackendSessionHost

            self._session_host = BackendSessionHost(self)
        return self._session_host

    # -- BackendV2 -------------------------------------------------------------------------
    @property
    def target(self) -> Target:
        """The device's Qiskit ``Target`` (built on first use)."""
        if self._device_target is None:
            self._device_target = device_target(
                self.device, fractional_gates=self.use_fractional_gates
            )
        return self._device_target

    @property
    def num_qubits(self) -> int:
        """The device's qubit count (without building the target or a lazy device)."""
        return self.device.num_qubits

    @property
    def max_circuits(self) -> int | None:
        """The most circuits per job (the device's ``max_executions``), or None."""
        return self.device.max_executions

    @classmethod
    def _default_options(cls) -> Options:
        """Run defaults; change them with ``set_options`` (see the module docstring)."""
        return Options(
            shots=1024,
            memory=False,
            seed_simulator=None,
            job_name=None,
            job_tags=None,
            method="automatic",  # Aer's run option: "automatic", "statevector", "stabilizer"
        )

    def run(
        self, run_input: QuantumCircuit | Sequence[QuantumCircuit], **options: Any
    ) -> BackendJob:
        """Queue ``run_input`` on the device.

        Args:
            run_input: a circuit or a list of circuits, all parameters bound.
            **options: run options (see the module docstring); unset ones come from
                ``backend.options``.

        Returns:
            The job; ``job.result()`` waits for it and returns a ``qiskit.result.Result``.

        Raises:
            IBMBackendValueError: an unknown or invalid option, input that is not a circuit
                or a list of circuits, unbound parameters, a circuit wider than the device,
                a circuit that does not match an emulated QPU's target, or one the engine
                cannot translate. Nothing is queued.
            IBMBackendError: the runtime refused the job for another reason (e.g. it has
                been shut down).
        """
        try:  # Aer's noise_model= (qiskit/_noise.py): None the device's, False ideal
            noise = noise_option(options.pop("noise_model", None), f"{self.name}: noise_model")
        except InputError as exc:
            raise IBMBackendValueError(str(exc)) from exc
        opts = resolve_run_options(self.name, self.options, options)
        circuits = as_circuits(run_input)
        if not self.simulator:
            check_fits(self.name, self.device, self.target, circuits)
        try:
            payload = run_payload(
                circuits,
                shots=opts["shots"],
                memory=opts["memory"],
                seed=opts["seed_simulator"],
                cache=self.translations,
                options={"method": opts["method"]}
                | ({} if noise is None else {"noise_model": noise}),
            )
            job = self.runtime.submit(
                "run",
                self.device.name,
                payload,
                session_id=self.get_latest_session_id(),
                instance=self._instance,
                tags=opts["job_tags"],
                name=opts["job_name"],
            )
        except InputError as exc:
            raise IBMBackendValueError(f"{self.name}: {exc}") from exc
        except QSessionError as exc:
            raise IBMBackendError(f"{self.name}: {exc}") from exc
        return BackendJob(
            self,
            job,
            circuits,
            shots=opts["shots"],
            memory=opts["memory"],
            seed=opts["seed_simulator"],
        )

    # -- IBM-style extras --------------------------------------------------------------------
    def status(self) -> BackendStatus:
        """The backend's status, as qiskit-ibm-runtime's ``IBMBackend.status()`` returns it.

        ``pending_jobs`` counts the device's queued and running jobs in this runtime (what
        ``least_busy`` compares); ``operational`` is False once the runtime is shut down.
        """
        open_ = not self.runtime.closed
        return BackendStatus(
            backend_name=self.name,
            backend_version=str(self.backend_version),
            operational=open_,
            pending_jobs=self.runtime.pending_jobs(self.name) if open_ else 0,
            status_msg="active" if open_ else "shut down",
        )

    def __repr__(self) -> str:
        return f"<{type(self).__name__}('{self.name}')>"

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        latest = None if self._session_host is None else self._session_host.latest_session
        state = (self.name, self._instance, self._service, self._options, latest)
        return self.runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(
        cls,
        runtime: RuntimeAPI,
        name: str,
        instance: str,
        service: QiskitRuntimeService | None,
        options: Options,
        latest_session: AzureSession | None,
    ) -> QSessionBackend:
        translations = None if service is None else service.translations
        backend = cls(runtime, name, service=service, instance=instance, translations=translations)
        backend._options = options
        if latest_session is not None:
            backend.latest_session = latest_session
        return backend

    def __deepcopy__(self, memo: dict[int, Any]) -> QSessionBackend:
        """A copy with its own options and target that shares the runtime, device and service.

        qiskit-ibm-runtime's local mode deep-copies the backend with the job options; the
        copy must still queue its jobs on the same runtime.
        """
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone._options = copy.deepcopy(self._options, memo)
        clone._device_target = copy.deepcopy(self._device_target, memo)
        clone._session_host = None  # the copy's latest session is its own
        if self._session_host is not None:
            clone.latest_session = self._session_host.latest_session
        return clone
