"""``EXPLAIN`` plans for the slowest statements of a failing budget (PostgreSQL via psycopg 3).

A statement that may write is never run again: it gets a plain ``EXPLAIN``. A
plain ``SELECT`` gets ``EXPLAIN (ANALYZE, BUFFERS)`` only when its connection is
idle, inside a read-only transaction that is rolled back, so even a function
that writes fails instead of writing. Call this after capture has stopped.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from pytest_prodguard.queries.capture import Statement

EXPLAINED = 3
_WRITES = re.compile(
    r"\b(INSERT|UPDATE|DELETE|MERGE|INTO|FOR\s+(?:NO\s+KEY\s+)?UPDATE|FOR\s+(?:KEY\s+)?SHARE|"
    r"NEXTVAL|SETVAL|LOCK|CREATE|DROP|ALTER|TRUNCATE|COPY|CALL|DO|GRANT|REVOKE|VACUUM)\b",
    re.IGNORECASE,
)
_READS = re.compile(r"^\s*(SELECT|WITH|VALUES|TABLE)\b", re.IGNORECASE)


def is_read_only(sql: str) -> bool:
    """True for a statement that cannot write as far as its text shows (a SELECT, no locks)."""
    return bool(_READS.match(sql)) and not _WRITES.search(sql)


def explain_slowest(
    statements: Sequence[Statement], limit: int = EXPLAINED
) -> list[tuple[str, str]]:
    """``(normalized statement, plan text)`` for the slowest explainable statement shapes."""
    seen: set[str] = set()
    plans: list[tuple[str, str]] = []
    for statement in sorted(statements, key=lambda s: -s.duration):
        shape = statement.normalized
        if len(plans) >= limit:
            break
        if (
            shape is None
            or shape in seen
            or statement.many
            or not _is_psycopg(statement.connection)
        ):
            continue
        seen.add(shape)
        plans.append((shape, _plan(statement)))
    return plans


def _is_psycopg(connection: object) -> bool:
    return type(connection).__module__.startswith("psycopg")


def _plan(statement: Statement) -> str:
    connection = statement.connection
    assert statement.sql is not None
    try:
        if connection.closed:  # type: ignore[attr-defined]
            return "(no plan: the connection was closed by the end of the test)"
        idle = connection.info.transaction_status == 0  # type: ignore[attr-defined]
        if idle:
            analyze = is_read_only(statement.sql)
            with connection.transaction(force_rollback=True):  # type: ignore[attr-defined]
                return _run_explain(connection, statement, analyze=analyze)
        return _run_explain(connection, statement, analyze=False)
    except Exception as exc:  # the plan is extra evidence: never hide the budget's failure
        first_line = (str(exc).strip().splitlines() or [""])[0]
        return f"(no plan: {type(exc).__name__}: {first_line})"


def _run_explain(connection: object, statement: Statement, *, analyze: bool) -> str:
    with connection.cursor() as cursor:  # type: ignore[attr-defined]
        if analyze:
            cursor.execute("SET TRANSACTION READ ONLY")
        prefix = "EXPLAIN (ANALYZE, BUFFERS) " if analyze else "EXPLAIN "
        cursor.execute(prefix + str(statement.sql), statement.params or None)
        return "\n".join(str(row[0]) for row in cursor.fetchall())
