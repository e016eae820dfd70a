"""Where statements come from: sqlite3, any DB-API 2 connection, psycopg 3, SQLAlchemy, Django.

:func:`installed_sources` hooks every driver that is already imported for the
duration of a block; statements are recorded only while a log is active (see
:mod:`pytest_prodguard.queries.capture`). Connections made before the block are
covered as follows: psycopg 3, SQLAlchemy and Django always (the hooks sit on the
driver's cursor class, on the ``Engine`` class and on every Django connection);
sqlite3 and other DB-API drivers need :func:`wrap` applied once to the connection.

Each hook spells out ``begin()`` / ``try`` / ``finish()`` rather than sharing a
context manager: a ``with`` block would add a generator and two calls per statement
to a path measured at about 2 us (benchmarks/queries_overhead.py).
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable, Iterator
from contextlib import ExitStack, contextmanager
from time import perf_counter
from typing import Any

from pytest_prodguard.queries.capture import QueryLog, abandon, begin, finish

_UNSET: Any = object()


def _run(
    source: str, cursor: Any, method: Callable[..., Any], sql: Any, params: Any, many: bool
) -> Any:
    """Call ``method(cursor, sql[, params])`` and record it if a log is active."""
    log = begin()
    args = (sql,) if params is _UNSET else (sql, params)
    if log is None:
        return method(cursor, *args)
    start = perf_counter()
    try:
        return method(cursor, *args)
    finally:
        finish(
            log,
            source,
            sql,
            None if params is _UNSET else params,
            start,
            cursor,
            many=many,
            connection=getattr(cursor, "connection", None),
        )


# ---------------------------------------------------------------- sqlite3


class RecordingSqliteCursor(sqlite3.Cursor):
    """A sqlite3 cursor whose statements are recorded while a log is active."""

    def execute(self, sql: str, parameters: Any = _UNSET, /) -> Any:
        """``sqlite3.Cursor.execute``, recorded."""
        return _run("sqlite3", self, sqlite3.Cursor.execute, sql, parameters, False)

    def executemany(self, sql: str, parameters: Any, /) -> Any:
        """``sqlite3.Cursor.executemany``, recorded as one statement."""
        return _run("sqlite3", self, sqlite3.Cursor.executemany, sql, parameters, True)

    def executescript(self, script: str, /) -> Any:
        """``sqlite3.Cursor.executescript``, recorded as one opaque statement (no text)."""
        log = begin()
        if log is None:
            return sqlite3.Cursor.executescript(self, script)
        start = perf_counter()
        try:
            return sqlite3.Cursor.executescript(self, script)
        finally:
            finish(log, "sqlite3", None, None, start, self)


class RecordingSqliteConnection(sqlite3.Connection):
    """A sqlite3 connection (``factory=``) whose cursors record; ``isinstance`` still holds."""

    def cursor(self, factory: Any = RecordingSqliteCursor) -> Any:  # type: ignore[override]
        """A recording cursor unless the caller asks for its own factory."""
        return super().cursor(factory)

    def execute(self, sql: str, parameters: Any = (), /) -> Any:  # type: ignore[override]
        """``Connection.execute`` through a recording cursor (the C one bypasses ``cursor()``)."""
        return self.cursor().execute(sql, parameters)

    def executemany(self, sql: str, parameters: Any, /) -> Any:  # type: ignore[override]
        """``Connection.executemany`` through a recording cursor."""
        return self.cursor().executemany(sql, parameters)

    def executescript(self, script: str, /) -> Any:  # type: ignore[override]
        """``Connection.executescript`` through a recording cursor."""
        return self.cursor().executescript(script)


@contextmanager
def _sqlite_connect_patched() -> Iterator[None]:
    original = sqlite3.connect

    def connect(*args: Any, **kwargs: Any) -> Any:
        if "factory" in kwargs or len(args) > 5:
            return wrap(original(*args, **kwargs), source="sqlite3")
        return original(*args, factory=RecordingSqliteConnection, **kwargs)

    # Both names: SQLAlchemy and Django import ``sqlite3.dbapi2`` and call its ``connect``.
    sqlite3.connect = sqlite3.dbapi2.connect = connect  # type: ignore[assignment]
    try:
        yield
    finally:
        sqlite3.connect = sqlite3.dbapi2.connect = original


# ---------------------------------------------------------------- any DB-API 2 driver


class CursorProxy:
    """A DB-API cursor whose ``execute``/``executemany`` are recorded; the rest passes through."""

    __slots__ = ("_prodguard_cursor", "_prodguard_source", "connection")

    def __init__(self, cursor: Any, source: str, connection: Any) -> None:
        self._prodguard_cursor = cursor
        self._prodguard_source = source
        self.connection = connection

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """The driver's ``execute``, recorded; the proxy stands in for the driver's cursor."""
        return self._call("execute", sql, args, kwargs, many=False)

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """The driver's ``executemany``, recorded as one statement."""
        return self._call("executemany", sql, args, kwargs, many=True)

    def _call(
        self, name: str, sql: Any, args: tuple[Any, ...], kwargs: dict[str, Any], many: bool
    ) -> Any:
        cursor = self._prodguard_cursor
        method = getattr(cursor, name)
        log = begin()
        if log is None:
            result = method(sql, *args, **kwargs)
        else:
            start = perf_counter()
            try:
                result = method(sql, *args, **kwargs)
            finally:
                params = args[0] if args else kwargs.get("parameters", kwargs.get("params"))
                finish(
                    log,
                    self._prodguard_source,
                    sql,
                    params,
                    start,
                    cursor,
                    many=many,
                    connection=self.connection,
                )
        return self if result is cursor else result

    def __getattr__(self, name: str) -> Any:
        return getattr(self._prodguard_cursor, name)

    def __iter__(self) -> Iterator[Any]:
        return iter(self._prodguard_cursor)

    def __enter__(self) -> CursorProxy:
        self._prodguard_cursor.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._prodguard_cursor.__exit__(*exc)


