"""Actions with a confirmation step: cancel a job, close or cancel a session.

``GET`` on an action's path shows what will happen and a form; the form's ``POST`` does
it (checked by :mod:`.web` to come from the dashboard itself) and sends the browser back
to the job or session page with a notice. What the viewer may not see answers 404, as an
unknown id; what cannot be done any more (a finished job, a closed session) answers 409
naming why.
"""

from __future__ import annotations

from ...core.session import SessionState
from ...errors import InvalidJobStateError, SessionClosedError
from .job_page import visible_job
from .session_page import visible_session
from .web import Page, View

__all__ = ["cancel_job", "end_session"]


def cancel_job(view: View) -> Page:
    """GET: confirm cancelling a job; POST: cancel it."""
    record = visible_job(view, view.request.path_params["job_id"])
    if record.in_final_state:
        raise InvalidJobStateError(
            f"job {record.id} is {record.status.value}: only a queued or running job can be "
            "cancelled"
        )
    if view.request.method == "GET":
        return Page(
            "confirm.html",
            {
                "question": f"Cancel job {record.id}?",
                "detail": f"It is {record.status.value} on {record.device}. A cancelled job "
                "never runs again.",
                "action": f"/jobs/{record.id}/cancel",
                "button": "Cancel the job",
                "back": f"/jobs/{record.id}",
            },
            title="Cancel a job",
        )
    if not view.runtime.cancel_job(record.id):
        now = visible_job(view, record.id)
        raise InvalidJobStateError(
            f"job {record.id} could not be cancelled: it is {now.status.value}"
            + ("" if now.in_final_state else f" and {record.device} cannot stop a running job")
        )
    return Page(redirect=f"/jobs/{record.id}?notice=job-cancelled")


def end_session(view: View) -> Page:
    """GET: confirm closing (or cancelling) a session; POST: do it."""
    record = visible_session(view, view.request.path_params["session_id"])
    cancel = view.request.url.path.endswith("/cancel")
    if record.state is SessionState.CLOSED:
        raise SessionClosedError(f"session {record.id} is closed already")
    if cancel:
        question, button = f"Cancel session {record.id}?", "Cancel the session"
        detail = "It closes now: queued jobs fail, running jobs finish."
    else:
        if record.state is SessionState.DRAINING:
            raise SessionClosedError(f"session {record.id} is closing already")
        question, button = f"Close session {record.id}?", "Close the session"
        detail = "It accepts no more jobs; queued and running jobs finish, then it closes."
    if view.request.method == "GET":
        verb = "cancel" if cancel else "close"
        return Page(
            "confirm.html",
            {
                "question": question,
                "detail": detail,
                "action": f"/sessions/{record.id}/{verb}",
                "button": button,
                "back": f"/sessions/{record.id}",
            },
            title=button,
        )
    runtime = view.runtime
    if cancel:
        runtime.cancel_session(record.id)
    else:
        runtime.close_session(record.id)
    notice = "session-cancelled" if cancel else "session-closed"
    return Page(redirect=f"/sessions/{record.id}?notice={notice}")
