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
    ERROR_LEVELS,
    ExceptionInfo,
    Frame,
    LogRecord,
    ReadStats,
    normalize_level,
    parse_iso,
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
_TRAILING_CONTEXT = re.compile(
    r"(?:\s+(?:" + "|".join(re.escape(key) for key in sorted(CONTEXT_KEYS)) + r")=\S*)+\s*$"
)
_ID_ROLE = {
    key: (slot, rank)
    for slot, keys in enumerate((REQUEST_KEYS, TRACE_KEYS, SPAN_KEYS))
    for rank, key in enumerate(keys)
}
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
_LEVEL_HEADER = re.compile(rf"^\[?(?P<level>{_LEVEL_WORD})\]?(?:\s+|:\s*)(?P<rest>.*)$")
_LOGGER_PREFIX = re.compile(r"^(?:\[(?P<bracket>[\w.\-]+)\]|(?P<plain>[\w.]+)(?::| -))\s+")
_KEY_VALUE = re.compile(r"(?<![\w.])(?P<key>[\w.]+)=(?P<value>\"[^\"]*\"|'[^']*'|[^\s,;]+)")
_PLAIN_PAIR = re.compile(r"(?<!\S)([\w.]+)=([^\s,;]*)")
_FRAME = re.compile(r'^\s+File "(?P<path>[^"]+)", line (?P<line>\d+)(?:, in (?P<func>.+))?$')
_EXCEPTION_LINE = re.compile(r"^(?P<type>[A-Za-z_][\w.]*)(?::\s?(?P<message>.*))?$")


def read_logs(
    paths: Iterable[Path],
    stats: list[ReadStats] | None = None,
    *,
    field: str = "log",
    light: bool = False,
) -> Iterator[LogRecord]:
    """Stream the records of every log, in file order; ``stats`` receives one per file.

    ``field`` names the input in errors (``--from-log`` for the command that takes it);
    ``light`` as in :func:`read_log`.
    """
    for path in paths:
        file_stats = ReadStats(source=str(path))
        if stats is not None:
            stats.append(file_stats)
        yield from read_log(path, file_stats, field=field, light=light)


def read_log(
    path: Path, stats: ReadStats | None = None, *, field: str = "log", light: bool = False
) -> Iterator[LogRecord]:
    """Stream one log's records; each line is JSON or text, detected line by line.

    With ``light``, records below error level without an exception (one-line text
    records, JSON ones) come with their time, level and fields only (no message,
    logger or ids): all triage needs of them, at a fraction of the cost on a large log.
    """
    stats = stats if stats is not None else ReadStats(source=str(path))
    source = str(path)
    pending: list[str] = []
    header: re.Match[str] | None = None
    start = 0
    for number, line in numbered_lines(path, field):
        if line[:1] == "{" or (line[:1].isspace() and line.lstrip()[:1] == "{"):
            if header is not None:
                stats.records += 1
                yield _text_record(source, start, pending, header, light)
                header = None
            record = _json_record(source, number, line, stats, light)
            if record is not None:
                stats.records += 1
                yield record
            continue
        match = _TEXT_HEADER.match(line) or _BASIC_HEADER.match(line) or _LEVEL_HEADER.match(line)
        if match is not None:
            if header is not None:
                stats.records += 1
                yield _text_record(source, start, pending, header, light)
            pending, start, header = [line], number, match
        elif header is not None:
            if len(pending) < MAX_RECORD_LINES:
                pending.append(line)
            else:
                stats.skip(number, "record longer than the line limit")
        elif line.strip():
            stats.skip(number, "text outside any record (no timestamp or level header)")
    if header is not None:
        stats.records += 1
        yield _text_record(source, start, pending, header, light)


def _text_record(
    source: str, line_number: int, lines: list[str], header: re.Match[str], light: bool = False
) -> LogRecord:
    rest, level_word = header.group("rest", "level")
    time = parse_iso(header["time"]) if header.re is _TEXT_HEADER else None
    level = normalize_level(level_word)
    if light and len(lines) == 1 and level not in ERROR_LEVELS:
        # A logger prefix ("api:", "[api]") holds no key=value pair: no need to cut it off.
        return LogRecord(source, line_number, lines[0], time, level, fields=_fields(rest))
    logger = header["logger"] if header.re is _BASIC_HEADER else None
    if logger is None:
        prefix = _LOGGER_PREFIX.match(rest)
        if prefix:
            logger = prefix["bracket"] or prefix["plain"]
            rest = rest[prefix.end() :]
    fields, message = key_values(rest)
    request_id, trace_id, span_id = _ids(fields)
    return LogRecord(
        source=source,
        line=line_number,
        text=lines[0] if len(lines) == 1 else "\n".join(lines),
        time=time,
        level=level,
        message=message,
        logger=logger,
        exception=parse_traceback(lines[1:]) if len(lines) > 1 else None,
        request_id=request_id,
        trace_id=trace_id,
        span_id=span_id,
        fields=fields,
    )


