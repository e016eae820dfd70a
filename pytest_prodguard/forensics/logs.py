"""Log readers: plain text with whole Python tracebacks, and JSON lines.

JSON lines cover the stdlib-style JSON formatters, python-json-logger and structlog
(``event`` as the message, string or dict tracebacks); the field names for time,
level, message, logger, exception and request/trace ids are the common spellings,
OpenTelemetry's ``trace_id``/``span_id`` and the older ``otelTraceID`` included.
Every reader streams: memory is bounded by the longest record, not by the file.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

from pytest_prodguard.forensics.records import (
    ExceptionInfo,
    Frame,
    LogRecord,
    ReadStats,
    normalize_level,
    parse_time,
)
from pytest_prodguard.forensics.sources import numbered_lines

TIME_KEYS = ("timestamp", "time", "@timestamp", "asctime", "ts", "datetime", "created", "t")
LEVEL_KEYS = ("level", "levelname", "severity", "log.level", "lvl", "severity_text")
MESSAGE_KEYS = ("message", "msg", "event", "@message", "body")
LOGGER_KEYS = ("logger", "name", "logger_name", "log.logger")
EXCEPTION_KEYS = ("exception", "exc_info", "exc_text", "stack_trace", "traceback", "error.stack")
REQUEST_KEYS = ("request_id", "requestId", "x_request_id", "correlation_id", "req_id")
TRACE_KEYS = ("trace_id", "traceId", "otelTraceID", "trace.id", "dd.trace_id")
SPAN_KEYS = ("span_id", "spanId", "otelSpanID", "span.id", "dd.span_id")
#: Context fields a text format appends to every message; kept out of the message text.
CONTEXT_KEYS = frozenset(
    (
        *REQUEST_KEYS,
        *TRACE_KEYS,
        *SPAN_KEYS,
        "route",
        "endpoint",
        "path",
        "user",
        "user_id",
        "host",
        "hostname",
        "version",
        "service",
        "env",
    )
)
_CORE_KEYS = frozenset(
    (*TIME_KEYS, *LEVEL_KEYS, *MESSAGE_KEYS, *LOGGER_KEYS, *EXCEPTION_KEYS, "exc_type")
)

#: Continuation lines beyond this many are dropped (and counted) so one runaway record
#: cannot hold the whole file in memory.
MAX_RECORD_LINES = 2000

_LEVEL_WORD = r"DEBUG|INFO|WARN(?:ING)?|ERROR|CRITICAL|FATAL|TRACE|NOTICE|EXCEPTION"
_TIMESTAMP = r"\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(?:[.,]\d+)?(?:Z|[+-]\d{2}:?\d{2})?"
_TEXT_HEADER = re.compile(
    rf"^\[?(?P<time>{_TIMESTAMP})\]?\s+(?:\[?(?P<level>{_LEVEL_WORD})\]?\s*[:-]?\s*)?"
    r"(?P<rest>.*)$"
)
_BASIC_HEADER = re.compile(rf"^(?P<level>{_LEVEL_WORD}):(?P<logger>[\w.]+):(?P<rest>.*)$")
_LOGGER_PREFIX = re.compile(r"^(?:\[(?P<bracket>[\w.\-]+)\]|(?P<plain>[\w.]+)(?::| -))\s+")
_KEY_VALUE = re.compile(r"\b(?P<key>[\w.]+)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;]+)")
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")


def read_logs(paths: Iterable[Path], stats: list[ReadStats] | None = None) -> Iterator[LogRecord]:
    """Stream the records of every log, in file order; ``stats`` receives one per file."""
    for path in paths:
        file_stats = ReadStats(source=str(path))
        if stats is not None:
            stats.append(file_stats)
        yield from read_log(path, file_stats)


def read_log(path: Path, stats: ReadStats | None = None) -> Iterator[LogRecord]:
    """Stream one log's records; each line is JSON or text, detected line by line."""
    stats = stats if stats is not None else ReadStats(source=str(path))
    pending: list[str] = []
    start = 0
    for number, line in numbered_lines(path, "log"):
        if line.lstrip().startswith("{"):
            if pending:
                yield _finish(_text_record(str(path), start, pending), stats)
                pending = []
            record = _json_record(str(path), number, line, stats)
            if record is not None:
                yield _finish(record, stats)
        elif _is_header(line):
            if pending:
                yield _finish(_text_record(str(path), start, pending), stats)
            pending, start = [line], number
        elif pending:
            if len(pending) < MAX_RECORD_LINES:
                pending.append(line)
            else:
                stats.skip(number, "record longer than the line limit")
        elif line.strip():
            stats.skip(number, "text outside any record (no timestamp or level header)")
    if pending:
        yield _finish(_text_record(str(path), start, pending), stats)


def _finish(record: LogRecord, stats: ReadStats) -> LogRecord:
    stats.records += 1
    return record


def _is_header(line: str) -> bool:
    return bool(_TEXT_HEADER.match(line) or _BASIC_HEADER.match(line))


