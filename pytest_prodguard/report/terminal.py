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


def latency_lines(tests: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """One line per measured call, worst first, from ``(nodeid, latency records)`` pairs."""
    order = list(_LATENCY_WORDS)
    rows = [
        (
            order.index(call.get("status", "recorded")) if call.get("status") in order else 99,
            nodeid,
            call,
        )
        for nodeid, calls in tests
        for call in calls
    ]
    lines = []
    for _, nodeid, call in sorted(rows, key=lambda row: (row[0], row[1])):
        word = _LATENCY_WORDS.get(call.get("status", ""), call.get("status", "?"))
        lines.append(f"{word} {nodeid} [{call.get('label')}]: {call.get('headline')}")
    improved = sum(1 for row in rows if row[2].get("status") == "improved")
    if improved:
        lines.append(
            f"{improved} measured call(s) got significantly faster than their baseline: "
            "re-save with --prodguard-baseline-save to tighten it"
        )
    return lines
