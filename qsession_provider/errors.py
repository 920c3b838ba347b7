"""The exception hierarchy shared by every layer.

Faces translate these into the classes their users already catch (for example
qiskit-ibm-runtime's ``IBMInputValueError``); the core and the engine raise only these.
"""

from __future__ import annotations

__all__ = [
    "QSessionError",
    "InputError",
    "InvalidCircuitError",
    "UnboundParameterError",
    "ResourceTooLargeError",
    "KernelError",
    "DeviceNotFoundError",
    "SessionError",
    "SessionClosedError",
    "SessionNotFoundError",
    "JobError",
    "JobNotFoundError",
    "JobFailedError",
    "JobCancelledError",
    "JobTimeoutError",
    "ResultUnavailableError",
    "InvalidJobStateError",
    "ClockStalledError",
    "PluginError",
    "StoreError",
    "AlreadyExistsError",
    "NotAuthorizedError",
    "ForbiddenError",
    "RequestTooLargeError",
    "TooManyJobsError",
    "UsageLimitError",
    "PlanError",
]


class QSessionError(Exception):
    """Root of every error raised by qsession_provider."""


class InputError(QSessionError, ValueError):
    """The caller's input is invalid; nothing was changed."""


class InvalidCircuitError(InputError):
    """An IR circuit is malformed: bad qubit, gate, matrix or parameter value."""


#: The name of :class:`InvalidCircuitError` before the IR's class was called ``Circuit``.
InvalidProgramError = InvalidCircuitError


class UnboundParameterError(InvalidCircuitError):
    """A program still has symbolic parameters at run time."""


class ResourceTooLargeError(InputError, MemoryError):
    """The simulation would not fit in available memory (refused before allocating)."""


class KernelError(QSessionError, RuntimeError):
    """The compiled kernel reported an internal failure."""


class DeviceNotFoundError(InputError, LookupError):
    """No device (backend) of that name is registered."""


class SessionError(QSessionError):
    """Base class for session errors."""


class SessionClosedError(SessionError):
    """The session no longer accepts jobs (closed, cancelled, timed out or failed)."""


class SessionNotFoundError(SessionError, LookupError):
    """No session with that id exists in the store."""


class JobError(QSessionError):
    """Base class for job errors."""


class JobNotFoundError(JobError, LookupError):
    """No job with that id exists in the store."""


class JobFailedError(JobError):
    """The job finished in the ERROR state; ``str(err)`` carries the job's error message."""


class JobCancelledError(JobError):
    """The job was cancelled, so it has no result."""


class JobTimeoutError(JobError, TimeoutError):
    """Waiting for a job exceeded the given timeout."""


class ResultUnavailableError(JobError, LookupError):
    """The job is DONE but its result is no longer kept (an in-memory store's retention)."""


class InvalidJobStateError(JobError):
    """A job state transition that the state machine does not allow."""


class ClockStalledError(QSessionError, TimeoutError):
    """A wait on a manual :class:`~qsession_provider.core.clock.VirtualClock` cannot progress.

    Raised when the runtime is idle, the caller waits for something only virtual time can
    bring, and nobody has advanced the clock for the clock's ``stall_timeout`` (real seconds).
    """


class PluginError(QSessionError):
    """A plugin failed to load or registered something invalid."""


class StoreError(QSessionError):
    """The job store could not read or write a record."""


class AlreadyExistsError(StoreError, InputError):
    """A job or session with the id asked for already exists."""


class NotAuthorizedError(QSessionError):
    """No credentials, or credentials the service does not know (HTTP 401)."""


class ForbiddenError(NotAuthorizedError):
    """Authenticated, but not allowed to do this (HTTP 403), e.g. a non-admin moving the clock."""


class RequestTooLargeError(InputError):
    """A request body is larger than the service accepts (HTTP 413; the message names the limit)."""


class TooManyJobsError(QSessionError):
    """The user already has as many queued jobs as the service allows (HTTP 429)."""


class UsageLimitError(QSessionError):
    """The instance has used its quantum seconds for the period: new work is refused."""


class PlanError(SessionError):
    """The instance's plan does not allow what was asked (session mode on the Open plan)."""
