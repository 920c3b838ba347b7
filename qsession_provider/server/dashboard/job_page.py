"""The job page: status history, input summary, result, error data and usage."""

from __future__ import annotations

from typing import Any

from ...core.dialect_words import AZURE_JOB_STATUS
from ...core.job_record import JobRecord, JobStatus
from ...core.runtime.checks import decode_payload
from ...errors import JobNotFoundError
from .summaries import input_summary, result_summary
from .svg import histogram_svg
from .web import Page, View

__all__ = ["job_page", "visible_job", "history"]


def visible_job(view: View, job_id: str) -> JobRecord:
    """The job's record if the viewer may see it; else the error of an unknown id (404)."""
    try:
        record = view.runtime.job(job_id).record
    except JobNotFoundError:
        record = None
    if record is None or not view.principal.sees(record.user):
        raise JobNotFoundError(f"no job with id {job_id!r}")
    return record


def history(record: JobRecord) -> list[dict[str, Any]]:
    """The job's status changes with their times: created, started, finished."""
    steps = [{"status": JobStatus.QUEUED.value, "time": record.created_at, "what": "submitted"}]
    if record.started_at is not None:
        steps.append(
            {"status": JobStatus.RUNNING.value, "time": record.started_at, "what": "started"}
        )
    if record.in_final_state:
        steps.append(
            {"status": record.status.value, "time": record.finished_at, "what": "finished"}
        )
    return steps


def _estimate(view: View, record: JobRecord, text: str) -> float | None:
    """The device's modelled time for the payload (IBM's ``usage_estimation``), if known."""
    try:
        payload = decode_payload(record.program_id, text)
        seconds = view.runtime.device(record.device).execution_time(payload)
    except Exception:  # a device gone since, or a payload of a plugin's program
        return None
    return float(seconds) if seconds else None


def job_page(view: View) -> Page:
    """GET /jobs/{job_id}."""
    record = visible_job(view, view.request.path_params["job_id"])
    store = view.runtime.store
    payload_text = store.get_payload(record.id)
    summary = input_summary(record.program_id, payload_text)
    result = None
    if record.status is JobStatus.DONE:
        result = result_summary(record.program_id, store.get_result(record.id))
    charts = []
    if result and "counts" in result:
        charts = [(label, histogram_svg(counts), len(counts)) for label, counts in result["counts"]]
    error = None
    if record.status in (JobStatus.ERROR, JobStatus.CANCELLED):
        error = {"code": record.error_code, "message": record.error_message}
    now = view.runtime.clock.now()
    usage = {
        "quantum_seconds": record.execution_time,
        "running_for": None
        if record.started_at is None or record.in_final_state
        else max(0.0, now - record.started_at),
        "estimate": _estimate(view, record, payload_text),
    }
    return Page(
        "job.html",
        {
            "record": record,
            "azure": AZURE_JOB_STATUS[record.status],
            "history": history(record),
            "summary": summary,
            "result": result,
            "charts": charts,
            "error": error,
            "usage": usage,
            "cancellable": not record.in_final_state,
        },
        pending=not record.in_final_state,
        title=f"Job {record.name or record.id}",
    )
