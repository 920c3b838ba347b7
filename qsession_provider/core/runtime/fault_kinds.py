"""What can be made to go wrong on purpose: the scripted faults of :mod:`.faults`.

Each fault is a frozen dataclass, checked when built (:class:`~qsession_provider.errors.
InputError` naming the field). Times (``at``, ``duration``, ``extra``, ``after``) are seconds
or strings such as ``"5m"``; ``at`` counts from the moment the faults are installed on a
runtime (:class:`~.faults.FaultInjector`), on the runtime's clock.

Job faults pick their jobs with a :class:`JobMatch`: every job matching the given fields,
or only the ``nth`` of them (1-based, in submission order, counted from installation).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ...errors import InputError
from ..clock import parse_duration

__all__ = [
    "AZURE_META_KEY",
    "IBM_ERROR_CODES",
    "Calibration",
    "CancelJob",
    "DeviceOffline",
    "FailJob",
    "Fault",
    "JobMatch",
    "SlowJob",
    "StoreRefusal",
    "TenantLoad",
]

#: The key of the Azure face's data in a job's metadata (``azure/_mapping.py`` ``META_KEY``):
#: a failed job's ``error_data`` is read from ``metadata[AZURE_META_KEY]["error"]``.
AZURE_META_KEY = "azure"

#: IBM Quantum job failure codes and their messages (IBM's error code registry,
#: quantum.cloud.ibm.com/docs/errors); others may be given with a ``message``.
IBM_ERROR_CODES: dict[int, str] = {
    1002: "Error in the validation process of the job.",
    1003: "Error in transpilation process.",
    1004: "The Backend is not available.",
    1010: "Error returned at backend level.",
    1011: "Error publishing job in backend queue.",
}


def _seconds(value: Any, what: str, *, positive: bool = False) -> float:
    try:
        seconds = parse_duration(value)
    except InputError as exc:
        raise InputError(f"{what}: {exc}") from None
    if positive and seconds <= 0:
        raise InputError(f"{what} must be > 0 seconds, got {value!r}")
    return seconds


def _text(value: Any, what: str, *, empty: bool = True) -> str:
    if not isinstance(value, str) or (not empty and not value.strip()):
        raise InputError(f"{what} must be a {'' if empty else 'non-empty '}string, got {value!r}")
    return value


def _count(value: Any, what: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise InputError(f"{what} must be a positive integer, got {value!r}")
    return value


@dataclass(frozen=True)
class JobMatch:
    """Which submitted jobs a job fault applies to.

    Every given field must match (``tag``: one of the job's tags; ``session``: the session
    or batch id); none given matches every job. ``nth`` keeps only the nth matching job
    (1-based, in submission order); None keeps all of them.
    """

    nth: int | None = None
    tag: str | None = None
    name: str | None = None
    session: str | None = None
    device: str | None = None
    instance: str | None = None

    def __post_init__(self) -> None:
        if self.nth is not None:
            _count(self.nth, "nth")
        for what in ("tag", "name", "session", "device", "instance"):
            value = getattr(self, what)
            if value is not None:
                _text(value, what, empty=False)

    def matches(self, record: Any) -> bool:
        """True if the job ``record`` (a :class:`~qsession_provider.core.job.JobRecord`)
        has every given field (``nth`` is counted by the injector)."""
        return (
            (self.tag is None or self.tag in record.tags)
            and (self.name is None or self.name == record.name)
            and (self.session is None or self.session == record.session_id)
            and (self.device is None or self.device == record.device)
            and (self.instance is None or self.instance == record.instance)
        )

    def describe(self) -> str:
        """``"job 3 with tag 'x'"``-like words for messages."""
        parts = [
            f"{k} {v!r}"
            for k in ("tag", "name", "session", "device", "instance")
            if (v := getattr(self, k)) is not None
        ]
        head = f"job {self.nth}" if self.nth is not None else "every job"
        return head + (" with " + ", ".join(parts) if parts else "")


@dataclass(frozen=True)
class FailJob:
    """The matched jobs fail when they end on the device (status ERROR, code
    ``execution_failed``, so the session's failure policy applies), after their modelled time.

    ``ibm_code`` gives IBM's wording (``"Error code 1010: Error returned at backend
    level."``, the message from :data:`IBM_ERROR_CODES` unless ``message`` is given);
    ``azure_code`` sets the Azure face's ``error_data`` (``code``, ``message``).
    """

    match: JobMatch = field(default_factory=JobMatch)
    message: str = ""
    ibm_code: int | None = None
    azure_code: str | None = None
    kind = "fail"

    def __post_init__(self) -> None:
        _text(self.message, "message")
        if self.ibm_code is not None:
            _count(self.ibm_code, "ibm_code")
            if not self.message and self.ibm_code not in IBM_ERROR_CODES:
                raise InputError(
                    f"ibm_code {self.ibm_code} needs a message (known codes: "
                    f"{sorted(IBM_ERROR_CODES)})"
                )
        if self.azure_code is not None:
            _text(self.azure_code, "azure_code", empty=False)

    @property
    def error_message(self) -> str:
        """The job's error message."""
        if self.ibm_code is not None:
            text = self.message or IBM_ERROR_CODES[self.ibm_code]
            return f"Error code {self.ibm_code}: {text}"
        return self.message or "the job failed (injected fault)"

    def metadata(self) -> dict[str, Any]:
        """What the failure adds to the job's metadata (the Azure face's ``error_data``)."""
        if self.azure_code is None:
            return {}
        message = self.message or self.error_message
        return {AZURE_META_KEY: {"error": {"code": self.azure_code, "message": message}}}


@dataclass(frozen=True)
class SlowJob:
    """The matched jobs run ``extra`` seconds longer than their device's timing model says
    (to cross ``max_execution_time``, a session's ``max_time`` or its interactive timeout)."""

    match: JobMatch = field(default_factory=JobMatch)
    extra: float | str = 0.0
    kind = "slow"

    def __post_init__(self) -> None:
        object.__setattr__(self, "extra", _seconds(self.extra, "extra", positive=True))


@dataclass(frozen=True)
class CancelJob:
    """The matched jobs are cancelled from outside ``after`` seconds after they start (as a
    user's dashboard or another process would): the device must allow cancelling a running
    job, else the refusal is recorded."""

    match: JobMatch = field(default_factory=JobMatch)
    after: float | str = 0.0
    kind = "cancel"

    def __post_init__(self) -> None:
        object.__setattr__(self, "after", _seconds(self.after, "after"))


@dataclass(frozen=True)
class DeviceOffline:
    """``device`` is offline from ``at`` for ``duration`` seconds: nothing starts on it
    (queued jobs wait; session timers keep running). Submissions are queued, or with
    ``refuse`` rejected with IBM's answer (code 1004, "The Backend is not available.")."""

    device: str
    at: float | str = 0.0
    duration: float | str = 60.0
    refuse: bool = False
    kind = "offline"

    def __post_init__(self) -> None:
        _text(self.device, "device", empty=False)
        object.__setattr__(self, "at", _seconds(self.at, "at"))
        object.__setattr__(self, "duration", _seconds(self.duration, "duration", positive=True))
        if not isinstance(self.refuse, bool):
            raise InputError(f"refuse must be true or false, got {self.refuse!r}")


@dataclass(frozen=True)
class TenantLoad:
    """At ``at``, ``jobs`` jobs of another tenant (``instance``) are submitted to ``device``
    (a one-qubit sampler job of ``shots`` shots each), each occupying the device for
    ``seconds`` (None: what its timing model says). Fair share then weighs both tenants."""

    device: str
    at: float | str = 0.0
    jobs: int = 1
    seconds: float | str | None = None
    shots: int = 100
    instance: str = "other-tenant"
    kind = "load"

    def __post_init__(self) -> None:
        _text(self.device, "device", empty=False)
        _text(self.instance, "instance", empty=False)
        object.__setattr__(self, "at", _seconds(self.at, "at"))
        _count(self.jobs, "jobs")
        _count(self.shots, "shots")
        if self.seconds is not None:
            object.__setattr__(self, "seconds", _seconds(self.seconds, "seconds", positive=True))


@dataclass(frozen=True)
class Calibration:
    """At ``at``, a calibration of ``duration`` seconds on ``device``: a system job, which the
    scheduler runs before anything queued, even a dedicated session's jobs (running jobs
    finish first)."""

    device: str
    at: float | str = 0.0
    duration: float | str = 60.0
    kind = "calibration"

    def __post_init__(self) -> None:
        _text(self.device, "device", empty=False)
        object.__setattr__(self, "at", _seconds(self.at, "at"))
        object.__setattr__(self, "duration", _seconds(self.duration, "duration", positive=True))


@dataclass(frozen=True)
class StoreRefusal:
    """The store refuses every write from ``at`` for ``duration`` seconds, as a full disk
    does (``message`` is SQLite's). Needs a store file: the runtime then keeps what it could
    not write in memory, raises the store's error to the callers that write, and stores
    everything once a write succeeds after the window (README, "the store")."""

    at: float | str = 0.0
    duration: float | str = 60.0
    message: str = "database or disk is full"
    kind = "store"

    def __post_init__(self) -> None:
        object.__setattr__(self, "at", _seconds(self.at, "at"))
        object.__setattr__(self, "duration", _seconds(self.duration, "duration", positive=True))
        _text(self.message, "message", empty=False)


#: Any scripted fault.
Fault = FailJob | SlowJob | CancelJob | DeviceOffline | TenantLoad | Calibration | StoreRefusal
