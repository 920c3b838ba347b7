"""Pickled handles: what a face object carries to another process, and how it reconnects.

A face object (a primitive, a backend, a service, a Cirq sampler, an Azure workspace, a job
handle...) holds a live runtime: threads, locks, an open store or HTTP connection, none of
which can be pickled. Pickled, it carries only how to reach its runtime - a
:class:`RuntimeAddress` - and its own plain settings (device name, options, session id,
seeds); unpickled, it reconnects (:func:`reconnect`) to the runtime of this process for that
address. Face classes take the :class:`Handle` mixin and say what their state is
(``_handle_state``); :func:`reduce_handle` does the rest.

What an address is:

- an embedded runtime opened by store path (``store="jobs.db"``, the default store): the
  store's resolved path. The receiving process gets the one runtime of that store in it
  (:func:`~.local.open_runtime`): in the same process the very runtime; in a spawned or
  forked worker a runtime of its own on the same file, which is how processes share a
  store. Pickling commits what this process's store still holds (write-behind), so the
  receiver finds every job and session the handle names. A runtime opened in a worker by
  unpickling is shut down when the worker exits (a ``multiprocessing`` finalizer), so
  that the worker's results are committed before its pool is joined.
- a server (``url``/``token``): the URL and the token. **The pickle holds the token**: it
  is what the user already holds (as qiskit-ibm-runtime's saved account file does), and a
  pickle is as sensitive as that file. Treat pickles of remote handles like credentials;
  never unpickle data from an untrusted source anyway.

What cannot travel raises :class:`NotPicklableError` (a ``TypeError`` and a
``pickle.PicklingError``) naming why and what to use instead: an in-memory store
(``":memory:"``) or a runtime on a virtual clock (both private to this process), a runtime
built by hand (``Runtime(...)``: another process could not rebuild its devices), a remote
runtime on an HTTP client given to :func:`~.choose.connect` (``client=``, e.g. a test
client), or a runtime that has been shut down.
"""

from __future__ import annotations

import multiprocessing.util
import os
import pickle
import sys
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..core.runtime import Runtime
from ..core.runtime.runtime import registered_runtime
from .api import RuntimeAPI
from .local import MEMORY, open_runtime

__all__ = [
    "Handle",
    "NotPicklableError",
    "RuntimeAddress",
    "address_of",
    "reconnect",
    "reduce_handle",
    "restore_handle",
]


class NotPicklableError(TypeError, pickle.PicklingError):
    """A handle whose runtime another process cannot reach (the message says why)."""


@dataclass(frozen=True)
class RuntimeAddress:
    """How to reach a runtime from any process: a store file, or a server's URL and token.

    Attributes:
        store: the resolved path of an embedded runtime's store file (None for a server).
        url: a ``qsession serve`` server's URL (None for a store).
        token: the token for ``url`` (kept out of ``repr``).
    """

    store: str | None = None
    url: str | None = None
    token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if (self.store is None) == (self.url is None):
            raise ValueError("a RuntimeAddress names either a store or a url")
        if self.url is not None and not self.token:
            raise ValueError("a RuntimeAddress with a url needs its token")


def address_of(runtime: RuntimeAPI, what: str = "this handle") -> RuntimeAddress:
    """The address another process reaches ``runtime`` at.

    Commits what an embedded runtime's store still holds, so that the receiving process
    reads every record this one wrote.

    Args:
        runtime: the runtime a face object holds.
        what: the object being pickled, named in the error (``"SamplerV2"``).

    Raises:
        NotPicklableError: the runtime cannot be reached from another process (see the
            module docstring); the message says what to use instead.
    """
    remote = sys.modules.get(f"{__package__}.remote")
    if remote is not None and isinstance(runtime, remote.RemoteRuntime):
        url, token, own_client = runtime._address
        if not own_client:
            raise NotPicklableError(
                f"{what} cannot be pickled: its connection to {url} uses an HTTP client "
                "given to connect(client=...) (e.g. a test client), which another process "
                "cannot rebuild; connect by url and token alone"
            )
        return RuntimeAddress(url=url, token=token)
    if not isinstance(runtime, Runtime):
        raise NotPicklableError(
            f"{what} cannot be pickled: its runtime {runtime!r} is neither a runtime opened "
            "on a store file nor a server's"
        )
    location = runtime.location
    if location.startswith(MEMORY):
        timeline = " on a virtual clock (a private timeline)" if runtime.clock.virtual else ""
        raise NotPicklableError(
            f"{what} cannot be pickled: its runtime keeps jobs and sessions in an in-memory "
            f"store (':memory:'){timeline}, which lives only in this process; open it on a "
            "store file (store='jobs.db') or on a server (url=..., token=...) to send it to "
            "another process"
        )
    if runtime.clock.virtual:
        raise NotPicklableError(
            f"{what} cannot be pickled: its runtime runs on a virtual clock, a timeline of "
            "this process only (another process would run the store on wall-clock time); "
            "use a wall-clock runtime on a store file, or a server started with "
            "--virtual-clock, whose clock every client shares"
        )
    if runtime.closed:
        raise NotPicklableError(
            f"{what} cannot be pickled: its runtime (store {location}) has been shut down"
        )
    if registered_runtime(location) is not runtime:
        raise NotPicklableError(
            f"{what} cannot be pickled: its runtime on {location} was built by hand "
            "(Runtime(...)), so another process could not rebuild its devices; open it by "
            "store path (store=..., or qsession_provider.client.open_runtime(path))"
        )
    flush = getattr(runtime.store, "flush", None)
    if flush is not None:
        flush()
    return RuntimeAddress(store=location)


