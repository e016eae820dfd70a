"""Capture overhead per statement of query budgets, on SQLite and PostgreSQL.

For each driver, rounds interleave the same statement run through a bare
connection and through the capturing path; the overhead is the median over
rounds of the paired per-statement difference. SQLite variants: the C cursor
(bare), the recording connection with no capture active (what tests without a
budget pay once hooked), the recording connection while capturing (what a
budgeted test pays), and a ``wrap()``-ped connection while capturing.
PostgreSQL: psycopg 3 over a unix socket to a throwaway cluster, bare vs
capturing (class-level patch of ``psycopg.Cursor.execute``).

    python benchmarks/queries_overhead.py [--rounds 15] [--statements 2000]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import time
from collections.abc import Callable

from pytest_prodguard.queries import QueryLog, capturing, wrap
from pytest_prodguard.queries.pgcluster import throwaway_cluster, unavailable_reason
from pytest_prodguard.queries.sources import RecordingSqliteConnection

SQLITE_QUERY = "SELECT a FROM t WHERE id = ?"


def per_statement(run: Callable[[int], None], statements: int) -> float:
    """Seconds per statement of ``run(statements)``."""
    start = time.perf_counter()
    run(statements)
    return (time.perf_counter() - start) / statements


def sqlite_runner(connection: object) -> Callable[[int], None]:
    """Run the lookup ``n`` times on ``connection``."""

    def run(n: int) -> None:
        execute = connection.execute  # type: ignore[attr-defined]
        for i in range(n):
            execute(SQLITE_QUERY, (i % 100,)).fetchone()

    return run


def sqlite_connection(factory: type[sqlite3.Connection] = sqlite3.Connection) -> sqlite3.Connection:
    """An in-memory database with a 100-row table."""
    connection = sqlite3.connect(":memory:", factory=factory)
    connection.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, a TEXT)")
    connection.executemany("INSERT INTO t VALUES (?, ?)", [(i, f"v{i}") for i in range(100)])
    return connection


def measure_sqlite(rounds: int, statements: int) -> dict[str, list[float]]:
    """Per-statement seconds of each SQLite variant, one value per round."""
    bare = sqlite_runner(sqlite_connection())
    recording = sqlite_runner(sqlite_connection(RecordingSqliteConnection))
    wrapped = sqlite_runner(wrap(sqlite_connection()))
    times: dict[str, list[float]] = {
        "bare": [],
        "hooked, not capturing": [],
        "capturing": [],
        "wrap(), capturing": [],
    }
    for _ in range(rounds):
        times["bare"].append(per_statement(bare, statements))
        times["hooked, not capturing"].append(per_statement(recording, statements))
        with capturing(QueryLog()):
            times["capturing"].append(per_statement(recording, statements))
            times["wrap(), capturing"].append(per_statement(wrapped, statements))
    return times


def measure_postgres(rounds: int, statements: int) -> dict[str, list[float]]:
    """Per-statement seconds of psycopg bare vs capturing, one value per round."""
    import psycopg

    times: dict[str, list[float]] = {"bare": [], "capturing": []}
    with throwaway_cluster() as dsn, psycopg.connect(dsn, autocommit=True) as connection:

        def run(n: int) -> None:
            cursor = connection.cursor()
            for i in range(n):
                cursor.execute("SELECT %s::int + 1", (i,))
                cursor.fetchone()

        run(statements)  # warm up the server and the connection
        for _ in range(rounds):
            times["bare"].append(per_statement(run, statements))
            with capturing(QueryLog()):
                times["capturing"].append(per_statement(run, statements))
    return times


def print_table(title: str, times: dict[str, list[float]]) -> None:
    """Median per statement of each variant and its paired overhead over ``bare``."""
    print(f"\n{title}")
    print("| variant | median per statement | overhead vs bare (median of paired rounds) |")
    print("| --- | --- | --- |")
    bare = times["bare"]
    for name, values in times.items():
        overhead = statistics.median(v - b for v, b in zip(values, bare, strict=True))
        shown = "—" if name == "bare" else f"{overhead * 1e6:+.2f} us"
        print(f"| {name} | {statistics.median(values) * 1e6:.2f} us | {shown} |")


def main() -> None:
    """Parse arguments, run both drivers, print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--statements", type=int, default=2000)
    args = parser.parse_args()
    print_table(
        f"SQLite in memory, {args.statements} statements x {args.rounds} rounds",
        measure_sqlite(args.rounds, args.statements),
    )
    reason = unavailable_reason()
    if reason is not None:
        print(f"\nPostgreSQL skipped: {reason}")
        return
    pg_statements = max(args.statements // 4, 1)
    print_table(
        f"PostgreSQL (psycopg 3, unix socket), {pg_statements} statements x {args.rounds} rounds",
        measure_postgres(args.rounds, pg_statements),
    )


if __name__ == "__main__":
    main()
