"""A latency budget next to a query budget: the database's share of the measured time."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from pytest_prodguard import timeaccounts
from pytest_prodguard.queries import QueryLog, Statement
from pytest_prodguard.results import GuardResult

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


class _StubProfiler:
    """Stands in for the failure profiler: one "where the time went" section."""

    def profile(self, thunk: object, baseline: object = None) -> GuardResult:
        return GuardResult("profile", "pass", sections=(("where the time went", "hot frames"),))

    def save_baseline(self, thunk: object, path: object) -> str | None:
        return None


def test_where_the_time_went_opens_with_the_database_share(tmp_path: Path) -> None:
    from pytest_prodguard.latency import parse_latency_spec
    from pytest_prodguard.latency.gate import TestGate
    from pytest_prodguard.settings import build_settings

    settings = build_settings(tmp_path, {}, {})
    spec = parse_latency_spec({"p95": "1ns", "max_time": "0.2s"})  # every call is over budget
    gate = TestGate("t.py::test", spec, settings, profiler=_StubProfiler())

    def database_account() -> Callable[[], float]:
        return lambda: 0.001

    with timeaccounts.registered("database", database_account):
        gate.measure(sum, (range(100),), {})
    result = gate.result()
    assert result.status == "fail"
    sections = dict(result.sections)
    assert sections["where the time went"].startswith("time in the database: ")
    assert sections["where the time went"].endswith("\nhot frames")
    assert "time in the database: " in sections["prodguard latency"]
    [call] = dict(result.records)["latency"]
    assert call["accounts"] == {"database": 0.001}