def key_values(text: str) -> tuple[dict[str, str], str]:
    """``key=value`` pairs of a text message, and the message without its trailing context.

    Messages without quotes take a split-based fast path; quoted values
    (``msg="a b"``) need the regular expression.
    """
    if "=" not in text:
        return {}, text.strip()
    if '"' in text or "'" in text:
        pairs = list(_KEY_VALUE.finditer(text))
        return _quoted_fields(pairs), _without_context(text, pairs)
    trailing = _TRAILING_CONTEXT.search(text)
    message = text[: trailing.start()] if trailing else text
    return dict(_PLAIN_PAIR.findall(text)), message.strip()


def _fields(text: str) -> dict[str, str]:
    """The fields :func:`key_values` finds, without working out the message."""
    if "=" not in text:
        return {}
    if '"' in text or "'" in text:
        return _quoted_fields(_KEY_VALUE.finditer(text))
    return dict(_PLAIN_PAIR.findall(text))


def _quoted_fields(pairs: Iterable[re.Match[str]]) -> dict[str, str]:
    return {m["key"]: m["value"].strip("\"'") for m in pairs}


def _without_context(message: str, pairs: list[re.Match[str]]) -> str:
    """The message without the trailing ``request_id=... host=...`` context pairs."""
    message = message.rstrip()
    cut = len(message)
    for pair in reversed(pairs):
        gap = message[pair.end() : cut]
        if pair["key"] not in CONTEXT_KEYS or (gap and not gap.isspace()):
            break
        cut = pair.start()
    return message[:cut].rstrip()


def _ids(fields: Mapping[str, Any]) -> tuple[str | None, str | None, str | None]:
    """Request, trace and span id from the fields (earlier key spellings win)."""
    found: list[str | None] = [None, None, None]
    ranks = [99, 99, 99]
    for key in fields.keys() & _ID_ROLE.keys():
        value = fields[key]
        if value in (None, "") or isinstance(value, (dict, list)):
            continue
        slot, rank = _ID_ROLE[key]
        if rank < ranks[slot]:
            found[slot], ranks[slot] = str(value), rank
    return found[0], found[1], found[2]


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


def _json_record(
    source: str, number: int, line: str, stats: ReadStats, light: bool = False
) -> LogRecord | None:
    try:
        data = json.loads(line)
    except (json.JSONDecodeError, RecursionError) as exc:
        stats.skip(number, f"invalid JSON ({getattr(exc, 'msg', exc)})")
        return None
    if not isinstance(data, dict):
        stats.skip(number, f"a JSON {type(data).__name__}, not an object")
        return None
    flat = _flatten(data)
    time = parse_time(_first_value(flat, TIME_KEYS))
    level = normalize_level(_first_value(flat, LEVEL_KEYS))
    exception = _json_exception(flat)
    # A structured value under a message-like key ("body": {...}) is a payload: keep it.
    fields = {
        key: value
        for key, value in flat.items()
        if key not in _CORE_KEYS or isinstance(value, (dict, list))
    }
    if light and exception is None and level not in ERROR_LEVELS:
        return LogRecord(source, number, line, time, level, fields=fields)
    request_id, trace_id, span_id = _ids(flat)
    return LogRecord(
        source=source,
        line=number,
        text=line,
        time=time,
        level=level,
        message=_first(flat, MESSAGE_KEYS) or "",
        logger=_first(flat, LOGGER_KEYS),
        exception=exception,
        request_id=request_id,
        trace_id=trace_id,
        span_id=span_id,
        fields=fields,
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
    if not data:
        return None
    for key in keys:
        value = data.get(key)
        if value not in (None, ""):
            return value
    return None


def _first(data: Mapping[str, Any], keys: tuple[str, ...]) -> str | None:
    value = _first_value(data, keys)
    return None if value is None or isinstance(value, (dict, list)) else str(value)
