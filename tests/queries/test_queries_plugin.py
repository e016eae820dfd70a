"""The query_budget marker and the queries fixture end to end, on SQLite and PostgreSQL."""

from __future__ import annotations

import json

import pytest

from pytest_prodguard.plugin import queries as plugin_queries
from pytest_prodguard.queries import SIGNATURE
from pytest_prodguard.queries.verdict import N_PLUS_ONE_ADVICE

pytest.importorskip("sqlalchemy")

INI = """
[pytest]
pythonpath = .
console_output_style = classic
"""

MODELS = """
from __future__ import annotations

from sqlalchemy import ForeignKey, select
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship, selectinload


class Base(DeclarativeBase):
    pass


class Parent(Base):
    __tablename__ = "parent"
    id: Mapped[int] = mapped_column(primary_key=True)
    children: Mapped[list[Child]] = relationship()


class Child(Base):
    __tablename__ = "child"
    id: Mapped[int] = mapped_column(primary_key=True)
    parent_id: Mapped[int] = mapped_column(ForeignKey("parent.id"))


def child_counts(session):
    return [len(parent.children) for parent in session.scalars(select(Parent))]


def child_counts_in_one_go(session):
    query = select(Parent).options(selectinload(Parent.children))
    return [len(parent.children) for parent in session.scalars(query)]
"""


def _line_of(source: str, start: str) -> int:
    """The line number of ``start`` in a file pytester writes (it strips the leading newline)."""
    lines = source.strip().splitlines()
    return next(number for number, line in enumerate(lines, 1) if line.startswith(start))


LAZY_LOAD_LINE = _line_of(MODELS, "    return [len(parent.children)")

CONFTEST = """
import os

import pytest
from sqlalchemy import create_engine
from sqlalchemy.orm import Session

from app.models import Base, Child, Parent


@pytest.fixture
def session():
    engine = create_engine(os.environ["APP_DB_URL"])
    Base.metadata.drop_all(engine)
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        session.add_all([Parent(id=i, children=[Child(), Child()]) for i in range(10)])
        session.commit()
    with Session(engine) as session:
        yield session
    engine.dispose()
"""

ORM_TESTS = """
import pytest

from app.models import child_counts, child_counts_in_one_go


@pytest.mark.query_budget(max_duplicates=1)
def test_lazy_loading_is_n_plus_one(session):
    assert sum(child_counts(session)) == 20


@pytest.mark.query_budget(max_duplicates=1, max_queries=2)
def test_selectinload_is_two_queries(session):
    assert sum(child_counts_in_one_go(session)) == 20
"""


def _n_plus_one_line(shape: str) -> str:
    return (
        f"*max_duplicates=1: N+1: 10 × SELECT … FROM child WHERE {shape} "
        f"from app/models.py:{LAZY_LOAD_LINE} (issued in a loop); {N_PLUS_ONE_ADVICE}"
    )


def _orm_suite(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(**{"app/__init__": "", "app/models": MODELS})
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(test_orm=ORM_TESTS)


def _sqlalchemy_url(backend: str, request: pytest.FixtureRequest) -> str:
    if backend == "sqlite":
        return "sqlite://"
    dsn: str = request.getfixturevalue("postgres_dsn")
    host = dsn.split("host=")[1].split()[0]
    return f"postgresql+psycopg://postgres@/postgres?host={host}"


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_orm_lazy_load_fails_with_its_call_site_and_selectinload_passes(
    pytester: pytest.Pytester,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
    backend: str,
) -> None:
    monkeypatch.setenv("APP_DB_URL", _sqlalchemy_url(backend, request))
    _orm_suite(pytester)
    # A subprocess: SQLAlchemy imports parts lazily, which an in-process run would unload.
    result = pytester.runpytest_subprocess("-rA", "--prodguard-report", "report.json")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "test_orm.py Q.",
            "*_ test_lazy_loading_is_n_plus_one _*",
            "query budget exceeded (max_duplicates=1): 11 queries, * in the database",
            _n_plus_one_line("? = child.parent_id"),
            f"10 * app/models.py:{LAZY_LOAD_LINE} * "
            "SELECT child.id, child.parent_id FROM child WHERE ? = child.parent_id",
        ]
    )
    result.stdout.fnmatch_lines(["*= prodguard queries =*", "test_orm.py::test_lazy_*: max_dup*"])
    result.stdout.fnmatch_lines(["FAILED test_orm.py::test_lazy_loading_is_n_plus_one - query*"])
    report = json.loads((pytester.path / "report.json").read_text())
    by_test = {test["nodeid"].split("::")[1]: test for test in report["tests"]}
    passed = by_test["test_selectinload_is_two_queries"]["queries"][-1]
    assert passed["status"] == "pass"
    assert passed["count"] == 2
    assert [
        s["count"] for s in by_test["test_lazy_loading_is_n_plus_one"]["queries"][-1]["statements"]
    ] == [1, 10]


def test_the_verdicts_cross_xdist_workers(
    pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch
) -> None:
    pytest.importorskip("xdist")
    monkeypatch.setenv("APP_DB_URL", "sqlite://")
    _orm_suite(pytester)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines([_n_plus_one_line("? = child.parent_id")])
    result.stdout.fnmatch_lines(["*= prodguard queries =*", "test_orm.py::test_lazy_*: max_dup*"])


