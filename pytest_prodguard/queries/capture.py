"""The statement log and the recording path every database source goes through.

A source (a wrapped connection, a patched driver class, an ORM event) calls
:func:`begin` before the driver runs a statement and :func:`finish` after it.
Only one source records a statement: while one is recording on a thread, the
sources below it (SQLAlchemy on top of a wrapped sqlite3 connection, say) pass
through, so stacking wrappers never double counts.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from time import perf_counter
from types import FrameType

from pytest_prodguard.queries.normalize import normalize_sql

# Frames of these modules are the driver, the ORM or prodguard, not the application.
SKIPPED_MODULES: tuple[str, ...] = (
    "sqlite3.",
    "psycopg.",
    "psycopg_binary.",
    "psycopg_c.",
    "psycopg_pool.",
    "sqlalchemy.",
    "django.",
    "pytest_prodguard.queries.",
    "contextlib.",
)


@dataclass(slots=True, eq=False)
class Statement:
    """One statement the code under test ran.

    ``sql`` is None when the driver was handed something that is not SQL text
    (a script, a composed object that could not be rendered): it still counts,
    but has no normalized form. ``connection`` is the DB-API connection, kept
    only so that a failing PostgreSQL budget can ``EXPLAIN`` the statement.
    """

    sql: str | None
    params: object
    duration: float
    rowcount: int | None
    filename: str
    lineno: int
    source: str
    many: bool = False
    connection: object = None

    @property
    def normalized(self) -> str | None:
        """The statement's shape (see :func:`normalize_sql`)."""
        return None if self.sql is None else normalize_sql(self.sql)


class QueryLog:
    """Every statement captured while this log was active, in order.

    Example::

        def test_listing_is_one_query(queries, client):
            client.get("/parents")
            assert len(queries) == 1
    """

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.paused = False

    def __len__(self) -> int:
        return len(self.statements)

    def __iter__(self) -> Iterator[Statement]:
        return iter(self.statements)

    @property
    def total_time(self) -> float:
        """Seconds spent inside the driver, summed over all statements."""
        return sum(statement.duration for statement in self.statements)

    def sql(self) -> list[str]:
        """The normalized text of each statement, in order (opaque ones as ``<script>``)."""
        return [statement.normalized or "<script>" for statement in self.statements]

    def clear(self) -> None:
        """Forget what was captured so far (e.g. after the arrange step of a test)."""
        self.statements.clear()

    def time_window(self) -> Callable[[], float]:
        """Open a window; the returned function closes it and answers its database seconds.

        The statements run inside the window leave the log: they are a latency
        measurement's repetitions, which time the database but are not what the
        test's query budget is about.
        """
        start = len(self.statements)

        def close() -> float:
            inside = self.statements[start:]
            del self.statements[start:]
            return sum(statement.duration for statement in inside)

        return close

    @contextmanager
    def pausing(self) -> Iterator[None]:
        """Run a block without capturing (setup data, an EXPLAIN)."""
        previous, self.paused = self.paused, True
        try:
            yield
        finally:
            self.paused = previous


_active: QueryLog | None = None
# A context variable, not a thread-local: an asyncio task awaiting its query must not
# stop another task on the same thread from recording.
_busy: ContextVar[bool] = ContextVar("prodguard_query_busy", default=False)


@contextmanager
def recording(log: QueryLog) -> Iterator[QueryLog]:
    """Make ``log`` the log every installed source records into for the block."""
    global _active
    previous, _active = _active, log
    try:
        yield log
    finally:
        _active = previous


def active_log() -> QueryLog | None:
    """The log being recorded into, if any."""
    return _active


def begin() -> QueryLog | None:
    """The log to record the statement about to run into, or None to pass through.

    A non-None answer marks this thread busy until :func:`finish` or :func:`abandon`.
    """
    log = _active
    if log is None or log.paused or _busy.get():
        return None
    _busy.set(True)
    return log


def abandon() -> None:
    """Clear the busy mark without recording (an ORM error event)."""
    _busy.set(False)


def finish(
    log: QueryLog,
    source: str,
    sql: object,
    params: object,
    start: float,
    cursor: object,
    *,
    many: bool = False,
    connection: object = None,
) -> None:
    """Record a statement that started at ``start`` (``perf_counter``) and just returned."""
    duration = perf_counter() - start
    _busy.set(False)
    rowcount = getattr(cursor, "rowcount", -1)
    filename, lineno = call_site()
    log.statements.append(
        Statement(
            sql if isinstance(sql, str) else render_sql(sql, cursor),
            params,
            duration,
            rowcount if isinstance(rowcount, int) and rowcount >= 0 else None,
            filename,
            lineno,
            source,
            many,
            connection,
        )
    )


def render_sql(sql: object, cursor: object) -> str | None:
    """SQL text of a non-string statement (bytes, psycopg's ``sql.Composed``), or None."""
    if isinstance(sql, bytes):
        return sql.decode("utf-8", "replace")
    as_string = getattr(sql, "as_string", None)
    if as_string is not None:
        try:
            text = as_string(cursor)
        except Exception:  # a driver object we cannot render: the statement stays opaque
            return None
        return text if isinstance(text, str) else None
    return None


def call_site() -> tuple[str, int]:
    """File and line of the first frame outside the drivers, ORMs and prodguard."""
    frame: FrameType | None = sys._getframe(2)
    while frame is not None:
        name = frame.f_globals.get("__name__", "")
        if not (name + ".").startswith(SKIPPED_MODULES):
            return frame.f_code.co_filename, frame.f_lineno
        frame = frame.f_back
    return "<unknown>", 0