def _text_record(source: str, line_number: int, lines: list[str]) -> LogRecord:
    head = lines[0]
    match = _TEXT_HEADER.match(head)
    logger: str | None = None
    if match:
        time, level, rest = parse_time(match["time"]), match["level"], match["rest"]
        prefix = _LOGGER_PREFIX.match(rest)
        if prefix:
            logger = prefix["bracket"] or prefix["plain"]
            rest = rest[prefix.end() :]
    else:
        basic = _BASIC_HEADER.match(head)
        assert basic is not None  # _is_header chose this line
        time, level, logger, rest = None, basic["level"], basic["logger"], basic["rest"]
    fields = {m["key"]: m["value"].strip("\"'") for m in _KEY_VALUE.finditer(rest)}
    rest = _without_context(rest)
    return LogRecord(
        source=source,
        line=line_number,
        text="\n".join(lines),
        time=time,
        level=normalize_level(level),
        message=rest.strip(),
        logger=logger,
        exception=parse_traceback(lines[1:]),
        request_id=_first(fields, REQUEST_KEYS),
        trace_id=_first(fields, TRACE_KEYS),
        span_id=_first(fields, SPAN_KEYS),
        fields=fields,
    )


def _without_context(message: str) -> str:
    """The message without the trailing ``request_id=... host=...`` context pairs."""
    pairs = list(_KEY_VALUE.finditer(message))
    end = len(message.rstrip())
    for pair in reversed(pairs):
        if pair.end() != end or pair["key"] not in CONTEXT_KEYS:
            break
        end = len(message[: pair.start()].rstrip())
    return message[:end]


def parse_traceback(lines: Iterable[str]) -> ExceptionInfo | None:
    """The last exception of a Python traceback (chained ones: the final one raised)."""
    frames: list[Frame] = []
    found: ExceptionInfo | None = None
    in_traceback = False
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            frames, in_traceback = [], True
            continue
        if not in_traceback:
            continue
        frame = _FRAME.match(line)
        if frame:
            frames.append(Frame(frame["path"], int(frame["line"]), (frame["func"] or "").strip()))
            continue
        if line[:1].isspace() or not line.strip():
            continue
        exception = _EXCEPTION_LINE.match(line.strip())
        if exception:
            found = ExceptionInfo(exception["type"], exception["message"] or "", tuple(frames))
        in_traceback = False
    return found


def _json_record(source: str, number: int, line: str, stats: ReadStats) -> LogRecord | None:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        stats.skip(number, f"invalid JSON ({getattr(exc, 'msg', exc)})")
        return None
    if not isinstance(data, dict):
        stats.skip(number, f"a JSON {type(data).__name__}, not an object")
        return None
    flat = _flatten(data)
    message = _first(flat, MESSAGE_KEYS) or ""
    return LogRecord(
        source=source,
        line=number,
        text=line,
        time=parse_time(_first_value(flat, TIME_KEYS)),
        level=normalize_level(_first_value(flat, LEVEL_KEYS)),
        message=message,
        logger=_first(flat, LOGGER_KEYS),
        exception=_json_exception(flat),
        request_id=_first(flat, REQUEST_KEYS),
        trace_id=_first(flat, TRACE_KEYS),
        span_id=_first(flat, SPAN_KEYS),
        fields={key: value for key, value in flat.items() if key not in _CORE_KEYS},
    )


def _flatten(data: Mapping[str, Any]) -> dict[str, Any]:
    """Top-level keys plus one level of nesting as ``outer.inner`` (``log.level``)."""
    flat = dict(data)
    for key, value in data.items():
        if isinstance(value, dict) and key not in EXCEPTION_KEYS:
            for inner, inner_value in value.items():
                flat.setdefault(f"{key}.{inner}", inner_value)
    return flat


def _json_exception(flat: Mapping[str, Any]) -> ExceptionInfo | None:
    for key in EXCEPTION_KEYS:
        value = flat.get(key)
        if isinstance(value, str) and value.strip():
            parsed = parse_traceback(value.splitlines())
            if parsed:
                return parsed
        if isinstance(value, list) and value and isinstance(value[-1], dict):
            return _structlog_exception(value[-1])
    exc_type = flat.get("exc_type") or flat.get("error.type")
    if isinstance(exc_type, str) and exc_type:
        message = flat.get("exc_value") or flat.get("error.message") or ""
        return ExceptionInfo(exc_type, str(message))
    return None


def _structlog_exception(data: Mapping[str, Any]) -> ExceptionInfo | None:
    """structlog's ``dict_tracebacks``: the last chained exception, frames as dicts."""
    exc_type = data.get("exc_type")
    if not isinstance(exc_type, str):
        return None
    frames = tuple(
        Frame(str(f.get("filename", "?")), _int(f.get("lineno")), str(f.get("name", "?")))
        for f in data.get("frames", [])
        if isinstance(f, dict)
    )
    return ExceptionInfo(exc_type, str(data.get("exc_value", "")), frames)


def _int(value: object) -> int:
    return value if isinstance(value, int) and not isinstance(value, bool) else 0


def _first_value(data: Mapping[str, Any], keys: tuple[str, ...]) -> Any:
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return None


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first_value(data, keys)
    return None if value is None or isinstance(value, (dict, list)) else str(value)
