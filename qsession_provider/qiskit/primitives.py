"""``SamplerV2`` and ``EstimatorV2`` over the local runtime (qiskit's V2 primitive interfaces).

They take qiskit-ibm-runtime's arguments - ``mode`` (a :class:`~.session.Session`,
:class:`~.session.Batch` or backend, or None inside ``with Session(...)``) and ``options``
(qiskit-ibm-runtime's ``SamplerOptions``/``EstimatorOptions``, or a dict merged into the
defaults) - and implement qiskit's ``BaseSamplerV2``/``BaseEstimatorV2`` with full PUB
semantics: broadcasting of parameter values against observables, several classical
registers, per-pub shots and precision.

``run()`` takes one straight path: coerce the pubs once (``SamplerPub.coerce(pub, shots)``
/ ``EstimatorPub.coerce(pub, precision)``), check them (ISA circuits on emulated QPUs, as
the cloud does), build the job request with the defaults resolved once
(:mod:`._requests`), and submit it through the session (or in job mode on the backend).
Defaults follow the cloud: 4096 shots, precision 0.015625. The estimator is exact at
precision 0 (``run(pubs, precision=0)``, per pub, or as the default:
``options.default_precision = 0``, which IBM's validator refuses and ours,
:class:`EstimatorOptions`, accepts) and otherwise adds Gaussian noise of standard deviation
``precision`` to each expectation value, as qiskit's ``StatevectorEstimator`` does; ``stds``
report the precision. The read-only ``EstimatorV2.default_precision`` and
``SamplerV2.default_shots`` give the defaults in force, as on qiskit's reference primitives
(qiskit-algorithms reads them). Seeds: ``options.simulator.seed_simulator`` (sampler and
estimator) and ``options.seed_estimator`` (estimator).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import fields, replace
from typing import Any

from qiskit.primitives import BaseEstimatorV2, BaseSamplerV2
from qiskit_ibm_runtime.exceptions import IBMInputValueError
from qiskit_ibm_runtime.options import EstimatorOptions as IBMEstimatorOptions
from qiskit_ibm_runtime.options import SamplerOptions
from qiskit_ibm_runtime.options.utils import (
    Unset,
    make_constraint_validator,
    merge_options_v2,
    primitive_dataclass,
)
from qiskit_ibm_runtime.utils import validate_classical_registers, validate_isa_circuits

from ..client.api import RuntimeAPI
from ..client.handles import Handle
from ._convert import check_job_tags
from ._mode import resolve_mode
from ._requests import (
    coerce_estimator_pubs,
    coerce_sampler_pubs,
    default_precision,
    default_shots,
    primitive_request,
)
from ._run_checks import SIMULATION_METHODS
from ._submit import submit
from .runtime_job import RuntimeJob

__all__ = ["Estimator", "EstimatorOptions", "EstimatorV2", "Sampler", "SamplerV2"]


@primitive_dataclass
class EstimatorOptions(IBMEstimatorOptions):
    """qiskit-ibm-runtime's ``EstimatorOptions``, with ``default_precision=0`` (exact) allowed.

    IBM's validator wants ``default_precision > 0``; on our simulators 0 means exact
    expectation values, so this class accepts ``>= 0`` and is otherwise IBM's. It is the
    class of ``EstimatorV2(...).options``; IBM's instances and dicts are accepted too.

    Example:
        >>> EstimatorOptions(default_precision=0).default_precision
        0.0
    """

    _gt0 = make_constraint_validator("default_precision", ge=0)  # type: ignore[arg-type]


def _set(value: Any) -> bool:
    return value is not Unset and value is not None


class _Primitive(Handle):
    """Mode, options and submission shared by the sampler and the estimator.

    A primitive pickles as its mode (backend, session or batch) and options; the mode
    reconnects on unpickling (:mod:`qsession_provider.client.handles`).
    """

    _options_class: type[Any]
    #: The options classes accepted as ``options`` (converted to ``_options_class``).
    _accepted_options: tuple[type[Any], ...]
    _program_id: str

    def __init__(self, mode: Any = None, options: Any = None) -> None:
        self._session, self._backend = resolve_mode(mode)
        # None: the defaults, built on first read (a loop of short-lived primitives never
        # reads them, and building them costs as much as translating a small circuit).
        self._options: Any = None
        if isinstance(options, dict):
            defaults = self._options_class()
            self._options = self._options_class(**merge_options_v2(defaults, options))
        elif isinstance(options, self._options_class):
            self._options = replace(options)
        elif isinstance(options, self._accepted_options):  # IBM's class: the same fields
            self._options = self._options_class(
                **{f.name: getattr(options, f.name) for f in fields(options)}
            )
        elif options is not None:
            raise TypeError(
                f"Invalid 'options' type. It can only be a dictionary of {self._options_class}"
            )

    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        state = (self._session, self._backend, self._options)
        return self._backend.runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(cls, runtime: RuntimeAPI, session: Any, backend: Any, options: Any) -> Any:
        del runtime  # the backend's (reconnected on its own)
        primitive = cls.__new__(cls)
        primitive._session, primitive._backend, primitive._options = session, backend, options
        return primitive

    @property
    def mode(self) -> Any:
        """The session or batch the primitive runs in, or None in job mode."""
        return self._session

    @property
    def options(self) -> Any:
        """The options (change them in place: ``sampler.options.default_shots = 100``)."""
        if self._options is None:
            self._options = self._options_class()
        return self._options

    def backend(self) -> Any:
        """The backend the primitive runs on."""
        return self._backend

    def _primitive_options(self) -> dict[str, Any]:
        """The primitive options qiskit-ibm-runtime would send (only what is set)."""
        o = self._options
        out: dict[str, Any] = {}
        if o is None:  # all defaults
            return out
        for name in ("default_shots", "default_precision", "seed_estimator"):
            value = getattr(o, name, Unset)
            if _set(value):
                out[name] = value
        seed = getattr(o.simulator, "seed_simulator", Unset)
        if _set(seed):
            out["simulator"] = {"seed_simulator": seed}
        noise = getattr(o.simulator, "noise_model", Unset)
        if _set(noise):  # replaces the device's noise (qiskit/_noise.py)
            out.setdefault("simulator", {})["noise_model"] = noise
        return out

    def _submit(self, pubs: list[Any], options: dict[str, Any]) -> RuntimeJob:
        """Check coerced ``pubs``, build their request and submit it (session or job mode)."""
        backend, session = self._backend, self._session
        if not backend.simulator:
            validate_isa_circuits([pub.circuit for pub in pubs], backend.target)
        if session is not None:
            session._check_active()  # as qiskit-ibm-runtime: a closed session refuses first
        o = self._options
        tags, max_time = ([], None) if o is None else (o.environment.job_tags, o.max_execution_time)
        request = primitive_request(
            self._program_id,
            pubs,
            options,
            cache=backend.translations,
            tags=check_job_tags(tags),
            max_execution_time=(max_time if _set(max_time) else None) or None,
            method=_method(backend),
        )
        if session is not None:
            return session._submit(request)
        return submit(backend, request)

    def __repr__(self) -> str:
        where = self._session if self._session is not None else self._backend.name
        return f"<{type(self).__name__} on {where}>"


class SamplerV2(_Primitive, BaseSamplerV2):
    """Sampler primitive over the local runtime (qiskit-ibm-runtime's ``SamplerV2`` API).

    Args:
        mode: a :class:`~.session.Session` or :class:`~.session.Batch`, a backend (job
            mode), or None inside ``with Session(...)``.
        options: ``SamplerOptions`` or a dict merged into the defaults. Used:
            ``default_shots`` (default 4096), ``simulator.seed_simulator``,
            ``environment.job_tags``, ``max_execution_time``.

    Raises:
        ValueError: no usable mode.
        TypeError: ``options`` of the wrong type.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qsession_provider.qiskit import QiskitRuntimeService, SamplerV2
        >>> backend = QiskitRuntimeService(store=":memory:").backend("statevector")
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.x(0)
        >>> qc.measure_all()
        >>> sampler = SamplerV2(mode=backend, options={"default_shots": 100})
        >>> sampler.run([qc]).result()[0].data.meas.get_counts()
        {'01': 100}
    """

    _options_class = SamplerOptions
    _accepted_options = (SamplerOptions,)
    _program_id = "sampler"

    def __init__(self, mode: Any = None, options: SamplerOptions | dict | None = None) -> None:
        _Primitive.__init__(self, mode, options)

    @property
    def default_shots(self) -> int:
        """Shots of a pub that sets none when ``run()`` is given none (read-only).

        ``options.default_shots`` if set, else 4096 (IBM's default); as on qiskit's
        ``StatevectorSampler``.
        """
        return default_shots(self._primitive_options())

    def run(self, pubs: Iterable[Any], *, shots: int | None = None) -> RuntimeJob:
        """Submit sampler pubs; each runs with its own shots, else ``shots``, else the default.

        Returns:
            The job; ``job.result()`` is a ``PrimitiveResult`` of ``SamplerPubResult`` with a
            ``BitArray`` per classical register.

        Raises:
            IBMInputValueError: invalid pubs (the message names the pub), classical registers
                qiskit-ibm-runtime refuses, or circuits that are not ISA circuits of an
                emulated QPU. A circuit without classical registers only warns (its result
                is empty), as in qiskit-ibm-runtime and qiskit's samplers.
            IBMRuntimeError: ``"The session is closed."``
        """
        options = self._primitive_options()
        with self._backend.translations.circuits.scope():  # each circuit validated once
            coerced = coerce_sampler_pubs(pubs, default_shots(options, shots))
            validate_classical_registers(coerced)  # IBM's checks (and its no-register warning)
            return self._submit(coerced, options)


class EstimatorV2(_Primitive, BaseEstimatorV2):
    """Estimator primitive over the local runtime (qiskit-ibm-runtime's ``EstimatorV2`` API).

    Args:
        mode: a :class:`~.session.Session` or :class:`~.session.Batch`, a backend (job
            mode), or None inside ``with Session(...)``.
        options: :class:`EstimatorOptions` (ours, or IBM's) or a dict merged into the
            defaults. Used: ``default_precision`` (default 0.015625; 0 for exact values),
            ``default_shots`` (if set, precision ``1/sqrt(shots)`` instead),
            ``seed_estimator``, ``simulator.seed_simulator``, ``environment.job_tags``,
            ``max_execution_time``.

    Example:
        >>> from qiskit import QuantumCircuit
        >>> from qiskit.quantum_info import SparsePauliOp
        >>> from qsession_provider.qiskit import QiskitRuntimeService, EstimatorV2
        >>> backend = QiskitRuntimeService(store=":memory:").backend("statevector")
        >>> qc = QuantumCircuit(2)
        >>> _ = qc.h(0), qc.cx(0, 1)
        >>> job = EstimatorV2(mode=backend).run([(qc, SparsePauliOp("ZZ"))], precision=0)
        >>> round(float(job.result()[0].data.evs), 6)
        1.0
    """

    _options_class = EstimatorOptions
    _accepted_options = (IBMEstimatorOptions,)
    _program_id = "estimator"

    def __init__(self, mode: Any = None, options: IBMEstimatorOptions | dict | None = None) -> None:
        _Primitive.__init__(self, mode, options)

    @property
    def default_precision(self) -> float:
        """Precision of a pub that sets none when ``run()`` is given none (read-only).

        From the options: ``1/sqrt(default_shots)`` if that is set, else
        ``default_precision`` (0 for exact values), else 0.015625 (IBM's default); as on
        qiskit's ``StatevectorEstimator``.
        """
        return default_precision(self._primitive_options())

    def run(self, pubs: Iterable[Any], *, precision: float | None = None) -> RuntimeJob:
        """Submit estimator pubs; each uses its own precision, else ``precision``, else the default.

        ``precision=0`` gives exact expectation values.

        Returns:
            The job; ``job.result()`` is a ``PrimitiveResult`` of ``PubResult`` with ``evs`` and
            ``stds`` of each pub's broadcast shape.

        Raises:
            IBMInputValueError: invalid pubs or precision, or non-ISA circuits on an emulated
                QPU.
            IBMRuntimeError: ``"The session is closed."``
        """
        options = self._primitive_options()
        default = default_precision(options, precision)
        with self._backend.translations.circuits.scope():  # each circuit validated once
            coerced = coerce_estimator_pubs(pubs, default, self._backend.translations)
            return self._submit(coerced, options)


#: Aliases, as in qiskit-ibm-runtime.
Sampler = SamplerV2
Estimator = EstimatorV2


def _method(backend: Any) -> str | None:
    """The simulation method the backend's options ask for (``backend.set_options(method=)``,
    as Aer's primitives take it from the backend); None for the engine's own choice."""
    method = getattr(backend.options, "method", None)
    if method is not None and method not in SIMULATION_METHODS:
        raise IBMInputValueError(
            f"{backend.name}: method={method!r} is not a simulation method; choose one of "
            f"{list(SIMULATION_METHODS)}"
        )
    return None if method in (None, "automatic") else str(method)
