"""The queries package without pytest: normalizing, budgets, verdicts, capture on real SQLite."""

from __future__ import annotations

import sqlite3

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.queries import (
    QueryBudget,
    QueryLog,
    Statement,
    abbreviate,
    capturing,
    is_read_only,
    judge,
    normalize_sql,
    parse_budget,
    wrap,
)

HERE = __file__


@pytest.mark.parametrize(
    ("sql", "expected"),
    [
        ("SELECT * FROM t WHERE id = 7", "SELECT * FROM t WHERE id = ?"),
        ("select a from t where name = 'O''Brien'", "select a from t where name = ?"),
        ("SELECT * FROM t WHERE id IN (1, 2, 3)", "SELECT * FROM t WHERE id IN (...)"),
        ("SELECT * FROM t WHERE id in (%s,%s)", "SELECT * FROM t WHERE id IN (...)"),
        ("SELECT * FROM t WHERE a = %(a)s AND b = :b", "SELECT * FROM t WHERE a = ? AND b = ?"),
        (
            "SELECT * FROM t WHERE a = $1 AND b::text = $2",
            "SELECT * FROM t WHERE a = ? AND b::text = ?",
        ),
        ("INSERT INTO t VALUES (?, ?), (?, ?), (?, ?)", "INSERT INTO t VALUES (?, ?), ..."),
        ("SELECT t1.x  FROM\n t1 ;", "SELECT t1.x FROM t1"),
        ("SELECT -1.5e3, col2 FROM t", "SELECT ?, col2 FROM t"),
        (
            "SELECT a FROM t WHERE a IN (%(p_1)s::INTEGER, %(p_2)s::INTEGER)",
            "SELECT a FROM t WHERE a IN (...)",
        ),
        ("SELECT a FROM t WHERE %(x)s::VARCHAR[] = b", "SELECT a FROM t WHERE ? = b"),
    ],
)
def test_normalized_form_replaces_values_and_collapses_lists(sql: str, expected: str) -> None:
    assert normalize_sql(sql) == expected


def test_abbreviation_hides_the_select_list_and_cuts_long_text() -> None:
    assert abbreviate("SELECT a, b FROM child WHERE x = ?") == "SELECT … FROM child WHERE x = ?"
    assert abbreviate("UPDATE t SET a = ?") == "UPDATE t SET a = ?"
    long = "DELETE FROM t WHERE " + " AND ".join(f"c{i} = ?" for i in range(50))
    assert len(abbreviate(long)) == 120
    assert abbreviate(long).endswith("…")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"max_queries": -1}, "max_queries"),
        ({"max_queries": 2.5}, "max_queries"),
        ({"max_queries": True}, "max_queries"),
        ({"min_queries": "3"}, "min_queries"),
        ({"max_duplicates": 0}, "max_duplicates"),
        ({"max_time": "fast"}, "max_time"),
        ({"per_statement_max_time": -0.1}, "per_statement_max_time"),
        ({"max_querys": 3}, "max_querys"),
        ({}, "query_budget"),
        ({"min_queries": 5, "max_queries": 2}, "min_queries"),
    ],
)
def test_bad_budget_names_field_and_value(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ProdguardUsageError) as caught:
        parse_budget((), kwargs)
    assert caught.value.field == field
    assert f"{field}=" in str(caught.value)


def test_positional_budget_arguments_are_refused() -> None:
    with pytest.raises(ProdguardUsageError, match="keyword arguments only"):
        parse_budget((5,), {})


def test_budget_parses_durations_with_the_shared_units() -> None:
    budget = parse_budget((), {"max_time": "50ms", "per_statement_max_time": "200us"})
    assert budget == QueryBudget(max_time=0.05, per_statement_max_time=pytest.approx(0.0002))
    assert budget.describe() == "max_time=50 ms, per_statement_max_time=200 us"


def _statement(
    sql: str | None, duration: float = 0.001, line: int = 10, **extra: object
) -> Statement:
    return Statement(sql, (), duration, None, "/app/models.py", line, "sqlite3", **extra)  # type: ignore[arg-type]


def test_n_plus_one_is_reported_with_the_call_site_in_the_issue_style() -> None:
    statements = [_statement("SELECT id FROM parent")]
    statements += [
        _statement(f"SELECT id, name FROM child WHERE parent_id = {i}", line=42) for i in range(10)
    ]
    verdict = judge(QueryBudget(max_duplicates=1), statements, "/app")
    assert verdict.violations == [
        "max_duplicates=1: N+1: 10 × SELECT … FROM child WHERE parent_id = ? from models.py:42 "
        "(issued in a loop); load them in one query (a join or an IN list, e.g. selectinload)"
    ]
    table = verdict.table().splitlines()
    assert table[0].split() == ["count", "total", "slowest", "call", "site", "statement"]
    assert table[1].split()[:1] == ["10"]
    assert "models.py:42" in table[1]


def test_repeats_from_different_call_sites_are_duplicates_not_n_plus_one() -> None:
    statements = [_statement("SELECT * FROM config", line=line) for line in (1, 2, 3)]
    [rule] = judge(QueryBudget(max_duplicates=2), statements, "/app").violations
    assert rule.startswith("max_duplicates=2: 3 × SELECT … FROM config from 3 call sites")


