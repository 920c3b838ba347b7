"""An observer plugin: records every lifecycle hook call (one instance per test)."""

from __future__ import annotations

from typing import Any

from qsession_provider.plugins import hookimpl


class Recorder:
    """Register an instance; read ``events`` afterwards."""

    def __init__(self) -> None:
        self.events: list[tuple[str, str]] = []

    @hookimpl
    def qsession_job_submitted(self, job: Any) -> None:
        self.events.append(("submitted", job.name))

    @hookimpl
    def qsession_job_started(self, job: Any) -> None:
        self.events.append(("started", job.name))

    @hookimpl
    def qsession_job_finished(self, job: Any) -> None:
        self.events.append(("finished", f"{job.name}:{job.status.value}"))

    @hookimpl
    def qsession_session_state_changed(self, session: Any, old_state: Any, new_state: Any) -> None:
        old = "-" if old_state is None else old_state.value
        self.events.append(("session", f"{old}->{new_state.value}"))
