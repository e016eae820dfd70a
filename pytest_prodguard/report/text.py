"""A report as readable text: every test, grouped by outcome, worst news first."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pytest_prodguard.report.html import (
    FIXED_KEYS,
    GUARD_ORDER,
    OUTCOME_ORDER,
    SHOWN_ELSEWHERE,
    environment_line,
    latency_calls,
)

_WORDS = {
    "error": "ERRORS",
    "failed": "FAILED",
    "xfailed": "XFAILED",
    "skipped": "SKIPPED",
    "passed": "PASSED",
}
_GUARD_WORDS = {
    "regressed": "REGRESSED",
    "now-passes": "NOW PASSES",
    "reproducing": "REPRODUCING",
    "guarded": "guarded",
    "not-run": "not run",
}


def report_text(report: Mapping[str, Any]) -> str:
    """The whole report as lines of text, ending in a newline."""
    tests = list(report.get("tests") or ())
    outcomes = report.get("outcomes") or {}
    counts = ", ".join(f"{count} {name}" for name, count in outcomes.items()) or "no tests"
    shards = report.get("shards")
    lines = [
        f"prodguard report: {len(tests)} tests in {report.get('duration')} s ({counts}), "
        f"exit status {report.get('exit_status')}"
        + (f", merged from {len(shards)} shards" if shards else ""),
        environment_line(report.get("environment") or {}),
    ]
    lines += _incident_lines(report.get("incidents"))
    for outcome in (*OUTCOME_ORDER, *sorted(set(outcomes) - set(OUTCOME_ORDER))):
        group = [test for test in tests if test.get("outcome") == outcome]
        if group:
            lines += ["", f"{_WORDS.get(outcome, outcome.upper())} ({len(group)})"]
            for test in group:
                lines += lines_of_test(test)
    return "\n".join(lines) + "\n"


def _incident_lines(incidents: Mapping[str, Any] | None) -> list[str]:
    if not incidents:
        return []
    guards = incidents.get("guards") or []
    gaps = incidents.get("unguarded_fixed") or []
    lines = ["", f"INCIDENTS: {len(guards)} guard results, {len(gaps)} fixed without a guard"]
    for guard in sorted(guards, key=lambda g: GUARD_ORDER.get(str(g.get("outcome")), 9)):
        word = _GUARD_WORDS.get(str(guard.get("outcome")), str(guard.get("outcome")))
        lines.append(
            f"  {word:<11} {guard.get('incident')} [{guard.get('severity')}] "
            f"{guard.get('title')} ({guard.get('nodeid')})"
        )
    for incident in gaps:
        lines.append(
            f"  {'NO GUARD':<11} {incident.get('id')} [{incident.get('severity')}] "
            f"{incident.get('title')}"
        )
    return lines


def lines_of_test(test: Mapping[str, Any]) -> list[str]:
    """One test: its id and time, then the reason, each prodguard headline, profile files."""
    duration = test.get("duration")
    seconds = f" ({duration:.2f} s)" if isinstance(duration, (int, float)) else ""
    lines = [f"  {test.get('nodeid')}{seconds}"]
    if test.get("message"):
        lines.append(f"      {test['message']}")
    for guard in test.get("incident") or ():
        lines.append(f"      incident {guard.get('incident')}: {guard.get('outcome')}")
    for call in latency_calls(test):
        if call.get("headline") != test.get("message"):  # the reason line already says it
            lines.append(f"      latency [{call.get('label')}]: {call.get('headline')}")
    for record in test.get("robustness") or ():
        verdict = "passed" if record.get("passed") else "FAILED"
        lines.append(f"      robustness {record.get('check')}: {verdict}{_figures(record)}")
    for record in test.get("ab") or ():
        verdict = "ready" if record.get("ready") else "NOT READY"
        lines.append(f"      A/B {record.get('treatment')} vs {record.get('control')}: {verdict}")
    for name, path in (test.get("profile_files") or {}).items():
        lines.append(f"      profile {name}: {path}")
    others = sorted(set(test) - FIXED_KEYS - SHOWN_ELSEWHERE)
    if others:
        lines.append(f"      results: {', '.join(others)}")
    return lines


def _figures(record: Mapping[str, Any]) -> str:
    shown = []
    for name in ("ece", "failure_rate", "n_checked", "n_errors"):
        value = record.get(name)
        if value is not None:
            shown.append(f"{name} {value:.4g}" if isinstance(value, float) else f"{name} {value}")
    return f" ({', '.join(shown)})" if shown else ""