class ConnectionProxy:
    """A DB-API connection whose cursors are :class:`CursorProxy`; made by :func:`wrap`."""

    __slots__ = ("_prodguard_connection", "_prodguard_source")

    def __init__(self, connection: Any, source: str) -> None:
        self._prodguard_connection = connection
        self._prodguard_source = source

    def cursor(self, *args: Any, **kwargs: Any) -> CursorProxy:
        """The driver's cursor, recording."""
        raw = self._prodguard_connection.cursor(*args, **kwargs)
        return CursorProxy(raw, self._prodguard_source, self._prodguard_connection)

    def execute(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """The non-standard ``connection.execute`` shortcut (sqlite3, psycopg), recorded."""
        return self.cursor().execute(sql, *args, **kwargs)

    def executemany(self, sql: Any, *args: Any, **kwargs: Any) -> Any:
        """The non-standard ``connection.executemany`` shortcut, recorded."""
        return self.cursor().executemany(sql, *args, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._prodguard_connection, name)

    def __enter__(self) -> ConnectionProxy:
        self._prodguard_connection.__enter__()
        return self

    def __exit__(self, *exc: object) -> Any:
        return self._prodguard_connection.__exit__(*exc)


def wrap(connection: Any, *, source: str | None = None) -> Any:
    """Record the statements of a DB-API 2 connection made outside the test (one line).

    Statements are recorded only while a test captures queries, so a
    session-scoped connection can be wrapped once. Wrapping a wrapped connection
    returns it unchanged, and a wrapped connection under SQLAlchemy or Django is
    recorded once, by the outermost layer.

    Example::

        @pytest.fixture(scope="session")
        def db():
            return pytest_prodguard.queries.wrap(sqlite3.connect("app.db"))
    """
    __tracebackhide__ = True  # a bad argument is the caller's line, not ours
    if isinstance(connection, (ConnectionProxy, RecordingSqliteConnection)):
        return connection
    if not callable(getattr(connection, "cursor", None)):
        from pytest_prodguard.errors import ProdguardUsageError

        raise ProdguardUsageError(
            "connection", connection, "a DB-API 2 connection (an object with a cursor() method)"
        )
    name = source or type(connection).__module__.split(".", 1)[0]
    return ConnectionProxy(connection, name)


# ---------------------------------------------------------------- psycopg 3


@contextmanager
def _psycopg_patched() -> Iterator[None]:
    psycopg = sys.modules.get("psycopg")
    if psycopg is None:
        yield
        return
    sync_cls, async_cls = psycopg.Cursor, psycopg.AsyncCursor
    originals = {
        (sync_cls, "execute"): sync_cls.__dict__["execute"],
        (sync_cls, "executemany"): sync_cls.__dict__["executemany"],
        (async_cls, "execute"): async_cls.__dict__["execute"],
    }
    sync_cls.execute = _psycopg_sync(originals[sync_cls, "execute"], many=False)
    sync_cls.executemany = _psycopg_sync(originals[sync_cls, "executemany"], many=True)
    async_cls.execute = _psycopg_async(originals[async_cls, "execute"])
    try:
        yield
    finally:
        for (cls, name), method in originals.items():
            setattr(cls, name, method)


def _psycopg_sync(method: Callable[..., Any], *, many: bool) -> Callable[..., Any]:
    def recorded(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        log = begin()
        if log is None:
            return method(self, query, params, **kwargs)
        start = perf_counter()
        try:
            return method(self, query, params, **kwargs)
        finally:
            finish(
                log, "psycopg", query, params, start, self, many=many, connection=self.connection
            )

    recorded.__doc__ = method.__doc__
    return recorded


def _psycopg_async(method: Callable[..., Any]) -> Callable[..., Any]:
    async def recorded(self: Any, query: Any, params: Any = None, **kwargs: Any) -> Any:
        log = begin()
        if log is None:
            return await method(self, query, params, **kwargs)
        start = perf_counter()
        try:
            return await method(self, query, params, **kwargs)
        finally:
            finish(log, "psycopg", query, params, start, self, connection=None)

    recorded.__doc__ = method.__doc__
    return recorded


# ---------------------------------------------------------------- SQLAlchemy 2


@contextmanager
def _sqlalchemy_listening() -> Iterator[None]:
    if "sqlalchemy" not in sys.modules:
        yield
        return
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    # Keyed by the DB-API cursor, so engines used from several threads do not mix.
    pending: dict[int, tuple[QueryLog, float]] = {}

    def before(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        log = begin()
        if log is not None:
            pending[id(cursor)] = (log, perf_counter())

    def after(
        conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, many: bool
    ) -> None:
        entry = pending.pop(id(cursor), None)
        if entry is not None:
            log, start = entry
            source = f"sqlalchemy+{conn.dialect.name}"
            finish(
                log,
                source,
                statement,
                parameters,
                start,
                cursor,
                many=many,
                connection=cursor.connection,
            )

    def failed(context: Any) -> None:
        if pending.pop(id(context.cursor), None) is not None:
            abandon()

    listeners = (
        ("before_cursor_execute", before),
        ("after_cursor_execute", after),
        ("handle_error", failed),
    )
    for name, listener in listeners:
        event.listen(Engine, name, listener)
    try:
        yield
    finally:
        for name, listener in listeners:
            event.remove(Engine, name, listener)


# ---------------------------------------------------------------- Django


@contextmanager
def _django_wrapped() -> Iterator[None]:
    if "django" not in sys.modules:
        yield
        return
    from django.conf import settings  # type: ignore[import-untyped]

    if not settings.configured:
        yield
        return
    from django.db import connections  # type: ignore[import-untyped]

    def wrapper(
        execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
    ) -> Any:
        log = begin()
        if log is None:
            return execute(sql, params, many, context)
        start = perf_counter()
        try:
            return execute(sql, params, many, context)
        finally:
            dbapi = getattr(context["connection"], "connection", None)
            finish(
                log, "django", sql, params, start, context["cursor"], many=many, connection=dbapi
            )

    with ExitStack() as stack:
        for connection in connections.all():
            stack.enter_context(connection.execute_wrapper(wrapper))
        yield


@contextmanager
def installed_sources() -> Iterator[None]:
    """Hook sqlite3.connect and every imported driver/ORM for the block."""
    with ExitStack() as stack:
        stack.enter_context(_sqlite_connect_patched())
        stack.enter_context(_psycopg_patched())
        stack.enter_context(_sqlalchemy_listening())
        stack.enter_context(_django_wrapped())
        yield
