"""The Azure Quantum workspace dialect over the local runtime.

``Workspace``, ``Target``, ``Session`` and ``Job`` mirror azure-quantum's names,
signatures, enum values and details fields, so code written for an Azure Quantum
workspace runs locally with the import (and the target name) changed::

    from qsession_provider.azure import SessionJobFailurePolicy, Workspace

    workspace = Workspace()  # the local store: $QSESSION_STORE or the user data directory
    target = workspace.get_targets("statevector")
    with target.open_session(name="demo",
                             job_failure_policy=SessionJobFailurePolicy.CONTINUE) as session:
        target.submit(qasm_text, name="Job 1", shots=100)
    print(session.details.status, [j.details.status for j in session.list_jobs()])

Sessions follow Azure's rules on the runtime's clock: no new job for 10 minutes ->
``TimedOut``; failure policy ``Abort`` (default: a failed job ends the session as
``Failed``, in-progress jobs are cancelled, later submissions are rejected) or
``Continue`` (``Failure(s)`` while open, ``Failed`` once closed; ``TimedOut`` wins).
Everything here works on the shared runtime of a store, so the Qiskit and Cirq faces see
the same sessions and jobs. This package imports neither Qiskit nor Cirq, nor their faces;
a framework and its translator (:mod:`qsession_provider.translate`) are loaded when a
circuit of theirs (or OpenQASM text, read by Qiskit) is submitted.

Modules, each importing only the ones before it: ``enums``, ``_models`` (the details),
``_mapping`` (core records -> details), ``_listing`` (filters), ``_input`` (input_data ->
payload), ``_results`` (result decoding), ``workspace_item``, ``job``, ``session`` (Azure's
session rules), ``target``, ``workspace``. ``qiskit_backend`` holds the session host of
the Qiskit face's backends; that face imports it on demand.
"""

from __future__ import annotations

from ._models import ErrorData, JobDetails, SessionDetails, WorkspaceItemError
from .enums import ItemType, JobStatus, Priority, SessionJobFailurePolicy, SessionStatus
from .job import Job
from .session import Session, SessionHost, WorkspaceItem
from .target import Target
from .workspace import Workspace

__all__ = [
    "ErrorData",
    "ItemType",
    "Job",
    "JobDetails",
    "JobStatus",
    "Priority",
    "Session",
    "SessionDetails",
    "SessionHost",
    "SessionJobFailurePolicy",
    "SessionStatus",
    "Target",
    "Workspace",
    "WorkspaceItem",
    "WorkspaceItemError",
]
