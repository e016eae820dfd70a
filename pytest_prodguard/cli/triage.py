"""``prodguard triage``: error groups, rate rises, concentrations and trace timelines."""

from __future__ import annotations

import argparse
import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError

_DESCRIPTION = (
    "Group the errors of logs (text with tracebacks, or JSON lines) by fingerprint; flag "
    "groups whose rate rose in a time window or that concentrate on one endpoint, user, "
    "host or version (exact binomial tests); with --trace-id, show that trace's critical "
    "path with the log records and metric points of its window."
)


def register(commands: Any) -> None:
    """Add ``prodguard triage``."""
    triage = commands.add_parser(
        "triage", help="group and test the errors of logs", description=_DESCRIPTION
    )
    triage.add_argument("logs", nargs="+", type=Path, metavar="LOGS")
    triage.add_argument("--traces", action="append", type=Path, default=[], help="OTLP JSON export")
    triage.add_argument(
        "--metrics", action="append", type=Path, default=[], help="CSV or Prometheus text"
    )
    triage.add_argument("--trace-id", help="show this trace as one timeline (needs --traces)")
    triage.add_argument("--since", type=_moment, help="only records at or after (ISO 8601)")
    triage.add_argument("--until", type=_moment, help="only records before (ISO 8601)")
    triage.add_argument("--json", action="store_true", help="machine-readable output")
    triage.set_defaults(handler=run_triage)


def _moment(text: str) -> dt.datetime:
    from pytest_prodguard.forensics.records import parse_time

    moment = parse_time(text)
    if moment is None:
        raise argparse.ArgumentTypeError(f"{text!r} is not a time such as 2025-03-14T09:30:00Z")
    return moment


def run_triage(args: argparse.Namespace) -> int:
    """Read the evidence once, then print the groups (and the trace timeline)."""
    from pytest_prodguard.forensics import GroupBuilder, read_logs, read_metrics
    from pytest_prodguard.forensics.records import ReadStats
    from pytest_prodguard.forensics.render import flags_note, timeline_lines, triage_lines

    if args.trace_id and not args.traces:
        raise ProdguardUsageError("--trace-id", args.trace_id, "used together with --traces FILE")
    stats: list[ReadStats] = []
    timeline = _timeline(args, stats) if args.trace_id else None
    builder = GroupBuilder()
    # A timeline needs every record's ids and text; triage alone reads the light way.
    records = read_logs(args.logs, stats, light=timeline is None)
    for record in _window(records, args.since, args.until):
        builder.add(record)
        if timeline is not None:
            timeline.add_log(record)
    if timeline is not None and args.metrics:
        timeline.add_metrics(read_metrics(args.metrics, stats))
    result = builder.finish(stats)
    if args.json:
        document = result.to_dict()
        document["trace"] = timeline.to_dict() if timeline else None
        print(json.dumps(document, indent=2, default=str))
        return 0
    lines = triage_lines(result)
    if timeline is not None:
        lines.extend(timeline_lines(timeline))
    lines.append(flags_note(len(result.groups)))
    print("\n".join(lines))
    return 0


def _timeline(args: argparse.Namespace, stats: list[Any]) -> Any:
    from pytest_prodguard.forensics import read_traces, trace_timeline

    timeline = trace_timeline(args.trace_id, read_traces(args.traces, stats))
    if timeline is None:
        names = ", ".join(str(p) for p in args.traces)
        raise ProdguardUsageError("--trace-id", args.trace_id, f"a trace id present in {names}")
    return timeline


def _window(
    records: Iterator[Any], since: dt.datetime | None, until: dt.datetime | None
) -> Iterator[Any]:
    """Records inside [since, until); untimed records are dropped when a bound is given."""
    if since is None and until is None:
        return records
    return (
        record
        for record in records
        if record.time is not None
        and (since is None or record.time >= since)
        and (until is None or record.time < until)
    )
