"""IBM Cloud's account services, the part qiskit-ibm-runtime calls before its first job.

* ``POST {IAM_URL}/identity/token`` (form ``grant_type=urn:ibm:params:oauth:grant-type:apikey``,
  ``apikey=<service token>``): an access token (:func:`.identity.mint_access_token`);
* ``POST {GLOBAL_SEARCH_URL}/v3/resources/search``: the caller's instance, as the client's
  ``Account.list_instances`` reads it (it checks that the account's instance is among them);
* ``GET {GLOBAL_CATALOG_URL}/{plan id}``: the plan of that instance.
"""

from __future__ import annotations

from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from ...errors import NotAuthorizedError
from ..inputs import read_body
from .endpoint import IBMContext, ibm_endpoint, json_answer
from .identity import ACCESS_TOKEN_SECONDS, instance_crn, mint_access_token
from .urls import CATALOG_PATH, IAM_PATH, SEARCH_PATH

__all__ = ["PLAN_ID", "routes"]

#: The one service plan of every local instance.
PLAN_ID = "qsession-local"
_GRANT = "urn:ibm:params:oauth:grant-type:apikey"


def _iam_error(status: int, code: str, message: str) -> Response:
    """An error in the IAM service's shape."""
    return json_answer({"errorCode": code, "errorMessage": message}, status)


async def token(request: Request) -> Response:
    """POST /identity/token: exchange an API key (a service token) for an access token."""
    state = request.app.state.qsession
    form = parse_qs((await read_body(request, 64 * 1024)).decode("utf-8", "replace"))
    grant = form.get("grant_type", [""])[0]
    if grant != _GRANT:
        return _iam_error(400, "BXNIM0109E", f"grant_type must be {_GRANT!r}, got {grant!r}")
    apikey = form.get("apikey", [""])[0]
    if not apikey:
        return _iam_error(400, "BXNIM0415E", "no apikey given")
    try:
        principal = await state.auth.authenticate(f"Bearer {apikey}")
    except NotAuthorizedError:
        return _iam_error(400, "BXNIM0415E", "Provided API key could not be found.")
    access, expires = mint_access_token(apikey, principal.user)
    return json_answer(
        {
            "access_token": access,
            "refresh_token": "not_supported",
            "token_type": "Bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "expiration": expires,
            "scope": "ibm openid",
        }
    )


@ibm_endpoint
async def search(request: Request, ctx: IBMContext) -> Response:
    """POST /v3/resources/search: the caller's instance (an administrator's: its own)."""
    principal = ctx.principal
    item = {
        "crn": instance_crn(principal.instance),
        "name": principal.instance,
        "service_plan_unique_id": PLAN_ID,
        "tags": [],
        "doc": {"extensions": {"quantum": {"local": True}}},
    }
    return json_answer({"items": [item], "limit": 100, "search_cursor": None})


@ibm_endpoint
async def catalog_entry(request: Request, ctx: IBMContext) -> Response:
    """GET /{id}: the local plan."""
    entry_id = request.path_params["entry_id"]
    return json_answer(
        {
            "id": entry_id,
            "name": "local",
            "overview_ui": {"en": {"display_name": "Local"}},
            "metadata": {"pricing": {"type": "free"}},
        }
    )


def routes() -> list[Route]:
    """The IAM, search and catalog routes."""
    return [
        Route(IAM_PATH + "/identity/token", token, methods=["POST"]),
        Route(SEARCH_PATH + "/v3/resources/search", search, methods=["POST"]),
        Route(CATALOG_PATH + "/{entry_id}", catalog_entry, methods=["GET"]),
    ]
