"""One captured log record, as the application's handlers and renderers wrote it."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from typing import Any

_LOGFMT = re.compile(r"""(?<![^\s,{(])([A-Za-z_][\w.-]*)=("(?:[^"\\]|\\.)*"|'[^']*'|[^\s,]+)""")


@dataclass
class CapturedRecord:
    """A log record: what was logged and what the application's handlers rendered.

    ``lines`` holds each rendered output (one per application handler, or the
    structlog renderer's output), after the application's own filters,
    processors and formatters: what production would write. ``fields`` are the
    record's structured fields (stdlib ``extra=`` attributes, and the keys of a
    rendered JSON or ``key=value`` line). ``exception`` is the formatted
    traceback a stdlib record carries (``exc_info``). ``context`` holds the
    request/trace ids that were current where the record was emitted.
    """

    level: str
    levelno: int
    logger: str
    message: str
    file: str
    lineno: int
    thread: str
    source: str = "logging"
    fields: dict[str, Any] = field(default_factory=dict)
    lines: list[str] = field(default_factory=list)
    has_exc_info: bool = False
    exception: str | None = None
    in_exception: bool = False
    context: dict[str, str] = field(default_factory=dict)

    @property
    def line(self) -> str:
        """The first rendered line, or the bare message when no application handler ran."""
        return self.lines[0] if self.lines else self.message

    @property
    def where(self) -> str:
        """``file:line`` of the logging call, relative to the working folder when inside it."""
        path = self.file
        try:
            relative = os.path.relpath(path)
        except ValueError:  # another drive on Windows
            relative = path
        if not relative.startswith(".."):
            path = relative
        return f"{path}:{self.lineno}"

    def structured(self) -> dict[str, Any]:
        """``fields`` plus the keys of every rendered JSON object or ``key=value`` line."""
        merged = dict(self.fields)
        for line in self.lines:
            merged.update(parse_line(line) or {})
        return merged


def parse_json_object(line: str) -> dict[str, Any] | None:
    """``line`` parsed as one JSON object, or None."""
    text = line.strip()
    if not text.startswith("{"):
        return None
    try:
        value = json.loads(text)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def parse_line(line: str) -> dict[str, Any] | None:
    """The fields of a rendered line: a JSON object, else its ``key=value`` pairs."""
    parsed = parse_json_object(line)
    if parsed is not None:
        return parsed
    pairs = {key: value.strip("\"'") for key, value in _LOGFMT.findall(line)}
    return pairs or None
