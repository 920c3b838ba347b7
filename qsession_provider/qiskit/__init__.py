"""The Qiskit face: runtime service, sessions, primitives and a BackendV2 over the local runtime.

Existing qiskit-ibm-runtime code runs with only its import line changed::

    from qsession_provider.qiskit import QiskitRuntimeService, Session, SamplerV2, EstimatorV2

    service = QiskitRuntimeService()
    backend = service.least_busy(operational=True, simulator=False)
    with Session(backend=backend, max_time="25m") as session:
        sampler = SamplerV2()
        ...

and sessions are real: max time, interactive and idle timeouts, close, cancel and the root
job rule apply, on the runtime's clock. Use ``QiskitRuntimeService(clock=VirtualClock())``
(a timeline of its own) to test session-handling code against timeouts in milliseconds.
"""

from __future__ import annotations

from .._optional import require

require("qiskit", "qiskit", "qsession_provider.qiskit")
require("qiskit_ibm_runtime", "qiskit", "qsession_provider.qiskit")

from ..core.clock.virtual import VirtualClock  # noqa: E402
from ..translate.qiskit.circuits import circuit_to_ir, sparse_pauli_to_sum  # noqa: E402
from .backend import QSessionBackend  # noqa: E402
from .primitives import Estimator, EstimatorOptions, EstimatorV2, Sampler, SamplerV2  # noqa: E402
from .runtime_job import RuntimeJob, RuntimeJobStatus, RuntimeJobV2  # noqa: E402
from .service import QiskitRuntimeService  # noqa: E402
from .session import Batch, Session  # noqa: E402

__all__ = [
    "Batch",
    "Estimator",
    "EstimatorOptions",
    "EstimatorV2",
    "QSessionBackend",
    "QiskitRuntimeService",
    "RuntimeJob",
    "RuntimeJobStatus",
    "RuntimeJobV2",
    "Sampler",
    "SamplerV2",
    "Session",
    "VirtualClock",
    "circuit_to_ir",
    "sparse_pauli_to_sum",
]
