"""Opening a store file: telling a usable store from a file that is not one.

SQLite's own errors on open ("file is not a database", "database disk image is malformed",
"attempt to write a readonly database") name neither the file nor what to do; these
checks and :func:`open_error` turn them into one sentence naming the path and the fault.
A file is *ours* when it is empty (a new store) or has the ``meta`` table with a
``schema_version``; an SQLite database with other tables belongs to another program and
is refused before anything is written to it (not even the journal mode).
"""

from __future__ import annotations

import sqlite3

from ...errors import StoreError
from .sqlite_sql import READ_ONLY_FROM, SCHEMA_VERSION

__all__ = ["open_error", "check_ours", "check_schema_version"]


def open_error(location: str, exc: sqlite3.Error) -> str:
    """The message of the :class:`StoreError` for ``exc`` raised opening ``location``."""
    text = str(exc)
    lowered = text.lower()
    if "file is not a database" in lowered or "not a database" in lowered:
        what = "is not an SQLite database (so not a qsession store)"
    elif "malformed" in lowered or "corrupt" in lowered:
        what = "is damaged (truncated or corrupt): SQLite cannot read it"
    elif "readonly" in lowered or "read-only" in lowered:
        what = (
            "is read-only for this process; open it with read_only=True to read it "
            "(the CLI's listings do)"
        )
    elif "unable to open" in lowered:
        what = "cannot be opened (missing, or its directory is not accessible)"
    else:
        what = "cannot be opened"
    return f"the store at {location} {what} ({text})"


def check_ours(location: str, db: sqlite3.Connection) -> bool:
    """Refuse a database that is another program's (it has tables but no store ``meta``);
    True if the database is empty (a new store).

    Raises:
        StoreError: naming the path and some of the tables found.
        sqlite3.Error: the file is not a database, or is damaged (see :func:`open_error`).
    """
    tables = [
        row[0]
        for row in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name"
        ).fetchall()
    ]
    if not tables:
        return True
    ours = "meta" in tables and (
        db.execute("SELECT 1 FROM meta WHERE key = 'schema_version'").fetchone() is not None
    )
    if not ours:
        shown = ", ".join(tables[:5]) + (", ..." if len(tables) > 5 else "")
        raise StoreError(
            f"the file at {location} is an SQLite database but not a qsession store "
            f"(it holds the tables {shown} and no schema version); it was left unchanged: "
            "choose another store file"
        )
    return False


def check_schema_version(location: str, db: sqlite3.Connection, *, read_only: bool) -> None:
    """Refuse a store of a schema this package cannot read (newer, or older than
    :data:`~.sqlite_sql.READ_ONLY_FROM` when it cannot be migrated because the store is
    opened ``read_only``).

    Raises:
        StoreError: naming the path and both versions.
    """
    row = db.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    version = int(row[0])
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the store at {location} has schema version {version}, newer than this "
            f"qsession_provider understands ({SCHEMA_VERSION}); upgrade the package"
        )
    if read_only and version < READ_ONLY_FROM:
        raise StoreError(
            f"the store at {location} has schema version {version}, older than this "
            f"qsession_provider reads ({SCHEMA_VERSION}), and is opened read-only; open it "
            "once for writing to migrate it"
        )
