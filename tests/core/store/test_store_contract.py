"""One store contract (``qsession_provider.testing.STORE_CHECKS``) against every store."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from qsession_provider.core.store.memory import MemoryStore
from qsession_provider.core.store.protocol import Store
from qsession_provider.core.store.sqlite import SQLiteStore
from qsession_provider.testing import STORE_CHECKS, check_store

STORES: dict[str, Callable[[Any], Store]] = {
    "memory": lambda tmp: MemoryStore(),
    "sqlite-file": lambda tmp: SQLiteStore(tmp / "contract.sqlite3"),
    "sqlite-memory": lambda tmp: SQLiteStore(":memory:"),
}
#: A store on an empty database of the test run's PostgreSQL cluster (conftest.py; skips
#: with the reason when PostgreSQL is missing).
POSTGRES = "postgres"


@pytest.fixture(params=[*sorted(STORES), POSTGRES], ids=[*sorted(STORES), POSTGRES])
def store(request: pytest.FixtureRequest, tmp_path: Any) -> Any:
    if request.param == POSTGRES:
        from qsession_provider.core.store.postgres import PostgresStore

        made: Store = PostgresStore(request.getfixturevalue("postgres_url"))
    else:
        made = STORES[request.param](tmp_path)
    yield made
    made.close()


@pytest.mark.parametrize("check", STORE_CHECKS, ids=[c.__name__ for c in STORE_CHECKS])
def test_store_contract(store: Store, check: Callable[[Store], None]) -> None:
    assert isinstance(store, Store)
    check(store)


def test_check_store_runs_every_check_on_fresh_stores(tmp_path: Any) -> None:
    made: list[MemoryStore] = []

    def factory() -> MemoryStore:
        made.append(MemoryStore())
        return made[-1]

    check_store(factory)
    assert len(made) == len(STORE_CHECKS)


def test_check_store_names_the_failing_check() -> None:
    class Forgetful(MemoryStore):
        def get_result(self, job_id: str) -> str | None:
            super().get_result(job_id)
            return None

    with pytest.raises(AssertionError, match="check_job_round_trip"):
        check_store(Forgetful)


def test_a_closed_store_refuses_work(tmp_path: Any) -> None:
    from qsession_provider.errors import StoreError

    for store in (MemoryStore(), SQLiteStore(tmp_path / "x.sqlite3")):
        store.close()
        store.close()
        with pytest.raises(StoreError, match="closed"):
            store.processes()
