"""Catalogue: ``@pytest.mark.query_budget`` and ``queries.wrap`` under bad input.

Each bad value is a clear error of that test only, naming the test, the field
and the value, with no traceback from prodguard's frames; the other tests of the
run still run, and no file is written or changed.
"""

from __future__ import annotations

import pytest
from catalogue import assert_usage_error

BAD_BUDGETS = """
import sqlite3

import pytest

from pytest_prodguard.queries import wrap


@pytest.mark.query_budget(max_queries=-1)
def test_negative():
    pass


@pytest.mark.query_budget(max_queries=2.5)
def test_not_an_integer():
    pass


@pytest.mark.query_budget(min_queries=True)
def test_a_bool():
    pass


@pytest.mark.query_budget(max_duplicates=0)
def test_zero_duplicates():
    pass


@pytest.mark.query_budget(max_time="soon")
def test_unparseable_time():
    pass


@pytest.mark.query_budget(3)
def test_positional():
    pass


@pytest.mark.query_budget(max_querys=3)
def test_misspelt():
    pass


@pytest.mark.query_budget(max_duplicates=2)
def test_script_has_no_duplicates_to_count():
    sqlite3.connect(":memory:").executescript("SELECT 1; SELECT 2;")


def test_wrapping_a_url():
    wrap("sqlite:///app.db")


@pytest.mark.query_budget(max_queries=5)
class TestStacked:
    @pytest.mark.query_budget(max_queries=1)
    def test_two_budgets(self):
        pass


@pytest.mark.query_budget(max_queries=1)
def test_good_budget_still_runs():
    sqlite3.connect(":memory:").execute("SELECT 1")
"""

MARK = "test_bad_budgets.py::"
BUDGET = ": @pytest.mark.query_budget: "


def test_each_bad_budget_is_its_own_clear_error(project: pytest.Pytester, unchanged) -> None:
    project.makepyfile(test_bad_budgets=BAD_BUDGETS)
    check = unchanged(project.path)
    result = project.runpytest("-p", "no:cacheprovider", "-p", "no:benchmark")
    result.assert_outcomes(errors=8, failed=2, passed=1)
    assert_usage_error(
        result,
        f"{MARK}test_negative{BUDGET}max_queries=-1: a whole number >= 0",
        f"{MARK}test_not_an_integer{BUDGET}max_queries=2.5: a whole number >= 0",
        f"{MARK}test_a_bool{BUDGET}min_queries=True: a whole number >= 0 (an int, not a bool",
        f"{MARK}test_zero_duplicates{BUDGET}max_duplicates=0: a whole number >= 1",
        f"{MARK}test_unparseable_time{BUDGET}max_time='soon': a positive number of seconds",
        f"{MARK}test_positional{BUDGET}args=(3,): keyword arguments only",
        f"{MARK}test_misspelt{BUDGET}max_querys=3: one of the keywords of query_budget(",
        f"{MARK}test_script_has_no_duplicates_to_count{BUDGET}max_duplicates=2: a driver "
        "that passes SQL text, but sqlite3 ran 1 statement(s) without it",
        "connection='sqlite:///app.db': a DB-API 2 connection (an object with a cursor() method)",
        f"{MARK}TestStacked::test_two_budgets: @pytest.mark.query_budget is used 2 times on this "
        "test (query_budget(max_queries=1), query_budget(max_queries=5))",
    )
    check()
