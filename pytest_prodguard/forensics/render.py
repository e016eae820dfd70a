"""Triage results as text for a person."""

from __future__ import annotations

import datetime as dt

from pytest_prodguard.forensics.timeline import TraceTimeline
from pytest_prodguard.forensics.triage import ALPHA, ErrorGroup, Triage, significant

#: Groups shown in full in the text report.
SHOWN_GROUPS = 20


def triage_lines(result: Triage) -> list[str]:
    """The text report: what was read, then each error group, largest first."""
    lines = [
        f"{result.records} records, {result.errors} errors in {len(result.groups)} groups"
        f" ({_when(result.first)} .. {_when(result.last)})"
    ]
    for stats in result.stats:
        if stats.malformed:
            lines.append(f"skipped {stats.malformed} malformed line(s) in {stats.source}")
            lines.extend(f"  e.g. {example}" for example in stats.examples)
    for group in result.groups[:SHOWN_GROUPS]:
        lines.extend(group_lines(group, len(result.groups)))
    hidden = len(result.groups) - SHOWN_GROUPS
    if hidden > 0:
        lines.append(f"... {hidden} smaller group(s) not shown (use --json for all)")
    return lines


def group_lines(group: ErrorGroup, groups: int) -> list[str]:
    """One group: headline, times, ids, example and any significant flags."""
    lines = [
        "",
        f"#{group.number} {group.title}  x{group.count}  [{group.fingerprint}]",
        f"  message: {group.message}",
        f"  first {_when(group.first_seen)}, last {_when(group.last_seen)}",
    ]
    if group.place:
        lines.append(f"  where: {group.place}")
    if group.request_ids:
        lines.append(f"  request ids: {', '.join(group.request_ids[:5])}")
    if group.trace_ids:
        lines.append(f"  trace ids: {', '.join(group.trace_ids[:3])}")
    lines.append(f"  example: {group.example.source}:{group.example.line}")
    rise = group.rise
    if rise and significant(rise.p_value, groups):
        start = dt.datetime.fromtimestamp(rise.window_start, dt.timezone.utc)
        lines.append(
            f"  RATE RISE: {rise.in_window} of {rise.total} in the {_when(start)} window "
            f"(expected {rise.expected:.1f} from its share of all records; "
            f"{rise.test}, p={rise.p_value:.2g} adjusted for windows)"
        )
    for found in group.concentrations:
        if significant(found.p_value, groups) and found.share >= 0.5:
            lines.append(
                f"  CONCENTRATED on {found.field}={found.value}: {found.count} of {found.total}"
                f" ({found.share:.0%}) against {found.baseline_share:.1%} of all records "
                f"({found.test}, p={found.p_value:.2g})"
            )
    return lines


def timeline_lines(timeline: TraceTimeline) -> list[str]:
    """The trace report: critical path with shares, slowest span, errors, then the timeline."""
    lines = [
        "",
        f"trace {timeline.trace_id}: {timeline.duration_ns / 1e6:.1f} ms",
        "critical path:",
    ]
    for step in timeline.path:
        error = f"  ERROR {step.span.error}" if step.span.error else ""
        lines.append(
            f"  {step.span.name:<30} own {step.self_ns / 1e6:8.1f} ms "
            f"({timeline.share(step):5.1%}){error}"
        )
    slowest = timeline.slowest
    if slowest:
        lines.append(
            f"slowest span: {slowest.span.name} ({timeline.share(slowest):.0%} of the trace)"
        )
    errors = timeline.errors_on_path
    lines.append(
        "errors on the path: " + (", ".join(f"{s.name} ({s.error})" for s in errors) or "none")
    )
    lines.append("timeline:")
    for event in timeline.ordered_events():
        lines.append(
            f"  {event.time.isoformat(timespec='milliseconds')} {event.kind:<6} {event.text}"
        )
    return lines


def flags_note(groups: int) -> str:
    """How flags are decided, for the report's footer."""
    return f"flags: p < {ALPHA} / {max(1, groups)} groups (Bonferroni)"


def _when(moment: dt.datetime | None) -> str:
    if moment is None:
        return "?"
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")
