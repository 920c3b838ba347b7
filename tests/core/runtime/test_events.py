"""The event emitter: order, re-entrancy, and isolation from failing listeners."""

from __future__ import annotations

import threading
from typing import Any

from qsession_provider.core.runtime.events import EventEmitter, RuntimeListener


def test_events_are_delivered_in_order_to_every_listener_with_the_method() -> None:
    seen: list[tuple[str, Any]] = []

    class A:
        def job_started(self, job: Any) -> None:
            seen.append(("A", job))

    class B:
        def job_started(self, job: Any) -> None:
            seen.append(("B", job))

    emitter = EventEmitter([A(), object()])
    emitter.add_listener(B())
    emitter.post("job_started", 1)
    emitter.post("job_finished", 2)  # nobody listens
    emitter.post("job_started", 3)
    assert seen == []  # nothing until drained
    emitter.drain()
    assert seen == [("A", 1), ("B", 1), ("A", 3), ("B", 3)]


def test_a_listener_that_posts_does_not_reenter_delivery() -> None:
    emitter = EventEmitter()
    seen: list[int] = []

    class Chain:
        def job_started(self, n: int) -> None:
            seen.append(n)
            if n < 3:
                emitter.post("job_started", n + 1)
                emitter.drain()  # inner drain returns at once; the outer loop delivers
                seen.append(-n)

    emitter.add_listener(Chain())
    emitter.post("job_started", 1)
    emitter.drain()
    assert seen == [1, -1, 2, -2, 3]


def test_a_failing_listener_is_logged_and_skipped(caplog: Any) -> None:
    seen: list[int] = []

    class Bad:
        def job_started(self, n: int) -> None:
            raise RuntimeError("bug")

    class Good:
        def job_started(self, n: int) -> None:
            seen.append(n)

    emitter = EventEmitter([Bad(), Good()])
    emitter.post("job_started", 7)
    emitter.drain()
    assert seen == [7] and "bug" in caplog.text
    emitter.remove_listener(emitter._listeners[0])
    assert emitter.has_listeners


def test_concurrent_drains_deliver_everything_exactly_once() -> None:
    emitter = EventEmitter()
    seen: list[int] = []
    lock = threading.Lock()

    class Count:
        def job_started(self, n: int) -> None:
            with lock:
                seen.append(n)

    emitter.add_listener(Count())

    def worker(base: int) -> None:
        for i in range(500):
            emitter.post("job_started", base + i)
            emitter.drain()

    threads = [threading.Thread(target=worker, args=(k * 1000,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    emitter.drain()
    assert sorted(seen) == sorted(k * 1000 + i for k in range(4) for i in range(500))


def test_the_listener_protocol_is_structural() -> None:
    class Anything:
        def job_submitted(self, job: Any) -> None: ...
        def job_started(self, job: Any) -> None: ...
        def job_finished(self, job: Any) -> None: ...
        def session_state_changed(self, session: Any, old: Any, new: Any) -> None: ...

    assert isinstance(Anything(), RuntimeListener)
