"""Who is asking, in IBM's words: instance CRNs, the IAM token exchange and its bearer tokens.

qiskit-ibm-runtime first exchanges its API key for a bearer token at the IAM service
(``ibm_cloud_sdk_core``'s ``IAMTokenManager``), then sends ``Authorization: Bearer
<access token>`` and ``Service-CRN: <instance>`` on every runtime call. Here the API key is
a service token of ``qsession token create`` and the access token is a JWT (the token
manager reads its ``exp`` and ``iat``) that carries that service token, signed with HMAC
keyed by the token's hash: it is exactly as secret as the API key and needs no state on
the server, so it survives restarts and a revoked token stops working at once. When the
exchange fails the client falls back to ``Authorization: apikey <key>``; that is
accepted too.

An instance is named by a CRN: ``crn:v1:qsession:local:quantum-computing:us-east:
a/qsession:<instance>::`` (:func:`instance_crn`); the region ``us-east`` keeps the client's
region filter happy.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from typing import Any

from ...core.user import hash_token
from ...errors import ForbiddenError, InputError, NotAuthorizedError
from ..auth import Principal

__all__ = [
    "ACCESS_TOKEN_SECONDS",
    "CRN_PREFIX",
    "authenticate",
    "instance_crn",
    "instance_of_crn",
    "mint_access_token",
    "service_token",
]

#: Lifetime of an access token (real seconds; the client refreshes it at 80%).
ACCESS_TOKEN_SECONDS = 3600
#: The CRN of instance ``x`` is ``CRN_PREFIX + x + "::"``.
CRN_PREFIX = "crn:v1:qsession:local:quantum-computing:us-east:a/qsession:"


def instance_crn(instance: str) -> str:
    """The CRN naming our ``instance``."""
    return f"{CRN_PREFIX}{instance}::"


def instance_of_crn(crn: str) -> str:
    """The instance a CRN of :func:`instance_crn` names.

    Raises:
        InputError: not a CRN of this server.
    """
    if not crn.startswith(CRN_PREFIX) or not crn.endswith("::") or len(crn) <= len(CRN_PREFIX) + 2:
        raise InputError(
            f"instance {crn!r} is not an instance CRN of this server (expected "
            f"'{CRN_PREFIX}<instance>::'; service.instances() lists yours)"
        )
    return crn[len(CRN_PREFIX) : -2]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(token: str, signed: str) -> str:
    key = hash_token(token).encode()
    return _b64(hmac.new(key, signed.encode(), hashlib.sha256).digest())


def mint_access_token(token: str, user: str, now: float | None = None) -> tuple[str, int]:
    """An access token (JWT) for service ``token`` of ``user``, and its expiry (POSIX s)."""
    issued = int(time.time() if now is None else now)
    expires = issued + ACCESS_TOKEN_SECONDS
    header = _b64(json.dumps({"alg": "HS256", "typ": "JWT"}).encode())
    claims = {"iss": "qsession", "sub": user, "iat": issued, "exp": expires, "qst": token}
    payload = _b64(json.dumps(claims, separators=(",", ":")).encode())
    signed = f"{header}.{payload}"
    return f"{signed}.{_signature(token, signed)}", expires


def service_token(access_token: str, now: float | None = None) -> str:
    """The service token inside an access token of :func:`mint_access_token`.

    Raises:
        NotAuthorizedError: malformed, tampered with or expired.
    """
    parts = access_token.split(".")
    if len(parts) != 3:
        raise NotAuthorizedError("the bearer token is not an access token of this server's IAM")
    try:
        claims = json.loads(_unb64(parts[1]))
        token, expires = claims["qst"], float(claims["exp"])
    except (ValueError, KeyError, TypeError, binascii.Error):
        raise NotAuthorizedError(
            "the bearer token is not an access token of this server's IAM"
        ) from None
    if not isinstance(token, str) or not hmac.compare_digest(
        _signature(token, f"{parts[0]}.{parts[1]}"), parts[2]
    ):
        raise NotAuthorizedError("the access token's signature does not match")
    if expires < (time.time() if now is None else now):
        raise NotAuthorizedError("the access token has expired; ask the IAM service for a new one")
    return token


def _token_of(header: str | None) -> str:
    if not header:
        raise NotAuthorizedError(
            "missing Authorization header; send 'Authorization: Bearer <IAM access token>'"
        )
    scheme, _, value = header.strip().partition(" ")
    value = value.strip()
    if scheme.lower() == "apikey" and value:
        return value
    if scheme.lower() == "bearer" and value:
        return service_token(value)
    raise NotAuthorizedError("the Authorization header must be 'Bearer <IAM access token>'")


async def authenticate(auth: Any, headers: Any) -> tuple[Principal, str]:
    """The principal of a request of qiskit-ibm-runtime, and the instance it works in.

    The instance is the one its ``Service-CRN`` header names (the token's own if absent);
    an administrator may name any instance, a user only their own.

    Raises:
        NotAuthorizedError: no or a bad token.
        ForbiddenError: the CRN names another user's instance.
        InputError: the CRN is not one of this server.
    """
    token = _token_of(headers.get("authorization"))
    principal: Principal = await auth.authenticate(f"Bearer {token}")
    crn = headers.get("service-crn")
    if not crn:
        return principal, principal.instance
    instance = instance_of_crn(crn)
    if instance != principal.instance and not principal.admin:
        raise ForbiddenError(
            f"the token of user {principal.user!r} belongs to instance {principal.instance!r} "
            f"({instance_crn(principal.instance)}), not to {instance!r}"
        )
    return principal, instance
