"""Group commit for the SQLite store: writes coalesce in memory, one writer commits them.

Callers *publish* groups of coalesced writes (:class:`~.sqlite_sql.JobWrite`,
:class:`~.sqlite_sql.SessionWrite`, keyed by ``("job", id)`` / ``("session", id)``): a later
write of a row folds into the one still waiting, so a job submitted, run and finished
between two commits is one INSERT, and a session updated by every job of the group is
written once. :class:`GroupCommit` commits what is waiting:

- in the background (write-behind, the default for store files): a daemon thread takes
  everything waiting and commits it in one transaction, then the next group. While it
  commits (SQLite releases the GIL), callers go on: the commit overlaps their work, and
  under load groups grow, so the cost per write falls. :meth:`GroupCommit.flush` waits
  until everything published before it is committed; the store flushes before every read
  and every direct write, so a process always reads its own writes.
- in the caller (``background=False``): every publish commits before it returns.

A failed background commit loses nothing it can keep: a busy or locked database is
retried after a pause; any other error is retried write by write, and only the writes
that fail on their own are dropped, logged, and reported by the next :meth:`flush`.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
from collections.abc import Callable

from ...errors import StoreError
from .sqlite_sql import JobWrite, SessionWrite

__all__ = ["GroupCommit", "Write", "WriteKey", "merge_write"]

_log = logging.getLogger("qsession_provider.store")

Write = JobWrite | SessionWrite
WriteKey = tuple[str, str]

#: Seconds between retries of a commit refused because the database is busy or locked.
RETRY_PAUSE = 0.2
#: Seconds the writer lets writes gather before it commits them (unless someone flushes).
GATHER = 0.002
#: Seconds without work after which the writer thread ends (the next write starts another).
IDLE_EXIT = 2.0
#: Writes waiting beyond which a publisher waits for the writer to take them (back-pressure).
BACKLOG = 256
#: Longest a publisher waits for the writer under back-pressure, in seconds.
BACKLOG_WAIT = 0.05


def merge_write(into: dict[WriteKey, Write], key: WriteKey, write: Write) -> None:
    """Fold ``write`` into ``into[key]`` (the earlier write keeps its INSERT nature)."""
    earlier = into.get(key)
    if earlier is None:
        into[key] = write
    else:
        earlier.merge(write)  # type: ignore[arg-type]  # same key: same kind


class GroupCommit:
    """Coalesced writes waiting for a commit, and who commits them.

    Args:
        commit: applies a list of writes in one transaction (raises ``sqlite3.Error`` or
            :class:`~qsession_provider.errors.StoreError` on failure, having rolled back).
        committed: called, with :attr:`cv` held, as ``committed(writes, stored)`` once the
            writes are stored (``stored`` True) or dropped (False): the store forgets what
            it no longer needs to remember.
        background: commit in a writer thread (else in the publishing caller).
        name: the writer thread's name.
    """

    def __init__(
        self,
        commit: Callable[[list[Write]], None],
        committed: Callable[[list[Write], bool], None],
        *,
        background: bool,
        name: str = "qsession-store-writer",
    ) -> None:
        self._commit = commit
        self._committed = committed
        self.background = background
        self._name = name
        #: Guards everything below; the store also holds it to stage and check writes
        #: (``with lock`` is ``with cv``, without the Python-level ``Condition`` methods).
        self.lock = threading.Lock()
        self.cv = threading.Condition(self.lock)
        self._waiting: dict[WriteKey, Write] = {}
        self._published = 0  # groups published so far
        self._done = 0  # groups committed (or dropped) so far
        self._last_error: StoreError | None = None  # a dropped write, until a flush reports it
        self._closing = False
        self._thread: threading.Thread | None = None
        #: Set by flush() and close(): cuts the gathering window and any retry pause short.
        self._hurry = threading.Event()
        self._flushing = 0  # callers waiting in flush()

    # -- callers -----------------------------------------------------------------------------
    def publish(self, writes: dict[WriteKey, Write]) -> None:
        """Queue ``writes`` (call with :attr:`cv` held); in the foreground, commit them now.

        Raises:
            StoreError: foreground only: the commit failed (nothing of it is kept).
        """
        if not writes:
            return
        waiting = self._waiting
        for key, write in writes.items():
            merge_write(waiting, key, write)
        self._published += 1
        if self.background:
            if self._thread is None:
                self._start()
            self.cv.notify_all()
            if len(waiting) >= BACKLOG and threading.current_thread() is not self._thread:
                self._catch_up()
            return
        group, self._waiting = list(waiting.values()), {}
        self._done = self._published
        try:
            self._commit(group)
        except BaseException:
            self._committed(group, False)
            raise
        self._committed(group, True)

    def _catch_up(self) -> None:
        """Back-pressure (``cv`` held): a thread that writes without pause would keep the
        writer from the GIL, so writes would pile up without bound; it waits (briefly) for
        the writer to take them."""
        self._hurry.set()
        self.cv.wait_for(lambda: len(self._waiting) < BACKLOG or self._closing, BACKLOG_WAIT)

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything published so far is committed.

        Raises:
            StoreError: a write failed for good since the last flush (it was dropped and
                logged), or ``timeout`` seconds passed first.
        """
        with self.cv:
            target = self._published
            if self._done < target:
                self._flushing += 1
                self._hurry.set()
                try:
                    if not self.cv.wait_for(lambda: self._done >= target, timeout):
                        raise StoreError("timed out waiting for the store's writer")
                finally:
                    self._flushing -= 1
            error, self._last_error = self._last_error, None
        if error is not None:
            raise error

    def close(self) -> None:
        """Commit what waits, then stop the writer (idempotent)."""
        with self.cv:
            self._closing = True
            self.cv.notify_all()
            thread = self._thread
        self._hurry.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join()

    # -- the writer thread ---------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while True:
            with self.cv:
                while not self._waiting and not self._closing:
                    if not self.cv.wait(IDLE_EXIT) and not self._waiting:
                        self._thread = None  # idle: the next publish starts another
                        return
                if not self._waiting:
                    self._thread = None
                    return
                hurry = self._closing or self._flushing > 0
            if not hurry:
                # Let a group gather: fewer, larger commits, and less time taken from the
                # threads that write (this thread needs the GIL between SQLite calls).
                self._hurry.wait(GATHER)
            with self.cv:
                self._hurry.clear()
                group, self._waiting = list(self._waiting.values()), {}
                target = self._published
            kept = self._commit_group(group)
            with self.cv:
                if kept:  # busy: put them back under anything published meanwhile
                    later, self._waiting = self._waiting, {}
                    for write in kept:
                        merge_write(self._waiting, _key(write), write)
                    for key, write in later.items():
                        merge_write(self._waiting, key, write)
                else:
                    self._done = target
                    self._committed(group, True)
                self.cv.notify_all()
            if kept:
                self._hurry.wait(RETRY_PAUSE)

    def _commit_group(self, group: list[Write]) -> list[Write]:
        """Commit ``group``; returns it back if the database was busy (to retry later)."""
        try:
            self._commit(group)
            return []
        except (sqlite3.Error, StoreError) as exc:
            if _busy(exc) and not self._closing:
                _log.warning("the store is busy (%s); retrying its pending writes", exc)
                return group
            if len(group) == 1:
                self._drop(group[0], exc)
                return []
        for write in group:  # isolate the write(s) that fail on their own
            try:
                self._commit([write])
            except (sqlite3.Error, StoreError) as exc:
                self._drop(write, exc)
        return []

    def _drop(self, write: Write, exc: BaseException) -> None:
        kind, ident = _key(write)
        _log.error("could not store %s %s: %s (this write is lost)", kind, ident, exc)
        with self.cv:
            self._last_error = StoreError(f"could not store {kind} {ident}: {exc}")
            self._committed([write], False)


def _key(write: Write) -> WriteKey:
    return ("job" if isinstance(write, JobWrite) else "session", write.record.id)


def _busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
