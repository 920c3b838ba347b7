"""The Cirq face: a session-aware ``cirq.Sampler`` and a Cirq service over the local runtime.

* :class:`Sampler` - a real ``cirq.Sampler`` (``run``, ``run_sweep``, ``run_batch``,
  ``sample``, ``sample_expectation_values`` and the async variants) whose jobs go through
  the runtime's scheduler, bound to a device and optionally a session.
* :class:`Service` / :class:`Target` - ``get_target``, ``run``, ``create_job``,
  ``get_job``, ``list_jobs``; ``target.open_session(...)`` (Azure Quantum / IonQ shaped).
* :class:`Job`, :class:`Session`, :class:`JobResult` (a ``cirq.Result`` with ``job_id``).
"""

from __future__ import annotations

from .._optional import require

require("cirq", "cirq", "qsession_provider.cirq")

from ..core.clock import VirtualClock  # noqa: E402
from ..translate.cirq import circuit_to_ir, pauli_sum_to_sum, resolver_values  # noqa: E402
from ._results import JobResult  # noqa: E402
from .job import Job, UnsuccessfulJobError  # noqa: E402
from .sampler import Sampler  # noqa: E402
from .service import Service  # noqa: E402
from .session import Session  # noqa: E402
from .target import Target  # noqa: E402

__all__ = [
    "Job",
    "JobResult",
    "Sampler",
    "Service",
    "Session",
    "Target",
    "UnsuccessfulJobError",
    "VirtualClock",
    "circuit_to_ir",
    "pauli_sum_to_sum",
    "resolver_values",
]
