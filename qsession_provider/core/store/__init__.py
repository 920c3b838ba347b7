"""Stores: where sessions, jobs and results persist.

:class:`Store` is the protocol (documented method by method, :mod:`.protocol`, with its
queries :class:`JobQuery` and :class:`SessionQuery`), :class:`MemoryStore` the
in-memory store and test double, :class:`SQLiteStore` the embedded file store with its SQL
(:mod:`.sqlite_sql`), write-behind writer (:mod:`.sqlite_writer`), sweep of dead processes'
work (:mod:`.sqlite_sweep`), token table (:mod:`.sqlite_tokens`) and payload parts kept
once (:mod:`.payload_parts`). :class:`~.postgres.PostgresStore` (:mod:`.postgres`, imported
only for a ``postgresql://`` location: psycopg is an extra) serves a PostgreSQL database
with the same contract; :func:`~.postgres_open.open_store` picks the store for a location
and :func:`~.postgres_open.redact_url` is how a URL is shown (without its password).
:mod:`.processes` is the registry of the processes sharing a store.
"""

from __future__ import annotations

from .memory import MemoryStore
from .protocol import Adoption, JobQuery, OrphanReport, RecordQuery, SessionQuery, Store
from .sqlite import SQLiteStore, default_store_path, resolve_store_path

__all__ = [
    "Adoption",
    "JobQuery",
    "MemoryStore",
    "OrphanReport",
    "RecordQuery",
    "SQLiteStore",
    "SessionQuery",
    "Store",
    "default_store_path",
    "resolve_store_path",
]
