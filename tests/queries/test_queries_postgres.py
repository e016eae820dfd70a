"""Capture and EXPLAIN on a real PostgreSQL (the session's throwaway cluster)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from pytest_prodguard.queries import capturing, explain_slowest

psycopg = pytest.importorskip("psycopg")
HERE = __file__


@pytest.fixture
def pg(postgres_dsn: str) -> Iterator[object]:
    """A connection with a fresh ``item`` table (10 rows)."""
    with psycopg.connect(postgres_dsn, autocommit=True) as connection:
        connection.execute("DROP TABLE IF EXISTS item")
        connection.execute("CREATE TABLE item (id int PRIMARY KEY, name text)")
        connection.execute("INSERT INTO item SELECT g, 'n' || g FROM generate_series(1, 10) g")
        yield connection


def test_psycopg_statements_on_a_connection_made_before_are_captured(pg: object) -> None:
    from psycopg import sql

    with capturing() as log:
        cursor = pg.cursor()  # type: ignore[attr-defined]
        cursor.execute("SELECT name FROM item WHERE id = %s", (3,))
        assert cursor.fetchone() == ("n3",)
        cursor.executemany("UPDATE item SET name = %s WHERE id = %s", [("a", 1), ("b", 2)])
        pg.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier("item")))  # type: ignore[attr-defined]
    assert log.sql() == [
        "SELECT name FROM item WHERE id = ?",
        "UPDATE item SET name = ? WHERE id = ?",
        'SELECT count(*) FROM "item"',
    ]
    assert [s.rowcount for s in log] == [1, 2, 1]
    assert {s.source for s in log} == {"psycopg"}
    assert all(s.filename == HERE for s in log)


def test_sqlalchemy_on_psycopg_counts_each_statement_once(postgres_dsn: str, pg: object) -> None:
    from sqlalchemy import create_engine, text

    host = postgres_dsn.split("host=")[1].split()[0]
    engine = create_engine(f"postgresql+psycopg://postgres@/postgres?host={host}")
    with engine.connect() as connection, capturing() as log:
        connection.execute(text("SELECT name FROM item WHERE id = :id"), {"id": 4})
    engine.dispose()
    assert log.sql() == ["SELECT name FROM item WHERE id = ?"]
    assert log.statements[0].source == "sqlalchemy+postgresql"


def test_the_slowest_read_gets_an_analyzed_plan_and_a_write_is_never_run_again(pg: object) -> None:
    with capturing() as log:
        pg.execute("SELECT * FROM item WHERE name = %s", ("n5",))  # type: ignore[attr-defined]
        pg.execute("INSERT INTO item VALUES (%s, %s)", (11, "new"))  # type: ignore[attr-defined]
    log.statements[1].duration = 1.0  # the write is the slowest: explained first
    plans = dict(explain_slowest(log.statements))
    write_plan = plans["INSERT INTO item VALUES (?, ?)"]
    read_plan = plans["SELECT * FROM item WHERE name = ?"]
    assert "Insert on item" in write_plan
    assert "actual time" not in write_plan
    assert "Seq Scan on item" in read_plan
    assert "actual time" in read_plan
    assert pg.execute("SELECT count(*) FROM item").fetchone() == (11,)  # type: ignore[attr-defined]


def test_inside_an_open_transaction_plans_are_not_analyzed(postgres_dsn: str) -> None:
    with psycopg.connect(postgres_dsn) as connection:  # not autocommit: a transaction stays open
        with capturing() as log:
            connection.execute("SELECT 1 AS one")
        [(_, plan)] = explain_slowest(log.statements)
        assert "Result" in plan
        assert "actual time" not in plan
        with pytest.raises(psycopg.errors.DivisionByZero):
            connection.execute("SELECT 1/0")
        [(_, failed)] = explain_slowest(log.statements)
        assert failed.startswith("(no plan: InFailedSqlTransaction")
    [(_, closed)] = explain_slowest(log.statements)
    assert closed == "(no plan: the connection was closed by the end of the test)"


def test_async_psycopg_statements_are_captured_per_task(postgres_dsn: str) -> None:
    import asyncio

    async def lookups() -> None:
        async with await psycopg.AsyncConnection.connect(postgres_dsn) as connection:

            async def one(i: int) -> None:
                async with connection.cursor() as cursor:
                    await cursor.execute("SELECT %s::int", (i,))

            # Two tasks awaiting at once: one waiting on its query must not hide the other's.
            await asyncio.gather(one(1), one(2))

    with capturing() as log:
        asyncio.run(lookups())
    assert log.sql() == ["SELECT ?", "SELECT ?"]
    assert {s.source for s in log} == {"psycopg"}


def test_a_wrapped_psycopg_connection_counts_each_statement_once(pg: object) -> None:
    from pytest_prodguard.queries import wrap

    wrapped = wrap(pg)  # the DB-API wrapper over a driver that is also hooked at class level
    with capturing() as log:
        with wrapped.cursor() as cursor:
            cursor.execute("SELECT name FROM item WHERE id = %s", (2,))
            assert cursor.fetchone() == ("n2",)
        wrapped.execute("SELECT 1")
    assert log.sql() == ["SELECT name FROM item WHERE id = ?", "SELECT ?"]
    assert [s.rowcount for s in log] == [1, 1]
    assert all(s.filename == HERE for s in log)
