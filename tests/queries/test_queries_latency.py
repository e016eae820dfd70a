"""A latency budget next to a query budget: the database's share of the measured time."""

from __future__ import annotations

import pytest

from pytest_prodguard import timeaccounts
from pytest_prodguard.queries import QueryLog, Statement

BOTH_BUDGETS = """
import sqlite3

import pytest

SUM = (
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 3000) "
    "SELECT sum(x) FROM c"
)


@pytest.fixture
def lookup():
    connection = sqlite3.connect(":memory:")
    connection.execute("CREATE TABLE t (a)")
    return lambda: connection.execute(SUM).fetchone()


@pytest.mark.query_budget(max_queries=1)
@pytest.mark.latency_budget(p95="1s", max_time="0.3s")
def test_within_both_budgets(lookup, latency):
    lookup()
    result = latency(lookup)
    assert result.n > 1
"""


def test_latency_section_says_how_much_time_went_to_the_database(
    pytester: pytest.Pytester,
) -> None:
    pytester.makepyfile(test_both=BOTH_BUDGETS)
    # A generous budget: the verdict passes, or is undecided (a warning) on a loaded machine;
    # either way the section is shown with -rA and the test passes.
    result = pytester.runpytest("--prodguard-profile", "off", "-rA")
    result.assert_outcomes(passed=1)
    # The repetitions latency() ran count towards the database's share, not the query budget.
    result.stdout.fnmatch_lines(["*time in the database: *% of the measured time (* of *)"])
    result.stdout.no_fnmatch_line("*max_queries=1: * queries ran*")


def test_accounting_collects_each_registered_account() -> None:
    log = QueryLog()
    log.statements.append(Statement("SELECT 1", (), 0.5, None, "a.py", 1, "sqlite3"))
    with timeaccounts.registered("database", log.time_window), timeaccounts.accounting() as spent:
        log.statements.append(Statement("SELECT 2", (), 0.25, None, "a.py", 2, "sqlite3"))
    assert spent == {"database": 0.25}
    assert log.sql() == ["SELECT ?"]
    assert timeaccounts.share_lines(spent, 1.0) == [
        "time in the database: 25% of the measured time (250 ms of 1 s)"
    ]
    with timeaccounts.accounting() as nothing:
        pass
    assert nothing == {}
