"""``/api/v1/jobs``: submit, list, read, wait for, cancel, update and delete jobs.

A user reaches only jobs whose ``user`` is theirs (an administrator reaches all); any
other id answers 404 exactly as an unknown id does. Payloads and results travel as the
text of the store's encoding (:mod:`qsession_provider.core.ir.encoding`), never pickled.
"""

from __future__ import annotations

from typing import Any

from anyio.to_thread import run_sync
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.ir.encoding import dumps
from ..core.job import JobStatus
from ..core.runtime.checks import decode_payload
from ..errors import InputError, JobNotFoundError
from . import inputs as f
from .endpoints import Context, answer, blocking, endpoint

__all__ = ["routes", "job_answer"]

_SUBMIT_REQUIRED = {"program_id": f.STR, "device": f.STR, "payload": f.STR}
_SUBMIT_OPTIONAL = {
    "session_id": f.OPT_STR,
    "tags": f.STR_LIST,
    "name": f.STR,
    "priority": f.INT,
    "max_execution_time": f.DURATION,
    "job_id": f.OPT_STR,
    "metadata": f.OBJECT,
    "instance": f.STR,
    "system": f.BOOL,
    "fail_with": f.OPT_STR,
}
_UPDATE = {"name": f.STR, "tags": f.STR_LIST, "metadata": f.OBJECT}
_LIST = {
    "device": f.Q_STR,
    "session_id": f.Q_STR,
    "program_id": f.Q_STR,
    "status": f.Q_STRS,
    "pending": f.Q_BOOL,
    "tags": f.Q_STRS,
    "name_prefix": f.Q_STR,
    "instance": f.Q_STR,
    "user": f.Q_STR,
    "owner": f.Q_STR,
    "created_after": f.Q_FLOAT,
    "created_before": f.Q_FLOAT,
    "limit": f.Q_INT,
    "skip": f.Q_INT,
    "descending": f.Q_BOOL,
}


def job_answer(job: Any) -> dict[str, Any]:
    """``{"job": record, "result": text or null}``: the result of a DONE job comes along."""
    result = dumps(job.result()) if job.status is JobStatus.DONE else None
    return {"job": job.record.to_json(), "result": result}


def _visible_job(ctx: Context, job_id: str) -> Any:
    """The job ``job_id`` if the principal may see it; else the answer of an unknown id."""
    try:
        job = ctx.runtime.job(job_id)
    except JobNotFoundError:
        job = None
    if job is None or not ctx.principal.sees(job.record.user):
        raise JobNotFoundError(f"no job with id {job_id!r}")
    return job


def _payload(runtime: Any, program_id: str, device: str, text: str) -> Any:
    """Decode and check the payload text; errors name the field ``payload``."""
    dev = runtime.device(device)  # DeviceNotFoundError (404) first
    try:
        payload = decode_payload(program_id, text)
    except Exception as exc:
        raise InputError(f"field 'payload' is not a valid {program_id} payload: {exc}") from None
    if program_id in dev.programs:  # else submit names the program
        try:
            dev.validate(program_id, payload)
        except InputError as exc:
            message = f"field 'payload': {exc}"
            try:  # the same class (InvalidCircuitError, ResourceTooLargeError...), named
                named = type(exc)(message)
            except Exception:
                named = InputError(message)
            raise named from None
    return payload


