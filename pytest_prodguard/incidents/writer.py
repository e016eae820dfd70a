"""The safe registry writer: appends one incident to ``incidents.toml``, validated first.

Everything is checked before anything is written: each value is rendered as TOML
the registry reader accepts (any Unicode text, emoji and control characters
included), the date must be a real ``YYYY-MM-DD`` day, the id must be a plain
name (it becomes a folder), and the whole new file text is parsed by the
registry reader. Only then are the artifacts and the registry written, each
atomically; the registry keeps its comments, layout and file mode. A failure
at any step leaves the registry byte-for-byte as it was.
"""

from __future__ import annotations

import datetime as dt
import math
import re
import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.incidents.registry import (
    Incident,
    Registry,
    RegistryError,
    parse_registry,
    read_registry_text,
)

ID_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,99}")
ID_ACCEPTED = (
    "letters, digits, '.', '_' and '-', starting with a letter or digit, "
    "at most 100 characters (such as INC-2025-001)"
)
DATE_ACCEPTED = "a calendar date written YYYY-MM-DD (such as 2025-03-14)"
ARTIFACT_NAME_ACCEPTED = "a plain file name (letters, digits, '.', '_', '-'), no folders"

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+")
_DATE_FORM = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
#: TOML's short escapes; every other control character is written as \\uXXXX.
_SHORT_ESCAPES = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}

TomlScalar = str | int | float | bool | dt.date
TomlValue = TomlScalar | Sequence[TomlScalar]


def validate_incident_id(value: str, *, field: str = "id") -> str:
    """Return ``value`` if it is a safe incident id (it names a folder), else a usage error."""
    if not isinstance(value, str) or not ID_PATTERN.fullmatch(value):
        raise ProdguardUsageError(field, value, ID_ACCEPTED)
    return value


def validate_date(value: str, *, field: str = "date") -> dt.date:
    """Parse a ``YYYY-MM-DD`` date; any other form or an impossible day is a usage error."""
    if not isinstance(value, str) or not _DATE_FORM.fullmatch(value):
        raise ProdguardUsageError(field, value, DATE_ACCEPTED)
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        raise ProdguardUsageError(field, value, f"{DATE_ACCEPTED}; {exc}") from None


def toml_string(text: str, *, field: str = "text") -> str:
    """``text`` as a TOML basic string that parses back to exactly ``text``.

    Text that is not valid Unicode (a lone surrogate, as Python makes from
    undecodable command-line bytes) cannot be stored in TOML and is refused.
    """
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise ProdguardUsageError(
            field, text, "valid Unicode text (it holds bytes that are not UTF-8)"
        ) from None
    return '"' + "".join(_escape(char) for char in text) + '"'


def _escape(char: str) -> str:
    if char in ('"', "\\"):
        return "\\" + char
    if char in _SHORT_ESCAPES:
        return _SHORT_ESCAPES[char]
    if ord(char) < 0x20 or ord(char) == 0x7F:
        return f"\\u{ord(char):04X}"
    return char


def toml_value(value: TomlValue, *, field: str) -> str:
    """One TOML value: a string, integer, finite float, boolean, date, or a list of those."""
    if isinstance(value, str):
        return toml_string(value, field=field)
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ProdguardUsageError(field, value, "a finite number")
        return repr(value)
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(toml_value(item, field=field) for item in value) + "]"
    raise ProdguardUsageError(field, value, "a string, number, boolean, date or list of those")


def render_entry(fields: Mapping[str, TomlValue]) -> str:
    """An ``[[incident]]`` table with one ``key = value`` line per field, in order."""
    lines = ["[[incident]]"]
    for key, value in fields.items():
        if not _BARE_KEY.fullmatch(key):
            raise ProdguardUsageError("field name", key, "letters, digits, '_' and '-'")
        lines.append(f"{key} = {toml_value(value, field=key)}")
    return "\n".join(lines) + "\n"


def append_incident(
    path: Path, fields: Mapping[str, TomlValue], artifacts: Mapping[str, str] | None = None
) -> Incident:
    """Append one incident to the registry at ``path`` (created if missing) and return it.

    ``fields`` must hold ``id``, ``title``, ``severity``, ``status`` and ``date``
    (a ``datetime.date`` or ``YYYY-MM-DD`` text); ``artifacts`` maps plain file
    names to text saved in the incident's artifacts folder. Everything is
    validated before anything is written; on any error the registry is unchanged
    and no artifact is left behind.
    """
    incident_id = validate_incident_id(str(fields.get("id", "")))
    fields = {**fields, "date": _as_date(fields.get("date"))}
    title = fields.get("title")
    if not isinstance(title, str) or not title.strip():
        raise ProdguardUsageError("title", title, "a non-empty text")
    previous = read_registry_text(path) if path.exists() else ""
    known = parse_registry(path, previous)
    if incident_id in known.incidents:
        raise ProdguardUsageError("id", incident_id, f"an id not yet in {path}")
    text = _appended(previous, render_entry(fields))
    registry = parse_registry(path, text)  # the file as it will be, read as pytest will
    incident = registry.get(incident_id)
    _write_all(path, text, registry, incident, dict(artifacts or {}))
    return incident


def _as_date(value: object) -> dt.date:
    if isinstance(value, dt.date):
        return value
    return validate_date(value if isinstance(value, str) else repr(value))


def _appended(previous: str, entry: str) -> str:
    """``previous`` with ``entry`` after one blank line, in the file's own line endings."""
    if not previous:
        return entry
    newline = "\r\n" if "\r\n" in previous else "\n"
    if not previous.endswith(newline):
        previous += newline
    if previous.strip() and not previous.endswith(newline * 2):
        previous += newline
    return previous + entry.replace("\n", newline)


def _write_all(
    path: Path, text: str, registry: Registry, incident: Incident, artifacts: dict[str, str]
) -> None:
    folder = incident.artifacts_dir or path.parent / "incidents" / incident.id
    for name in artifacts:
        if not ID_PATTERN.fullmatch(name):
            raise ProdguardUsageError("artifact name", name, ARTIFACT_NAME_ACCEPTED)
    created = _first_missing(folder)
    try:
        for name, content in artifacts.items():
            atomic_write_text(folder / name, content)
        atomic_write_text(path, text)
    except OSError as exc:
        if created is not None:
            shutil.rmtree(created, ignore_errors=True)
        raise RegistryError(registry.path, f"cannot write: {exc}") from None


def _first_missing(folder: Path) -> Path | None:
    """The outermost of ``folder`` and its parents that does not exist yet, if any."""
    missing = None
    for candidate in (folder, *folder.parents):
        if candidate.exists():
            return missing
        missing = candidate
    return missing
