"""The one place core errors become the qiskit-ibm-runtime errors Qiskit users catch.

=================================  ==============================================================
core error                         raised to the user as
=================================  ==============================================================
``InputError`` (bad pub, option,   ``IBMInputValueError`` (also a ``ValueError``)
argument)
``DeviceNotFoundError``            ``QiskitBackendNotFoundError("No backend matches the
                                   criteria. ...")``
``SessionClosedError``             ``IBMRuntimeError("The session is closed.")``
``SessionNotFoundError``           ``IBMInputValueError("Session not found: ...")``
``JobNotFoundError``               ``RuntimeJobNotFound("Job not found: ...")``
``JobFailedError``                 ``RuntimeJobFailureError("Unable to retrieve job result.
                                   ...")``; ``RuntimeJobMaxTimeoutError`` when the job ran past
                                   its ``max_execution_time`` (IBM code 1305)
``JobCancelledError``              ``RuntimeInvalidStateError("Unable to retrieve result for job
                                   ... Job was cancelled.")``
``JobTimeoutError``                ``RuntimeJobTimeoutError("Timed out waiting for job to
                                   complete after ... secs.")``
``NotAuthorizedError``,            ``IBMNotAuthorizedError`` with the server's message (a
``ForbiddenError`` (a server's)    token it does not know, or a right the token lacks)
any other ``QSessionError``        ``IBMRuntimeError`` with the core's message
=================================  ==============================================================

Every translation chains the original (``raise ... from exc``), so the core's message and
traceback stay available. ``ClockStalledError`` (a manual virtual clock nobody advances) is
left as it is: its message says what to do.
"""

from __future__ import annotations

from typing import Any

from qiskit.providers.exceptions import QiskitBackendNotFoundError
from qiskit_ibm_runtime.exceptions import (
    IBMInputValueError,
    IBMNotAuthorizedError,
    IBMRuntimeError,
    RuntimeInvalidStateError,
    RuntimeJobFailureError,
    RuntimeJobMaxTimeoutError,
    RuntimeJobNotFound,
    RuntimeJobTimeoutError,
)

from ..core.job import JobErrorCode
from ..errors import (
    ClockStalledError,
    DeviceNotFoundError,
    InputError,
    JobCancelledError,
    JobFailedError,
    JobNotFoundError,
    JobTimeoutError,
    NotAuthorizedError,
    QSessionError,
    SessionClosedError,
    SessionNotFoundError,
)

__all__ = [
    "SESSION_CLOSED",
    "ibm_errors",
    "job_failure",
    "translate",
]

#: The exact message of IBM's client-side guard on a closed session.
SESSION_CLOSED = "The session is closed."


def job_failure(job_id: str, message: str | None, code: str | None) -> Exception:
    """The error ``result()`` raises for a job that ended in ERROR."""
    if code == JobErrorCode.MAX_EXECUTION_TIME.value:
        return RuntimeJobMaxTimeoutError(
            f"Job {job_id} ran longer than maximum execution time. Job was cancelled:\n{message}"
        )
    return RuntimeJobFailureError(f"Unable to retrieve job result. {message}")


def translate(exc: BaseException, *, timeout: float | None = None) -> BaseException:
    """The qiskit-ibm-runtime error for a core error (other exceptions are returned as they are).

    Args:
        exc: the exception to translate.
        timeout: the timeout the caller waited, for the ``RuntimeJobTimeoutError`` message.
    """
    if not isinstance(exc, QSessionError) or isinstance(exc, ClockStalledError):
        return exc
    if isinstance(exc, NotAuthorizedError):
        return IBMNotAuthorizedError(str(exc))
    if isinstance(exc, DeviceNotFoundError):
        return QiskitBackendNotFoundError(f"No backend matches the criteria. {exc}")
    if isinstance(exc, InputError):
        return IBMInputValueError(str(exc))
    if isinstance(exc, SessionClosedError):
        return IBMRuntimeError(SESSION_CLOSED)
    if isinstance(exc, SessionNotFoundError):
        return IBMInputValueError(f"Session not found: {exc}")
    if isinstance(exc, JobNotFoundError):
        return RuntimeJobNotFound(f"Job not found: {exc}")
    if isinstance(exc, JobTimeoutError):
        return RuntimeJobTimeoutError(
            f"Timed out waiting for job to complete after {timeout} secs."
        )
    if isinstance(exc, JobCancelledError):
        job_id = getattr(exc, "job_id", "")
        return RuntimeInvalidStateError(
            f"Unable to retrieve result for job {job_id}. Job was cancelled."
        )
    if isinstance(exc, JobFailedError):
        return job_failure(getattr(exc, "job_id", ""), str(exc), getattr(exc, "error_code", None))
    return IBMRuntimeError(str(exc))


def ibm_errors(*, timeout: float | None = None) -> _IBMErrors:
    """Re-raise core errors raised inside the block as qiskit-ibm-runtime errors."""
    return _NO_TIMEOUT if timeout is None else _IBMErrors(timeout)


class _IBMErrors:
    """The context manager of :func:`ibm_errors` (a class: entered several times per job)."""

    __slots__ = ("_timeout",)

    def __init__(self, timeout: float | None) -> None:
        self._timeout = timeout

    def __enter__(self) -> None:
        return None

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        if exc is None or not isinstance(exc, QSessionError):
            return False
        translated = translate(exc, timeout=self._timeout)
        if translated is exc:
            return False
        raise translated from exc


_NO_TIMEOUT = _IBMErrors(None)  # it holds no state of a block: one serves every block
