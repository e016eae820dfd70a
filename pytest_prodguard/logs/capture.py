"""Capture every log record at the points every record passes, after the app's formatting.

How, and why there:

* ``logging.Logger.callHandlers`` is where *every* stdlib record that passed
  its logger's level and filters goes to handlers: loggers with
  ``propagate=False``, loggers whose handlers the app swaps during the test,
  and records from any thread. Wrapping it (on the class, for the test's
  duration) captures the record before any handler sees it, and tags the
  record so handlers' output can be tied back to it (copies made by
  ``QueueHandler`` keep the tag).
* ``logging.Handler.format`` is what handlers call to turn a record into text
  with the app's formatter (JSON formatters, structlog's ``ProcessorFormatter``).
  Wrapping it records each application handler's rendered line, after the
  handler's filters ran: what production writes. pytest's own handlers are not
  the application's; when masking is on, their output ("Captured log",
  live logs, ``caplog.text``) is masked here instead.
* structlog: ``BoundLoggerBase._process_event`` runs the configured processor
  chain, the app's own redaction processors included, and returns what goes to
  the wrapped logger. Its output is recorded as the rendered line. Output
  headed for a stdlib logger is left to the stdlib hooks above.
  (``structlog.testing.capture_logs`` instead replaces the processors, so
  context merging and redaction do not run under it.)

Only one capture is active at a time (pytest runs one test per process at a time).
"""

from __future__ import annotations

import contextvars
import logging
import os
import sys
import threading
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from pytest_prodguard.logs.record import CapturedRecord, parse_line

TAG = "_prodguard_capture"
OPENTELEMETRY = "opentelemetry"
_PLAIN_FORMATTER = logging.Formatter()
_PLAIN_RECORD = logging.LogRecord("n", logging.INFO, "p", 1, "m", None, None)
_STANDARD_ATTRS = frozenset(vars(_PLAIN_RECORD)) | {"message", "asctime", "taskName", TAG}
_STRUCTLOG_EXTRAS = frozenset({"_logger", "_name", "_from_structlog", "_record"})
_STRUCTLOG_LEVELS = {
    "debug": "DEBUG",
    "info": "INFO",
    "msg": "INFO",
    "warning": "WARNING",
    "warn": "WARNING",
    "error": "ERROR",
    "err": "ERROR",
    "exception": "ERROR",
    "critical": "CRITICAL",
    "fatal": "CRITICAL",
}

Masker = Callable[[str], str]


class LogCapture:
    """The records logged while the capture runs (``start()`` .. ``stop()``).

    Example::

        capture = LogCapture()
        capture.start()
        try:
            app.handle(request)
        finally:
            capture.stop()
        assert all("request_id" in r.structured() for r in capture.records)
    """

    def __init__(
        self,
        context: Sequence[contextvars.ContextVar[Any] | str] = (),
        *,
        mask_test_output: Masker | None = None,
    ) -> None:
        self.records: list[CapturedRecord] = []
        self.context = tuple(context)
        self.mask_test_output = mask_test_output
        self._lock = threading.Lock()
        self._undo: list[Callable[[], None]] = []
        self._previous: LogCapture | None = None

    # -- reading

    def __iter__(self) -> Iterator[CapturedRecord]:
        return iter(list(self.records))

    def __len__(self) -> int:
        return len(self.records)

    @property
    def lines(self) -> list[str]:
        """Every record's first rendered line."""
        return [record.line for record in self.records]

    def filter(
        self, *, level: str | None = None, logger: str | None = None
    ) -> list[CapturedRecord]:
        """Records at ``level`` or above and/or from ``logger`` (or its children)."""
        threshold = logging.getLevelName(level.upper()) if level else 0
        return [
            r
            for r in self.records
            if r.levelno >= threshold
            and (logger is None or r.logger == logger or r.logger.startswith(logger + "."))
        ]

    def clear(self) -> None:
        """Forget the records captured so far."""
        with self._lock:
            self.records.clear()

    # -- installing

    def start(self) -> None:
        """Install the hooks (idempotent while running)."""
        global _active
        if self._undo:
            return
        self._previous, _active = _active, self
        self._patch(logging.Logger, "callHandlers", _call_handlers)
        self._patch(logging.Handler, "format", _handler_format)
        base = _structlog_base()
        if base is not None:
            self._patch(base, "_process_event", _process_event)

    def stop(self) -> None:
        """Remove the hooks; records logged afterwards are not captured."""
        global _active
        while self._undo:
            self._undo.pop()()
        if _active is self:
            _active = self._previous  # a capture around this one (pytester in a captured test)

    def _patch(self, owner: Any, name: str, make: Callable[[Any], Any]) -> None:
        original = owner.__dict__[name]
        setattr(owner, name, make(original))
        self._undo.append(lambda: setattr(owner, name, original))

    # -- recording

    def add(self, record: CapturedRecord) -> None:
        """Keep ``record``, with the context ids current where it was emitted."""
        record.in_exception = sys.exc_info()[0] is not None
        record.context = self._context_ids()
        with self._lock:
            self.records.append(record)

    def _context_ids(self) -> dict[str, str]:
        ids: dict[str, str] = {}
        for source in self.context:
            if isinstance(source, str):
                trace_id = current_trace_id()
                if trace_id is not None:
                    ids["trace_id"] = trace_id
            else:
                value = source.get(None)
                if value is not None:
                    ids[source.name] = str(value)
        return ids


