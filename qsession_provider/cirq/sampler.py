"""A ``cirq.Sampler`` whose jobs go through the runtime's scheduler and sessions.

:class:`Sampler` implements only ``run_sweep_async`` (one runtime job per circuit and
sweep) and inherits everything else from ``cirq.Sampler``: ``run``, ``run_sweep``,
``run_batch`` (whose sweeps run as concurrent jobs), ``sample``,
``sample_expectation_values`` and the ``*_async`` variants. Waiting never blocks the
duet event loop (see :mod:`._waiting`).

A sampler built on a target (a :class:`~.host.SessionHost`) joins the target's latest
session at each submission; one built on a service uses the service's default target.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Sequence
from typing import Any, Protocol, runtime_checkable

import cirq
import duet
import numpy as np

from ..client import KEEP_DEFAULT, RuntimeAPI, runtime_for
from ..client.handles import Handle
from ..core.clock import Clock
from ..errors import InputError, JobCancelledError, JobFailedError
from ..translate.cirq.noise import noise_model, noisy_program
from ._payloads import (
    cirq_estimator_payload,
    cirq_sampler_payload,
    combine_parts,
    expectation_inputs,
)
from ._results import JobResult
from ._waiting import until_final
from .host import SessionHost
from .job import STATUS_NAMES, Job, UnsuccessfulJobError, submit_sweep
from .session import Session, find_runtime, session_id_of

__all__ = ["Sampler"]

#: The device a sampler uses when given neither a device nor a session.
DEFAULT_DEVICE = "statevector"


@runtime_checkable
class TargetSource(Protocol):
    """What has a default target (a :class:`~qsession_provider.cirq.Service`)."""

    def get_target(self, name: str | None = None) -> SessionHost:
        """The target called ``name``, or the default one."""
        ...


class Sampler(Handle, cirq.Sampler):
    """A Cirq sampler bound to a device of the local runtime, and optionally a session.

    Every ``run_sweep`` is one runtime ``sampler`` job: the circuit is translated once and
    every resolver of the sweep runs in that job. The jobs queue on the device like any
    other face's jobs; inside a session they get its priority and obey its rules. Results
    are :class:`~qsession_provider.cirq.JobResult` objects (``cirq.Result`` with a
    ``job_id``), with the resolver in ``params`` and the circuit's measurement keys.

    Args:
        device: device name, a Cirq ``Target`` or ``Service`` (its default target). A
            target binds the sampler to the target's *latest* session, looked up at each
            submission (Azure's ``SessionHost`` rule). Default: the session's device,
            else ``"statevector"``.
        runtime: the runtime (default: the session's or target's runtime, else the shared
            runtime of ``store``).
        store: store path for :func:`~qsession_provider.client.open_runtime` (default
            ``$QSESSION_STORE`` or the user data directory).
        clock: clock for a runtime opened here (e.g. a ``VirtualClock``).
        session: run every job in this session: a :class:`Session`, a session object of
            another face (anything with ``session_id`` or ``id``) or a session id.
        seed: makes sampling reproducible: an int (or numpy random state) seeds a
            generator that draws one seed per job, like ``cirq.Simulator(seed=...)``.
        name: name of every job.
        tags: tags of every job.
        timeout: clock seconds to wait for each job (None: no limit).
        keep_results: how many of the latest results an in-memory store keeps (default 100;
            None: all; see :func:`~qsession_provider.client.open_runtime`).
        noise: a ``cirq.NOISE_MODEL_LIKE`` applied to every circuit's moments, as
            ``cirq.DensityMatrixSimulator(noise=...)`` does (not kept when pickled).

    A sampler pickles (e.g. to a ``multiprocessing`` pool) as its runtime's address, device,
    session id *at pickling time* (a target's latest session is not followed further),
    random state, name, tags and timeout; unpickled, it reconnects
    (:mod:`qsession_provider.client.handles`). As with ``cirq.Simulator``, copies of a
    seeded sampler draw the same seeds.

    Raises:
        DeviceNotFoundError: unknown device.
        SessionNotFoundError: unknown session.
        InputError: the session runs on another device, or conflicting runtimes.

    Example:
        >>> import cirq, sympy
        >>> from qsession_provider.cirq import Sampler, VirtualClock
        >>> from qsession_provider.core import MemoryStore, Runtime
        >>> from qsession_provider.plugins import build_device_registry, get_plugin_manager
        >>> devices = build_device_registry(get_plugin_manager(load_entry_points=False))
        >>> runtime = Runtime(store=MemoryStore(), clock=VirtualClock(), devices=devices)
        >>> q = cirq.LineQubit(0)
        >>> t = sympy.Symbol("t")
        >>> circuit = cirq.Circuit(cirq.X(q) ** t, cirq.measure(q, key="m"))
        >>> sampler = Sampler("statevector", runtime=runtime, seed=7)
        >>> results = sampler.run_sweep(circuit, cirq.Points("t", [0, 1]), repetitions=5)
        >>> [r.histogram(key="m")[1] for r in results]
        [0, 5]
        >>> results[0].job_id == sampler.last_jobs[0].job_id()
        True
        >>> runtime.shutdown()
    """

    def __init__(
        self,
        device: str | SessionHost | TargetSource | None = None,
        *,
        runtime: RuntimeAPI | None = None,
        store: str | None = None,
        clock: Clock | None = None,
        session: Any = None,
        seed: cirq.RANDOM_STATE_OR_SEED_LIKE = None,
        name: str = "cirq-job",
        tags: Iterable[str] = (),
        timeout: float | None = None,
        keep_results: int | None = KEEP_DEFAULT,
        noise: Any = None,
    ) -> None:
        self._target = _host_of(device)
        owners = [
            r
            for r in (
                runtime,
                None if self._target is None else self._target.runtime,
                None if session is None or isinstance(session, str) else find_runtime(session),
            )
            if r is not None
        ]
        if any(r is not owners[0] for r in owners):
            raise InputError("the runtime, target and session given belong to different runtimes")
        if owners and (store is not None or clock not in (None, owners[0].clock)):
            raise InputError("pass either a runtime (or a target or session) or a store/clock")
        if isinstance(tags, str):
            raise InputError(f"tags must be a list of strings, got the string {tags!r}")
        self._runtime = (
            owners[0]
            if owners
            else runtime_for(store=store, clock=clock, keep_results=keep_results)
        )
        self._session = session
        bound = session_id_of(session)
        session_device = None if bound is None else self._runtime.session(bound).device
        if self._target is not None:
            self._device = self._target.name
        elif device is None:
            self._device = session_device or DEFAULT_DEVICE
        elif isinstance(device, str):
            self._device = device
        else:
            raise InputError(f"device must be a name, Target or Service, got {device!r}")
        self._runtime.device(self._device)  # DeviceNotFoundError now rather than at run time
        if session_device is not None and session_device != self._device:
            raise InputError(
                f"session {bound} runs on device {session_device!r}, not {self._device!r}"
            )
        self._prng = None if seed is None else cirq.value.parse_random_state(seed)
        self._lock = threading.Lock()
        self._name = name
        self._tags = tuple(tags)
        self._timeout = timeout
        self._last_jobs: list[Job] = []
        self._noise = noise_model(noise)  # cirq.NOISE_MODEL_LIKE, as DensityMatrixSimulator

    # -- pickling ------------------------------------------------------------------------------
    def _handle_state(self) -> tuple[RuntimeAPI, Any, tuple[Any, ...]]:
        state = (self._device, self.session_id, self._prng, self._name, self._tags, self._timeout)
        return self._runtime, type(self)._from_pickle, state

    @classmethod
    def _from_pickle(
        cls,
        runtime: RuntimeAPI,
        device: str,
        session_id: str | None,
        prng: Any,
        name: str,
        tags: tuple[str, ...],
        timeout: float | None,
    ) -> Sampler:
        sampler = cls(
            device, runtime=runtime, session=session_id, name=name, tags=tags, timeout=timeout
        )
        sampler._prng = prng
        return sampler

    # -- what the sampler is bound to ---------------------------------------------------------
    @property
    def runtime(self) -> RuntimeAPI:
        """The runtime the jobs go to."""
        return self._runtime

    @property
    def device(self) -> str:
        """Name of the device (target) the jobs run on."""
        return self._device

    @property
    def session_id(self) -> str | None:
        """Id of the session jobs join now (None: job mode)."""
        if self._session is None and self._target is not None:
            return self._target.get_latest_session_id()
        return session_id_of(self._session)

    @property
    def session(self) -> Session | None:
        """A handle on the session jobs join now, or None."""
        sid = self.session_id
        return None if sid is None else Session(self._runtime, sid)

    @property
    def last_jobs(self) -> list[Job]:
        """The jobs of the latest call: a ``run_sweep`` (set when it submits), a whole
        ``run_batch`` (set when it returns) or a ``simulate_expectation_values*``.

        ``run`` and ``sample`` go through ``run_sweep`` (``sample`` over several sweeps
        keeps the last one's job). Empty sweeps and ``repetitions=0`` submit no job.
        """
        return list(self._last_jobs)

    @property
    def job_ids(self) -> list[str]:
        """Ids of :attr:`last_jobs`."""
        return [job.job_id() for job in self._last_jobs]

    # -- the one method a cirq.Sampler must implement -----------------------------------------
    async def run_sweep_async(
        self,
        program: cirq.AbstractCircuit,
        params: cirq.Sweepable,
        repetitions: int = 1,
    ) -> Sequence[cirq.Result]:
        """Sample ``program`` for every resolver of ``params`` in one runtime job.

        Args:
            program: the circuit; it must measure something.
            params: the sweep (anything ``cirq.to_resolvers`` accepts).
            repetitions: shots per resolver; 0 gives empty results without a job.

        Returns:
            One :class:`~qsession_provider.cirq.JobResult` per resolver, in sweep order;
            ``[]`` for an empty sweep.

        Raises:
            ValueError: negative repetitions, no measurements, unresolved symbols or a
                circuit the runtime cannot run (``InputError`` is a ``ValueError``).
            SessionClosedError: the bound session no longer accepts jobs.
            UnsuccessfulJobError: the job failed or was cancelled (a ``RuntimeError``).
            TimeoutError: the job did not finish within ``timeout``.
        """
        resolvers = list(cirq.to_resolvers(params))
        if not resolvers:
            return []
        reps = _check_repetitions(repetitions)
        if reps == 0:
            return _empty_results(program, resolvers)
        job = submit_sweep(
            self._runtime,
            self._device,
            noisy_program(program, self._noise),
            resolvers,
            reps,
            session_id=self.session_id,
            name=self._name,
            tags=self._tags,
            seed=self._next_seed(),
        )
        self._last_jobs = [job]
        await until_final(job.core, self._runtime.clock, self._timeout)
        return job.sweep_results(timeout_seconds=None)

    run_sweep = duet.sync(run_sweep_async)

    async def run_batch_async(
        self,
        programs: Sequence[cirq.AbstractCircuit],
        params_list: Sequence[cirq.Sweepable] | None = None,
        repetitions: int | Sequence[int] = 1,
    ) -> Sequence[Sequence[cirq.Result]]:
        """Run several circuits and sweeps as concurrent jobs (see ``cirq.Sampler``).

        All the jobs are submitted before any is waited for, so they queue together and
        run side by side on a device with several slots.
        """
        results = await super().run_batch_async(programs, params_list, repetitions)
        ids = dict.fromkeys(
            r.job_id for sweep in results for r in sweep if getattr(r, "job_id", None)
        )
        self._last_jobs = [Job(self._runtime, self._runtime.job(i)) for i in ids]
        return results

    # -- exact estimates (the runtime's estimator program) -------------------------------------
    def simulate_expectation_values(
        self,
        program: cirq.AbstractCircuit,
        observables: cirq.PauliSumLike | list[cirq.PauliSumLike],
        param_resolver: cirq.ParamResolverOrSimilarType = None,
        qubit_order: cirq.QubitOrderOrList = cirq.QubitOrder.DEFAULT,
        permit_terminal_measurements: bool = False,
    ) -> list[float | complex]:
        """Exact expectation values, as ``cirq.Simulator.simulate_expectation_values``.

        One runtime ``estimator`` job (precision 0) on the sampler's device and session.
        Unlike ``cirq.Simulator``, permitted terminal measurements are dropped (the values
        are those of the state before measurement, not of one random collapse), and
        observables may act on qubits the circuit does not touch (they start in |0>).
        A non-Hermitian observable (complex coefficients), which ``cirq.Simulator``
        refuses, gets its complex value ``<psi|O|psi>``; a Hermitian one a float.

        Raises:
            ValueError: no observables, terminal measurements not permitted, mid-circuit
                measurements, or unresolved symbols.
        """
        return self.simulate_expectation_values_sweep(
            program, observables, param_resolver, qubit_order, permit_terminal_measurements
        )[0]

    def simulate_expectation_values_sweep(
        self,
        program: cirq.AbstractCircuit,
        observables: cirq.PauliSumLike | list[cirq.PauliSumLike],
        params: cirq.Sweepable,
        qubit_order: cirq.QubitOrderOrList = cirq.QubitOrder.DEFAULT,
        permit_terminal_measurements: bool = False,
    ) -> list[list[float | complex]]:
        """:meth:`simulate_expectation_values` for every resolver of ``params``, in one job."""
        program, sums = expectation_inputs(program, observables, permit_terminal_measurements)
        program = noisy_program(program, self._noise)
        resolvers = list(cirq.to_resolvers(params))
        if not resolvers:
            return []
        payload, parts = cirq_estimator_payload(program, sums, resolvers, qubit_order)
        job = self._runtime.submit(
            "estimator",
            self._device,
            payload,
            session_id=self.session_id,
            name=self._name,
            tags=self._tags,
        )
        self._last_jobs = [Job(self._runtime, job)]
        try:
            evs = job.result(self._timeout)["pubs"][0]["evs"]
        except (JobFailedError, JobCancelledError):
            raise UnsuccessfulJobError(
                job.id, STATUS_NAMES[job.status], job.error_message
            ) from None
        return combine_parts(evs, parts)

    # -- helpers ------------------------------------------------------------------------------
    def _next_seed(self) -> int | None:
        if self._prng is None:
            return None
        with self._lock:
            return int(self._prng.randint(0, 2**31 - 1))

    def __repr__(self) -> str:
        return f"<cirq Sampler device={self._device!r} session={self.session_id!r}>"


def _check_repetitions(repetitions: Any) -> int:
    if isinstance(repetitions, bool) or not isinstance(repetitions, (int, np.integer)):
        raise InputError(f"repetitions must be an integer, got {repetitions!r}")
    if repetitions < 0:
        raise InputError(f"Number of repetitions cannot be negative. Was {repetitions}")
    return int(repetitions)


def _empty_results(
    circuit: cirq.AbstractCircuit, resolvers: list[cirq.ParamResolver]
) -> list[cirq.Result]:
    """``repetitions=0``: validate as for a real run, then give empty arrays (no job)."""
    cirq_sampler_payload(circuit, resolvers, 1, seed=None)  # the same errors as a real run
    shapes = cirq.Sampler._get_measurement_shapes(circuit)
    return [
        JobResult(
            job_id=None,
            params=resolver,
            records={
                key: np.zeros((0, instances, len(shape)), dtype=np.int8)
                for key, (instances, shape) in shapes.items()
            },
        )
        for resolver in resolvers
    ]


def _host_of(device: str | SessionHost | TargetSource | None) -> SessionHost | None:
    """The target a sampler's ``device`` names: itself, a service's default target, or None."""
    if isinstance(device, SessionHost):
        return device
    if not isinstance(device, str) and isinstance(device, TargetSource):
        host = device.get_target()
        if isinstance(host, SessionHost):
            return host
    return None
