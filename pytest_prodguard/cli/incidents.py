"""``prodguard incidents list|check|new``: the incident registry."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import re
import sys
import tempfile
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.incidents import SEVERITIES, RegistryError, load_registry
from pytest_prodguard.incidents.outcome import label


def register(commands: Any) -> None:
    """Add ``prodguard incidents`` and its subcommands."""
    incidents = commands.add_parser("incidents", help="the incident registry")
    incidents_commands = incidents.add_subparsers(title="incident commands")
    listing = incidents_commands.add_parser("list", help="list the registry's incidents")
    listing.add_argument("--registry", type=Path, default=Path("incidents.toml"))
    listing.set_defaults(handler=_incidents_list)
    check = incidents_commands.add_parser("check", help="validate the registry (exit 2 if bad)")
    check.add_argument("--registry", type=Path, default=Path("incidents.toml"))
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
    new.add_argument("--entry", help="module:function the guard replays the request through")
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
    registry = load_registry(args.registry)
    open_count = sum(1 for incident in registry if incident.status == "open")
    print(f"{registry.path}: {len(registry)} incidents ({open_count} open), valid")
    return 0


def _incidents_new(args: argparse.Namespace) -> int:
    from pytest_prodguard.forensics.guard import guard_source

    path: Path = args.registry
    registry = load_registry(path) if path.exists() else None
    known = set(registry.incidents) if registry else set()
    evidence = _evidence(args)
    date = _date(args.date) or (evidence.date if evidence else None) or dt.date.today().isoformat()
    incident_id = args.incident_id or _next_id(known, date[:4])
    if incident_id in known:
        raise ProdguardUsageError("--id", incident_id, f"an id not yet in {path}")
    title = args.title or (evidence.group.title if evidence and evidence.group else None)
    if not title:
        raise ProdguardUsageError("--title", None, "a title (or --from-log to derive one)")
    fields = _entry_fields(incident_id, title, args.severity, date, evidence)
    text = _registry_text(path, fields)  # validated: raises before anything is written
    if evidence is not None:
        _write_artifacts(path.parent / "incidents" / incident_id, evidence, args.entry)
    atomic_write_text(path, text)
    # The status line goes to stderr so `prodguard incidents new ... > test_x.py` is Python.
    dated = f" (dated {date} from the log)" if evidence else ""
    print(f"added {incident_id} to {path}{dated}", file=sys.stderr)
    failure = evidence.failure_facts() if evidence else None
    print(guard_source(incident_id, args.entry, failure, has_payload=_has_payload(evidence)))
    return 0


def _evidence(args: argparse.Namespace) -> Any:
    chosen = args.group is not None or args.request_id or args.trace_id
    if not args.from_log:
        if chosen or args.entry:
            raise ProdguardUsageError(
                "--from-log", None, "a log file: --group/--request-id/--trace-id/--entry need one"
            )
        return None
    from pytest_prodguard.forensics import gather

    return gather(
        args.from_log, group=args.group, request_id=args.request_id, trace_id=args.trace_id
    )


def _date(text: str | None) -> str | None:
    if text is None:
        return None
    try:
        return dt.date.fromisoformat(text).isoformat()
    except ValueError:
        raise ProdguardUsageError("--date", text, "a date as YYYY-MM-DD, e.g. 2025-03-14") from None


def _next_id(known: set[str], year: str) -> str:
    numbers = [
        int(match.group(1))
        for incident_id in known
        if (match := re.fullmatch(rf"INC-{year}-(\d+)", incident_id))
    ]
    return f"INC-{year}-{max(numbers, default=0) + 1:03d}"


def _entry_fields(
    incident_id: str, title: str, severity: str, date: str, evidence: Any
) -> dict[str, Any]:
    """The registry entry, in the order it is written."""
    fields: dict[str, Any] = {
        "id": incident_id,
        "title": title,
        "severity": severity,
        "status": "open",
        "date": dt.date.fromisoformat(date),
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


def _registry_text(path: Path, fields: dict[str, Any]) -> str:
    """The registry's text with the entry appended, checked to load before it is written.

    The existing text (comments, layout) is kept byte for byte.
    """
    previous = path.read_text(encoding="utf-8") if path.exists() else ""
    separator = "\n" if previous and not previous.endswith("\n\n") else ""
    if previous and not previous.endswith("\n"):
        separator = "\n\n"
    text = previous + separator + _toml_entry(fields)
    with tempfile.TemporaryDirectory() as scratch:
        candidate = Path(scratch) / path.name
        candidate.write_text(text, encoding="utf-8")
        try:
            load_registry(candidate)
        except RegistryError as exc:
            raise ProdguardUsageError(
                "entry", fields.get("id"), f"an entry {path} can hold ({exc.problem})"
            ) from None
    return text


def _toml_entry(fields: dict[str, Any]) -> str:
    return "[[incident]]\n" + "".join(f"{key} = {_toml_value(v)}\n" for key, v in fields.items())


def _toml_value(value: Any) -> str:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml_value(item) for item in value) + "]"
    return json.dumps(str(value), ensure_ascii=False)


def _write_artifacts(folder: Path, evidence: Any, entry: str | None) -> None:
    from pytest_prodguard.forensics.replay import FAILURE_FILE, REQUEST_FILE

    facts = evidence.failure_facts()
    if entry:
        facts["entry"] = entry
    atomic_write_text(folder / "log-excerpt.txt", evidence.excerpt())
    atomic_write_text(folder / FAILURE_FILE, json.dumps(facts, indent=2, sort_keys=True) + "\n")
    if evidence.payload is not None:
        atomic_write_text(folder / REQUEST_FILE, json.dumps(evidence.payload, indent=2) + "\n")


def _has_payload(evidence: Any) -> bool:
    return evidence is not None and evidence.payload is not None