_active: LogCapture | None = None


def current_trace_id() -> str | None:
    """The active OpenTelemetry span's trace id (32 hex digits), if a span is recording."""
    trace = sys.modules.get("opentelemetry.trace")
    if trace is None:
        return None
    context = trace.get_current_span().get_span_context()
    if not context.is_valid:
        return None
    return format(context.trace_id, "032x")


def _call_handlers(original: Callable[[logging.Logger, logging.LogRecord], None]) -> Any:
    def callHandlers(self: logging.Logger, record: logging.LogRecord) -> None:
        capture = _active
        if capture is not None and getattr(record, TAG, None) is None:
            captured = _from_stdlib(record)
            setattr(record, TAG, captured)
            capture.add(captured)
        original(self, record)

    return callHandlers


def _handler_format(original: Callable[[logging.Handler, logging.LogRecord], str]) -> Any:
    def format(self: logging.Handler, record: logging.LogRecord) -> str:
        text = original(self, record)
        capture = _active
        if capture is None:
            return text
        if _is_test_runner_handler(self):
            return capture.mask_test_output(text) if capture.mask_test_output else text
        captured = getattr(record, TAG, None)
        if isinstance(captured, CapturedRecord) and type(self).__name__ != "QueueHandler":
            captured.lines.append(text)
        return text

    return format


def _is_test_runner_handler(handler: logging.Handler) -> bool:
    """pytest's capture and live-log handlers: not part of the application."""
    return type(handler).__module__.startswith("_pytest.")


def _from_stdlib(record: logging.LogRecord) -> CapturedRecord:
    fields = {k: v for k, v in vars(record).items() if k not in _STANDARD_ATTRS}
    file, lineno = record.pathname, record.lineno
    if isinstance(record.msg, dict):  # structlog's event dict on its way to ProcessorFormatter
        fields = {k: v for k, v in fields.items() if k not in _STRUCTLOG_EXTRAS}
        fields.update(record.msg)
        message = str(record.msg.get("event", ""))
        if file.startswith(_structlog_folder()):
            file, lineno = _caller_outside_logging()
    else:
        try:
            message = record.getMessage()
        except Exception:  # a bad %-format: keep the raw template, logging reports the error
            message = str(record.msg)
    return CapturedRecord(
        level=record.levelname,
        levelno=record.levelno,
        logger=record.name,
        message=message,
        file=file,
        lineno=lineno,
        thread=record.threadName or "",
        fields=fields,
        has_exc_info=bool(record.exc_info) or bool(record.exc_text),
        exception=_traceback_text(record),
    )


def _traceback_text(record: logging.LogRecord) -> str | None:
    if record.exc_info and record.exc_info[0] is not None:
        return _PLAIN_FORMATTER.formatException(record.exc_info)
    return record.exc_text or None


# ---------------------------------------------------------------- structlog


def _structlog_base() -> Any:
    """structlog's ``BoundLoggerBase`` when structlog is installed, else None."""
    try:
        from structlog._base import BoundLoggerBase
    except ImportError:
        return None
    return BoundLoggerBase


def _process_event(original: Callable[..., tuple[Any, Any]]) -> Any:
    def _process_event(self: Any, method_name: str, event: Any, event_kw: Any) -> Any:
        args, kwargs = original(self, method_name, event, event_kw)
        capture = _active
        if capture is not None and not isinstance(getattr(self, "_logger", None), logging.Logger):
            capture.add(_from_structlog(self, method_name, event, event_kw, args, kwargs))
        return args, kwargs

    return _process_event


def _from_structlog(
    bound: Any, method: str, event: Any, event_kw: dict[str, Any], args: Any, kwargs: Any
) -> CapturedRecord:
    output = args[0] if args else kwargs
    line = output.decode("utf-8", "replace") if isinstance(output, bytes) else str(output)
    fields = parse_line(line) or {}
    level = _STRUCTLOG_LEVELS.get(method, method.upper())
    file, lineno = _caller_outside_logging()
    name = fields.get("logger") or fields.get("logger_name")
    return CapturedRecord(
        level=level,
        levelno=logging.getLevelName(level) if isinstance(logging.getLevelName(level), int) else 0,
        logger=str(name or getattr(bound._logger, "name", "structlog")),
        message=str(event),
        file=file,
        lineno=lineno,
        thread=threading.current_thread().name,
        source="structlog",
        fields=fields,
        lines=[line],
        has_exc_info=method == "exception" or bool((event_kw or {}).get("exc_info")),
    )


def _structlog_folder() -> str:
    """structlog's package folder ("?" when it is not imported)."""
    return os.path.dirname(getattr(sys.modules.get("structlog"), "__file__", None) or "?")


def _caller_outside_logging() -> tuple[str, int]:
    """File and line of the first frame outside structlog, logging and this module."""
    skipped = (_structlog_folder(), os.path.dirname(logging.__file__), __file__)
    frame = sys._getframe(2)
    while frame is not None:
        name = frame.f_code.co_filename
        if not name.startswith(skipped):
            return name, frame.f_lineno
        frame = frame.f_back  # type: ignore[assignment]
    return "?", 0