def reconnect(address: RuntimeAddress) -> RuntimeAPI:
    """The runtime of this process for ``address`` (opened or connected if needed).

    Raises:
        NotAuthorizedError: the server no longer knows the token.
        QSessionError: the server cannot be reached; or as :func:`~.local.open_runtime`.
    """
    if address.url is not None:
        from .choose import runtime_for

        return runtime_for(url=address.url, token=address.token)
    runtime = open_runtime(address.store)
    _stop_with_worker(runtime)
    return runtime


class Handle:
    """Mixin of face objects that pickle as a :class:`RuntimeAddress` plus plain settings.

    A class implements :meth:`_handle_state`; pickling then goes through
    :func:`reduce_handle`. ``copy.copy`` stays a plain shallow copy (same runtime), as it
    was before the class could be pickled.
    """

    __slots__ = ()

    def _handle_state(self) -> tuple[RuntimeAPI, Callable[..., Any], tuple[Any, ...]]:
        """``(runtime, restore, state)``: unpickling calls ``restore(runtime', *state)``.
        Every face class that mixes this in defines it (an abstract method of the mixin)."""
        raise NotImplementedError(f"{type(self).__name__} does not say how it is pickled")

    def __reduce__(self) -> tuple[Any, ...]:
        runtime, restore, state = self._handle_state()
        return reduce_handle(self, runtime, restore, *state)

    def __copy__(self) -> Any:
        clone = type(self).__new__(type(self))
        clone.__dict__.update(self.__dict__)
        return clone


def reduce_handle(
    obj: object, runtime: RuntimeAPI, restore: Callable[..., Any], *state: Any
) -> tuple[Any, ...]:
    """What a face's ``__reduce__`` returns: ``restore(runtime, *state)`` on unpickling.

    Args:
        obj: the object being pickled (named in errors).
        runtime: its runtime (see :func:`address_of`).
        restore: a picklable callable (a classmethod or a module function) rebuilding the
            object from the reconnected runtime and ``state``.
        *state: the object's own plain settings (picklable).

    Raises:
        NotPicklableError: as :func:`address_of`.
    """
    address = address_of(runtime, type(obj).__name__)
    return (restore_handle, (address, restore, state))


def restore_handle(address: RuntimeAddress, restore: Callable[..., Any], state: tuple) -> Any:
    """Rebuild a handle pickled by :func:`reduce_handle`: ``restore(reconnect(address), ...)``."""
    return restore(reconnect(address), *state)


# -- workers --------------------------------------------------------------------------------------
_STOPPED_WITH_WORKER: set[int] = set()
_WORKER_LOCK = threading.Lock()


def _stop_with_worker(runtime: RuntimeAPI) -> None:
    """In a ``multiprocessing`` child, shut ``runtime`` down when the child exits.

    A child ends with ``os._exit`` (no ``atexit``), which would leave the results its
    runtime still holds in the store's write-behind queue uncommitted; ``multiprocessing``'s
    own exit finalizers run, so one shuts the runtime down (committing them) instead.
    """
    if multiprocessing.parent_process() is None:
        return  # the main process: the runtime's atexit hook stops it
    with _WORKER_LOCK:
        key = id(runtime)
        if key in _STOPPED_WITH_WORKER:
            return
        _STOPPED_WITH_WORKER.add(key)
    multiprocessing.util.Finalize(None, _shutdown, args=(runtime,), exitpriority=10)


def _shutdown(runtime: RuntimeAPI) -> None:
    try:
        runtime.shutdown(wait=False, cancel_pending=True)
    finally:
        _STOPPED_WITH_WORKER.discard(id(runtime))


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_STOPPED_WITH_WORKER.clear)
