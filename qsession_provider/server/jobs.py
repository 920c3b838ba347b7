"""``/api/v1/jobs``: submit, list, read, wait for, cancel, update and delete jobs.

A user reaches only jobs whose ``user`` is theirs (an administrator reaches all); any
other id answers 404 exactly as an unknown id does. Payloads and results travel as the
text of the store's encoding (:mod:`qsession_provider.core.ir.encoding`), never pickled.

Submissions are the hot path (a VQE loop, a stream of tiny jobs), so ``POST /jobs``:

- decodes payloads through the server's
  :class:`~qsession_provider.core.ir.encoding.Interner`: the circuit and observables of a
  loop's jobs are decoded and validated once, and the engine's identity-keyed caches hit;
- runs on the event loop itself when the body is at most :data:`INLINE_BODY` bytes and
  names no ``job_id`` (an id chosen by the client is looked up in the store), and the
  device is the built-in engine or has modelled time: decoding such a payload takes tens of
  microseconds, and ``runtime.submit`` does bookkeeping under the runtime lock and computes
  only tiny jobs of the engine (tens of microseconds), so a thread-pool round trip would
  cost more than the call. Larger bodies, and devices whose ``execute`` may take any time
  (a tiny job runs at submission), go to the pool;
- answers in one round trip for short jobs: a tiny job is final when ``runtime.submit``
  returns (it runs at submission); another job that *started* at once - a free slot, on a
  device without modelled time, of at most :data:`SUBMIT_WAIT_MAX_WORK`
  amplitude-executions - is waited for, passively (real time, on the event loop, never
  moving a virtual clock, as a client's done-callback waits), for up to
  ``ServerState.submit_wait`` real seconds (30 ms). A job done by then comes back final with
  its result, so the client needs no ``/wait``; any other job answers as before, QUEUED or
  RUNNING, and the client long-polls. The answer of a job whose result may be large (more
  than :data:`INLINE_RESULT` numbers, or of unknown size) is encoded in the pool.
"""

from __future__ import annotations

import dataclasses
import math
from typing import Any

from anyio.to_thread import run_sync
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ..core.ir.encoding import dumps
from ..core.job import FINAL_STATES, JobStatus
from ..core.runtime.checks import decode_payload
from ..errors import InputError, JobNotFoundError
from ..sim import execute as engine_execute
from . import inputs as f
from .endpoints import Context, answer, endpoint

__all__ = ["routes", "job_answer", "INLINE_BODY", "INLINE_RESULT", "SUBMIT_WAIT_MAX_WORK"]

#: Largest request body (bytes) of a submission handled on the event loop (module doc).
INLINE_BODY = 32 * 2**10
#: Most numbers (expectation values; shots times classical bits) in the result of a done
#: job whose answer is encoded on the event loop.
INLINE_RESULT = 1 << 16
#: Largest ``num_executions * 2**num_qubits`` of a job ``POST /jobs`` waits for (a larger
#: one would not be done within the wait: the answer would only come later).
SUBMIT_WAIT_MAX_WORK = 1 << 20

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


def _payload(ctx: Context, program_id: str, device: str, text: str) -> Any:
    """Decode and check the payload text; errors name the field ``payload``."""
    dev = ctx.runtime.device(device)  # DeviceNotFoundError (404) first
    try:
        payload = decode_payload(program_id, text, ctx.state.interner)
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


def _prepare(ctx: Context, body: dict[str, Any]) -> dict[str, Any]:
    """Check the body and decode the payload: the arguments of ``runtime.submit``.

    Reserves a place among the user's unfinished jobs (429 past the limit, before the
    payload is decoded); :func:`_enter` takes the reservation over.
    """
    args = f.fields(body, required=_SUBMIT_REQUIRED, optional=_SUBMIT_OPTIONAL)
    principal = ctx.principal
    instance = args.pop("instance", None)
    if instance is not None:
        principal.require_admin("choose the instance of a job")
    if args.get("system"):
        principal.require_admin("submit system jobs")
    queued = ctx.state.queued
    queued.reserve(principal.user)
    try:
        program_id, device = args.pop("program_id"), args.pop("device")
        args["payload"] = _payload(ctx, program_id, device, args.pop("payload"))
        if "metadata" in args:
            args["metadata"] = f.metadata(args["metadata"])
    except BaseException:
        queued.release(principal.user)
        raise
    return {
        "program_id": program_id,
        "device": device,
        "instance": instance or principal.instance,
        "user": principal.user,
        **args,
    }


def _enter(ctx: Context, call: dict[str, Any]) -> Any:
    """``runtime.submit(**call)`` for a reservation of :func:`_prepare`; the job's handle."""
    queued, user = ctx.state.queued, ctx.principal.user
    try:
        job = ctx.runtime.submit(**call)
    except BaseException:
        queued.release(user)
        raise
    queued.track(user, job)
    return job


def _submit(ctx: Context, body: dict[str, Any]) -> Any:
    """Check the body, decode the payload and submit the job; its handle."""
    return _enter(ctx, _prepare(ctx, body))


def _quick(runtime: Any, call: dict[str, Any]) -> bool:
    """Whether ``runtime.submit(**call)`` is bookkeeping, or a computation known to be short.

    ``submit`` computes a job at submission only if it is tiny and its device has no
    modelled time; the built-in engine computes a tiny job in tens of microseconds, but
    another device's ``execute`` may take any time (a plugin's hardware), so it runs in
    the pool.
    """
    try:
        dev = runtime.device(call["device"])
        if dev.execution_time(call["payload"]) != 0:
            return True  # modelled time: never computed at submission
    except Exception:  # let submit, in the pool, say what is wrong
        return False
    return getattr(dev.execute, "func", None) is engine_execute


