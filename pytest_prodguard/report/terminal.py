"""Terminal lines of the run summary (the "prodguard latency" section).

Plain Python: the plugin writes these lines with pytest's terminal reporter.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

_LATENCY_WORDS = {
    "fail": "FAIL        ",
    "warn": "WARN        ",
    "inconclusive": "INCONCLUSIVE",
    "improved": "IMPROVED    ",
    "pass": "pass        ",
    "recorded": "recorded    ",
    "not-judged": "not judged  ",
}


#: What ``-q`` still shows: the calls that need attention.
_ATTENTION = ("fail", "warn", "inconclusive")


def latency_lines(
    tests: Sequence[tuple[str, list[dict[str, Any]]]], *, quiet: bool = False
) -> list[str]:
    """One line per measured call, worst first, from ``(nodeid, latency records)`` pairs.

    ``quiet`` (``pytest -q``): only the calls that failed, warned or stayed undecided.
    """
    order = list(_LATENCY_WORDS)
    rows = [
        (
            order.index(call.get("status", "recorded")) if call.get("status") in order else 99,
            nodeid,
            call,
        )
        for nodeid, calls in tests
        for call in calls
        if not quiet or call.get("status") in _ATTENTION
    ]
    lines = []
    for _, nodeid, call in sorted(rows, key=lambda row: (row[0], row[1])):
        word = _LATENCY_WORDS.get(call.get("status", ""), call.get("status", "?"))
        lines.append(f"{word} {nodeid} [{call.get('label')}]: {call.get('headline')}")
        baseline = call.get("baseline")
        if baseline and baseline != call.get("headline"):
            lines.append(f"{'':12}   compared: {baseline}")
        if call.get("saved"):
            lines.append(f"{'':12}   saved: {call['saved']}")
    improved = sum(1 for row in rows if row[2].get("status") == "improved")
    if improved:
        lines.append(
            f"{improved} measured call(s) got significantly faster than their baseline: "
            "re-save with --prodguard-baseline-save to tighten it"
        )
    return lines


def xdist_note(workers: object, dist: str) -> str:
    """The summary's note on a run under pytest-xdist: what ran beside the measurements."""
    if dist == "loadgroup":
        return (
            f"note: latency was measured while {workers} pytest-xdist workers ran: with "
            "--dist loadgroup the latency tests ran one after another on one worker (group "
            "'prodguard-latency'), but the other workers kept running other tests beside "
            "them; budgets were not widened (CPU wait is taken out of each round). For "
            "measurements with nothing beside them, run the latency tests in their own run "
            "without -n (pytest -p no:xdist -m latency_budget)."
        )
    return (
        f"note: latency was measured while {workers} pytest-xdist workers ran other "
        "tests in parallel; budgets were not widened. --dist loadgroup runs the latency "
        "tests one after another on one worker (group 'prodguard-latency'); only a run "
        "without -n measures them with nothing beside them."
    )
