"""Merge the reports of CI shards (matrix jobs, pytest-split, xdist across hosts) into one.

Each shard sees only its own tests, so its "fixed incident without a guard"
list is only right for that shard. Over the union an incident is unguarded
when no shard guarded it: the union of every shard's gaps, less every id any
shard guarded (``guarded_ids`` counts guards that were collected but not run).
A test that ran in several shards keeps its worst outcome (a failure anywhere
is a failure); on a tie, the later shard's entry.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pytest_prodguard.report.render import count_outcomes
from pytest_prodguard.report.schema import SCHEMA_VERSION

_SEVERITY = {"passed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "error": 3}


def merge_reports(shards: Sequence[tuple[str, Mapping[str, Any]]]) -> dict[str, Any]:
    """One report from ``(path, report)`` pairs, each already shape-checked."""
    tests = _merged_tests(report for _, report in shards)
    starts = [float(report.get("started") or 0) for _, report in shards]
    ends = [
        start + float(report.get("duration") or 0)
        for start, (_, report) in zip(starts, shards, strict=True)
    ]
    first = shards[0][1] if shards else {}
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": first.get("tool") or {"name": "pytest-prodguard", "version": "?"},
        "environment": first.get("environment") or {"python": "?", "platform": "?"},
        "started": min(starts, default=0.0),
        "duration": round(max(ends, default=0.0) - min(starts, default=0.0), 3),
        "exit_status": max(
            (int(report.get("exit_status") or 0) for _, report in shards), default=0
        ),
        "outcomes": count_outcomes(tests),
        "incidents": _merged_incidents([report for _, report in shards], tests),
        "shards": [_shard_entry(path, report) for path, report in shards],
        "tests": tests,
    }


def _merged_tests(reports: Any) -> list[dict[str, Any]]:
    merged: dict[str, dict[str, Any]] = {}
    for report in reports:
        for test in report.get("tests") or ():
            known = merged.get(test["nodeid"])
            if known is None or _severity(test) >= _severity(known):
                merged[test["nodeid"]] = dict(test)
    return list(merged.values())


def _severity(test: Mapping[str, Any]) -> int:
    return _SEVERITY.get(str(test.get("outcome")), 0)


def _merged_incidents(
    reports: Sequence[Mapping[str, Any]], tests: Sequence[Mapping[str, Any]]
) -> dict[str, Any] | None:
    sections = [report["incidents"] for report in reports if report.get("incidents")]
    if not sections:
        return None
    guards = [test["incident"][-1] for test in tests if test.get("incident")]
    guarded = {guard["incident"] for guard in guards}
    for section in sections:
        guarded.update(section.get("guarded_ids") or ())
        guarded.update(guard["incident"] for guard in section.get("guards") or ())
    gaps: dict[str, Mapping[str, Any]] = {}
    for section in sections:
        for incident in section.get("unguarded_fixed") or ():
            if incident["id"] not in guarded:
                gaps.setdefault(incident["id"], incident)
    counts: dict[str, int] = {}
    for guard in guards:
        counts[guard["outcome"]] = counts.get(guard["outcome"], 0) + 1
    return {
        "registry": next((s.get("registry") for s in sections if s.get("registry")), None),
        "counts": counts,
        "guards": guards,
        "unguarded_fixed": [dict(gaps[key]) for key in sorted(gaps)],
        "guarded_ids": sorted(guarded),
    }


def _shard_entry(path: str, report: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "path": path,
        "started": report.get("started"),
        "duration": report.get("duration"),
        "exit_status": report.get("exit_status"),
        "tests": len(report.get("tests") or ()),
        "environment": report.get("environment"),
    }
