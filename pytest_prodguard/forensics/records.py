"""The evidence values every reader yields: log records, read counts, timestamps."""

from __future__ import annotations

import datetime as dt
import functools
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

ERROR_LEVELS = frozenset({"ERROR", "CRITICAL", "FATAL", "ALERT", "EMERGENCY"})
_LEVEL_ALIASES = {"WARN": "WARNING", "ERR": "ERROR", "CRIT": "CRITICAL", "EXCEPTION": "ERROR"}
_KNOWN_LEVELS = frozenset({"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL", "FATAL"})
_FRACTION = re.compile(r"[.,](\d+)")


@dataclass(frozen=True)
class Frame:
    """One traceback frame: the file, line and function it names."""

    path: str
    line: int
    function: str


@dataclass(frozen=True)
class ExceptionInfo:
    """The final exception of a traceback: its type, message and frames (outermost first)."""

    type: str
    message: str
    frames: tuple[Frame, ...] = ()


@dataclass(slots=True)  # not frozen: a frozen __init__ costs ~20% of reading a 1 GB log
class LogRecord:
    """One log record, a multi-line traceback included, with the fields triage uses."""

    source: str
    line: int
    text: str
    time: dt.datetime | None = None
    level: str | None = None
    message: str = ""
    logger: str | None = None
    exception: ExceptionInfo | None = None
    request_id: str | None = None
    trace_id: str | None = None
    span_id: str | None = None
    fields: Mapping[str, Any] = field(default_factory=dict)

    @property
    def is_error(self) -> bool:
        """An error-level record, or any record that carries an exception."""
        return self.exception is not None or (self.level or "") in ERROR_LEVELS


@dataclass
class ReadStats:
    """What a reader saw: records yielded, malformed lines skipped (with a few examples)."""

    source: str
    records: int = 0
    malformed: int = 0
    examples: list[str] = field(default_factory=list)

    def skip(self, line_number: int, why: str) -> None:
        """Count a malformed line; keep the first three reasons for the report."""
        self.malformed += 1
        if len(self.examples) < 3:
            self.examples.append(f"{self.source}:{line_number}: {why}")


def normalize_level(value: object) -> str | None:
    """``warn`` -> ``WARNING``; numbers as in :mod:`logging` (40 -> ``ERROR``)."""
    if isinstance(value, str) and value in _KNOWN_LEVELS:
        return value
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _numeric_level(int(value))
    text = str(value).strip().upper()
    return _LEVEL_ALIASES.get(text, text) or None


def _numeric_level(number: int) -> str:
    for threshold, name in ((50, "CRITICAL"), (40, "ERROR"), (30, "WARNING"), (20, "INFO")):
        if number >= threshold:
            return name
    return "DEBUG"


def parse_time(value: object) -> dt.datetime | None:
    """An ISO 8601 string or epoch number (s, ms, us or ns) as an aware UTC datetime."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, (int, float)):
        return _from_epoch(float(value))
    text = str(value).strip()
    if not text:
        return None
    if _EPOCH.fullmatch(text):
        return _from_epoch(float(text))
    return parse_iso(text)


def _from_epoch(number: float) -> dt.datetime | None:
    for scale in (1.0, 1e3, 1e6, 1e9):
        seconds = number / scale
        if seconds < 4e9:  # before the year 2096: the right unit
            try:
                return dt.datetime.fromtimestamp(seconds, tz=dt.timezone.utc)
            except (OverflowError, OSError, ValueError):
                return None
    return None


_EPOCH = re.compile(r"\d+(\.\d+)?")
_COMMON_ISO = re.compile(r"(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:[.,](\d{1,6})\d*)?Z?")


@functools.lru_cache(maxsize=4096)
def _second_start(prefix: str) -> dt.datetime | None:
    return _slow_iso(prefix + "Z")


def parse_iso(text: str) -> dt.datetime | None:
    """An ISO 8601 timestamp; the common UTC shape takes a cached per-second fast path."""
    common = _COMMON_ISO.fullmatch(text)
    if common is None:
        return _slow_iso(text)
    second = _second_start(common.group(1))
    fraction = common.group(2)
    if second is None or not fraction:
        return second
    return second + _fraction(fraction)


@functools.lru_cache(maxsize=1024)  # millisecond stamps: every fraction a log can hold
def _fraction(digits: str) -> dt.timedelta:
    return dt.timedelta(microseconds=int((digits + "00000")[:6]))


def _slow_iso(text: str) -> dt.datetime | None:
    text = text.replace(" ", "T", 1) if re.match(r"\d{4}-\d{2}-\d{2} ", text) else text
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    # Python 3.10's fromisoformat takes 3 or 6 fraction digits only, and no comma.
    text = _FRACTION.sub(lambda m: "." + (m.group(1) + "000000")[:6], text, count=1)
    try:
        moment = dt.datetime.fromisoformat(text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        return moment.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc)
