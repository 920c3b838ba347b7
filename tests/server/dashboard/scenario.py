"""Work for the dashboard to show, made through the real HTTP API of a running server.

Shared by the browser tests (``test_browser.py``) and ``tools/dashboard_screenshots.py``.
The server runs on a virtual clock: jobs on the emulated QPU stay queued or running until
an administrator moves the clock (:func:`advance`), so a page can be looked at in any
state. The users are those of ``tests/server/conftest.py`` (``alice``, ``bob``; ``root``
is the administrator), each with the token ``tok-<user>``.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/server
from conftest import (  # noqa: E402
    API,
    USERS,
    ServerProcess,
    auth,
    new_store,
    sampler_text,
    token_of,
)

from qsession_provider.core import Circuit, Gate  # noqa: E402
from qsession_provider.core.ir.encoding import dumps  # noqa: E402
from qsession_provider.core.ir.observables import PauliSum  # noqa: E402
from qsession_provider.core.ir.params import Parameter  # noqa: E402
from qsession_provider.core.ir.payload import EstimatorPayload, EstimatorPub  # noqa: E402

__all__ = [
    "QPU",
    "Demo",
    "start_server",
    "client",
    "open_session",
    "submit",
    "advance",
    "demo",
    "token_of",
    "USERS",
    "SUBMITTER",
]

#: The emulated QPU the scenarios use: one slot, modelled time (about 1 s per job).
QPU = "emulated_falcon_27"

#: The background process that submits jobs (``python submitter.py URL TOKEN SESSION N PAUSE``).
SUBMITTER = Path(__file__).with_name("submitter.py")


def start_server(directory: Path) -> ServerProcess:
    """``qsession serve --virtual-clock`` on a new store in ``directory`` (tokens made)."""
    store = new_store(directory / "store.sqlite3")
    return ServerProcess(store, "--virtual-clock").start()


def client(server: ServerProcess, user: str) -> httpx.Client:
    """An API client of ``user``."""
    return httpx.Client(base_url=server.url + API, headers=auth(user), timeout=60.0)


def open_session(api: httpx.Client, **options: Any) -> dict[str, Any]:
    """Open a session on :data:`QPU`; its record."""
    body = {"device": QPU, **options}
    response = api.post("/sessions", json=body)
    response.raise_for_status()
    return dict(response.json()["session"])


def submit(api: httpx.Client, *, payload: str | None = None, **extra: Any) -> dict[str, Any]:
    """Submit a small sampler job (or ``payload``) to :data:`QPU`; its record."""
    body: dict[str, Any] = {"program_id": "sampler", "device": QPU, "payload": sampler_text()}
    if payload is not None:
        body["payload"] = payload
    body.update(extra)
    response = api.post("/jobs", json=body)
    response.raise_for_status()
    return dict(response.json()["job"])


def advance(server: ServerProcess, seconds: float) -> None:
    """Move the server's virtual clock (as the administrator)."""
    with client(server, "root") as admin:
        admin.post("/clock/advance", json={"seconds": seconds}).raise_for_status()


def estimator_text() -> str:
    """An estimator payload: a Bell pair, ``<ZZ>`` and ``<XX>`` at a few angles."""
    circuit = Circuit(
        2, [Gate("ry", (0,), params=(Parameter("theta"),)), Gate("x", (1,), controls=(0,))], {}
    )
    observables = np.array([PauliSum.from_labels({"ZZ": 1.0}), PauliSum.from_labels({"XX": 1.0})])
    values = np.linspace(0.0, np.pi, 4).reshape(4, 1, 1)
    pub = EstimatorPub(circuit, values, observables.reshape(1, 2), precision=0.05)
    return dumps(EstimatorPayload((pub,), seed=7).to_json())


@dataclass
class Demo:
    """What :func:`demo` made: ids by role."""

    session: str = ""
    batch: str = ""
    jobs: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)


def demo(server: ServerProcess) -> Demo:
    """A session with finished, cancelled, running and queued jobs, other users' jobs on
    the same device in between, a batch and an estimator job (for the README pictures)."""
    out = Demo()
    with client(server, "alice") as alice, client(server, "bob") as bob:
        warmup = open_session(alice, name="warm-up")
        submit(alice, session_id=warmup["id"], name="warm-up-0")
        alice.post(f"/sessions/{warmup['id']}/close").raise_for_status()
        dropped = open_session(bob, name="bob-aborted")
        bob.post(f"/sessions/{dropped['id']}/cancel").raise_for_status()
        advance(server, 1.5)
        submit(bob, name="bob-calibration", tags=["calibration"])
        session = open_session(alice, name="vqe-ansatz", interactive_ttl=3)
        out.session = session["id"]
        for k in range(3):
            job = submit(alice, session_id=out.session, name=f"vqe-step-{k}", tags=["vqe"])
            out.jobs.append(job["id"])
        advance(server, 2.5)
        job = submit(
            alice,
            session_id=out.session,
            name="vqe-energy",
            payload=estimator_text(),
            program_id="estimator",
        )
        out.jobs.append(job["id"])
        advance(server, 2.0)
        submit(bob, name="bob-sweep", tags=["sweep"])
        advance(server, 5.0)
        for k in range(3, 6):
            job = submit(alice, session_id=out.session, name=f"vqe-step-{k}", tags=["vqe"])
            out.jobs.append(job["id"])
        advance(server, 1.2)
        alice.post(f"/jobs/{out.jobs[-1]}/cancel").raise_for_status()
        advance(server, 1.5)
        for k in range(6, 9):
            job = submit(alice, session_id=out.session, name=f"vqe-step-{k}", tags=["vqe"])
            out.jobs.append(job["id"])
            out.queued.append(job["id"])
        advance(server, 0.4)
        batch = open_session(alice, name="parameter-scan", mode="batch")
        out.batch = batch["id"]
        for k in range(2):
            submit(alice, session_id=out.batch, name=f"scan-{k}", tags=["scan"])
        closed = open_session(bob, name="bob-readout", interactive_ttl=2)
        submit(bob, session_id=closed["id"], name="readout")
        bob.post(f"/sessions/{closed['id']}/close").raise_for_status()
    return out


#: Debian's Chromium: the only browser the tests use (never a downloaded one).
CHROMIUM = Path("/usr/bin/chromium")
#: How Chromium is started: headless, no sandbox (containers), nothing fetched from outside.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def browser_missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (Python) is not installed"
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    return None


def launch(playwright: Any) -> Any:
    """Headless Chromium from :data:`CHROMIUM`."""
    return playwright.chromium.launch(
        executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
    )


def login(page: Any, server: ServerProcess, user: str, next_path: str = "/sessions") -> None:
    """Log ``user`` in through the form; the page ends on ``next_path``."""
    page.goto(f"{server.url}/login?next={next_path}")
    page.fill("input[name=token]", token_of(user))
    page.click("button[type=submit]")
    page.wait_for_url(f"{server.url}{next_path}*")
