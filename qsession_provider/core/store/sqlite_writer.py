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

What a failed background commit does depends on what failed:

- a busy or locked database: the group is retried after a pause, nothing is lost;
- one record (a row the SQL layer rejects - a taken id, text SQLite cannot encode - or any
  other exception raised while applying it): the group is retried write by write, and only
  the writes that fail on their own are dropped, logged, and reported by the next
  :meth:`~GroupCommit.flush`; the writer goes on;
- the store itself (``sqlite3.OperationalError``: a full disk, an I/O error, a read-only
  file): the writes are *held* in memory, not dropped, and the store turns *synchronous*:
  every later publish commits the held writes and its own in the caller, raising
  :class:`~qsession_provider.errors.StoreError` while the store keeps failing, and so does
  every flush (every read). A failed publish's new jobs are dropped (their submission is
  what fails: the caller holds no job); its other writes (a job's end, a session's change)
  are held with the rest. The first commit that succeeds stores the held writes and turns
  write-behind back on; closing the store while it still fails logs the held writes as
  lost.

The writer thread cannot die silently: anything it raises is logged, the group it was
committing is dropped and reported, and the next publish or flush starts a new writer.
Waits are bounded: :meth:`~GroupCommit.flush` gives up after :data:`FLUSH_LIMIT` seconds
unless told otherwise, :meth:`~GroupCommit.close` after :data:`CLOSE_LIMIT`.
"""

from __future__ import annotations

import contextlib
import copy
import logging
import sqlite3
import threading
import time
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
#: Age in seconds of the oldest waiting write past which a publisher lets the writer commit
#: (it waits, without the GIL, until the group is committed): bounds what other processes
#: wait to see a write while a loop of tiny jobs keeps the interpreter busy.
MAX_LAG = 0.01
#: Longest :meth:`GroupCommit.flush` waits for the writer by default, in seconds.
FLUSH_LIMIT = 120.0
#: Longest :meth:`GroupCommit.close` waits for the writer to commit and end, in seconds.
CLOSE_LIMIT = 30.0
#: Seconds between checks, while a flush waits, that the writer thread is still alive.
WATCH = 1.0
#: Shortest wait for the lock of the writes in a flush (the writer holds it for moments).
LOCK_WAIT_MIN = 0.1

#: The monotonic time bounded waits measure (a test can replace it with a virtual clock).
_now = time.monotonic


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
        commit: applies a list of writes in one transaction (raises on failure, having
            rolled back; the cause of a :class:`~qsession_provider.errors.StoreError`
            tells a busy, failing or rejecting database apart).
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
        self._done = 0  # groups committed (or dropped, or held) so far
        self._last_error: StoreError | None = None  # a dropped write, until a flush reports it
        #: Writes whose commit failed because the store failed (not the record): kept for
        #: the next commit, which the callers make while this is not empty.
        self._held: dict[WriteKey, Write] = {}
        #: The store's error while it fails (then publishes commit in the caller).
        self._failing: StoreError | None = None
        self._inflight: list[Write] | None = None  # the group the writer is committing
        self._since = 0.0  # when the oldest write of ``_waiting`` was published (``_now``)
        self._inflight_target = 0
        self._closing = False
        self._thread: threading.Thread | None = None
        #: Set by flush() and close(): cuts the gathering window and any retry pause short.
        self._hurry = threading.Event()
        self._flushing = 0  # callers waiting in flush()

    @property
    def failing(self) -> StoreError | None:
        """The store's error while commits fail and writes are held (else None)."""
        return self._failing

    # -- callers -----------------------------------------------------------------------------
    def publish(self, writes: dict[WriteKey, Write]) -> None:
        """Queue ``writes`` (call with :attr:`cv` held); in the foreground, commit them now.

        Raises:
            StoreError: foreground only: the commit failed. With ``background=False`` none
                of ``writes`` is kept; while a write-behind store fails, its new jobs are
                dropped and its other writes held (see :meth:`_commit_held`).
        """
        if not writes:
            return
        if self.background and self._failing is None:
            waiting = self._waiting
            first = not waiting  # the writer sleeps only while nothing waits
            if first:
                self._since = _now()
            for key, write in writes.items():
                merge_write(waiting, key, write)
            self._published += 1
            if self._thread is None:  # idle, or gone (a failed writer clears it): start one
                self._start()
            if first:
                self.cv.notify_all()
            if threading.current_thread() is not self._thread:
                if len(waiting) >= BACKLOG:
                    self._catch_up()
                elif _now() - self._since > MAX_LAG:
                    self._let_commit()
            return
        if self.background:
            self._commit_held(writes)
            return
        waiting = self._waiting
        for key, write in writes.items():
            merge_write(waiting, key, write)
        self._published += 1
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

    def _let_commit(self) -> None:
        """Writes have waited past :data:`MAX_LAG` (``cv`` held): a busy publisher keeps the
        writer from the GIL, which it needs between SQLite calls (about 5 ms per hand-over
        under contention), so the publisher waits until the writer has committed them."""
        target = self._published
        self._hurry.set()
        self.cv.wait_for(
            lambda: self._done >= target or self._closing or self._failing is not None,
            BACKLOG_WAIT,
        )

    def _commit_held(self, writes: dict[WriteKey, Write]) -> None:
        """While the store fails (``cv`` held): commit the held writes with ``writes`` in
        the caller. Success stores both and turns write-behind back on. Failure raises;
        the new jobs of ``writes`` (a submission, which the caller sees fail) are dropped,
        its other writes (a job's end, a session's change) are held with the others."""
        self.cv.wait_for(lambda: self._inflight is None)  # the writer's group settles first
        held = self._held
        for key, write in self._waiting.items():  # published behind a caller: held alike
            merge_write(held, key, write)
        self._waiting = {}
        self._done = self._published
        group = {key: copy.copy(write) for key, write in held.items()}  # held stay intact
        for key, write in writes.items():
            merge_write(group, key, write)
        kept, dropped = _attempt(self._commit, list(group.values()))
        lost = {_key(write) for write, _ in dropped}
        for write, exc in dropped:
            self._report(write, exc)
            held.pop(_key(write), None)
        if kept:
            exc = kept[1]
            self._failing = StoreError(f"{exc}") if not isinstance(exc, StoreError) else exc
            refused: list[Write] = []
            for key, write in writes.items():
                if key in lost:
                    continue
                if isinstance(write, JobWrite) and write.payload is not None:
                    refused.append(write)  # a job's insert: its submission fails
                else:
                    merge_write(held, key, write)  # a later state: stored on recovery
            self._committed(refused, False)
            raise StoreError(
                f"{self._failing} ({len(held)} write(s) held in memory until the store "
                "accepts writes again)"
            )
        self._held = {}
        self._failing = None
        _log.warning("the store accepts writes again; write-behind resumes")
        self._committed([w for k, w in group.items() if k not in lost], True)
        own = [exc for write, exc in dropped if _key(write) in writes]
        if own:
            if len(own) == len(dropped):
                self._last_error = None  # reported here, to the caller
            raise StoreError(f"{own[0]}")

    def flush(self, timeout: float | None = None) -> None:
        """Wait until everything published so far is committed.

        Args:
            timeout: longest wait in seconds (None: :data:`FLUSH_LIMIT`).

        Raises:
            StoreError: a write failed for good since the last flush (it was dropped and
                logged), the store fails (writes are held: see the module docstring), or
                ``timeout`` seconds passed first (waiting for the writer, or for the lock
                of the writes, which a thread stopped inside a write could keep: the wait
                at exit must end).
        """
        limit = FLUSH_LIMIT if timeout is None else timeout
        if not self.lock.acquire(timeout=max(limit, LOCK_WAIT_MIN)):
            raise StoreError(
                f"timed out after {limit:g} s waiting for the lock of the store's writes "
                "(a thread holds it: one stopped inside a write, or waiting on this one)"
            )
        try:  # holding the lock is holding ``cv``
            target = self._published
            if self._done < target:
                self._flushing += 1
                self._hurry.set()
                try:
                    self._wait_done(target, limit)
                finally:
                    self._flushing -= 1
            if self._held:
                self._commit_held({})
            error, self._last_error = self._last_error, None
        finally:
            self.lock.release()
        if error is not None:
            raise error

    def _wait_done(self, target: int, limit: float) -> None:
        """Wait (``cv`` held) until group ``target`` is committed, restarting a dead writer."""
        deadline = _now() + limit
        while self._done < target:
            remaining = deadline - _now()
            if remaining <= 0:
                raise StoreError(
                    f"timed out after {limit:g} s waiting for the store's writer "
                    f"({len(self._waiting)} write(s) waiting)"
                )
            self.cv.wait(min(WATCH, remaining))
            thread = self._thread
            if self._done < target and (thread is None or not thread.is_alive()):
                _log.error("the store's writer thread is gone; starting another")
                self._start()

    def close(self) -> None:
        """Commit what waits (for at most :data:`CLOSE_LIMIT` seconds), then stop the writer
        (idempotent). Writes still held because the store fails are logged as lost."""
        with self.cv:
            self._closing = True
            self.cv.notify_all()
            thread = self._thread
            if self._held:
                _log.error(
                    "%d write(s) could not be stored and are lost: %s",
                    len(self._held),
                    self._failing,
                )
                self._committed(list(self._held.values()), False)
                self._held = {}
        self._hurry.set()
        if thread is not None and thread is not threading.current_thread():
            thread.join(CLOSE_LIMIT)
            if thread.is_alive():
                _log.error("the store's writer did not finish within %g s", CLOSE_LIMIT)

    # -- the writer thread ---------------------------------------------------------------------
    def _start(self) -> None:
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._loop()
        except BaseException:  # a bug or an asynchronous exception: never die silently
            _log.exception("the store's writer failed; its current group is dropped")
            with self.cv:
                group, self._inflight = self._inflight, None
                if group:
                    error = StoreError(
                        f"the store's writer failed; {len(group)} write(s) may not be stored"
                    )
                    self._last_error = error
                    with contextlib.suppress(Exception):
                        self._committed(group, False)
                self._done = max(self._done, self._inflight_target)
                if self._thread is threading.current_thread():
                    self._thread = None
                    if self._waiting:
                        self._start()
                self.cv.notify_all()

    def _loop(self) -> None:
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
                self._inflight = group
                self._inflight_target = target = self._published
            kept, dropped = _attempt(self._commit, group, retry_busy=not self._closing)
            with self.cv:
                for write, exc in dropped:
                    self._report(write, exc)
                busy = bool(kept) and _kind(kept[1]) == "busy"
                if busy:  # put them back under anything published meanwhile
                    later, self._waiting = self._waiting, {}
                    for write in kept[0]:
                        merge_write(self._waiting, _key(write), write)
                    for key, write in later.items():
                        merge_write(self._waiting, key, write)
                else:
                    if kept:  # the store fails: hold them; callers commit from now on
                        for write in kept[0]:
                            merge_write(self._held, _key(write), write)
                        error = kept[1]
                        self._failing = (
                            error if isinstance(error, StoreError) else StoreError(f"{error}")
                        )
                        _log.error(
                            "the store fails (%s): %d write(s) held in memory; commits are "
                            "synchronous until it accepts writes again",
                            error,
                            len(self._held),
                        )
                    self._done = max(self._done, target)
                    if kept or dropped:
                        gone = {_key(write) for write, _ in dropped} | set(self._held)
                        group = [w for w in group if _key(w) not in gone]
                    self._committed(group, True)
                self._inflight = None
                self.cv.notify_all()
            if busy:
                self._hurry.wait(RETRY_PAUSE)

    def _report(self, write: Write, exc: BaseException) -> None:
        """A write dropped for good (``cv`` held): log it, forget it, report it at flush."""
        kind, ident = _key(write)
        _log.error("could not store %s %s: %s (this write is lost)", kind, ident, exc)
        self._last_error = StoreError(f"could not store {kind} {ident}: {exc}")
        self._committed([write], False)


