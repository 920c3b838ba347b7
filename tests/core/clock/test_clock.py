"""Clocks: durations, timers, advancing, and the no-deadlock rule of virtual clocks."""

from __future__ import annotations

import threading
import time
from datetime import datetime, timezone
from typing import Any

import pytest

from qsession_provider.core.clock import (
    DEFAULT_VIRTUAL_EPOCH,
    Clock,
    RealClock,
    VirtualClock,
    parse_duration,
)
from qsession_provider.core.job import JobStatus
from qsession_provider.errors import ClockStalledError, InputError, QSessionError

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        (90, 90.0),
        (1.5, 1.5),
        ("90", 90.0),
        ("10m", 600.0),
        ("1h 30m", 5400.0),
        ("500ms", 0.5),
        ("2h 30m 40s", 9040.0),
        ("1d", 86400.0),
        ("1.5s", 1.5),
        (" 25M ", 1500.0),
        ("250us", 250e-6),
        ("0", 0.0),
    ],
)
def test_parse_duration(text: Any, seconds: float) -> None:
    assert parse_duration(text) == pytest.approx(seconds)


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "ten minutes",
        "10 parsecs",
        "-5",
        "5m x",
        True,
        -1,
        float("nan"),
        float("inf"),
        None,
        [5],
    ],
)
def test_parse_duration_rejects_garbage(bad: Any) -> None:
    with pytest.raises(InputError, match="duration"):
        parse_duration(bad)


def test_clocks_implement_the_protocol() -> None:
    real = RealClock()
    assert isinstance(real, Clock) and isinstance(VirtualClock(), Clock)
    assert abs(real.now() - time.time()) < 1
    real.close()


def test_virtual_clock_starts_at_a_fixed_epoch_or_where_told() -> None:
    assert VirtualClock().now() == DEFAULT_VIRTUAL_EPOCH
    start = datetime(2030, 5, 1, tzinfo=timezone.utc)
    assert VirtualClock(start=start).now() == start.timestamp()
    assert VirtualClock(start=datetime(2030, 5, 1)).now() == start.timestamp()


def test_advance_fires_timers_in_order_each_at_its_due_time() -> None:
    clock = VirtualClock(start=0)
    fired: list[tuple[str, float]] = []
    clock.call_at(30, lambda: fired.append(("c", clock.now())))
    clock.call_later(10, lambda: fired.append(("a", clock.now())))
    clock.call_at(10, lambda: fired.append(("b", clock.now())))  # same time: FIFO
    cancelled = clock.call_at(20, lambda: fired.append(("x", clock.now())))
    assert cancelled.cancel() and not cancelled.cancel()
    assert clock.next_event() == 10 and clock.pending() == 3
    assert clock.advance("25s") == 25.0
    assert fired == [("a", 10.0), ("b", 10.0)]
    clock.advance(5)
    assert fired[-1] == ("c", 30.0) and clock.pending() == 0


def test_timers_set_by_timers_fire_within_the_same_advance() -> None:
    clock = VirtualClock(start=0)
    fired: list[float] = []

    def chain() -> None:
        fired.append(clock.now())
        if len(fired) < 3:
            clock.call_later(2, chain)

    clock.call_at(1, chain)
    clock.advance(10)
    assert fired == [1.0, 3.0, 5.0]


def test_advance_refuses_to_go_backwards_or_to_run_inside_a_callback() -> None:
    clock = VirtualClock(start=100)
    with pytest.raises(InputError):
        clock.advance_to(50)
    with pytest.raises(InputError):
        clock.advance(-1)
    errors: list[BaseException] = []

    def nested() -> None:
        try:
            clock.advance(1)
        except QSessionError as exc:
            errors.append(exc)

    clock.call_later(1, nested)
    clock.advance(1)
    assert len(errors) == 1 and "inside" in str(errors[0])


def test_advance_waits_until_the_runtime_is_idle() -> None:
    clock = VirtualClock(start=0)
    activity = clock.hold()
    assert not clock.idle
    done = threading.Event()
    thread = threading.Thread(target=lambda: (clock.advance(5), done.set()))
    thread.start()
    assert not done.wait(0.1)  # blocked: the runtime is busy
    activity.release()
    activity.release()  # idempotent
    assert done.wait(5)
    thread.join()
    assert clock.idle and clock.now() == 5.0


