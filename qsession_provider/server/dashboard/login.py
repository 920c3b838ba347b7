"""Logging in and out: a token (the API's bearer token) kept in an HttpOnly cookie.

``POST /login`` checks the token with the API's authenticator and sets :data:`~.web.COOKIE`
(``HttpOnly; SameSite=Strict; Path=/``, ``Secure`` over HTTPS) for
:data:`COOKIE_SECONDS`; ``POST /logout`` removes it. Both are refused from another site's
page (``Origin`` checked, as every dashboard form).
"""

from __future__ import annotations

import time
from urllib.parse import urlsplit

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import NotAuthorizedError, QSessionError
from ..endpoints import ServerState, log_request
from .web import COOKIE, error_page, form_of, principal_of, render, same_origin

__all__ = ["login", "logout", "COOKIE_SECONDS", "safe_next"]

#: How long the login cookie lives: 12 hours.
COOKIE_SECONDS = 12 * 3600


def safe_next(target: str | None) -> str:
    """Where to go after logging in: a path on this server (else the sessions list)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return "/sessions"
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or "\\" in target:
        return "/sessions"
    return target


def _form(next_path: str, message: str | None, status: int) -> HTMLResponse:
    values = {
        "principal": None,
        "pending": False,
        "live_url": None,
        "title": "Log in",
        "next": next_path,
        "message": message,
    }
    return HTMLResponse(render("login.html", values), status)


async def login(request: Request) -> Response:
    """GET /login: the form; POST /login: check the token and set the cookie."""
    started = time.perf_counter()
    state: ServerState = request.app.state.qsession
    next_path = safe_next(request.query_params.get("next"))
    user = None
    if request.method == "GET":
        principal = await principal_of(request, state)
        if principal is not None:
            response: Response = RedirectResponse(next_path, 303)
        else:
            response = _form(next_path, None, 200)
    else:
        try:
            same_origin(request)
            form = await form_of(request)
            next_path = safe_next(form.get("next"))
            token = form.get("token", "").strip()
            if not token:
                raise NotAuthorizedError("enter your token (qsession token create prints it)")
            principal = await state.auth.authenticate(f"Bearer {token}")
        except NotAuthorizedError as exc:
            response = _form(next_path, f"Not logged in: {exc}.", 401)
        except QSessionError as exc:  # cross-site, too large, not UTF-8
            status, html = error_page(exc, None)
            response = HTMLResponse(html, status)
        else:
            user = principal.user
            response = RedirectResponse(next_path, 303)
            response.set_cookie(
                COOKIE,
                token,
                max_age=COOKIE_SECONDS,
                path="/",
                httponly=True,
                samesite="strict",
                secure=request.url.scheme == "https",
            )
    response.headers["cache-control"] = "no-store"
    log_request(request, response.status_code, started, user)
    return response


async def logout(request: Request) -> Response:
    """POST /logout: forget the cookie; back to the login form."""
    started = time.perf_counter()
    try:
        same_origin(request)
    except QSessionError as exc:
        status, html = error_page(exc, None)
        return HTMLResponse(html, status)
    response = RedirectResponse("/login", 303)
    response.delete_cookie(COOKIE, path="/", httponly=True, samesite="strict")
    log_request(request, response.status_code, started, None)
    return response
