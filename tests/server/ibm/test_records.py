"""The IBM API's records: session details under the API's key names (one table with the
Qiskit face's), and job metrics with a queued job's estimate."""

from __future__ import annotations

from qsession_provider.core.dialect_words import ibm_details
from qsession_provider.core.job import JobRecord, JobStatus
from qsession_provider.core.runtime.estimates import QueueEstimate
from qsession_provider.core.session import SessionMode, SessionRecord, SessionState
from qsession_provider.server.ibm.records import job_metrics, session_json


def test_session_json_is_the_details_table_under_the_apis_names() -> None:
    record = SessionRecord(
        id="s1",
        device="emulated_falcon_27",
        mode=SessionMode.DEDICATED,
        state=SessionState.ACTIVE,
        created_at=10.0,
        timestamps=((SessionState.OPEN, 10.0), (SessionState.ACTIVE, 12.0)),
    )
    details, api = ibm_details(record, 20.0), session_json(record, 20.0)
    assert api["interactive_ttl"] == details["interactive_timeout"]
    assert api["max_ttl"] == details["max_time"]
    assert api["active_ttl"] == details["active_timeout"]
    assert api["elapsed_time"] == details["usage_time"]
    assert api["state"] == "active" and api["timestamps"] == details["timestamps"]
    assert len(api) == len(details) == 15


def test_metrics_of_a_queued_job_carry_its_estimate() -> None:
    record = JobRecord("j1", "sampler", "emulated_falcon_27", JobStatus.QUEUED, 0.0)
    metrics = job_metrics(record, estimate=QueueEstimate(3, 60.0, 61.5))
    assert metrics["position_in_queue"] == 3 and metrics["position_in_provider"] == 3
    assert metrics["estimated_start_time"] == "1970-01-01T00:01:00.000Z"
    assert metrics["estimated_completion_time"] == "1970-01-01T00:01:01.500Z"
    assert job_metrics(record)["position_in_queue"] is None
