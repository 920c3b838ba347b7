"""Users of a shared runtime: the token records a store keeps, and how tokens are made.

A service (``qsession serve``) authenticates every request with a bearer token. The store
keeps only the token's hash (:func:`hash_token`, SHA-256), in a :class:`TokenRecord` that
also names the user, the instance the user's work is charged to (fair share is across
instances), its share and whether the user is an administrator. The token itself is shown
once, when it is made (:func:`new_token`), and never stored.
"""

from __future__ import annotations

import hashlib
import math
import secrets
from dataclasses import dataclass

from ..errors import InputError

__all__ = ["TokenRecord", "hash_token", "new_token", "TOKEN_PREFIX"]

#: Every token :func:`new_token` makes starts with this (so a token is recognisable in logs).
TOKEN_PREFIX = "qs_"


@dataclass(frozen=True)
class TokenRecord:
    """One user's token, as the store keeps it.

    Attributes:
        name: the user name (unique in a store); written as ``user`` on the user's jobs and
            sessions.
        token_hash: :func:`hash_token` of the token.
        instance: the instance the user's work is charged to.
        share: the instance's relative share of the devices (fair share), > 0.
        admin: an administrator sees every user's work and may move a virtual clock.
        created_at: when the token was made (POSIX seconds).

    Raises:
        InputError: an empty name, hash or instance, or a share that is not a finite
            number > 0.
    """

    name: str
    token_hash: str
    instance: str = "default"
    share: float = 1.0
    admin: bool = False
    created_at: float = 0.0

    def __post_init__(self) -> None:
        for field_name in ("name", "token_hash", "instance"):
            value = getattr(self, field_name)
            if not isinstance(value, str) or not value:
                raise InputError(f"token {field_name} must be a non-empty string, got {value!r}")
        share = self.share
        if isinstance(share, bool) or not isinstance(share, (int, float)):
            raise InputError(f"token share must be a number > 0, got {share!r}")
        if not (math.isfinite(share) and share > 0):
            raise InputError(f"token share must be a finite number > 0, got {share!r}")
        object.__setattr__(self, "share", float(share))
        object.__setattr__(self, "admin", bool(self.admin))
        object.__setattr__(self, "created_at", float(self.created_at))


def hash_token(token: str) -> str:
    """The SHA-256 hex digest of ``token``: what a store keeps instead of the token.

    Raises:
        InputError: ``token`` is not a non-empty string.
    """
    if not isinstance(token, str) or not token:
        raise InputError("a token must be a non-empty string")
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def new_token() -> str:
    """A new random token: ``"qs_"`` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)
