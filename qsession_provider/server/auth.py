"""Who is asking: bearer tokens to principals, through the store's token records.

The store keeps only each token's hash (:mod:`qsession_provider.core.user`); a request's
token is hashed and looked up with ``store.token_by_hash``. Answers are cached for a few
seconds so a busy client costs one dictionary lookup per request; a revoked token stops
working within :data:`CACHE_SECONDS`. A token seen for the first time (one made by
``qsession token create`` while the server runs) has its share applied to the scheduling
policy, so fair share follows the tokens.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from typing import Any

from starlette.concurrency import run_in_threadpool

from ..core.user import TokenRecord, hash_token
from ..errors import ForbiddenError, InputError, NotAuthorizedError

__all__ = ["Principal", "Authenticator", "CACHE_SECONDS", "apply_shares"]

#: Seconds a token's principal is cached (and a revoked token may still work).
CACHE_SECONDS = 5.0


@dataclass(frozen=True)
class Principal:
    """An authenticated user.

    Attributes:
        user: the token's name, written as ``user`` on the user's jobs and sessions.
        instance: the instance the user's work is charged to.
        admin: sees every user's work and may move a virtual clock.
    """

    user: str
    instance: str
    admin: bool = False

    def require_admin(self, what: str) -> None:
        """Raise :class:`ForbiddenError` unless an administrator asks.

        Raises:
            ForbiddenError: the user is not an administrator.
        """
        if not self.admin:
            raise ForbiddenError(f"only an administrator may {what}; user {self.user!r} is not")

    def sees(self, user: str) -> bool:
        """Whether this principal may see records of ``user``."""
        return self.admin or user == self.user


def apply_shares(policy: Any, records: list[TokenRecord]) -> None:
    """Give each token's instance its share in ``policy`` (if the policy has shares)."""
    set_share = getattr(policy, "set_share", None)
    if set_share is None:
        return
    for record in records:
        set_share(record.instance, record.share)


class Authenticator:
    """Turns ``Authorization`` headers into :class:`Principal` objects.

    Args:
        store: the store holding the token records.
        policy: the runtime's scheduling policy (shares are applied to it).
        ttl: seconds a principal is cached.
    """

    def __init__(self, store: Any, policy: Any, *, ttl: float = CACHE_SECONDS) -> None:
        self._store = store
        self._policy = policy
        self._ttl = ttl
        self._cache: dict[str, tuple[Principal, float]] = {}
        self._seen: dict[str, TokenRecord] = {}
        self._lock = threading.Lock()

    async def authenticate(self, header: str | None) -> Principal:
        """The principal of an ``Authorization: Bearer <token>`` header.

        Raises:
            NotAuthorizedError: no header, not a bearer token, or an unknown token.
        """
        token = _bearer(header)
        hit = self._cache.get(token)
        if hit is not None and hit[1] > time.monotonic():
            return hit[0]
        return await run_in_threadpool(self.lookup, token)

    def lookup(self, token: str) -> Principal:
        """Look ``token`` up in the store (blocking) and cache the answer.

        Raises:
            NotAuthorizedError: unknown token.
        """
        try:
            digest = hash_token(token)
        except InputError:
            raise NotAuthorizedError("empty bearer token") from None
        record = self._store.token_by_hash(digest)
        if record is None:
            self._cache.pop(token, None)
            raise NotAuthorizedError("unknown or revoked token")
        principal = Principal(record.name, record.instance, record.admin)
        with self._lock:
            if self._seen.get(record.name) != record:
                self._seen[record.name] = record
                apply_shares(self._policy, [record])
            if len(self._cache) > 10_000:  # tokens churned: start over
                self._cache.clear()
            self._cache[token] = (principal, time.monotonic() + self._ttl)
        return principal


def _bearer(header: str | None) -> str:
    if not header:
        raise NotAuthorizedError(
            "missing Authorization header; send 'Authorization: Bearer <token>'"
        )
    scheme, _, token = header.strip().partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise NotAuthorizedError("the Authorization header must be 'Bearer <token>'")
    return token.strip()
