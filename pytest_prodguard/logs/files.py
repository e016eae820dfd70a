"""Read a log file (JSON lines or plain text) into records the contract can check."""

from __future__ import annotations

import logging
from pathlib import Path

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.logs.record import CapturedRecord, parse_line

_LEVEL_KEYS = ("level", "levelname", "severity", "log.level")
_LOGGER_KEYS = ("logger", "name", "logger_name", "log.logger")
_MESSAGE_KEYS = ("message", "msg", "event")
_LEVEL_WORDS = ("CRITICAL", "ERROR", "WARNING", "WARN", "INFO", "DEBUG")


def records_from_file(path: Path) -> list[CapturedRecord]:
    """One record per line; indented lines and ``Traceback`` blocks join the record above."""
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ProdguardUsageError("file", str(path), f"a readable log file ({exc})") from None
    records: list[CapturedRecord] = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        if records and _continues(line):
            records[-1].lines[0] += "\n" + line
            records[-1].has_exc_info = True
            continue
        records.append(record_from_line(line, str(path), lineno))
    return records


def _continues(line: str) -> bool:
    return line[:1].isspace() or line.startswith(("Traceback (most recent call last)", "During "))


def record_from_line(line: str, file: str, lineno: int) -> CapturedRecord:
    """A record for one rendered line, with the level, logger and message it names."""
    fields = parse_line(line) or {}
    level = _first(fields, _LEVEL_KEYS) or _level_word(line) or "INFO"
    level = "WARNING" if level.upper() == "WARN" else level.upper()
    levelno = logging.getLevelName(level)
    return CapturedRecord(
        level=level,
        levelno=levelno if isinstance(levelno, int) else logging.INFO,
        logger=_first(fields, _LOGGER_KEYS) or "?",
        message=_first(fields, _MESSAGE_KEYS) or line,
        file=file,
        lineno=lineno,
        thread="",
        source="file",
        fields=fields,
        lines=[line],
        has_exc_info=any(k in fields for k in ("exc_info", "exception", "stack_trace")),
    )


def _first(fields: dict[str, object], keys: tuple[str, ...]) -> str | None:
    for key in keys:
        value = fields.get(key)
        if isinstance(value, str) and value:
            return value
    return None


def _level_word(line: str) -> str | None:
    head = line[:80].upper()
    return next((word for word in _LEVEL_WORDS if word in head.split()), None)
