"""The Azure enums: azure-quantum's values, case-insensitive lookup."""

from __future__ import annotations

import pytest

from qsession_provider.azure import (
    ItemType,
    JobStatus,
    Priority,
    SessionJobFailurePolicy,
    SessionStatus,
)


def test_enum_values_are_azures() -> None:
    assert [s.value for s in SessionStatus] == [
        "Waiting",
        "Executing",
        "Succeeded",
        "Failed",
        "Failure(s)",
        "TimedOut",
    ]
    assert SessionStatus.FAILURE_S_ == "Failure(s)" and SessionStatus.TIMED_OUT == "TimedOut"
    assert [p.value for p in SessionJobFailurePolicy] == ["Abort", "Continue"]
    assert [s.value for s in JobStatus] == [
        "Queued",
        "Waiting",
        "Executing",
        "CancellationRequested",
        "Cancelling",
        "Finishing",
        "Completed",
        "Succeeded",
        "Failed",
        "Cancelled",
    ]
    assert [p.value for p in Priority] == ["Standard", "High"]
    assert [i.value for i in ItemType] == ["Job", "Session"]


def test_enum_lookup_is_case_insensitive() -> None:
    assert SessionStatus["timed_out"] is SessionStatus.TIMED_OUT
    assert SessionStatus.failure_s_ is SessionStatus.FAILURE_S_
    assert SessionJobFailurePolicy("continue") is SessionJobFailurePolicy.CONTINUE
    assert JobStatus("SUCCEEDED") is JobStatus.SUCCEEDED
    assert str(SessionStatus.WAITING) == "Waiting" and f"{JobStatus.FAILED}" == "Failed"
    with pytest.raises(ValueError):
        SessionStatus("Closed")
