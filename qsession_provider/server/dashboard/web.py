"""What every dashboard page shares: the login cookie, templates, errors, live fragments.

A page is ``def page(view: View) -> Page`` (blocking: it reads the runtime and the store)
wrapped by :func:`page`, which

* reads the principal from the login cookie (:data:`COOKIE`; the bearer token itself,
  ``HttpOnly; SameSite=Strict``) through the API's :class:`~..auth.Authenticator`, and
  sends a visitor without a valid one to ``/login``;
* refuses a ``POST`` whose ``Origin`` (or, lacking one, ``Referer``) is not this server:
  with the ``SameSite=Strict`` cookie this is the dashboard's CSRF defence (no per-form
  token);
* runs the page in the server's thread pool, renders its template, and turns errors of
  :mod:`qsession_provider.errors` into an HTML page with the API's status (404 for another
  user's id, exactly as for an unknown one);
* answers a live request (header :data:`LIVE_HEADER`, sent by ``static/live.js``) with
  the page's live part only, and says in :data:`PENDING_HEADER` whether to ask again;
* adds ``Server-Timing: app;dur=<ms>``: the server time of the answer.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from ...errors import NotAuthorizedError, QSessionError, RequestTooLargeError
from ..auth import Principal
from ..endpoints import ServerState, log, log_request
from ..errors import status_of
from ..inputs import read_body
from . import formats

__all__ = [
    "COOKIE",
    "LIVE_HEADER",
    "FORM_LIMIT",
    "PENDING_HEADER",
    "Page",
    "Refused",
    "View",
    "page",
    "render",
    "read_form",
    "form_of",
    "same_origin",
    "principal_of",
    "error_page",
    "login_path",
    "templates",
    "NOTICES",
]

#: The login cookie: the user's bearer token (HttpOnly, SameSite=Strict).
COOKIE = "qsession_token"
#: Request header of a live poll: answer with the page's live part only.
LIVE_HEADER = "x-qsession-live"
#: Response header: "1" while something on the page is pending (poll again), else "0".
PENDING_HEADER = "x-qsession-pending"
#: Largest dashboard form body (bytes): the forms hold a token or nothing.
FORM_LIMIT = 16 * 2**10

_HERE = Path(__file__).parent

#: The notices a page shows after an action (``?notice=<key>``).
NOTICES = {
    "job-cancelled": "The job was cancelled.",
    "session-closed": "The session accepts no more jobs; it closes when its last job ends.",
    "session-cancelled": "The session was cancelled: its queued jobs failed.",
}


class Refused(QSessionError):
    """A dashboard request refused with an explicit HTTP status (e.g. 403 cross-site)."""

    def __init__(self, message: str, status: int = 403) -> None:
        super().__init__(message)
        self.status = status


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(_HERE / "templates"),
        autoescape=select_autoescape(("html", "svg")),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(formats.FILTERS)
    return env


#: The dashboard's Jinja2 templates (``dashboard/templates``).
templates = _environment()


@dataclass
class View:
    """One dashboard request: who asks, what they asked, and the runtime.

    Attributes:
        request: the Starlette request.
        principal: the logged-in user.
        state: the server's shared state (runtime, authenticator, thread pool).
        query: the query parameters (the last value of each name).
        lists: the query parameters with every value (for multi-valued filters).
        form: the decoded form body of a POST (empty otherwise).
    """

    request: Request
    principal: Principal
    state: ServerState
    query: dict[str, str]
    lists: dict[str, list[str]]
    form: dict[str, str] = field(default_factory=dict)

    @property
    def runtime(self) -> Any:
        """The served runtime."""
        return self.state.runtime

    @property
    def path(self) -> str:
        """The path asked for (with its query), for links back."""
        url = self.request.url
        return url.path + (f"?{url.query}" if url.query else "")


@dataclass
class Page:
    """What a page answers: a template and its values, or a redirect.

    Attributes:
        template: the template file (``None`` with ``redirect``).
        values: the template's values.
        status: the HTTP status.
        pending: something shown may still change: live pages poll again.
        redirect: answer ``303 See Other`` to this path instead.
        title: the page's title.
    """

    template: str | None = None
    values: Mapping[str, Any] = field(default_factory=dict)
    status: int = 200
    pending: bool = False
    redirect: str | None = None
    title: str = ""


def render(template: str, values: Mapping[str, Any], *, live: bool = False) -> str:
    """The HTML of ``template``; with ``live`` only its live part."""
    return templates.get_template(template).render(
        {**values, "base": "live.html" if live else "layout.html"}
    )


async def form_of(request: Request) -> dict[str, str]:
    """The decoded form of a POST (at most :data:`FORM_LIMIT` bytes of UTF-8)."""
    try:
        body = await read_body(request, FORM_LIMIT)
    except RequestTooLargeError:
        raise Refused(f"the form is larger than {FORM_LIMIT // 1024} KiB", 413) from None
    return read_form(body)


def read_form(body: bytes) -> dict[str, str]:
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise Refused("the form is not UTF-8 text", 400) from None
    return dict(parse_qsl(text, keep_blank_values=True))


def same_origin(request: Request) -> None:
    """Refuse a POST that another site's page sent (see the module docstring)."""
    source = request.headers.get("origin") or request.headers.get("referer")
    if not source or source == "null":
        raise Refused("refused: a dashboard form must be sent by the dashboard (no Origin)")
    parts = urlsplit(source)
    host = request.headers.get("host", "")
    if parts.netloc != host or parts.scheme != request.url.scheme:
        raise Refused(f"refused: cross-site request from {parts.scheme}://{parts.netloc}")


