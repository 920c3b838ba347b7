"""open_runtime: which runtime a store and a clock give (the module docstring's rules)."""

from __future__ import annotations

from pathlib import Path

import pytest

from qsession_provider.client import RuntimeAPI, open_runtime
from qsession_provider.core.clock import VirtualClock
from qsession_provider.errors import InputError, QSessionError


def test_memory_is_private_to_each_opener() -> None:
    first, second = open_runtime(":memory:"), open_runtime(":memory:")
    try:
        assert first is not second
        session = first.open_session("statevector")
        assert [s.id for s in first.sessions()] == [session.id]
        assert second.sessions() == []
    finally:
        first.shutdown()
        second.shutdown()


def test_a_clock_without_a_store_is_its_own_timeline() -> None:
    one, two = VirtualClock(), VirtualClock()
    a, b = open_runtime(clock=one), open_runtime(clock=two)
    assert a is not b and a.clock is one and b.clock is two
    assert open_runtime(clock=one) is a  # every face built with that clock shares it
    a.open_session("statevector")
    assert b.sessions() == []


def test_a_new_clock_after_a_shutdown_timeline_gets_a_new_runtime() -> None:
    clock = VirtualClock()
    first = open_runtime(clock=clock)
    first.shutdown()
    again = open_runtime(clock=clock)
    assert again is not first and not again.closed


def test_one_store_path_is_one_runtime_and_one_clock(tmp_path: Path) -> None:
    path = str(tmp_path / "store.sqlite3")
    clock = VirtualClock()
    runtime = open_runtime(path, clock=clock)
    try:
        assert open_runtime(path) is runtime
        assert open_runtime(str(tmp_path / "." / "store.sqlite3"), clock=clock) is runtime
        with pytest.raises(QSessionError, match="already runs on"):
            open_runtime(path, clock=VirtualClock())  # asked explicitly: one store, two clocks
    finally:
        runtime.shutdown()


def test_the_default_store_is_shared_when_it_runs_on_that_clock(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("QSESSION_STORE", str(tmp_path / "default.sqlite3"))
    clock = VirtualClock()
    default = open_runtime(None, clock=clock)  # a clock and no store: its own timeline
    assert default.store.location.startswith(":memory:")
    runtime = open_runtime(str(tmp_path / "default.sqlite3"), clock=clock)
    try:
        assert open_runtime(None) is runtime  # the default store's runtime...
        assert open_runtime(None, clock=clock) is runtime  # ...runs on this very clock
    finally:
        runtime.shutdown()
        default.shutdown()


def test_policy_and_work_conserving_are_exclusive() -> None:
    with pytest.raises(InputError, match="either policy or work_conserving"):
        open_runtime(":memory:", policy=object(), work_conserving=True)  # type: ignore[arg-type]


def test_the_runtime_implements_the_client_interface() -> None:
    runtime = open_runtime(":memory:")
    try:
        assert isinstance(runtime, RuntimeAPI)
    finally:
        runtime.shutdown()
