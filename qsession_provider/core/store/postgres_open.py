"""Opening a PostgreSQL store: its URL, what a failed connection means, which store a
location gives.

A store location that starts with ``postgresql://`` or ``postgres://`` is a PostgreSQL
store (libpq's URI syntax: ``postgresql://user:password@host:port/dbname?options``; a unix
socket directory is ``?host=/path``); anything else is an SQLite file. Messages and
:attr:`~.postgres.PostgresStore.location` show the URL without its password.

psycopg's connection errors name the server's words ("Connection refused", "database
... does not exist", "password authentication failed"); :func:`connect_error` turns them
into one sentence naming the store and the fault, as :mod:`~.sqlite_open` does for files.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from typing import TYPE_CHECKING

from ...errors import StoreError

if TYPE_CHECKING:
    from .protocol import Store

__all__ = ["POSTGRES_SCHEMES", "connect_error", "is_postgres_url", "open_store", "redact_url"]

#: URL schemes of a PostgreSQL store.
POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def is_postgres_url(location: object) -> bool:
    """Whether ``location`` names a PostgreSQL store (a ``postgresql://`` URL)."""
    return isinstance(location, str) and location.lower().startswith(POSTGRES_SCHEMES)


def redact_url(url: str) -> str:
    """``url`` with its password (in the user part or a ``password=`` option) as ``***``."""
    parts = urllib.parse.urlsplit(url)
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, hostinfo = netloc.rpartition("@")
        if ":" in userinfo:
            userinfo = userinfo.split(":", 1)[0] + ":***"
        netloc = f"{userinfo}@{hostinfo}"
    query = re.sub(r"(?i)(^|&)(password=)[^&]*", r"\1\2***", parts.query)
    return urllib.parse.urlunsplit((parts.scheme, netloc, parts.path, query, parts.fragment))


def connect_error(location: str, exc: BaseException) -> str:
    """The message of the :class:`StoreError` for ``exc`` raised connecting to ``location``."""
    text = " ".join(str(exc).split())
    lowered = text.lower()
    if 'role "' in lowered and "does not exist" in lowered:
        what = "names a user (role) the server does not know"
    elif "does not exist" in lowered and "database" in lowered:
        what = "names a database that does not exist on the server (create it: createdb NAME)"
    elif "password authentication failed" in lowered or "no password supplied" in lowered:
        what = "was refused: the user name or password is wrong"
    elif "servname not supported" in lowered or "invalid port" in lowered:
        what = "has a port that is not a port number"
    elif "connection refused" in lowered or "no such file or directory" in lowered:
        what = "cannot be reached: no PostgreSQL server listens there (is it running?)"
    elif "timeout" in lowered or "timed out" in lowered:
        what = "did not answer in time"
    elif "resolve host" in lowered or "could not translate host name" in lowered:
        what = "names a host that cannot be resolved"
    elif "pg_hba.conf" in lowered:
        what = "was refused by the server's pg_hba.conf (no entry for this host or user)"
    elif "invalid" in lowered or "missing" in lowered or "syntax" in lowered:
        what = "is not a valid PostgreSQL URL"
    else:
        what = "cannot be opened"
    return f"the PostgreSQL store at {location} {what} ({text})"


def open_store(location: str | os.PathLike[str] | None, *, read_only: bool = False) -> Store:
    """The store at ``location``: a :class:`~.postgres.PostgresStore` for a
    ``postgresql://`` URL, else a :class:`~.sqlite.SQLiteStore` file (None: the default).

    Raises:
        StoreError: the store cannot be opened (the message names it and the fault).
    """
    if is_postgres_url(location):
        from .postgres import PostgresStore

        return PostgresStore(location, read_only=read_only)
    from .sqlite import SQLiteStore

    return SQLiteStore(location, read_only=read_only)


def missing_driver(location: str, exc: ImportError) -> StoreError:
    """The error when psycopg (the ``postgres`` extra) is not installed."""
    error = StoreError(
        f"the PostgreSQL store at {location} needs psycopg 3 and psycopg_pool: "
        "pip install 'qsession-provider[postgres]'"
    )
    error.__cause__ = exc
    return error
