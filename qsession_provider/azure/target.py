"""Azure-style targets: ``target.submit(input_data, ...)`` and target-hosted sessions."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from ._input import SHOTS_PARAM, resolve_shots
from ._mapping import INPUT_DATA_FORMAT, OUTPUT_DATA_FORMAT, PROVIDER_ID
from .job import Job
from .session import SessionHost
from .workspace_item import WorkspaceLike

__all__ = ["Target"]

_SUBMIT_OPTIONS = ("job_id", "metadata", "input_data_format", "output_data_format")


class Target(SessionHost):
    """A device of the local runtime, seen as an Azure Quantum target.

    Args:
        workspace: the workspace.
        name: the target (device) name, e.g. ``"statevector"`` or ``"emulated_falcon_27"``.
        input_data_format, output_data_format, capability, provider_id, content_type,
            encoding, target_profile: descriptive fields (defaults describe what this
            package accepts and returns).
        average_queue_time: seconds (refreshed by :meth:`refresh`).
        current_availability: ``"Available"`` (refreshed by :meth:`refresh`).

    Example:
        >>> target = workspace.get_targets("statevector")  # doctest: +SKIP
        >>> with target.open_session(name="demo") as session:  # doctest: +SKIP
        ...     job = target.submit(qasm, name="Job 1", shots=100)
    """

    _SHOTS_PARAM_NAME = SHOTS_PARAM

    def __init__(
        self,
        workspace: WorkspaceLike,
        name: str,
        input_data_format: str = "",
        output_data_format: str = "",
        capability: str = "",
        provider_id: str = "",
        content_type: str = "application/json",
        encoding: str = "",
        average_queue_time: float | None = None,
        current_availability: str = "",
        target_profile: str = "Base",
        **kwargs: Any,
    ) -> None:
        if kwargs:
            raise TypeError(f"Target() got an unexpected keyword argument {next(iter(kwargs))!r}")
        self.workspace = workspace
        self.name = name
        self.input_data_format = input_data_format or INPUT_DATA_FORMAT
        self.output_data_format = output_data_format or OUTPUT_DATA_FORMAT
        self.capability = capability
        self.provider_id = provider_id or PROVIDER_ID
        self.content_type = content_type
        self.encoding = encoding
        self.target_profile = target_profile
        self._average_queue_time = average_queue_time
        self._current_availability = current_availability
        if average_queue_time is None or not current_availability:
            self.refresh()

    # -- SessionHost ---------------------------------------------------------------------
    def _get_azure_workspace(self) -> WorkspaceLike:
        return self.workspace

    def _get_azure_target_id(self) -> str:
        return self.name

    # -- status --------------------------------------------------------------------------
    def refresh(self) -> None:
        """Update availability and the queue-time estimate from the runtime.

        Raises:
            DeviceNotFoundError: the runtime has no device of this name.
        """
        runtime = self.workspace.runtime
        device = runtime.device(self.name)
        pending = runtime.pending_jobs(self.name)
        self._current_availability = "Available"
        self._average_queue_time = pending * device.timing.per_job / device.slots

    @property
    def current_availability(self) -> str:
        """``"Available"`` (local devices are always up)."""
        return self._current_availability

    @property
    def average_queue_time(self) -> float:
        """Estimated seconds before a new job starts (queued and running jobs x job time)."""
        return float(self._average_queue_time or 0.0)

    # -- submitting ----------------------------------------------------------------------
    def submit(
        self,
        input_data: Any,
        name: str = "azure-quantum-job",
        shots: int | None = None,
        input_params: Mapping[str, Any] | None = None,
        priority: Any = None,
        tags: Iterable[str] | None = None,
        **kwargs: Any,
    ) -> Job:
        """Submit a job; it joins :attr:`latest_session` if one was opened on this target.

        Args:
            input_data: OpenQASM 2 or 3 text, QIR (``qsharp.compile(...)``, bitcode or
                text), Quil text or a pyQuil ``Program``, a Qiskit ``QuantumCircuit``, a
                Cirq ``Circuit`` or a :class:`~qsession_provider.core.ir.circuit.Circuit`. Input
                that cannot run still creates the job, which fails with ``error_data``
                code ``InvalidInputData`` (its session's failure policy then applies).
            name: job name.
            shots: shot count; wins over ``input_params["shots"]`` (with a warning when
                both are given); default 500.
            input_params: parameters kept in ``details.input_params``; ``"seed"`` (an
                integer) seeds the simulator's sampling.
            priority: ``Standard`` or ``High``.
            tags: job tags.
            **kwargs: ``job_id``, ``metadata`` (a dict kept in ``details.metadata``),
                ``input_data_format``, ``output_data_format``.

        Returns:
            The submitted job.

        Raises:
            SessionClosedError: the latest session no longer accepts jobs (closed, failed
                under Abort, or timed out).
            ImportError: the input needs a framework that is not installed.
            TypeError: an unknown keyword argument.
        """
        unknown = [k for k in kwargs if k not in _SUBMIT_OPTIONS]
        if unknown:
            raise TypeError(f"submit() got an unexpected keyword argument {unknown[0]!r}")
        params = resolve_shots(shots, input_params)
        return Job.from_input_data(
            self.workspace,
            name,
            self.name,
            input_data,
            job_id=kwargs.get("job_id"),
            provider_id=self.provider_id,
            input_data_format=kwargs.get("input_data_format") or self.input_data_format,
            output_data_format=kwargs.get("output_data_format") or self.output_data_format,
            input_params=params,
            session_id=self.get_latest_session_id(),
            priority=priority,
            tags=tags,
            metadata=kwargs.get("metadata"),
        )

    def __repr__(self) -> str:
        return (
            f"<Target name={self.name!r}, provider_id={self.provider_id!r}, "
            f"avg. queue time={self.average_queue_time:g} s, {self.current_availability}>"
        )
