"""``QSessionBackend``: a Qiskit ``BackendV2`` over one device of the local runtime.

``backend.run`` coerces and checks its input, translates the circuits into a neutral
``run`` payload and submits it to the runtime (``runtime.submit("run", device, ...)``),
so the job queues on the device with every other job - primitives, Cirq jobs, sessions -
under the same scheduling rules. Everything is checked before submission: a bad call
raises and leaves the runtime, its queues and its store untouched.

Run options
-----------
``shots`` (int >= 1), ``memory`` (bool), ``seed_simulator`` (int >= 0 or None),
``job_name`` (str) and ``job_tags`` (list of str), with defaults from
:meth:`QSessionBackend.set_options`. For code written against other backends,
``meas_level=2`` (classified bits, the only level the engine produces), any
``meas_return`` (meaningful only for level 1, ignored at level 2 as Aer does) and
``noise_model=None`` are accepted. Any other option raises: unlike Aer, which ignores
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
The backend is an Azure ``SessionHost``: ``with backend.open_session(name=...,
job_failure_policy=...) as session:`` opens a workspace-dialect session on its device, and
every ``backend.run`` joins the latest session opened through the backend (as with
azure-quantum's Qiskit backends, leaving the block closes the session but keeps it as the
latest, so later runs are rejected until a new session is opened or ``latest_session`` is
set to None).

On emulated QPUs (``simulator=False``) circuits must match the target, as on IBM hardware:
a gate outside the basis, or a two-qubit gate between uncoupled qubits, is refused with
the message qiskit-ibm-runtime's primitives use; transpile with
``generate_preset_pass_manager(backend=backend)`` first. Simulators run any circuit the
translator supports.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping, Sequence
from numbers import Integral
from typing import Any

import numpy as np
from qiskit.circuit import ControlFlowOp, QuantumCircuit
from qiskit.providers import BackendV2, Options
from qiskit.result import MeasLevel
from qiskit.transpiler import Target
from qiskit_ibm_runtime.exceptions import IBMBackendError, IBMBackendValueError
from qiskit_ibm_runtime.models import BackendStatus

from .. import __version__
from ..azure.session import SessionHost
from ..azure.workspace import Workspace
from ..core.device import Device
from ..core.runtime.runtime import Runtime
from ..errors import InputError, QSessionError
from ._programs import ProgramCache
from ._pubs import run_payload
from .backend_job import BackendJob
from .target import device_target

__all__ = ["QSessionBackend"]

#: Options accepted for compatibility: name -> (allowed values, what the error says).
_COMPAT_OPTIONS: Mapping[str, tuple[tuple[Any, ...] | None, str]] = {
    "meas_level": ((2, MeasLevel.CLASSIFIED), "only classified results (meas_level=2)"),
    "meas_return": (None, ""),
    "noise_model": ((None,), "noise models are not supported (the engine is noiseless)"),
}


class QSessionBackend(SessionHost, BackendV2):
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

    Raises:
        DeviceNotFoundError: the runtime has no such device.

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
        runtime: Runtime,
        device: str,
        *,
        service: object | None = None,
        instance: str = "default",
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
        self._cache = ProgramCache()
        self._device_target: Target | None = None
        self._workspace: Workspace | None = None

    @property
    def service(self) -> object | None:
        """The service that made this backend, or None."""
        return self._service

    @property
    def instance(self) -> str:
        """The instance jobs are charged to (fair share is across instances)."""
        return self._instance

    # -- Azure-style session host --------------------------------------------------------------
    def _get_azure_workspace(self) -> Workspace:
        """The workspace (on this backend's runtime) Azure-style sessions open in."""
        if self._workspace is None:
            self._workspace = Workspace(runtime=self.runtime)
        return self._workspace

    def _get_azure_target_id(self) -> str:
        """The device name: Azure-style sessions of this backend run on its device."""
        return self.device.name

    # -- BackendV2 -------------------------------------------------------------------------
    @property
    def target(self) -> Target:
        """The device's Qiskit ``Target`` (built on first use)."""
        if self._device_target is None:
            self._device_target = device_target(self.device)
        return self._device_target

    @property
    def max_circuits(self) -> int | None:
        """The most circuits per job (the device's ``max_executions``), or None."""
        return self.device.max_executions

    @classmethod
    def _default_options(cls) -> Options:
        """Run defaults; change them with ``set_options`` (see the module docstring)."""
        return Options(shots=1024, memory=False, seed_simulator=None, job_name=None, job_tags=None)

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
        opts = self._resolve_options(options)
        circuits = _as_circuits(run_input)
        if not self.simulator:
            self._check_fits(circuits)
        try:
            payload = run_payload(
                circuits,
                shots=opts["shots"],
                memory=opts["memory"],
                seed=opts["seed_simulator"],
                cache=self._cache,
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

    def __deepcopy__(self, memo: dict[int, Any]) -> QSessionBackend:
        """A copy with its own options and target that shares the runtime, device and service.

        qiskit-ibm-runtime's local mode deep-copies the backend with the job options; the
        copy must still queue its jobs on the same runtime.
        """
        clone = copy.copy(self)
        memo[id(self)] = clone
        clone._options = copy.deepcopy(self._options, memo)
        clone._device_target = copy.deepcopy(self._device_target, memo)
        return clone

    # -- helpers -----------------------------------------------------------------------------
    def _resolve_options(self, options: Mapping[str, Any]) -> dict[str, Any]:
        """Backend defaults overridden by ``options``, checked (see the module docstring)."""
        merged = dict(self.options.items())
        unknown = []
        for key, value in options.items():
            if key in merged:
                merged[key] = value
            elif key in _COMPAT_OPTIONS:
                allowed, why = _COMPAT_OPTIONS[key]
                if allowed is not None and value not in allowed:
                    raise IBMBackendValueError(
                        f"{self.name}: {key}={value!r} is not supported: {why}"
                    )
            else:
                unknown.append(key)
        if unknown:
            known = sorted([*merged, *_COMPAT_OPTIONS])
            raise IBMBackendValueError(
                f"{self.name}: unknown run option(s) {sorted(unknown)}; valid options: {known}"
            )
        shots = merged["shots"]
        if isinstance(shots, (bool, np.bool_)) or not isinstance(shots, Integral) or shots < 1:
            raise IBMBackendValueError(f"{self.name}: shots must be an integer >= 1, got {shots!r}")
        merged["shots"] = int(shots)
        if not isinstance(merged["memory"], (bool, np.bool_)):
            raise IBMBackendValueError(
                f"{self.name}: memory must be True or False, got {merged['memory']!r}"
            )
        merged["memory"] = bool(merged["memory"])
        name = merged["job_name"]
        if name is not None and not isinstance(name, str):
            raise IBMBackendValueError(f"{self.name}: job_name must be a string, got {name!r}")
        tags = merged["job_tags"]
        if isinstance(tags, str) or not (tags is None or all(isinstance(t, str) for t in tags)):
            raise IBMBackendValueError(
                f"{self.name}: job_tags must be a list of strings, got {tags!r}"
            )
        merged["job_name"] = name or ""
        merged["job_tags"] = tuple(tags or ())
        return merged

    def _check_fits(self, circuits: Sequence[QuantumCircuit]) -> None:
        """Refuse circuits that are wider than the QPU or do not match its target."""
        for index, circuit in enumerate(circuits):
            label = f"circuit {index} ({circuit.name!r})"
            if circuit.num_qubits > self.device.num_qubits:
                raise IBMBackendValueError(
                    f"{self.name}: {label} has {circuit.num_qubits} qubits, more than the "
                    f"device's {self.device.num_qubits}"
                )
            problem = _non_isa(circuit, self.target, list(range(circuit.num_qubits)))
            if problem:
                raise IBMBackendValueError(
                    f"{self.name}: {label}: {problem} Transpile it for this backend first, "
                    "e.g. generate_preset_pass_manager(backend=backend).run(circuit)."
                )


def _as_circuits(run_input: Any) -> list[QuantumCircuit]:
    """``run_input`` as a non-empty list of circuits (checked)."""
    if isinstance(run_input, QuantumCircuit):
        return [run_input]
    if isinstance(run_input, (str, bytes)) or not isinstance(run_input, Sequence):
        raise IBMBackendValueError(
            "run_input must be a QuantumCircuit or a list of QuantumCircuits, "
            f"got {type(run_input).__name__}"
        )
    circuits = list(run_input)
    if not circuits:
        raise IBMBackendValueError("run_input is an empty list; give at least one circuit")
    for index, item in enumerate(circuits):
        if not isinstance(item, QuantumCircuit):
            raise IBMBackendValueError(
                f"run_input item {index} is a {type(item).__name__}, not a QuantumCircuit"
            )
    return circuits


def _non_isa(circuit: QuantumCircuit, target: Target, qubits: list[int]) -> str:
    """Why ``circuit`` (its qubit ``i`` on target qubit ``qubits[i]``) is not ISA, or ``""``."""
    for inst in circuit.data:
        name = inst.operation.name
        qargs = tuple(qubits[circuit.find_bit(q).index] for q in inst.qubits)
        if name not in ("barrier", "store") and not target.instruction_supported(name, qargs):
            return (
                f"The instruction {name} on qubits {qargs} is not supported by the target system."
            )
        if isinstance(inst.operation, ControlFlowOp):
            for block in inst.operation.blocks:
                inner = [qubits[circuit.find_bit(q).index] for q in inst.qubits]
                problem = _non_isa(block, target, inner)
                if problem:
                    return problem
    return ""
