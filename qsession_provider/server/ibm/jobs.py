"""``/jobs`` of the IBM API: create, list, read, results, cancel, delete, metrics, logs, tags.

A submission (``POST /jobs``, the client's ``program_run``) is decoded by :mod:`.codec`,
loaded on the first one (it needs qiskit; without it the answer is 501 naming the extra),
and submitted to the served runtime exactly as ``/api/v1/jobs`` does: the same per-user
limit of unfinished jobs, the same session rules. A user reaches only their own jobs (an
administrator all); another user's job id answers 404 as an unknown one does, which the
client raises as ``RuntimeJobNotFound``.

On a ``--virtual-clock`` server the client's status poll (``GET /jobs/{id}``, every 0.1 to
0.5 s while it waits) is a waiter, as ``job.wait()`` is in an embedded runtime: a pending
job's read waits on the runtime clock, which auto-advance moves to the next due event while
the runtime is idle (an emulated QPU's job end, a session timer), for up to the long-poll's
real cap (:data:`~qsession_provider.server.waits.REAL_CAP`). On a real clock the read
answers at once.
"""

from __future__ import annotations

import importlib
import json
from datetime import datetime, timezone
from typing import Any

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...core.job import FINAL_STATES, JobStatus
from ...errors import InputError, InvalidJobStateError, JobNotFoundError
from ..inputs import read_body
from .endpoint import IBMContext, MissingExtra, ibm_endpoint, json_answer
from .records import iso_utc, job_json, job_metrics, program_of
from .sessions import visible_session

__all__ = ["codec", "routes"]


def codec() -> Any:
    """The qiskit-dependent :mod:`.codec`, imported on first use.

    Raises:
        MissingExtra: qiskit or qiskit-ibm-runtime is not installed.
    """
    try:
        return importlib.import_module(f"{__package__}.codec")
    except ImportError as exc:
        raise MissingExtra(
            "decoding qiskit-ibm-runtime requests needs qiskit and qiskit-ibm-runtime on the "
            f"server ({exc}); install them with: pip install 'qsession-provider[qiskit]'"
        ) from None


def _visible_job(ctx: IBMContext, job_id: str) -> Any:
    try:
        job = ctx.runtime.job(job_id)
    except JobNotFoundError:
        job = None
    if job is None or not ctx.principal.sees(job.record.user):
        raise JobNotFoundError(f"Job not found: no job with id {job_id!r}")
    return job


def _params_text(raw: bytes) -> str:
    """The ``params`` of a body, as JSON text (kept for ``job.inputs``)."""
    try:
        plain = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"the request body is not JSON: {exc}") from None
    if not isinstance(plain, dict):
        raise InputError("the request body must be a JSON object")
    return json.dumps(plain.get("params"), separators=(",", ":"))


def _submit(ctx: IBMContext, raw: bytes) -> dict[str, Any]:
    coder = codec()
    params_text = _params_text(raw)
    body = coder.decode_body(raw)
    backend = body.get("backend")
    if not isinstance(backend, str) or not backend:
        raise InputError("field 'backend' must name a backend (service.backends() lists them)")
    session_id = body.get("session_id")
    if session_id is not None and not isinstance(session_id, str):
        raise InputError(f"field 'session_id' must be a string, got {session_id!r}")
    ctx.runtime.device(backend)  # an unknown backend is named before the params are decoded
    if session_id is not None:
        visible_session(ctx, session_id)  # and so is an unknown session
    principal, queued = ctx.principal, ctx.state.queued
    queued.reserve(principal.user)
    try:
        job_in = coder.submission(body, params_text)
        job = ctx.runtime.submit(
            job_in.program_id,
            backend,
            job_in.payload,
            session_id=session_id,
            instance=ctx.instance,
            user=principal.user,
            tags=job_in.tags,
            max_execution_time=job_in.max_execution_time,
            metadata=job_in.metadata,
        )
    except BaseException:
        queued.release(principal.user)
        raise
    queued.track(principal.user, job)
    return {"id": job.id, "backend": backend, "session_id": session_id}


