"""A throwaway PostgreSQL cluster for the query-budget tests, started once per session.

See ``pytest_prodguard.queries.pgcluster``: initdb in a temp folder, pg_ctl on a
private unix socket, run as the ``postgres`` user when the tests run as root.
Tests that need it skip, with the reason, only where the binaries are absent.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_prodguard.queries.pgcluster import throwaway_cluster, unavailable_reason

PG_DSN_ENV = "PRODGUARD_TEST_PG_DSN"


@pytest.fixture(scope="session")
def postgres_dsn() -> Iterator[str]:
    """A libpq connection string for a fresh cluster (database ``postgres``, trust auth)."""
    reason = unavailable_reason()
    if reason is not None:
        pytest.skip(reason)
    with throwaway_cluster() as dsn:
        yield dsn


@pytest.fixture
def pg_env(postgres_dsn: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The DSN, also exported as $PRODGUARD_TEST_PG_DSN for pytester runs and their workers."""
    monkeypatch.setenv(PG_DSN_ENV, postgres_dsn)
    return postgres_dsn
