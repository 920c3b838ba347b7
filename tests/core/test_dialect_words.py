"""The dialects' words in core (for the server and CLI) agree with the faces' own."""

from __future__ import annotations

import itertools

import pytest

from qsession_provider.core.dialect_words import (
    AZURE_JOB_STATUS,
    IBM_STATUS,
    azure_status,
    ibm_details,
    ibm_status,
)
from qsession_provider.core.job_record import JobStatus
from qsession_provider.core.session import (
    CloseReason,
    SessionMode,
    SessionRecord,
    SessionState,
)


def _records() -> list[SessionRecord]:
    """A session in every state, closed for every reason, failed or not, drained or not."""
    out = []
    for state, failed in itertools.product(SessionState, (False, True)):
        base = SessionRecord(
            id=f"{state.value}-{failed}",
            device="dev",
            mode=SessionMode.DEDICATED,
            state=state,
            created_at=10.0,
            started_at=11.0,
            failed=failed,
            timestamps=((SessionState.OPEN, 10.0), (SessionState.ACTIVE, 11.0)),
        )
        if state is not SessionState.CLOSED:
            out.append(base)
            continue
        for reason, drained in itertools.product(CloseReason, (False, True)):
            stamps = base.timestamps + ((SessionState.DRAINING, 12.0),) * drained
            out.append(
                base.replace(
                    close_reason=reason,
                    closed_at=13.0,
                    timed_out=reason.value in ("max_ttl", "active_ttl", "idle_timeout"),
                    timestamps=(*stamps, (SessionState.CLOSED, 13.0)),
                )
            )
    return out


def test_ibm_words_agree_with_the_qiskit_face() -> None:
    session = pytest.importorskip("qsession_provider.qiskit.session")
    for record in _records():
        assert ibm_details(record, 20.0) == session.session_details(record, 20.0)
    assert IBM_STATUS[SessionState.INACTIVE] == "Pending"
    assert ibm_status(_records()[0]) == "Pending"


def test_azure_words_agree_with_the_azure_face() -> None:
    mapping = pytest.importorskip("qsession_provider.azure._mapping")
    for record in _records():
        assert azure_status(record) == mapping.session_status(record).value, record.id
    for status in JobStatus:
        assert AZURE_JOB_STATUS[status] == mapping.job_status(status).value