@ibm_endpoint
async def create_job(request: Request, ctx: IBMContext) -> Response:
    """POST /jobs: run a primitive (the client's ``program_run``)."""
    raw = await read_body(request, ctx.state.max_body)
    return json_answer(await ctx.blocking(_submit, ctx, raw))


def _query(request: Request) -> dict[str, Any]:
    """The runtime's filters from the client's ``jobs_get`` query."""
    q = request.query_params
    out: dict[str, Any] = {}

    def number(name: str) -> int | None:
        text = q.get(name)
        if text is None:
            return None
        try:
            value = int(text)
        except ValueError:
            raise InputError(
                f"query parameter {name!r} must be a whole number, got {text!r}"
            ) from None
        if value < 0:
            raise InputError(f"query parameter {name!r} must be >= 0, got {value}")
        return value

    for field, key in (("backend", "device"), ("program", "program_id")):
        if q.get(field):
            out[key] = q[field]
    if q.get("session_id"):
        out["session_id"] = q["session_id"]
    if q.getlist("tags"):
        out["tags"] = q.getlist("tags")
    if q.get("pending") is not None:
        if q["pending"] not in ("true", "false"):
            raise InputError(
                f"query parameter 'pending' must be true or false, got {q['pending']!r}"
            )
        out["pending"] = q["pending"] == "true"
    for field in ("created_after", "created_before"):
        if q.get(field):
            out[field] = _when(q[field], field)
    out["descending"] = q.get("sort", "DESC").upper() != "ASC"
    out["limit"], out["skip"] = number("limit"), number("offset") or 0
    return out


def _when(text: str, field: str) -> float:
    try:
        when = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise InputError(f"query parameter {field!r} must be an ISO date, got {text!r}") from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=timezone.utc)
    return when.timestamp()


def _list(ctx: IBMContext, query: dict[str, Any]) -> dict[str, Any]:
    limit, skip = query.pop("limit"), query.pop("skip")
    program = query.pop("program_id", None)
    user = None if ctx.principal.admin else ctx.principal.user
    jobs = ctx.runtime.jobs(user=user, instance=ctx.instance, **query)
    records = [job.record for job in jobs]
    if program is not None:
        records = [r for r in records if program_of(r) == program]
    page = records[skip : None if limit is None else skip + limit]
    return {
        "jobs": [job_json(r) for r in page],
        "count": len(records),
        "limit": limit,
        "offset": skip,
    }


@ibm_endpoint
async def list_jobs(request: Request, ctx: IBMContext) -> Response:
    """GET /jobs: the caller's jobs in the instance, newest first (``count``: all matches)."""
    return json_answer(await ctx.blocking(_list, ctx, _query(request)))


def _read(ctx: IBMContext, job_id: str, with_params: bool) -> dict[str, Any]:
    job = _visible_job(ctx, job_id)
    if job.status not in FINAL_STATES and ctx.runtime.clock.virtual:
        ctx.state.waits.wait(job, None)  # the client polls: a waiter (module docstring)
    record = job.record
    params = None
    if with_params:
        text = (record.metadata or {}).get("ibm_params")
        params = json.loads(text) if isinstance(text, str) else {}
    return job_json(record, params)


@ibm_endpoint
async def get_job(request: Request, ctx: IBMContext) -> Response:
    """GET /jobs/{id}: the job (with its params unless ``exclude_params=true``)."""
    with_params = request.query_params.get("exclude_params") != "true"
    data = await ctx.blocking(_read, ctx, request.path_params["job_id"], with_params)
    return json_answer(data)


def _results(ctx: IBMContext, job_id: str) -> str:
    job = _visible_job(ctx, job_id)
    record = job.record
    if record.status is JobStatus.DONE:
        return codec().encode_result(record, job.result())
    if record.status in FINAL_STATES:
        return f"{record.error_code}: {record.error_message}"
    raise InvalidJobStateError(f"job {job_id} is {record.status.value}: no results before it ends")


@ibm_endpoint
async def job_results(request: Request, ctx: IBMContext) -> Response:
    """GET /jobs/{id}/results: the result (the error text of a failed job)."""
    text = await ctx.blocking(_results, ctx, request.path_params["job_id"])
    return Response(text, media_type="application/json")


