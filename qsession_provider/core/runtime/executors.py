"""Executors: where job payloads are computed.

The scheduler decides *when* a job runs; an executor decides *where*. The protocol is the
subset of :class:`concurrent.futures.Executor` the scheduler uses (``submit`` returning a
future, ``shutdown``), so a thread pool works as is, and a distributed engine fits too:
``dask.distributed.Client.get_executor()`` returns exactly such an object.
"""

from __future__ import annotations

import concurrent.futures
import os
from collections.abc import Callable
from typing import Any, Protocol, TypeVar, runtime_checkable

__all__ = ["Executor", "ThreadExecutor", "InlineExecutor"]

T = TypeVar("T")


@runtime_checkable
class Executor(Protocol):
    """Runs callables somewhere and returns :class:`concurrent.futures.Future` objects."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> concurrent.futures.Future[T]:
        """Schedule ``fn(*args)``; the returned future completes with its value or error."""
        ...

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        """Stop accepting work; optionally wait for running work. May be called twice."""
        ...


class ThreadExecutor(concurrent.futures.ThreadPoolExecutor):
    """The default executor: a thread pool (the C kernels release the GIL).

    Args:
        max_workers: threads; default ``min(32, cpu_count + 4)``.
    """

    def __init__(self, max_workers: int | None = None) -> None:
        if max_workers is None:
            max_workers = min(32, (os.cpu_count() or 1) + 4)
        super().__init__(max_workers=max_workers, thread_name_prefix="qsession-job")


class InlineExecutor:
    """Runs each callable at once in the submitting thread (debugging, profiling)."""

    def submit(self, fn: Callable[..., T], /, *args: Any) -> concurrent.futures.Future[T]:
        future: concurrent.futures.Future[T] = concurrent.futures.Future()
        future.set_running_or_notify_cancel()
        try:
            future.set_result(fn(*args))
        except BaseException as exc:  # the future carries it, as a pool would
            future.set_exception(exc)
        return future

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        return None