def test_count_and_time_rules() -> None:
    statements = [_statement("SELECT 1", 0.004), _statement("SELECT 2", 0.03, line=11)]
    budget = QueryBudget(max_queries=1, max_time=0.02, per_statement_max_time=0.01)
    verdict = judge(budget, statements, "/app")
    assert verdict.violations == [
        "max_queries=1: 2 queries ran",
        "max_time=20 ms: the statements took 34 ms in the database",
        "per_statement_max_time=10 ms: 1 statement(s) took longer; slowest 30 ms: SELECT ? "
        "from models.py:11",
    ]
    assert verdict.to_dict()["status"] == "fail"
    assert not judge(QueryBudget(max_queries=2, max_time=0.05), statements, "/app").failed


def test_no_query_is_a_note_unless_min_queries_says_otherwise() -> None:
    verdict = judge(QueryBudget(max_queries=3), [], "/app")
    assert not verdict.failed
    assert "no query was captured" in verdict.notes[0]
    strict = judge(QueryBudget(min_queries=1), [], "/app")
    assert strict.violations == ["min_queries=1: only 0 queries ran"]
    assert not strict.notes


def test_max_duplicates_without_sql_text_is_a_usage_error() -> None:
    statements = [_statement(None), _statement("SELECT 1")]
    with pytest.raises(ProdguardUsageError) as caught:
        judge(QueryBudget(max_duplicates=2), statements, "/app")
    assert caught.value.field == "max_duplicates"
    assert "without it" in caught.value.accepted
    assert judge(QueryBudget(max_queries=1), statements, "/app").violations


@pytest.mark.parametrize(
    ("sql", "read_only"),
    [
        ("SELECT * FROM t", True),
        ("WITH x AS (SELECT 1) SELECT * FROM x", True),
        ("SELECT * FROM t FOR UPDATE", False),
        ("SELECT nextval('s')", False),
        ("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d", False),
        ("INSERT INTO t VALUES (1)", False),
        ("SELECT * INTO t2 FROM t", False),
    ],
)
def test_only_plain_reads_may_be_analyzed(sql: str, read_only: bool) -> None:
    assert is_read_only(sql) is read_only


def test_sqlite_connections_made_inside_are_captured_with_rows_and_call_site() -> None:
    with capturing() as log:
        connection = sqlite3.connect(":memory:")
        connection.execute("CREATE TABLE t (a INTEGER)")
        connection.executemany("INSERT INTO t VALUES (?)", [(1,), (2,), (3,)])
        cursor = connection.cursor()
        cursor.execute("SELECT a FROM t WHERE a > ?", (1,))
        assert cursor.fetchall() == [(2,), (3,)]
        connection.executescript("UPDATE t SET a = a + 1; DELETE FROM t WHERE a > 3;")
    assert isinstance(connection, sqlite3.Connection)
    assert log.sql() == [
        "CREATE TABLE t (a INTEGER)",
        "INSERT INTO t VALUES (?)",
        "SELECT a FROM t WHERE a > ?",
        "<script>",
    ]
    insert = log.statements[1]
    assert insert.many
    assert insert.rowcount == 3
    assert insert.params == [(1,), (2,), (3,)]
    assert all(s.filename == HERE and s.duration > 0 for s in log)
    assert sqlite3.connect is not None
    assert not isinstance(sqlite3.connect(":memory:"), type(connection))


def test_a_connection_made_before_is_captured_once_wrapped_and_wrapping_twice_counts_once() -> None:
    raw = sqlite3.connect(":memory:")
    wrapped = wrap(raw)
    assert wrap(wrapped) is wrapped
    wrapped.execute("CREATE TABLE t (a)")  # outside a capture: not recorded
    with capturing() as log:
        wrap(wrapped).execute("INSERT INTO t VALUES (1)")
        cursor = wrapped.cursor()
        assert cursor.execute("SELECT a FROM t").fetchall() == [(1,)]
        assert [row for row in cursor.execute("SELECT a FROM t")] == [(1,)]
        with log.pausing():
            raw.execute("SELECT 1")
            wrapped.execute("SELECT 2")
    assert log.sql() == ["INSERT INTO t VALUES (?)", "SELECT a FROM t", "SELECT a FROM t"]
    assert {s.source for s in log} == {"sqlite3"}


def test_wrap_refuses_what_is_not_a_connection() -> None:
    with pytest.raises(ProdguardUsageError) as caught:
        wrap("sqlite:///app.db")
    assert caught.value.field == "connection"


def test_sqlalchemy_on_a_wrapped_sqlite_connection_counts_each_statement_once() -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine("sqlite://", creator=lambda: wrap(sqlite3.connect(":memory:")))
    with engine.connect() as connection:
        connection.execute(text("SELECT 1"))  # first connect's own statements happen here
        log = QueryLog()
        with capturing(log):
            connection.execute(text("SELECT :x"), {"x": 5})
    assert log.sql() == ["SELECT ?"]
    assert log.statements[0].source == "sqlalchemy+sqlite"
    assert log.statements[0].filename == HERE


def test_nothing_is_recorded_or_patched_outside_a_capture() -> None:
    original = sqlite3.connect
    with capturing() as log:
        assert sqlite3.connect is not original
        assert sqlite3.dbapi2.connect is sqlite3.connect
    assert sqlite3.connect is original
    assert sqlite3.dbapi2.connect is original
    sqlite3.connect(":memory:").execute("SELECT 1")
    assert len(log) == 0
