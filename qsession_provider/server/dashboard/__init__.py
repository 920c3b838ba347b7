"""The web dashboard ``qsession serve`` shows at ``/``: sessions, jobs, devices, actions.

Server-rendered HTML (Jinja2 templates in ``templates/``, a small stylesheet and a few
dozen lines of JavaScript in ``static/``, shipped with the package: nothing is fetched
from elsewhere). Log in with an API token (kept in an HttpOnly, SameSite=Strict cookie);
an administrator sees everyone's work, a user their own, exactly as through the API.

=====================================  ===============================================
path                                   what
=====================================  ===============================================
``/login``, ``/logout``                the token form; forgetting the cookie
``/sessions``, ``/sessions/{id}``      sessions (filtered, paged); one session with its
                                       details, jobs and timeline
``/jobs``, ``/jobs/{id}``              jobs (the API's filters, paged); one job
``/devices``                           queue length, running jobs, the holding session
``/jobs/{id}/cancel``                  confirm (GET), then cancel (POST)
``/sessions/{id}/close``, ``/cancel``  confirm (GET), then close or cancel (POST)
``/static/...``                        the stylesheet and script
=====================================  ===============================================

Pages with something pending poll their live part every second (``static/live.js``).
"""

from __future__ import annotations

from pathlib import Path

from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Mount, Route
from starlette.staticfiles import StaticFiles

from . import actions, job_page, lists, login, session_page
from .web import page

__all__ = ["routes"]

_STATIC = Path(__file__).parent / "static"


async def _home(request: object) -> Response:
    return RedirectResponse("/sessions", 303)


def routes() -> list[BaseRoute]:
    """The dashboard's routes (mounted at ``/`` next to the API)."""
    return [
        Route("/", _home, methods=["GET"]),
        Route("/login", login.login, methods=["GET", "POST"]),
        Route("/logout", login.logout, methods=["POST"]),
        Route("/sessions", page(lists.sessions_page), methods=["GET"]),
        Route("/sessions/{session_id}", page(session_page.session_page), methods=["GET"]),
        Route("/sessions/{session_id}/close", page(actions.end_session), methods=["GET", "POST"]),
        Route("/sessions/{session_id}/cancel", page(actions.end_session), methods=["GET", "POST"]),
        Route("/jobs", page(lists.jobs_page), methods=["GET"]),
        Route("/jobs/{job_id}", page(job_page.job_page), methods=["GET"]),
        Route("/jobs/{job_id}/cancel", page(actions.cancel_job), methods=["GET", "POST"]),
        Route("/devices", page(lists.devices_page), methods=["GET"]),
        Mount("/static", StaticFiles(directory=_STATIC), name="static"),
    ]
