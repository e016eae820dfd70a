"""Query budgets in pytest: the ``queries`` fixture and the ``query_budget`` marker.

Capture runs only during the test's call phase, so fixtures that load data do
not count; the drivers are hooked for the whole protocol (setup to teardown) so
that sqlite3 connections made by function-scoped fixtures are recorded too.
Judging, the table and the EXPLAIN plans come from ``pytest_prodguard.queries``;
this module turns the verdict into a :class:`~pytest_prodguard.results.GuardResult`
that the outcome concern applies to the call report (letter ``Q``). The per-test
hooks are registered only once a collected test has a budget or asks for ``queries``.
"""

from __future__ import annotations

import json
from collections.abc import Generator
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    add_result,
    closest_marker,
    need,
    on_demand,
    register_plugin,
    reject,
)

if TYPE_CHECKING:
    from pytest_prodguard.queries import QueryBudget, QueryLog
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

# Repeated from pytest_prodguard.queries.budget.SIGNATURE (a test keeps them equal) so
# that loading the plugin does not import the queries package.
SIGNATURE = (
    "query_budget(*, max_queries=None, max_duplicates=None, max_time=None, "
    "per_statement_max_time=None, min_queries=None)"
)
MARKER_LINE = (
    f"{SIGNATURE}: limits on the database statements the test body runs (sqlite3, psycopg 3, "
    "SQLAlchemy 2, Django, or a connection wrapped with pytest_prodguard.queries.wrap). "
    "max_duplicates=K fails a statement issued more than K times from one call site (N+1); "
    "times as seconds or strings ('50ms'). Fails with a table of the statements."
)
TEST_HOOKS = "prodguard-queries-tests"

budget_key = pytest.StashKey["QueryBudget"]()
log_key = pytest.StashKey["QueryLog"]()


def register(config: pytest.Config, settings: Settings) -> None:
    """The query-budget concern runs in every process (workers capture)."""
    config.addinivalue_line("markers", MARKER_LINE)
    register_plugin(config, QueryBudgetPlugin(config), "prodguard-queries")
    on_demand(
        config, TEST_HOOKS, lambda: register_plugin(config, QueryBudgetChecks(config), TEST_HOOKS)
    )


class QueryBudgetPlugin:
    """Evaluates ``query_budget`` markers and provides the ``queries`` fixture."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    @pytest.fixture
    def queries(self, request: pytest.FixtureRequest) -> QueryLog:
        """The statements the test body runs, captured (a ``QueryLog``).

        Example::

            def test_listing_is_one_query(queries, db):
                list_parents(db)
                assert len(queries) == 1, queries.sql()
        """
        return _log_of(request.node)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Validate every ``query_budget`` marker once (a bad one errors its test at setup)."""
        if any("queries" in getattr(item, "fixturenames", ()) for item in items):
            need(self.config, TEST_HOOKS)
        for item in items:
            marker = closest_marker(item, "query_budget")
            if marker is None:
                continue
            need(self.config, TEST_HOOKS)
            from pytest_prodguard.queries import parse_budget

            try:
                item.stash[budget_key] = parse_budget(marker.args, marker.kwargs)
            except ProdguardUsageError as exc:
                reject(item, "query_budget", exc)


class QueryBudgetChecks:
    """Captures, judges and summarises the budgets (registered once a test needs it)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.broken: list[str] = []
        self.notes: list[str] = []

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_protocol(self, item: pytest.Item) -> Generator[None, object, object]:
        """Hook the database drivers around the whole protocol of tests that capture."""
        if not _captures(item):
            return (yield)
        from pytest_prodguard.queries import installed_sources

        with installed_sources():
            return (yield)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Record during the test body, then judge the budget (a passed body only)."""
        if not _captures(item):
            return (yield)
        from pytest_prodguard import timeaccounts
        from pytest_prodguard.queries import recording

        log = _log_of(item)
        budget = item.stash.get(budget_key, None)
        with recording(log), timeaccounts.registered("database", log.time_window):
            try:
                result = yield
            except BaseException:
                if budget is not None:
                    self._show_unjudged(item, budget)
                raise
        if budget is not None:
            add_result(item, self._judge(item, budget))
        return result

    def _judge(self, item: pytest.Item, budget: QueryBudget) -> GuardResult:
        from pytest_prodguard.queries import explain_slowest, judge
        from pytest_prodguard.results import GuardResult

        statements = _log_of(item).statements
        try:
            verdict = judge(budget, statements, str(self.config.rootpath))
        except ProdguardUsageError as exc:
            return GuardResult("usage", "fail", f"{item.nodeid}: @pytest.mark.query_budget: {exc}")
        if verdict.failed:
            verdict.plans = explain_slowest(statements)
        return verdict.result()

    def _show_unjudged(self, item: pytest.Item, budget: QueryBudget) -> None:
        """A test that failed on its own keeps its statement table as evidence, unjudged."""
        from pytest_prodguard.queries import judge

        try:
            verdict = judge(budget, _log_of(item).statements, str(self.config.rootpath))
        except ProdguardUsageError:
            return
        add_result(item, verdict.unjudged_result())

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        """Keep each budget's failures and notes for the summary (controller side under xdist)."""
        if report.when != "call":
            return
        for name, value in report.user_properties:
            if name == "prodguard.queries" and isinstance(value, str):
                # record("queries", ...) from user code lands under the same name: only
                # a budget's verdict carries violations and notes.
                record = json.loads(value)
                if not isinstance(record, dict):
                    continue
                violations = record.get("violations", ())
                notes = record.get("notes", ())
                self.broken += [f"{report.nodeid}: {rule}" for rule in violations]
                self.notes += [f"{report.nodeid}: note: {note}" for note in notes]

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        """The "prodguard queries" section: broken rules and notes, one line each.

        Verbosity as in the report concern: ``-qq`` keeps only what changed the exit
        status (the broken rules), so the notes go.
        """
        lines = self.broken + (self.notes if self.config.getoption("verbose") > -2 else [])
        if not lines:
            return
        from pytest_prodguard.queries.verdict import SECTION_TITLE

        terminalreporter.write_sep("=", SECTION_TITLE)
        for line in lines:
            terminalreporter.write_line(line)


def _captures(item: pytest.Item) -> bool:
    return budget_key in item.stash or "queries" in getattr(item, "fixturenames", ())


def _log_of(item: pytest.Item) -> QueryLog:
    log = item.stash.get(log_key, None)
    if log is None:
        from pytest_prodguard.queries import QueryLog

        log = item.stash[log_key] = QueryLog()
    return log
