"""Plans, usage limits and reservations over HTTP: the routes, who may use them, and the
remote client's methods (in process, on a manual virtual clock)."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("starlette")
pytest.importorskip("httpx")

from qsession_provider.client.remote import connect  # noqa: E402
from qsession_provider.core.clock import VirtualClock  # noqa: E402
from qsession_provider.core.plans import InstancePlan, Reservation  # noqa: E402
from qsession_provider.core.runtime import Runtime  # noqa: E402
from qsession_provider.core.store import MemoryStore  # noqa: E402
from qsession_provider.errors import (  # noqa: E402
    ForbiddenError,
    InputError,
    PlanError,
    UsageLimitError,
)
from qsession_provider.plugins.builtin import falcon_27_device  # noqa: E402

from .conftest import add_tokens, token_of  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from remote_fixtures import in_process_app  # noqa: E402

URL = "http://testserver"
FALCON = "emulated_falcon_27"


@pytest.fixture
def runtime() -> Iterator[Runtime]:
    store = MemoryStore()
    add_tokens(store)  # alice: inst-a, bob: inst-b, root: admin of ops
    rt = Runtime(
        store=store,
        clock=VirtualClock(start=0, auto_advance=False),
        devices=[falcon_27_device()],
    )
    yield rt
    rt.shutdown(wait=False, cancel_pending=True)


@pytest.fixture
def app(runtime: Runtime) -> Iterator[Any]:
    with in_process_app(runtime) as client:
        yield client


def _as(app: Any, user: str) -> Any:
    return connect(URL, token_of(user), client=app)


def test_an_admin_sets_plans_and_users_read_their_own_usage(runtime: Runtime, app: Any) -> None:
    root, alice = _as(app, "root"), _as(app, "alice")
    root.set_plan("inst-a", InstancePlan("open", usage_limit="1m"))
    assert runtime.plan("inst-a") == InstancePlan("open", usage_limit=60)
    usage = alice.usage("inst-a")
    assert usage["plan"] == "open" and usage["usage_limit_seconds"] == 60.0
    assert not usage["usage_limit_reached"]
    with pytest.raises(ForbiddenError, match="not 'inst-b'"):
        alice.usage("inst-b")
    with pytest.raises(ForbiddenError):
        alice.set_plan("inst-a", InstancePlan())  # only administrators
    with pytest.raises(PlanError, match="Open Plan"):  # the plan applies to remote sessions
        alice.open_session(FALCON, instance="inst-a")
    with pytest.raises(InputError, match="plan must be one of"):
        root._http.request("PUT", "/instances/inst-a/plan", body={"plan": "gold"})


def test_a_usage_limit_refuses_remote_submissions(runtime: Runtime, app: Any) -> None:
    runtime.set_plan("inst-a", InstancePlan(usage_limit=0))
    with pytest.raises(UsageLimitError, match="met its usage limit"):
        _as(app, "alice").submit("sampler", FALCON, _bell())
    assert _as(app, "bob").submit("sampler", FALCON, _bell())  # another instance runs


def test_reservations_are_made_by_admins_and_listed_per_instance(
    runtime: Runtime, app: Any
) -> None:
    root, alice, bob = _as(app, "root"), _as(app, "alice"), _as(app, "bob")
    root.reserve(Reservation(FALCON, "inst-a", start=100, end=200))
    assert runtime.reservations() == [Reservation(FALCON, "inst-a", 100.0, 200.0)]
    assert alice.reservations() == [Reservation(FALCON, "inst-a", 100.0, 200.0)]
    assert bob.reservations() == []
    with pytest.raises(ForbiddenError):
        alice.reserve(Reservation(FALCON, "inst-a", start=300, end=400))
    with pytest.raises(InputError, match="overlaps"):
        root.reserve(Reservation(FALCON, "inst-b", start=150, end=250))
    with pytest.raises(InputError, match="missing field 'end'"):
        root._http.request(
            "POST", "/reservations", body={"device": FALCON, "instance": "x", "start": 1}
        )


def _bell() -> Any:
    from qsession_provider.core.ir.payload import SamplerPayload, SamplerPub

    from .conftest import bell

    return SamplerPayload((SamplerPub(bell(), None, 16),), seed=1)