def test_auto_advance_jumps_to_the_next_event_while_a_waiter_blocks() -> None:
    clock = VirtualClock(start=0)
    flag = threading.Event()
    cond = threading.Condition()

    def set_flag() -> None:
        with cond:
            flag.set()
            cond.notify_all()

    clock.call_at(3600, set_flag)
    started = time.monotonic()
    assert clock.wait_for(flag.is_set, None, cond)
    assert clock.now() == 3600.0
    assert time.monotonic() - started < 1.0


def test_auto_advance_wait_times_out_exactly_at_its_deadline() -> None:
    clock = VirtualClock(start=0)
    clock.call_at(100, lambda: None)
    assert not clock.wait_for(lambda: False, 40, threading.Condition())
    assert clock.now() == 40.0
    assert clock.pending() == 1  # the deadline marker is gone, the real timer stays


def test_auto_advance_does_not_move_time_while_the_runtime_is_busy() -> None:
    clock = VirtualClock(start=0)
    clock.call_at(10, lambda: None)
    activity = clock.hold()
    result: list[bool] = []
    thread = threading.Thread(
        target=lambda: result.append(clock.wait_for(lambda: False, 20, threading.Condition()))
    )
    thread.start()
    time.sleep(0.15)
    assert clock.now() == 0.0  # busy: no jump
    activity.release()
    thread.join(5)
    assert result == [False] and clock.now() == 20.0


def test_virtual_sleep_lets_time_pass(vclock: VirtualClock) -> None:
    vclock.sleep("10m")
    assert vclock.now() == 600.0


def test_a_manual_clock_raises_instead_of_deadlocking() -> None:
    clock = VirtualClock(start=0, auto_advance=False, stall_timeout=0.2)
    clock.call_at(10, lambda: None)
    with pytest.raises(ClockStalledError, match="advance"):
        clock.wait_for(lambda: False, None, threading.Condition())


def test_a_manual_clock_wait_is_released_by_another_thread_advancing() -> None:
    clock = VirtualClock(start=0, auto_advance=False, stall_timeout=5)
    flag = threading.Event()
    cond = threading.Condition()

    def fire() -> None:
        with cond:
            flag.set()
            cond.notify_all()

    clock.call_at(10, fire)
    timer = threading.Timer(0.1, lambda: clock.advance(10))
    timer.start()
    assert clock.wait_for(flag.is_set, None, cond)
    timer.join()


def test_result_on_an_emulated_qpu_never_deadlocks_on_a_virtual_clock(
    runtime: Any, vclock: VirtualClock, payload: Any
) -> None:
    """The no-deadlock rule end to end: three queued 10-s jobs, one thread, no advance()."""
    jobs = [runtime.submit("echo", "slow_qpu", payload()) for _ in range(3)]
    started = time.monotonic()
    assert [j.result()["program"] for j in jobs] == ["echo"] * 3
    assert vclock.now() == 30.0
    assert [j.status for j in jobs] == [JobStatus.DONE] * 3
    assert time.monotonic() - started < 2.0


def test_a_manual_runtime_reports_a_stalled_wait(make_runtime: Any, payload: Any) -> None:
    clock = VirtualClock(start=0, auto_advance=False, stall_timeout=0.2)
    rt = make_runtime(clock=clock)
    job = rt.submit("echo", "slow_qpu", payload())
    with pytest.raises(ClockStalledError):
        job.result()
    clock.advance(10)
    assert job.result()["program"] == "echo"


def test_real_clock_timers_and_waits() -> None:
    clock = RealClock()
    fired = threading.Event()
    clock.call_later(0.05, fired.set)
    cancelled = threading.Event()
    clock.call_later(0.05, cancelled.set).cancel()
    assert fired.wait(5)
    assert not cancelled.wait(0.1)
    cond = threading.Condition()
    assert not clock.wait_for(lambda: False, 0.05, cond)
    with clock.hold():
        pass
    clock.close()
    clock.close()
    with pytest.raises(QSessionError):
        clock.call_later(1, lambda: None)


def test_the_real_clock_drops_cancelled_timers_and_fires_new_earlier_ones() -> None:
    clock = RealClock()
    try:
        fired = threading.Event()
        clock.call_later(3600, lambda: None)  # the thread now waits an hour
        for _ in range(2000):  # a session re-arms its interactive timer after every job
            clock.call_later(300, lambda: None).cancel()
        assert len(clock._heap) < 600
        start = time.monotonic()
        clock.call_later(0.05, fired.set)  # earlier than anything: wakes the thread
        assert fired.wait(5) and time.monotonic() - start < 5
    finally:
        clock.close()
