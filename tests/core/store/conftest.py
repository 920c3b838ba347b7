"""Fixtures of the store tests: a PostgreSQL cluster for the run, an empty database per test.

Both skip, saying why, where PostgreSQL or psycopg is missing (see ``tests/postgres_fixtures.py``).
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
from postgres_fixtures import Cluster, cluster, stop_cluster  # noqa: E402


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[Cluster]:
    """The throwaway PostgreSQL cluster of this test run."""
    yield cluster()
    stop_cluster()


@pytest.fixture
def postgres_url(postgres_cluster: Cluster) -> Iterator[str]:
    """The URL of a new, empty database (dropped after the test)."""
    url = postgres_cluster.new_database()
    yield url
    postgres_cluster.drop_database(url)
