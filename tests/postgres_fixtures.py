"""A throwaway PostgreSQL cluster for the tests of the PostgreSQL store.

:func:`cluster` starts one cluster per test run (the first test asking for it): ``initdb`` in
a temporary directory, ``pg_ctl start`` listening only on a unix socket in that directory
(no TCP port), trust authentication for the local user ``postgres``. :meth:`Cluster.new_database`
makes an empty database per test (``CREATE DATABASE``, about 50 ms) and gives its URL. The
cluster is stopped (``pg_ctl stop -m fast``) and its directory removed at the end of the run.

PostgreSQL refuses to run as root (CI runs as root): the server binaries then run as the
``postgres`` system user of Debian's package (``runuser -u postgres``), with the directory
owned by it. Without the server binaries (``$QSESSION_PG_BIN``, Debian's
``/usr/lib/postgresql/<version>/bin``, or ``initdb`` on ``PATH``) or without psycopg, the
tests skip and say why.

Test modules put the test directory on ``sys.path`` and take what they need::

    sys.path.insert(0, str(Path(__file__).resolve().parents[N]))
    from postgres_fixtures import cluster  # noqa: E402
"""

from __future__ import annotations

import atexit
import glob
import os
import pwd
import shutil
import subprocess
import tempfile
import threading
import urllib.parse
import uuid
from pathlib import Path
from typing import Any

import pytest

__all__ = ["Cluster", "cluster", "find_binaries", "stop_cluster"]

#: Real seconds the server may take to start or stop.
PG_TIMEOUT = 60


def find_binaries() -> Path | None:
    """The directory of ``initdb``, ``pg_ctl`` and ``postgres``, or None."""
    candidates = [os.environ.get("QSESSION_PG_BIN", "")]
    candidates += sorted(
        glob.glob("/usr/lib/postgresql/*/bin"), key=lambda p: int(p.split("/")[-2] or 0)
    )[::-1]
    initdb = shutil.which("initdb")
    if initdb:
        candidates.append(str(Path(initdb).parent))
    for directory in candidates:
        if directory and all(
            os.access(os.path.join(directory, name), os.X_OK)
            for name in ("initdb", "pg_ctl", "postgres")
        ):
            return Path(directory)
    return None


class Cluster:
    """One running PostgreSQL cluster on a unix socket in its own temporary directory."""

    def __init__(self, bindir: Path) -> None:
        self.bindir = bindir
        self.user: str | None = None
        if os.geteuid() == 0:
            try:
                pwd.getpwnam("postgres")
            except KeyError:
                raise RuntimeError(
                    "running as root, and there is no 'postgres' user to run PostgreSQL as"
                ) from None
            self.user = "postgres"
        # In /tmp when the server runs as another user: it must reach the directory.
        where = "/tmp" if self.user is not None else None
        self.root = Path(tempfile.mkdtemp(prefix="qsession-pg-", dir=where))
        self.data = self.root / "data"
        if self.user is not None:
            shutil.chown(self.root, user=self.user)
        self._lock = threading.Lock()
        self._admin: Any = None
        self.running = False
        try:
            self._run("initdb", "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E",
                      "UTF8", "--no-sync", "--no-instructions")  # fmt: skip
            options = f"-k {self.root} -c listen_addresses='' -F -c max_connections=200"
            self._run("pg_ctl", "-D", str(self.data), "-o", options, "-l",
                      str(self.root / "log"), "-w", "-t", str(PG_TIMEOUT), "start")  # fmt: skip
        except BaseException:
            shutil.rmtree(self.root, ignore_errors=True)
            raise
        self.running = True

    def _run(self, binary: str, *args: str) -> None:
        command = [str(self.bindir / binary), *args]
        if self.user is not None:
            command = ["runuser", "-u", self.user, "--", *command]
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=PG_TIMEOUT, cwd=self.root
        )
        if done.returncode != 0:
            log = self.root / "log"
            tail = log.read_text()[-2000:] if log.exists() else ""
            raise RuntimeError(f"{binary} failed: {done.stdout}{done.stderr}{tail}")

    def url(self, database: str = "postgres") -> str:
        """The URL of ``database`` on this cluster (user ``postgres``, unix socket)."""
        return f"postgresql://postgres@/{database}?host={self.root}"

    def new_database(self) -> str:
        """A new empty database; its URL."""
        import psycopg

        name = "t_" + uuid.uuid4().hex[:16]
        with self._lock:
            if self._admin is None:
                self._admin = psycopg.connect(self.url(), autocommit=True)
            self._admin.execute(f"CREATE DATABASE {name}")
        return self.url(name)

    def drop_database(self, url: str) -> None:
        """Drop the database of ``url`` (closing what is still connected to it)."""
        name = urllib.parse.urlsplit(url).path.lstrip("/")
        with self._lock:
            if self._admin is not None:
                self._admin.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")

    def stop(self) -> None:
        """Stop the server and remove its directory."""
        with self._lock:
            if self._admin is not None:
                self._admin.close()
                self._admin = None
        if self.running:
            self.running = False
            self._run("pg_ctl", "-D", str(self.data), "-m", "fast", "-w", "stop")
        shutil.rmtree(self.root, ignore_errors=True)


_CLUSTER: Cluster | None = None
_FAILED: str | None = None


def cluster() -> Cluster:
    """The cluster of this test run, started on first use; skips the test (saying why)
    when PostgreSQL or psycopg is missing."""
    global _CLUSTER, _FAILED
    try:
        import psycopg  # noqa: F401
        import psycopg_pool  # noqa: F401
    except ImportError:
        pytest.skip("psycopg and psycopg_pool are not installed (the 'postgres' extra)")
    bindir = find_binaries()
    if bindir is None:
        pytest.skip(
            "PostgreSQL server binaries (initdb, pg_ctl, postgres) not found: install Debian's "
            "postgresql or set QSESSION_PG_BIN"
        )
    if _FAILED is not None:
        pytest.fail(_FAILED)
    if _CLUSTER is None:
        try:
            _CLUSTER = Cluster(bindir)
            atexit.register(stop_cluster)  # also when no fixture's teardown ran
        except RuntimeError as exc:
            _FAILED = f"could not start a PostgreSQL cluster: {exc}"
            pytest.fail(_FAILED)
    return _CLUSTER


def stop_cluster() -> None:
    """Stop the cluster of this test run, if one was started."""
    global _CLUSTER
    if _CLUSTER is not None:
        _CLUSTER.stop()
        _CLUSTER = None
