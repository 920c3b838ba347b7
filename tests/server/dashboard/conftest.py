"""Fixtures of the dashboard tests: a runtime on a virtual clock and logged-in clients.

The users are those of ``tests/server/conftest.py``: ``alice`` and ``bob`` (users),
``root`` (administrator), each logged in with the token ``tok-<user>``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from qsession_provider.core.clock import VirtualClock
from qsession_provider.core.runtime import Runtime
from qsession_provider.core.runtime.checks import decode_payload
from qsession_provider.core.store import MemoryStore
from qsession_provider.plugins.builtin import falcon_27_device, statevector_device
from qsession_provider.server import create_app

from ..conftest import TestClient, add_tokens, sampler_text, token_of

#: The origin of the in-process dashboard (TestClient's base URL).
ORIGIN = "http://dash"
QPU = "emulated_falcon_27"


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    """A runtime on a virtual clock (manual: time moves only when a test says)."""
    store = MemoryStore()
    add_tokens(store)
    rt = Runtime(
        store=store,
        clock=VirtualClock(auto_advance=False, stall_timeout=5.0),
        devices=[statevector_device(), falcon_27_device()],
    )
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


def login(app: Any, user: str) -> TestClient:
    """A client of ``app`` logged in as ``user`` through the form (sends this Origin)."""
    client = TestClient(app, base_url=ORIGIN, headers={"origin": ORIGIN}, follow_redirects=False)
    response = client.post("/login", data={"token": token_of(user), "next": "/sessions"})
    assert response.status_code == 303, response.text
    return client


@pytest.fixture
def clients(runtime: Runtime) -> Callable[[str], TestClient]:
    """``clients(user)``: a logged-in client of the dashboard over ``runtime``."""
    app = create_app(runtime)
    return lambda user: login(app, user)


def submit(runtime: Runtime, user: str, device: str = QPU, **extra: Any) -> Any:
    """Submit a Bell-pair sampler job (16 shots) as ``user``; its handle."""
    payload = decode_payload("sampler", sampler_text(extra.pop("shots", 16), seed=1))
    return runtime.submit("sampler", device, payload, user=user, **extra)
