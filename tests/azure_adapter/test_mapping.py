"""Core records -> Azure values (``azure._mapping``): statuses and the coercers."""

from __future__ import annotations

import pytest

from qsession_provider.azure import JobStatus, Priority, SessionJobFailurePolicy
from qsession_provider.azure._mapping import core_statuses, failure_policy, job_status, priority
from qsession_provider.core.job import JobStatus as CoreJobStatus


def test_core_job_statuses_map_to_the_classic_names() -> None:
    assert [job_status(s).value for s in CoreJobStatus] == [
        "Waiting",
        "Executing",
        "Succeeded",
        "Failed",
        "Cancelled",
    ]


def test_status_filters_take_classic_and_v2_names() -> None:
    assert core_statuses(None) is None
    assert core_statuses(["Completed", "succeeded"]) == {CoreJobStatus.DONE}
    assert core_statuses("Cancelling") == frozenset()
    with pytest.raises(ValueError):
        core_statuses("Closed")


def test_policy_and_priority_default_and_case() -> None:
    assert failure_policy(None) is SessionJobFailurePolicy.ABORT
    assert failure_policy("continue") is SessionJobFailurePolicy.CONTINUE
    assert priority(None) is Priority.STANDARD
    assert priority("HIGH") is Priority.HIGH
    assert job_status(CoreJobStatus.DONE) is JobStatus.SUCCEEDED


@pytest.mark.parametrize(
    ("coerce", "message"),
    [
        (failure_policy, "invalid job_failure_policy 'x'; expected 'Abort' or 'Continue'"),
        (priority, "invalid priority 'x'; expected 'Standard' or 'High'"),
    ],
    ids=["failure_policy", "priority"],
)
def test_bad_values_name_the_choices(coerce: object, message: str) -> None:
    with pytest.raises(ValueError) as info:
        coerce("x")  # type: ignore[operator]
    assert str(info.value) == message