PSYCOPG_TESTS = """
import os

import psycopg
import pytest


@pytest.fixture(scope="module")
def db():
    with psycopg.connect(os.environ["PRODGUARD_TEST_PG_DSN"], autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS account")
        connection.execute("CREATE TABLE account (id int PRIMARY KEY, owner text)")
        connection.execute("INSERT INTO account SELECT g, 'o' || g FROM generate_series(1, 50) g")
        yield connection


def owners(db, ids):
    return [db.execute("SELECT owner FROM account WHERE id = %s", (i,)).fetchone()[0] for i in ids]


@pytest.mark.query_budget(max_queries=3)
def test_one_query_per_account(db):
    assert len(owners(db, range(1, 6))) == 5


@pytest.mark.query_budget(max_queries=1, per_statement_max_time="5s")
def test_one_query_for_all(db):
    rows = db.execute("SELECT owner FROM account WHERE id = ANY(%s)", (list(range(1, 6)),))
    assert len(rows.fetchall()) == 5
"""

OWNERS_LINE = _line_of(PSYCOPG_TESTS, "    return [db.execute(")


def test_psycopg_raw_queries_fail_with_table_and_explain_plan(
    pytester: pytest.Pytester, pg_env: str
) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_accounts=PSYCOPG_TESTS)
    result = pytester.runpytest()
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            "*_ test_one_query_per_account _*",
            "query budget exceeded (max_queries=3): 5 queries, * in the database",
            "  max_queries=3: 5 queries ran",
            "count*call site*statement",
            f"5 * test_accounts.py:{OWNERS_LINE} * SELECT owner FROM account WHERE id = ?",
            "EXPLAIN SELECT owner FROM account WHERE id = ?",
            "*Index Scan using account_pkey on account*actual time*",
        ]
    )


DJANGO_CONFTEST = """
import django
from django.conf import settings

settings.configure(
    DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}},
    INSTALLED_APPS=[],
)
django.setup()
"""

DJANGO_TESTS = """
import pytest
from django.db import connection


def prices(ids):
    with connection.cursor() as cursor:
        return [cursor.execute("SELECT %s * 2", [i]).fetchone()[0] for i in ids]


@pytest.mark.query_budget(max_duplicates=3)
def test_prices_one_by_one():
    assert prices(range(4)) == [0, 2, 4, 6]


def test_the_fixture_sees_django_statements(queries):
    prices([1])
    assert queries.sql() == ["SELECT ? * ?"]
    assert [s.source for s in queries] == ["django"]
"""

PRICES_LINE = _line_of(DJANGO_TESTS, "        return [cursor.execute(")


def test_django_statements_are_captured_through_its_execute_wrapper(
    pytester: pytest.Pytester,
) -> None:
    pytest.importorskip("django")
    pytester.makeini(INI)
    pytester.makeconftest(DJANGO_CONFTEST)
    pytester.makepyfile(test_django_app=DJANGO_TESTS)
    # A subprocess: Django's settings are configured once per process.
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=1, passed=1)
    result.stdout.fnmatch_lines(
        [
            f"*max_duplicates=3: N+1: 4 × SELECT ? * ? from test_django_app.py:{PRICES_LINE} "
            f"(issued in a loop); {N_PLUS_ONE_ADVICE}"
        ]
    )


NO_QUERY_TESTS = """
import sqlite3

import pytest


@pytest.mark.query_budget(max_queries=5)
def test_runs_no_query():
    pass


@pytest.mark.query_budget(min_queries=1)
def test_must_run_a_query():
    pass


@pytest.mark.query_budget(max_queries=0)
def test_failing_on_its_own():
    sqlite3.connect(":memory:").execute("SELECT 1")
    assert False, "the test's own failure"


def test_fixture_without_a_budget(queries):
    connection = sqlite3.connect(":memory:")
    connection.execute("SELECT 1")
    with queries.pausing():
        connection.execute("SELECT 2")
    assert queries.sql() == ["SELECT ?"] and queries.total_time > 0
"""


def test_a_budget_that_saw_no_query_is_a_note_unless_min_queries(pytester: pytest.Pytester) -> None:
    pytester.makeini(INI)
    pytester.makepyfile(test_quiet=NO_QUERY_TESTS)
    result = pytester.runpytest("-W", "error", "-p", "no:asyncio")
    result.assert_outcomes(passed=2, failed=2)
    result.stdout.fnmatch_lines(
        [
            "*the test's own failure*",
            "*- prodguard queries (budget not judged: the test failed on its own) -*",
            "1 queries, * in the database",
        ]
    )
    result.stdout.no_fnmatch_line("*max_queries=0: 1 queries ran*")
    result.stdout.fnmatch_lines(
        [
            "*= prodguard queries =*",
            "test_quiet.py::test_must_run_a_query: min_queries=1: only 0 queries ran",
            "test_quiet.py::test_runs_no_query: note: no query was captured*wrap()*min_queries=1*",
        ]
    )
    very_quiet = pytester.runpytest("-qq", "-p", "no:asyncio")
    very_quiet.stdout.fnmatch_lines(["test_quiet.py::test_must_run_a_query: min_queries=1: *"])
    very_quiet.stdout.no_fnmatch_line("*no query was captured*")


def test_the_marker_is_registered_with_its_full_signature(pytester: pytest.Pytester) -> None:
    assert plugin_queries.SIGNATURE == SIGNATURE
    result = pytester.runpytest("--markers")
    result.stdout.fnmatch_lines([f"@pytest.mark.{SIGNATURE}: limits on the database statements*"])


def test_a_users_own_queries_record_does_not_upset_the_summary(pytester):
    # record("queries", ...) from user code reaches the report under the same name as a
    # budget's verdict; the summary must read only verdicts (it raised KeyError).
    pytester.makeini(INI)
    pytester.makepyfile(
        """
        from pytest_prodguard import record

        def test_records_its_own_figures():
            record("queries", {"statement": "SELECT 1", "count": 3})
        """
    )
    result = pytester.runpytest("-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
    result.stdout.no_fnmatch_line("*INTERNALERROR*")
    result.stdout.no_fnmatch_line("*prodguard queries*")
