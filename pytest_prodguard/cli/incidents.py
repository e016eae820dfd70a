"""``prodguard incidents list|check|new``: the incident registry."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.incidents import SEVERITIES, load_registry
from pytest_prodguard.incidents.outcome import label
from pytest_prodguard.incidents.writer import (
    TomlValue,
    append_incident,
    toml_string,
    validate_date,
    validate_incident_id,
)

_ERROR_LINE = re.compile(r"\b(ERROR|CRITICAL|FATAL|Traceback|Exception|panic)\b", re.IGNORECASE)
_ID_KEYS = ("request_id", "trace_id", "traceId", "requestId", "correlation_id")


def register(commands: Any) -> None:
    """Add ``prodguard incidents`` and its subcommands."""
    incidents = commands.add_parser("incidents", help="the incident registry")
    incidents_commands = incidents.add_subparsers(title="incident commands")
    listing = incidents_commands.add_parser("list", help="list the registry's incidents")
    listing.add_argument("--registry", type=Path, default=Path("incidents.toml"))
    listing.set_defaults(handler=_incidents_list)
    check = incidents_commands.add_parser(
        "check",
        help="validate the registry (exit 2 if bad); with --report, fail (exit 1) when a "
        "fixed incident has no guard in that (merged) report",
    )
    check.add_argument("--registry", type=Path, default=Path("incidents.toml"))
    check.add_argument(
        "--report",
        type=Path,
        help="a --prodguard-report JSON file, e.g. merged from CI shards with "
        "'prodguard report merge': checks --prodguard-require-guards over all of it",
    )
    check.set_defaults(handler=_incidents_check)
    new = incidents_commands.add_parser(
        "new", help="add an incident from a log or trace excerpt and print a guard test"
    )
    new.add_argument("--registry", type=Path, default=Path("incidents.toml"))
    new.add_argument("--title", required=True)
    new.add_argument("--severity", default="MEDIUM", type=str.upper, choices=SEVERITIES)
    new.add_argument("--from-log", type=Path, help="log file (text or JSON lines) to excerpt")
    new.add_argument("--id", dest="incident_id", help="the id; default INC-<year>-<next number>")
    new.add_argument("--date", default=None, help="incident date, default today (YYYY-MM-DD)")
    new.set_defaults(handler=_incidents_new)


def _incidents_list(args: argparse.Namespace) -> int:
    registry = load_registry(args.registry)
    for incident in sorted(registry, key=lambda i: i.id):
        print(f"{incident.status:<6} {incident.date:<10} {label(incident)}")
    print(f"{len(registry)} incidents in {registry.path}")
    return 0


def _incidents_check(args: argparse.Namespace) -> int:
    if args.report is not None:
        return _check_report_guards(args.report, args.registry)
    registry = load_registry(args.registry)
    open_count = sum(1 for incident in registry if incident.status == "open")
    print(f"{registry.path}: {len(registry)} incidents ({open_count} open), valid")
    return 0


def _check_report_guards(report_path: Path, registry_path: Path) -> int:
    """Exit 1 when a fixed incident has no guard anywhere in the report.

    With the registry at hand its fixed incidents are checked against the
    report's guarded ids (the registry may list incidents the shards did not
    know); otherwise the report's own list of gaps is used.
    """
    from pytest_prodguard.cli.report import load_report

    report = load_report(report_path)
    incidents = report.get("incidents") or {}
    if registry_path.exists():
        registry = load_registry(registry_path)
        guarded = set(incidents.get("guarded_ids") or ())
        guarded.update(guard["incident"] for guard in incidents.get("guards") or ())
        gaps = [label(i) for i in registry if i.status == "fixed" and i.id not in guarded]
    else:
        gaps = [
            f"{gap.get('id')} [{gap.get('severity')}] {gap.get('title')}"
            for gap in incidents.get("unguarded_fixed") or ()
        ]
    guards = len(incidents.get("guards") or ())
    for gap in gaps:
        print(f"NO GUARD    {gap}")
    print(
        f"{report_path}: {guards} guard results over {len(report.get('tests') or ())} tests, "
        f"{len(gaps)} fixed incident(s) without a guard"
    )
    return 1 if gaps else 0


def _incidents_new(args: argparse.Namespace) -> int:
    path: Path = args.registry
    known = set(load_registry(path).incidents) if path.exists() else set()
    date = validate_date(args.date, field="--date") if args.date is not None else dt.date.today()
    if args.incident_id is not None:
        validate_incident_id(args.incident_id, field="--id")
    incident_id = args.incident_id or _next_id(known, str(date.year))
    if incident_id in known:
        raise ProdguardUsageError("--id", incident_id, f"an id not yet in {path}")
    excerpt, facts = _log_excerpt(args.from_log) if args.from_log else ("", {})
    fields: dict[str, TomlValue] = {
        "id": incident_id,
        "title": _title(args.title),
        "severity": args.severity,
        "status": "open",
        "date": date,
        **facts,
    }
    append_incident(path, fields, {"log-excerpt.txt": excerpt} if excerpt else None)
    print(f"added {incident_id} to {path}")
    print(_guard_skeleton(incident_id, bool(excerpt)))
    return 0


def _title(value: str) -> str:
    """The title, refused here (named as the flag) if blank or not storable as TOML."""
    if not value.strip():
        raise ProdguardUsageError("--title", value, "a non-empty text")
    toml_string(value, field="--title")
    return value


def _next_id(known: set[str], year: str) -> str:
    numbers = [
        int(match.group(1))
        for incident_id in known
        if (match := re.fullmatch(rf"INC-{year}-(\d+)", incident_id))
    ]
    return f"INC-{year}-{max(numbers, default=0) + 1:03d}"


def _log_excerpt(path: Path) -> tuple[str, dict[str, Any]]:
    """The error lines of a log (with 2 lines of context) and ids found in it."""
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError as exc:
        raise ProdguardUsageError("--from-log", str(path), f"a readable file ({exc})") from None
    keep: set[int] = set()
    for number, line in enumerate(lines):
        if _ERROR_LINE.search(line):
            keep.update(range(max(0, number - 2), min(len(lines), number + 3)))
    chosen = sorted(keep) if keep else list(range(min(len(lines), 50)))
    facts: dict[str, Any] = {"errors_in_log": sum(1 for line in lines if _ERROR_LINE.search(line))}
    ids = sorted({value for line in lines for value in _ids_in(line)})
    if ids:
        facts["request_ids"] = ids[:20]
    first_error = next((line.strip() for line in lines if _ERROR_LINE.search(line)), None)
    if first_error:
        facts["summary"] = first_error[:300]
    return "\n".join(lines[i] for i in chosen) + "\n", facts


def _ids_in(line: str) -> list[str]:
    try:
        record = json.loads(line)
    except json.JSONDecodeError:
        return re.findall(r"(?:request_id|trace_id)[=:]\s*\"?([\w-]+)", line)
    if not isinstance(record, dict):
        return []
    return [str(record[key]) for key in _ID_KEYS if key in record]


def _guard_skeleton(incident_id: str, has_excerpt: bool) -> str:
    read = '    log = incident.artifacts.text("log-excerpt.txt")\n' if has_excerpt else ""
    return (
        "\n# A guard to start from (status is open until the fix lands):\n"
        f'@pytest.mark.incident_repro("{incident_id}")\n'
        f"def test_{incident_id.lower().replace('-', '_')}_does_not_recur(incident):\n"
        f"{read}    ...  # reproduce the incident here; it must fail while the bug is open\n"
    )