def _short(runtime: Any, job: Any) -> bool:
    """Whether ``job`` started at once and may well be done within the submission's wait:
    RUNNING on a device without modelled time, at most :data:`SUBMIT_WAIT_MAX_WORK`."""
    if job.status is not JobStatus.RUNNING:
        return False  # queued: it waits for others, the client long-polls
    try:
        payload = job.payload
        if runtime.device(job.device).execution_time(payload) != 0:
            return False  # modelled time: ends on the clock, not when computed
        work = int(payload.num_executions) << int(payload.num_qubits)
    except Exception:  # a payload of unknown size
        return False
    return work <= SUBMIT_WAIT_MAX_WORK


def _small_answer(job: Any) -> bool:
    """Whether the answer of ``job`` (its result, if done) is cheap to encode: at most
    :data:`INLINE_RESULT` numbers (expectation values, or shots times classical bits)."""
    if job.status is not JobStatus.DONE:
        return True
    try:
        payload, program = job.payload, job.program_id
        if program == "estimator":
            size = sum(math.prod(pub.shape) for pub in payload.pubs)
        elif program == "sampler":
            size = sum(
                math.prod(pub.shape) * pub.shots * max(1, pub.circuit.num_clbits)
                for pub in payload.pubs
            )
        elif program == "run":
            size = payload.shots * sum(max(1, c.num_clbits) for c in payload.circuits)
        else:
            return False  # a result of unknown size
    except Exception:  # a payload of unknown size
        return False
    return size <= INLINE_RESULT


@endpoint
async def submit_job(request: Request, ctx: Context) -> Response:
    """POST /jobs: queue a job; 201 with its record (and result, if it is done already or
    within the submission's short wait)."""
    state = ctx.state
    raw = await f.read_body(request, state.max_body)
    body = f.parse_object(raw)
    if len(raw) <= INLINE_BODY and body.get("job_id") is None:
        call = _prepare(ctx, body)
        if _quick(ctx.runtime, call):
            job = _enter(ctx, call)
        else:
            job = await ctx.blocking(_enter, ctx, call)
    else:
        job = await ctx.blocking(_submit, ctx, body)
    if state.submit_wait > 0 and job.status not in FINAL_STATES and _short(ctx.runtime, job):
        await state.waits.settle(job, state.submit_wait)
    if _small_answer(job):
        return answer(job_answer(job), 201)
    return answer(await ctx.blocking(job_answer, job), 201)


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
    return answer(await ctx.blocking(_list, ctx, params))


@endpoint
async def get_job(request: Request, ctx: Context) -> Response:
    """GET /jobs/{id}: one job's record."""
    job = await ctx.blocking(_visible_job, ctx, request.path_params["job_id"])
    return answer({"job": job.record.to_json()})


def _estimate(ctx: Context, job_id: str) -> dict[str, Any]:
    _visible_job(ctx, job_id)
    estimate = ctx.runtime.queue_estimate(job_id)
    if estimate is None:
        return {"estimate": None}
    return {"estimate": dataclasses.asdict(estimate)}


@endpoint
async def get_estimate(request: Request, ctx: Context) -> Response:
    """GET /jobs/{id}/estimate: a queued job's position and estimated start and completion
    (``{"estimate": null}`` once it is not queued)."""
    return answer(await ctx.blocking(_estimate, ctx, request.path_params["job_id"]))


def _payload_text(ctx: Context, job_id: str) -> dict[str, Any]:
    _visible_job(ctx, job_id)
    return {"payload": ctx.runtime.store.get_payload(job_id)}


@endpoint
async def get_payload(request: Request, ctx: Context) -> Response:
    """GET /jobs/{id}/payload: the payload's encoded text."""
    return answer(await ctx.blocking(_payload_text, ctx, request.path_params["job_id"]))


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
    return answer(await ctx.blocking(_cancel, ctx, request.path_params["job_id"]))


def _update(ctx: Context, job_id: str, body: dict[str, Any]) -> dict[str, Any]:
    changes = f.fields(body, optional=_UPDATE)
    _visible_job(ctx, job_id)
    if "metadata" in changes:
        changes["metadata"] = f.metadata(changes["metadata"]) or {}
    job = ctx.runtime.update_job(job_id, **changes, **_caller(ctx))
    return {"job": job.record.to_json()}


@endpoint
async def update_job(request: Request, ctx: Context) -> Response:
    """PATCH /jobs/{id}: replace the name, tags or metadata."""
    body = await f.read_object(request, ctx.state.max_body)
    return answer(await ctx.blocking(_update, ctx, request.path_params["job_id"], body))


def _delete(ctx: Context, job_id: str) -> None:
    _visible_job(ctx, job_id)
    ctx.runtime.delete_job(job_id, **_caller(ctx))


def _caller(ctx: Context) -> dict[str, Any]:
    """Who changes or deletes a job: only its own instance may (an administrator: any)."""
    principal = ctx.principal
    if principal.admin:
        return {}
    return {"instance": principal.instance, "user": principal.user}


@endpoint
async def delete_job(request: Request, ctx: Context) -> Response:
    """DELETE /jobs/{id}: remove a finished job; 204."""
    await ctx.blocking(_delete, ctx, request.path_params["job_id"])
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
        Route(one + "/estimate", get_estimate, methods=["GET"]),
        Route(one + "/wait", wait_job, methods=["POST"]),
        Route(one + "/cancel", cancel_job, methods=["POST"]),
    ]