Outcome = tuple[tuple[list[Write], BaseException] | None, list[tuple[Write, BaseException]]]


def _attempt(
    commit: Callable[[list[Write]], None], group: list[Write], *, retry_busy: bool = True
) -> Outcome:
    """Commit ``group``, isolating the writes that fail on their own.

    Returns ``(kept, dropped)``: ``kept`` is None, or the writes to keep (for a busy or a
    failing store, with its error); ``dropped`` pairs each rejected write with its error.
    """
    if not group:
        return None, []
    try:
        commit(group)
        return None, []
    except Exception as exc:
        kind = _kind(exc)
        if kind == "store" or (kind == "busy" and retry_busy):
            return (group, exc), []
        if len(group) == 1:
            return None, [(group[0], exc)]
    kept: list[Write] = []
    error: BaseException | None = None
    dropped: list[tuple[Write, BaseException]] = []
    for write in group:  # isolate the write(s) that fail on their own
        try:
            commit([write])
        except Exception as exc:
            kind = _kind(exc)
            if kind == "store" or (kind == "busy" and retry_busy):
                kept.append(write)
                error = exc
            else:
                dropped.append((write, exc))
    return ((kept, error) if error is not None else None), dropped


def _kind(exc: BaseException) -> str:
    """``"busy"``, ``"store"`` (the database fails: disk full, I/O error, read-only...) or
    ``"record"`` (what was written was refused, or anything else went wrong)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, sqlite3.Error):
            if _busy(seen):
                return "busy"
            if isinstance(seen, sqlite3.OperationalError) or type(seen) is sqlite3.DatabaseError:
                return "store"
            return "record"
        seen = seen.__cause__
    return "busy" if isinstance(exc, StoreError) and _busy(exc) else "record"


def _key(write: Write) -> WriteKey:
    return ("job" if isinstance(write, JobWrite) else "session", write.record.id)


def _busy(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "locked" in text or "busy" in text
