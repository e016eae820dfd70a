"""Query budgets: capture the statements a code path runs, catch N+1 and slow queries.

Plain Python, no pytest: :func:`capturing` records every statement run through
sqlite3, a :func:`wrap`-ped DB-API connection, psycopg 3, SQLAlchemy 2 or Django
into a :class:`QueryLog`; :func:`judge` checks a log against a
:class:`QueryBudget`. The pytest plugin wires both to the ``query_budget``
marker and the ``queries`` fixture. See docs/queries.md.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from pytest_prodguard.queries.budget import SIGNATURE, QueryBudget, parse_budget
from pytest_prodguard.queries.capture import QueryLog, Statement, active_log, recording
from pytest_prodguard.queries.explain import explain_slowest, is_read_only
from pytest_prodguard.queries.normalize import abbreviate, normalize_sql
from pytest_prodguard.queries.sources import installed_sources, wrap
from pytest_prodguard.queries.verdict import QueryVerdict, judge, n_plus_one_message


@contextmanager
def capturing(log: QueryLog | None = None) -> Iterator[QueryLog]:
    """Record every statement run in the block into ``log`` (a new one by default).

    Example::

        with capturing() as log:
            app.list_parents()
        assert len(log) == 1
    """
    with installed_sources(), recording(QueryLog() if log is None else log) as active:
        yield active


__all__ = [
    "SIGNATURE",
    "QueryBudget",
    "QueryLog",
    "QueryVerdict",
    "Statement",
    "abbreviate",
    "active_log",
    "capturing",
    "explain_slowest",
    "installed_sources",
    "is_read_only",
    "judge",
    "n_plus_one_message",
    "normalize_sql",
    "parse_budget",
    "recording",
    "wrap",
]
