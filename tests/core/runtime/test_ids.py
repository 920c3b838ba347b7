"""New job and session ids: version-7 UUIDs, in order, never repeated, fresh after fork."""

from __future__ import annotations

import os
import time
import uuid
from typing import Any

import pytest

from qsession_provider.core.runtime import ids as id_source
from qsession_provider.core.runtime.ids import random_id

pytestmark = pytest.mark.timeout(60)


def test_new_ids_are_version_7_uuids_in_order_and_differ_in_a_forked_child(
    monkeypatch: Any,
) -> None:
    ids = [random_id() for _ in range(20000)]  # many within one millisecond
    assert len(set(ids)) == len(ids) and ids == sorted(ids)
    assert all(uuid.UUID(i).version == 7 and uuid.UUID(i).variant == uuid.RFC_4122 for i in ids)
    now_ms = time.time_ns() // 1_000_000
    assert abs(int(ids[-1].replace("-", "")[:12], 16) - now_ms) < 60_000  # ms since the epoch
    # A clock that goes back never makes an id repeat or sort before an earlier one.
    monkeypatch.setattr(id_source.time, "time_ns", lambda: (now_ms - 10_000) * 1_000_000)
    later = [random_id() for _ in range(5000)]
    assert later == sorted(later) and later[0] > ids[-1]
    monkeypatch.undo()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child: report its next id
        os.write(write, random_id().encode())
        os._exit(0)
    os.close(write)
    child = os.read(read, 100).decode()
    os.close(read)
    os.waitpid(pid, 0)
    assert child != random_id() and uuid.UUID(child).version == 7
