"""The SQLite store's token records (the ``tokens`` table): written at once, never behind.

A mixin of :class:`~.sqlite.SQLiteStore`: it uses the store's direct write transaction
(``_tx``) and its reader (``_read``). Token reads do not wait for the job writer (tokens
never go through it), so authenticating a request costs one indexed read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ...errors import AlreadyExistsError
from ..user import TokenRecord

if TYPE_CHECKING:
    from contextlib import AbstractContextManager

__all__ = ["SQLiteTokens"]

_COLUMNS = "name, token_hash, instance, share, admin, created_at"


class SQLiteTokens:
    """Token methods of the SQLite store (see :class:`~.protocol.Store`)."""

    if TYPE_CHECKING:  # provided by SQLiteStore

        def _tx(self) -> AbstractContextManager[sqlite3.Cursor]: ...

        def _read(
            self, sql: str, params: Sequence[Any] = (), *, flush: bool = True
        ) -> list[Any]: ...

    def add_token(self, record: TokenRecord) -> None:
        try:
            with self._tx() as cur:
                cur.execute(
                    f"INSERT INTO tokens ({_COLUMNS}) VALUES (?,?,?,?,?,?)",
                    (
                        record.name,
                        record.token_hash,
                        record.instance,
                        record.share,
                        int(record.admin),
                        record.created_at,
                    ),
                )
        except sqlite3.IntegrityError as exc:
            if "token_hash" in str(exc):
                raise AlreadyExistsError("a token with that hash already exists") from None
            raise AlreadyExistsError(f"a token for user {record.name!r} already exists") from None

    def token_by_hash(self, token_hash: str) -> TokenRecord | None:
        rows = self._read(
            f"SELECT {_COLUMNS} FROM tokens WHERE token_hash = ?", (token_hash,), flush=False
        )
        return _token(rows[0]) if rows else None

    def tokens(self) -> list[TokenRecord]:
        return [
            _token(row)
            for row in self._read(f"SELECT {_COLUMNS} FROM tokens ORDER BY name", flush=False)
        ]

    def remove_token(self, name: str) -> bool:
        with self._tx() as cur:
            return cur.execute("DELETE FROM tokens WHERE name = ?", (name,)).rowcount > 0


def _token(row: Sequence[Any]) -> TokenRecord:
    name, token_hash, instance, share, admin, created_at = row
    return TokenRecord(name, token_hash, instance, share, bool(admin), created_at)
