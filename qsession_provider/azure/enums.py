"""The Azure Quantum enums, with azure-quantum's exact string values.

They are ``str`` enums, so ``session.details.status == "Succeeded"`` holds, and the lookup
by member name is case-insensitive as in azure-core's ``CaseInsensitiveEnumMeta``
(``SessionStatus["timed_out"]``, ``SessionStatus.timed_out``). Lookup by value is
case-insensitive too (``JobStatus("succeeded")``). ``str()`` gives the value (azure's
generated enums print ``SessionStatus.SUCCEEDED``; the value is what users compare to).
"""

from __future__ import annotations

from enum import EnumMeta
from typing import Any

from ..core.text_enum import TextEnum

__all__ = [
    "SessionStatus",
    "SessionJobFailurePolicy",
    "JobStatus",
    "Priority",
    "ItemType",
    "FINAL_JOB_STATUSES",
    "SUCCEEDED_JOB_STATUSES",
    "TERMINAL_SESSION_STATUSES",
]


class _CaseInsensitiveEnumMeta(EnumMeta):
    """Member names are looked up case-insensitively (``Enum["name"]`` and ``Enum.name``)."""

    def __getitem__(cls, name: str) -> Any:
        return super().__getitem__(name.upper())

    def __getattr__(cls, name: str) -> Any:
        if name.startswith("_"):
            raise AttributeError(name)
        try:
            return cls._member_map_[name.upper()]
        except KeyError:
            raise AttributeError(name) from None


class _AzureEnum(TextEnum, metaclass=_CaseInsensitiveEnumMeta):
    """A ``str`` enum whose values are also matched case-insensitively."""

    @classmethod
    def _missing_(cls, value: object) -> Any:
        if isinstance(value, str):
            for member in cls:
                if member.value.lower() == value.lower():
                    return member
        return None


class SessionStatus(_AzureEnum):
    """Status of an Azure session (``session.details.status``).

    This package reports ``Waiting`` while a session is open (the Azure documentation:
    "Waiting: jobs within the session are being executed"); ``Executing`` exists for
    completeness but is never reported.
    """

    WAITING = "Waiting"
    EXECUTING = "Executing"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    FAILURE_S_ = "Failure(s)"
    TIMED_OUT = "TimedOut"


class SessionJobFailurePolicy(_AzureEnum):
    """What a failed job does to its session."""

    #: A failed job ends the session (Failed): in-progress jobs are cancelled and later
    #: submissions are rejected. The service default.
    ABORT = "Abort"
    #: The session keeps accepting jobs; it reports ``Failure(s)`` until it is closed.
    CONTINUE = "Continue"


class JobStatus(_AzureEnum):
    """Status of an Azure job (``job.details.status``).

    This package reports the classic names ``Waiting``, ``Executing``, ``Succeeded``,
    ``Failed`` and ``Cancelled``; the "v2 workspace" names (``Queued``, ``Completed``, ...)
    are accepted wherever a status is given, and ``has_completed``/``has_succeeded`` accept
    both.
    """

    QUEUED = "Queued"
    WAITING = "Waiting"
    EXECUTING = "Executing"
    CANCELLATION_REQUESTED = "CancellationRequested"
    CANCELLING = "Cancelling"
    FINISHING = "Finishing"
    COMPLETED = "Completed"
    SUCCEEDED = "Succeeded"
    FAILED = "Failed"
    CANCELLED = "Cancelled"


class Priority(_AzureEnum):
    """Job or session priority (kept in the details; ``High`` jobs are also queued first
    within their instance)."""

    STANDARD = "Standard"
    HIGH = "High"


class ItemType(_AzureEnum):
    """What a workspace item is."""

    JOB = "Job"
    SESSION = "Session"


#: Job statuses in which a job is finished (classic and v2 names).
FINAL_JOB_STATUSES = frozenset(
    {JobStatus.COMPLETED, JobStatus.SUCCEEDED, JobStatus.FAILED, JobStatus.CANCELLED}
)
#: Job statuses of a job that succeeded (classic and v2 names).
SUCCEEDED_JOB_STATUSES = frozenset({JobStatus.COMPLETED, JobStatus.SUCCEEDED})
#: Session statuses ``Session.is_in_terminal_state()`` is true for (not ``Failure(s)``).
TERMINAL_SESSION_STATUSES = frozenset(
    {SessionStatus.SUCCEEDED, SessionStatus.FAILED, SessionStatus.TIMED_OUT}
)
