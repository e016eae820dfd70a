"""The incident registry: ``incidents.toml`` parsed and validated into records."""

from __future__ import annotations

import datetime as dt
import difflib
import json
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import decode_utf8

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SEVERITIES = ("CRITICAL", "HIGH", "MEDIUM", "LOW")
STATUSES = ("open", "fixed")
REQUIRED = ("id", "title", "severity", "status", "date")
KNOWN = (*REQUIRED, "root_cause", "summary", "links", "owner")


class RegistryError(ProdguardUsageError):
    """The registry file is missing, malformed, or holds an invalid entry."""

    def __init__(self, path: Path, problem: str) -> None:
        self.path = path
        self.problem = problem
        ValueError.__init__(self, f"incident registry {path}: {problem}")


@dataclass(frozen=True)
class Incident:
    """One post-mortem record from the registry."""

    id: str
    title: str
    severity: str
    status: str
    date: str
    root_cause: str | None = None
    summary: str | None = None
    links: tuple[str, ...] = ()
    owner: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)
    artifacts_dir: Path | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view, unknown post-mortem keys included."""
        data: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "severity": self.severity,
            "status": self.status,
            "date": self.date,
            "root_cause": self.root_cause,
            "summary": self.summary,
            "links": list(self.links),
            "owner": self.owner,
        }
        data.update({key: _jsonable(value) for key, value in self.extra.items()})
        return data


def _jsonable(value: Any) -> Any:
    try:
        json.dumps(value)
    except TypeError:
        return str(value)
    return value


@dataclass(frozen=True)
class Registry:
    """All incidents of one registry file, by id."""

    path: Path
    incidents: Mapping[str, Incident]

    def __iter__(self) -> Iterator[Incident]:
        return iter(self.incidents.values())

    def __len__(self) -> int:
        return len(self.incidents)

    def get(self, incident_id: str) -> Incident:
        """Return the incident or raise a usage error that suggests close matches."""
        try:
            return self.incidents[incident_id]
        except KeyError:
            close = difflib.get_close_matches(incident_id, list(self.incidents), n=3, cutoff=0.6)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            known = f"known ids: {', '.join(sorted(self.incidents)) or '(none)'}"
            raise ProdguardUsageError(
                "incident_id", incident_id, f"an id from {self.path}{hint} ({known})"
            ) from None


def load_registry(path: Path) -> Registry:
    """Parse and validate the registry at ``path``.

    Raises :class:`RegistryError` naming the file (and line, for TOML syntax
    errors) on any problem.
    """
    return parse_registry(path, read_registry_text(path))


def read_registry_text(path: Path) -> str:
    """The registry's text; a missing, unreadable or non-UTF-8 file is a :class:`RegistryError`."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise RegistryError(path, "file not found") from None
    except OSError as exc:
        raise RegistryError(path, f"cannot read: {exc}") from None
    return decode_utf8(data, lambda problem: RegistryError(path, f"{problem}; TOML must be UTF-8"))


def parse_registry(path: Path, text: str) -> Registry:
    """Parse and validate registry ``text`` (read from, or about to be written to, ``path``)."""
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise RegistryError(path, f"invalid TOML: {exc}") from None
    entries = document.get("incident", [])
    if not isinstance(entries, list):
        raise RegistryError(path, "'incident' must be an array of tables: write [[incident]]")
    incidents: dict[str, Incident] = {}
    for index, entry in enumerate(entries, start=1):
        incident = _parse_entry(path, index, entry)
        if incident.id in incidents:
            raise RegistryError(
                path,
                f"duplicate incident id {incident.id!r} (entry #{index} repeats an earlier one)",
            )
        incidents[incident.id] = incident
    return Registry(path=path, incidents=incidents)


def _parse_entry(path: Path, index: int, entry: object) -> Incident:
    where = f"[[incident]] #{index}"
    if not isinstance(entry, dict):
        raise RegistryError(path, f"{where} is not a table")
    missing = [key for key in REQUIRED if key not in entry]
    if missing:
        label = f" (id {entry['id']!r})" if "id" in entry else ""
        raise RegistryError(path, f"{where}{label} lacks required field(s): {', '.join(missing)}")
    incident_id = entry["id"]
    if not isinstance(incident_id, str) or not incident_id.strip():
        raise RegistryError(path, f"{where}: id={incident_id!r}: must be a non-empty string")
    where = f"incident {incident_id!r}"
    severity = _choice(path, where, "severity", entry["severity"], SEVERITIES, upper=True)
    status = _choice(path, where, "status", entry["status"], STATUSES, upper=False)
    links = entry.get("links", [])
    if isinstance(links, str):
        links = [links]
    if not isinstance(links, list) or not all(isinstance(link, str) for link in links):
        raise RegistryError(path, f"{where}: links={links!r}: must be a list of strings")
    for key in ("title", "root_cause", "summary", "owner"):
        value = entry.get(key)
        if value is not None and not isinstance(value, str):
            raise RegistryError(path, f"{where}: {key}={value!r}: must be a string")
    date = entry["date"]
    if not isinstance(date, (str, dt.date)):
        raise RegistryError(path, f"{where}: date={date!r}: must be a date such as 2025-03-14")
    return Incident(
        id=incident_id,
        title=entry["title"],
        severity=severity,
        status=status,
        date=date.isoformat() if isinstance(date, dt.date) else date,
        root_cause=entry.get("root_cause"),
        summary=entry.get("summary"),
        links=tuple(links),
        owner=entry.get("owner"),
        extra={key: value for key, value in entry.items() if key not in KNOWN},
        artifacts_dir=path.parent / "incidents" / incident_id,
    )


def _choice(
    path: Path, where: str, key: str, value: object, allowed: tuple[str, ...], *, upper: bool
) -> str:
    normal = value.upper() if upper and isinstance(value, str) else value
    if not upper and isinstance(value, str):
        normal = value.lower()
    if normal not in allowed:
        raise RegistryError(path, f"{where}: {key}={value!r}: must be one of {', '.join(allowed)}")
    return str(normal)
