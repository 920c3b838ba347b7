"""The per-user limit on unfinished jobs (``--max-queued``; 429 past it)."""

from __future__ import annotations

import threading
from typing import Any

from ..errors import TooManyJobsError

__all__ = ["QueuedJobs"]


class QueuedJobs:
    """Counts each user's unfinished (queued or running) jobs against a limit.

    A submission :meth:`reserve` s a place first (refused past the limit), then either
    :meth:`track` s the job it made (the place is given back when the job ends) or
    :meth:`release` s the place if the submission failed.

    Args:
        limit: most unfinished jobs per user.
    """

    def __init__(self, limit: int) -> None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"the per-user job limit must be a positive integer, got {limit!r}")
        self.limit = limit
        self._counts: dict[str, int] = {}
        self._lock = threading.Lock()

    def reserve(self, user: str, *, force: bool = False) -> None:
        """Take a place for a new job of ``user``.

        Raises:
            TooManyJobsError: ``user`` already has ``limit`` unfinished jobs.
        """
        with self._lock:
            count = self._counts.get(user, 0)
            if count >= self.limit and not force:
                raise TooManyJobsError(
                    f"user {user!r} already has {count} queued or running jobs, the most this "
                    f"server accepts per user (--max-queued {self.limit}); wait for some to "
                    "finish"
                )
            self._counts[user] = count + 1

    def release(self, user: str) -> None:
        """Give a place of ``user`` back."""
        with self._lock:
            count = self._counts.get(user, 0) - 1
            if count > 0:
                self._counts[user] = count
            else:
                self._counts.pop(user, None)

    def track(self, user: str, job: Any) -> None:
        """Give the place back when ``job`` ends (at once if it has)."""
        job.add_done_callback(lambda _job: self.release(user))

    def count(self, user: str) -> int:
        """Unfinished jobs of ``user``."""
        with self._lock:
            return self._counts.get(user, 0)
