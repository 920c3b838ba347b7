"""Processes on different clocks do not share a store silently (issue 20, item 8h): each
process record names its clock, and a runtime on another timeline than a live process using
the store is refused, naming both."""

from __future__ import annotations

import dataclasses
import sqlite3
from pathlib import Path
from typing import Any

import pytest

from qsession_provider.core.clock import RealClock, VirtualClock
from qsession_provider.core.device import Device
from qsession_provider.core.runtime.runtime import Runtime
from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.processes import (
    ProcessRecord,
    check_same_clock,
    clock_id,
    current_process,
)
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.errors import QSessionError

pytestmark = pytest.mark.timeout(60)


@pytest.fixture
def devices(engine: Any) -> list[Device]:
    return [Device("d", 2, engine, programs={"echo"})]


def test_clock_ids_name_the_timeline() -> None:
    virtual = VirtualClock(start=0)
    assert clock_id(None) == clock_id(RealClock()) == "real"
    assert clock_id(virtual).startswith("virtual:")
    assert clock_id(virtual) == clock_id(virtual)  # one id per clock object
    assert clock_id(virtual) != clock_id(VirtualClock(start=0))
    assert current_process(virtual).clock == clock_id(virtual)


def test_a_runtime_on_another_clock_is_refused_while_the_first_lives(
    tmp_path: Path, devices: list[Device], payload: Any, open_sqlite: Any
) -> None:
    path = str(tmp_path / "s.sqlite3")
    first_clock = VirtualClock(start=0)
    first = Runtime(store=open_sqlite(path), devices=devices, clock=first_clock)
    done = first.submit("echo", "d", payload(n=1))
    done.result()
    for other in (VirtualClock(start=0), RealClock()):
        with pytest.raises(QSessionError) as refused:
            Runtime(store=open_sqlite(path), devices=devices, clock=other)
        message = str(refused.value)
        assert path in message and clock_id(first_clock) in message and clock_id(other) in message
        if isinstance(other, RealClock):
            other.close()
    assert first.submit("echo", "d", payload(n=2)).result() is not None  # the first goes on
    assert first.job(done.id).status.value == "DONE"
    same = Runtime(store=open_sqlite(path), devices=devices, clock=first_clock)  # one timeline
    same.shutdown()
    first.shutdown()
    later = Runtime(store=open_sqlite(path), devices=devices, clock=VirtualClock(start=0))
    assert later.job(done.id).status.value == "DONE"  # the first is gone: a new timeline may
    later.shutdown()


def test_real_clock_processes_share_a_store(
    tmp_path: Path, devices: list[Device], open_sqlite: Any
) -> None:
    path = str(tmp_path / "s.sqlite3")
    first = Runtime(store=open_sqlite(path), devices=devices)
    second = Runtime(store=open_sqlite(path), devices=devices)
    try:
        assert {p.clock for p in second.store.processes()} == {"real"}
    finally:
        second.shutdown()
        first.shutdown()


def test_the_clock_is_stored_and_dead_or_unknown_records_are_not_checked(
    tmp_path: Path,
) -> None:
    store = SQLiteStore(tmp_path / "s.sqlite3")
    try:
        me = current_process(VirtualClock(start=0))
        store.register_process(me)
        store.heartbeat(me.id, 5.0)
        (stored,) = store.processes()
        assert stored == dataclasses.replace(me, heartbeat=5.0)
    finally:
        store.close()
    memory = MemoryStore()
    memory.register_process(me)
    memory.heartbeat(me.id, 6.0)
    assert memory.processes()[0].clock == me.clock  # a heartbeat keeps the clock
    older = ProcessRecord("old", me.pid, me.hostname, me.start_token, 0.0, 0.0)  # clock ""
    dead = dataclasses.replace(me, id="dead", clock="virtual:elsewhere")
    ours = current_process(RealClock())
    check_same_clock(ours, [older], "s")
    check_same_clock(ours, [dead], "s", alive=lambda record: False)
    with pytest.raises(QSessionError, match="virtual:elsewhere"):
        check_same_clock(ours, [dead], "s", alive=lambda record: True)


def test_a_store_without_the_clock_column_gets_it_when_opened(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite3"
    SQLiteStore(path).close()
    db = sqlite3.connect(path)
    db.execute("ALTER TABLE processes DROP COLUMN clock")  # as an older version wrote it
    db.execute(
        "INSERT INTO processes (id, pid, hostname, start_token, started_at, heartbeat) "
        "VALUES ('p', 1, 'h', '', 0, 0)"
    )
    db.commit()
    db.close()
    reader = SQLiteStore(path, read_only=True)  # read-only: no column added, still readable
    try:
        assert [p.clock for p in reader.processes()] == [""]
    finally:
        reader.close()
    store = SQLiteStore(path)
    try:
        assert [p.clock for p in store.processes()] == [""]
        store.register_process(current_process(VirtualClock(start=0)))
        assert sorted(p.clock[:8] for p in store.processes()) == ["", "virtual:"]
    finally:
        store.close()