def _submit(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    args = f.fields(body, required=_SUBMIT_REQUIRED, optional=_SUBMIT_OPTIONAL)
    principal, runtime = ctx.principal, ctx.runtime
    instance = args.pop("instance", None)
    if instance is not None:
        principal.require_admin("choose the instance of a job")
    if args.get("system"):
        principal.require_admin("submit system jobs")
    queued = ctx.state.queued
    queued.reserve(principal.user)
    try:
        program_id, device = args.pop("program_id"), args.pop("device")
        payload = _payload(runtime, program_id, device, args.pop("payload"))
        if "metadata" in args:
            args["metadata"] = f.metadata(args["metadata"])
        job = runtime.submit(
            program_id,
            device,
            payload,
            instance=instance or principal.instance,
            user=principal.user,
            **args,
        )
    except BaseException:
        queued.release(principal.user)
        raise
    queued.track(principal.user, job)
    return job_answer(job)


@endpoint
async def submit_job(request: Request, ctx: Context) -> Response:
    """POST /jobs: queue a job; 201 with its record (and result, if it already ran)."""
    body = await f.read_object(request, ctx.state.max_body)
    return answer(await blocking(_submit, ctx, body), 201)


def _list(ctx: Context, params: dict[str, Any]) -> dict[str, Any]:
    principal = ctx.principal
    user = params.pop("user", None)
    if not principal.admin:
        if user is not None and user != principal.user:
            return {"jobs": []}
        user = principal.user
    jobs = ctx.runtime.jobs(user=user, **params)
    return {"jobs": [job.record.to_json() for job in jobs]}


@endpoint
async def list_jobs(request: Request, ctx: Context) -> Response:
    """GET /jobs: the principal's jobs matching the query."""
    params = f.query(request, _LIST)
    return answer(await blocking(_list, ctx, params))


@endpoint
async def get_job(request: Request, ctx: Context) -> Response:
    """GET /jobs/{id}: one job's record."""
    job = await blocking(_visible_job, ctx, request.path_params["job_id"])
    return answer({"job": job.record.to_json()})


def _payload_text(ctx: Context, job_id: str) -> dict[str, Any]:
    _visible_job(ctx, job_id)
    return {"payload": ctx.runtime.store.get_payload(job_id)}


@endpoint
async def get_payload(request: Request, ctx: Context) -> Response:
    """GET /jobs/{id}/payload: the payload's encoded text."""
    return answer(await blocking(_payload_text, ctx, request.path_params["job_id"]))


def _wait(ctx: Context, job_id: str, timeout: float | None, passive: bool) -> dict[str, Any]:
    job = _visible_job(ctx, job_id)
    ctx.state.waits.wait(job, timeout, passive=passive)
    return job_answer(job)


@endpoint
async def wait_job(request: Request, ctx: Context) -> Response:
    """POST /jobs/{id}/wait: long-poll until the job is final (see :mod:`.waits`)."""
    body = await f.read_object(request, ctx.state.max_body, empty_ok=True)
    args = f.fields(body, optional={"timeout": f.OPT_NUMBER, "passive": f.BOOL})
    timeout, passive = args.get("timeout"), args.get("passive", False)
    if timeout is not None and timeout < 0:
        raise InputError(f"field 'timeout' must be >= 0 or null, got {timeout!r}")
    job_id = request.path_params["job_id"]
    data = await run_sync(_wait, ctx, job_id, timeout, passive, limiter=ctx.state.wait_threads)
    return answer(data)


def _cancel(ctx: Context, job_id: str) -> dict[str, Any]:
    job = _visible_job(ctx, job_id)
    cancelled = ctx.runtime.cancel_job(job_id)
    return {"cancelled": cancelled, "job": job.record.to_json()}


@endpoint
async def cancel_job(request: Request, ctx: Context) -> Response:
    """POST /jobs/{id}/cancel: cancel a queued (or cancellable running) job."""
    return answer(await blocking(_cancel, ctx, request.path_params["job_id"]))


def _update(ctx: Context, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = f.fields(body, optional=_UPDATE)
    _visible_job(ctx, job_id)
    if "metadata" in changes:
        changes["metadata"] = f.metadata(changes["metadata"]) or {}
    job = ctx.runtime.update_job(job_id, **changes)
    return {"job": job.record.to_json()}


@endpoint
async def update_job(request: Request, ctx: Context) -> Response:
    """PATCH /jobs/{id}: replace the name, tags or metadata."""
    body = await f.read_object(request, ctx.state.max_body)
    return answer(await blocking(_update, ctx, request.path_params["job_id"], body))


def _delete(ctx: Context, job_id: str) -> None:
    _visible_job(ctx, job_id)
    ctx.runtime.delete_job(job_id)


@endpoint
async def delete_job(request: Request, ctx: Context) -> Response:
    """DELETE /jobs/{id}: remove a finished job; 204."""
    await blocking(_delete, ctx, request.path_params["job_id"])
    return Response(status_code=204)


def routes(prefix: str) -> list[Route]:
    """The job routes under ``prefix``."""
    one = prefix + "/jobs/{job_id}"
    return [
        Route(prefix + "/jobs", submit_job, methods=["POST"]),
        Route(prefix + "/jobs", list_jobs, methods=["GET"]),
        Route(one, get_job, methods=["GET"]),
        Route(one, update_job, methods=["PATCH"]),
        Route(one, delete_job, methods=["DELETE"]),
        Route(one + "/payload", get_payload, methods=["GET"]),
        Route(one + "/wait", wait_job, methods=["POST"]),
        Route(one + "/cancel", cancel_job, methods=["POST"]),
    ]