def login_path(request: Request) -> str:
    """``/login?next=<this page>``."""
    url = request.url
    here = url.path + (f"?{url.query}" if url.query else "")
    return "/login?next=" + quote(here, safe="")


async def principal_of(request: Request, state: ServerState) -> Principal | None:
    """The user of the login cookie, or None (no cookie, or a revoked token)."""
    token = request.cookies.get(COOKIE)
    if not token:
        return None
    try:
        return await state.auth.authenticate(f"Bearer {token}")
    except NotAuthorizedError:
        return None


def error_page(exc: BaseException, principal: Principal | None) -> tuple[int, str]:
    """The status and HTML of a failed request."""
    if isinstance(exc, Refused):
        status, message = exc.status, str(exc)
    elif isinstance(exc, QSessionError):
        status, message = status_of(exc), str(exc)
    else:
        log.error("dashboard: internal error", exc_info=exc)
        status, message = 500, f"internal error: {type(exc).__name__}: {exc}"
    values = {"status": status, "message": message, "principal": principal, "title": "Error"}
    return status, render("error.html", {**values, "pending": False, "live_url": None})


def page(fn: Callable[[View], Page]) -> Callable[..., Any]:
    """A Starlette endpoint for the page function ``fn`` (see the module docstring); ``fn``
    may block (it runs in the server's thread pool)."""

    async def handle(request: Request) -> Response:
        started = time.perf_counter()
        state: ServerState = request.app.state.qsession
        principal = await principal_of(request, state)
        try:
            if principal is None:
                response: Response = RedirectResponse(login_path(request), 303)
            else:
                form: dict[str, str] = {}
                if request.method == "POST":
                    same_origin(request)
                    form = await form_of(request)
                pairs = request.query_params.multi_items()
                lists: dict[str, list[str]] = {}
                for key, value in pairs:
                    lists.setdefault(key, []).append(value)
                view = View(request, principal, state, dict(pairs), lists, form)
                live = request.headers.get(LIVE_HEADER) == "1"
                loop = asyncio.get_running_loop()
                response = await loop.run_in_executor(state.executor, _answer, fn, view, live)
        except Exception as exc:  # every failure is a page
            status, html = error_page(exc, principal)
            response = HTMLResponse(html, status)
        elapsed = (time.perf_counter() - started) * 1e3
        response.headers["server-timing"] = f"app;dur={elapsed:.2f}"
        response.headers["cache-control"] = "no-store"
        log_request(request, response.status_code, started, principal and principal.user)
        return response

    handle.__name__ = fn.__name__
    handle.__doc__ = fn.__doc__
    return handle


def _answer(fn: Callable[[View], Page], view: View, live: bool) -> Response:
    """Run the page and render it (in the thread pool)."""
    try:
        result = fn(view)
    except Exception as exc:
        status, html = error_page(exc, view.principal)
        return HTMLResponse(html, status)
    if result.redirect is not None:
        return RedirectResponse(result.redirect, 303)
    assert result.template is not None
    values = {
        **result.values,
        "principal": view.principal,
        "pending": result.pending,
        "title": result.title,
        "live_url": view.path,
        "now": view.runtime.clock.now(),
        "notice": NOTICES.get(view.query.get("notice", "")),
    }
    html = render(result.template, values, live=live)
    response = HTMLResponse(html, result.status)
    response.headers[PENDING_HEADER] = "1" if result.pending else "0"
    return response
