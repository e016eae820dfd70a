"""``prodguard incidents list|check|new``: the incident registry."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
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
        "new",
        help="add an incident from log evidence and print a guard test",
        description="Add an open incident to the registry. With --from-log, the failing "
        "request (the largest error group's example, --group N, --request-id or --trace-id) "
        "dates the incident; its records (whole tracebacks, secrets masked) become "
        "log-excerpt.txt, its JSON body or query request.json, and the captured failure "
        "failure.json. With --entry, the printed guard replays the request through it.",
    )
    new.add_argument("--registry", type=Path, default=Path("incidents.toml"))
    new.add_argument("--title", help="default: the error group's type and place")
    new.add_argument("--severity", default="MEDIUM", type=str.upper, choices=SEVERITIES)
    new.add_argument(
        "--from-log", action="append", type=Path, default=[], help="log (text or JSON lines)"
    )
    choice = new.add_mutually_exclusive_group()
    choice.add_argument("--group", type=int, help="error group number from prodguard triage")
    choice.add_argument("--request-id", help="the failing request's id")
    choice.add_argument("--trace-id", help="the failing request's trace id")
    entry = new.add_mutually_exclusive_group()
    entry.add_argument("--entry", help="module:function the guard replays the request through")
    entry.add_argument(
        "--entry-fixture",
        metavar="NAME",
        help="a fixture whose value is the callable the guard replays the request through",
    )
    new.add_argument("--id", dest="incident_id", help="the id; default INC-<year>-<next number>")
    new.add_argument("--date", default=None, help="YYYY-MM-DD; default: the evidence's, or today")
    new.set_defaults(handler=_incidents_new)


def _incidents_list(args: argparse.Namespace) -> int:
    from pytest_prodguard.incidents import postmortem

    registry = load_registry(args.registry)
    for incident in sorted(registry, key=lambda i: i.id):
        print(f"{incident.status:<6} {incident.date:<10} {label(incident)}")
        print(f"{'':17} post-mortem: {_postmortem_state(postmortem.postmortem_of(incident))}")
    today = dt.date.today()
    for record, item in postmortem.overdue_items(registry, today):
        print(postmortem.overdue_line(record, item, today))
    print(f"{len(registry)} incidents in {registry.path}")
    return 0


def _postmortem_state(post: Any) -> str:
    """``root cause yes, 2 action items (1 done), timeline 4 entries, link`` in one line."""
    done = sum(1 for item in post.action_items if item.done)
    parts = [
        f"root cause {'yes' if post.root_cause else 'MISSING'}",
        f"{len(post.action_items)} action items ({done} done)"
        if post.action_items
        else "action items MISSING",
    ]
    if post.timeline:
        parts.append(f"timeline {len(post.timeline)} entries")
    if post.contributing_factors:
        parts.append(f"{len(post.contributing_factors)} contributing factors")
    if post.link:
        parts.append(f"post-mortem {post.link}")
    return ", ".join(parts)


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
    from pytest_prodguard.forensics.guard import (
        guard_source,
        validate_entry,
        validate_fixture_name,
    )

    path: Path = args.registry
    if args.entry is not None:
        validate_entry(args.entry)
    if args.entry_fixture is not None:
        validate_fixture_name(args.entry_fixture)
    known = set(load_registry(path).incidents) if path.exists() else set()
    given_date = validate_date(args.date, field="--date") if args.date is not None else None
    if args.incident_id is not None:
        validate_incident_id(args.incident_id, field="--id")
    title = _title(args.title) if args.title is not None else None
    evidence = _evidence(args)
    date = given_date or _evidence_date(evidence) or dt.date.today()
    incident_id = args.incident_id or _next_id(known, str(date.year))
    if incident_id in known:
        raise ProdguardUsageError("--id", incident_id, f"an id not yet in {path}")
    title = title or (evidence.group.title if evidence and evidence.group else None)
    if not title:
        raise ProdguardUsageError("--title", None, "a title (or --from-log to derive one)")
    fields = _entry_fields(incident_id, title, args.severity, date, evidence)
    replay_through = args.entry or (f"fixture {args.entry_fixture}" if args.entry_fixture else None)
    artifacts = _artifacts(evidence, replay_through) if evidence is not None else None
    append_incident(path, fields, artifacts)  # validates everything before writing
    # The status line goes to stderr so `prodguard incidents new ... > test_x.py` is Python.
    dated = f" (dated {date} from the log)" if evidence and not given_date else ""
    print(f"added {incident_id} to {path}{dated}", file=sys.stderr)
    failure = evidence.failure_facts() if evidence else None
    has_payload = _has_payload(evidence)
    guard = guard_source(
        incident_id, args.entry, failure, has_payload=has_payload, entry_fixture=args.entry_fixture
    )
    print(guard)
    return 0


def _title(value: str) -> str:
    """The title, refused here (named as the flag) if blank or not storable as TOML."""
    if not value.strip():
        raise ProdguardUsageError("--title", value, "a non-empty text")
    toml_string(value, field="--title")
    return value


def _evidence_date(evidence: Any) -> dt.date | None:
    return dt.date.fromisoformat(evidence.date) if evidence and evidence.date else None


def _evidence(args: argparse.Namespace) -> Any:
    chosen = args.group is not None or args.request_id or args.trace_id
    if not args.from_log:
        if chosen or args.entry or args.entry_fixture:
            raise ProdguardUsageError(
                "--from-log",
                None,
                "a log file: --group/--request-id/--trace-id/--entry/--entry-fixture need one",
            )
        return None
    from pytest_prodguard.forensics import gather

    return gather(
        args.from_log, group=args.group, request_id=args.request_id, trace_id=args.trace_id
    )


def _next_id(known: set[str], year: str) -> str:
    numbers = [
        int(match.group(1))
        for incident_id in known
        if (match := re.fullmatch(rf"INC-{year}-(\d+)", incident_id))
    ]
    return f"INC-{year}-{max(numbers, default=0) + 1:03d}"


def _entry_fields(
    incident_id: str, title: str, severity: str, date: dt.date, evidence: Any
) -> dict[str, TomlValue]:
    """The registry entry, in the order it is written."""
    fields: dict[str, TomlValue] = {
        "id": incident_id,
        "title": title,
        "severity": severity,
        "status": "open",
        "date": date,
    }
    if evidence is None:
        return fields
    fields["summary"] = evidence.summary()
    ids = [evidence.request_id] if evidence.request_id else []
    if not ids and evidence.group is not None:
        ids = evidence.group.request_ids[:1]
    if ids:
        fields["request_ids"] = ids
    if evidence.trace_id:
        fields["trace_ids"] = [evidence.trace_id]
    facts = evidence.failure_facts()
    fields["fingerprint"] = facts["fingerprint"]
    if evidence.group is not None:
        fields["errors_in_group"] = evidence.group.count
    return fields


def _artifacts(evidence: Any, entry: str | None) -> dict[str, str]:
    """The incident's artifact files: masked excerpt, failure facts, request payload."""
    from pytest_prodguard.forensics.replay import FAILURE_FILE, REQUEST_FILE

    facts = evidence.failure_facts()
    if entry:
        facts["entry"] = entry
    files = {
        "log-excerpt.txt": evidence.excerpt(),
        FAILURE_FILE: json.dumps(facts, indent=2, sort_keys=True) + "\n",
    }
    if evidence.payload is not None:
        files[REQUEST_FILE] = json.dumps(evidence.payload, indent=2) + "\n"
    return files


def _has_payload(evidence: Any) -> bool:
    return evidence is not None and evidence.payload is not None