def _cancel(ctx: IBMContext, job_id: str) -> None:
    _visible_job(ctx, job_id)
    if not ctx.runtime.cancel_job(job_id):
        status = ctx.runtime.job(job_id).status.value
        raise InvalidJobStateError(f"job {job_id} is {status} and cannot be cancelled")


@ibm_endpoint
async def cancel_job(request: Request, ctx: IBMContext) -> Response:
    """POST /jobs/{id}/cancel: 204; 409 for a job that is final or cannot be stopped."""
    await ctx.blocking(_cancel, ctx, request.path_params["job_id"])
    return Response(status_code=204)


def _delete(ctx: IBMContext, job_id: str) -> None:
    _visible_job(ctx, job_id)
    caller = {} if ctx.principal.admin else {"instance": ctx.instance, "user": ctx.principal.user}
    ctx.runtime.delete_job(job_id, **caller)


@ibm_endpoint
async def delete_job(request: Request, ctx: IBMContext) -> Response:
    """DELETE /jobs/{id}: remove a finished job; 204."""
    await ctx.blocking(_delete, ctx, request.path_params["job_id"])
    return Response(status_code=204)


def _metrics(ctx: IBMContext, job_id: str) -> dict[str, Any]:
    record = _visible_job(ctx, job_id).record
    queued = record.status is JobStatus.QUEUED
    return job_metrics(record, estimate=ctx.runtime.queue_estimate(job_id) if queued else None)


@ibm_endpoint
async def get_metrics(request: Request, ctx: IBMContext) -> Response:
    """GET /jobs/{id}/metrics: timestamps and usage."""
    return json_answer(await ctx.blocking(_metrics, ctx, request.path_params["job_id"]))


def _logs(ctx: IBMContext, job_id: str) -> str:
    r = _visible_job(ctx, job_id).record
    lines = [f"{iso_utc(r.created_at)} job {r.id} queued on {r.device}"]
    if r.started_at is not None:
        lines.append(f"{iso_utc(r.started_at)} running")
    if r.finished_at is not None:
        lines.append(f"{iso_utc(r.finished_at)} {r.status.value}")
    if r.error_message:
        lines.append(f"error ({r.error_code}): {r.error_message}")
    return "\n".join(lines) + "\n"


@ibm_endpoint
async def get_logs(request: Request, ctx: IBMContext) -> Response:
    """GET /jobs/{id}/logs: the job's life in a few lines."""
    text = await ctx.blocking(_logs, ctx, request.path_params["job_id"])
    return Response(text, media_type="text/plain")


def _tags(ctx: IBMContext, job_id: str, body: Any) -> None:
    tags = body.get("tags") if isinstance(body, dict) else None
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        raise InputError("field 'tags' must be a list of strings")
    _visible_job(ctx, job_id)
    caller = {} if ctx.principal.admin else {"instance": ctx.instance, "user": ctx.principal.user}
    ctx.runtime.update_job(job_id, tags=tags, **caller)


@ibm_endpoint
async def put_tags(request: Request, ctx: IBMContext) -> Response:
    """PUT /jobs/{id}/tags: replace the job's tags; 204."""
    raw = await read_body(request, ctx.state.max_body)
    try:
        body = json.loads(raw)
    except ValueError as exc:
        raise InputError(f"the request body is not JSON: {exc}") from None
    await ctx.blocking(_tags, ctx, request.path_params["job_id"], body)
    return Response(status_code=204)


def routes(prefix: str) -> list[Route]:
    """The job routes under ``prefix``."""
    one = prefix + "/jobs/{job_id}"
    return [
        Route(prefix + "/jobs", create_job, methods=["POST"]),
        Route(prefix + "/jobs", list_jobs, methods=["GET"]),
        Route(one, get_job, methods=["GET"]),
        Route(one, delete_job, methods=["DELETE"]),
        Route(one + "/results", job_results, methods=["GET"]),
        Route(one + "/cancel", cancel_job, methods=["POST"]),
        Route(one + "/metrics", get_metrics, methods=["GET"]),
        Route(one + "/logs", get_logs, methods=["GET"]),
        Route(one + "/tags", put_tags, methods=["PUT"]),
    ]
