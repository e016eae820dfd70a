"""Gather per-test prodguard results from test reports into one run-level record.

Results travel as ``("prodguard.<kind>", json_text)`` pairs in
``report.user_properties``: built-in strings survive pytest-xdist's report
serialisation and read well in JUnit XML. This module knows nothing of pytest;
the plugin feeds it plain values.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

PREFIX = "prodguard."
_SEVERITY = {"passed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "error": 3}


def property_pair(kind: str, payload: Any) -> tuple[str, str]:
    """Encode one result as a ``user_properties`` pair."""
    return (PREFIX + kind, json.dumps(payload, sort_keys=True, default=str))


def decode_properties(pairs: Iterable[tuple[str, object]]) -> dict[str, list[Any]]:
    """Decode prodguard pairs back into ``{kind: [payload, ...]}``; others are ignored."""
    decoded: dict[str, list[Any]] = {}
    for name, value in pairs:
        if not isinstance(name, str) or not name.startswith(PREFIX) or not isinstance(value, str):
            continue
        try:
            payload = json.loads(value)
        except json.JSONDecodeError:
            continue
        decoded.setdefault(name[len(PREFIX) :], []).append(payload)
    return decoded


@dataclass
class TestRecord:
    """One test's outcome and its prodguard results."""

    nodeid: str
    outcome: str = "passed"
    duration: float = 0.0
    results: dict[str, list[Any]] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view."""
        return {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
            **self.results,
        }


class RunCollector:
    """Accumulates test records on the pytest controller, in report order."""

    def __init__(self) -> None:
        self.tests: dict[str, TestRecord] = {}

    def add(
        self,
        nodeid: str,
        when: str,
        outcome: str,
        duration: float,
        properties: Iterable[tuple[str, object]],
        *,
        xfailed: bool = False,
    ) -> None:
        """Fold one phase report (setup/call/teardown) into the test's record."""
        record = self.tests.setdefault(nodeid, TestRecord(nodeid))
        record.duration += duration
        phase_outcome = _phase_outcome(when, outcome, xfailed)
        if phase_outcome and _SEVERITY[phase_outcome] >= _SEVERITY[record.outcome]:
            record.outcome = phase_outcome
        decoded = decode_properties(properties)
        if decoded:
            # Each phase carries all properties recorded so far; the latest phase wins.
            record.results.update(decoded)

    def with_results(self, kind: str) -> list[TestRecord]:
        """Tests that recorded at least one result of ``kind``."""
        return [test for test in self.tests.values() if kind in test.results]


def _phase_outcome(when: str, outcome: str, xfailed: bool) -> str | None:
    if xfailed:
        return "xfailed"
    if outcome == "failed":
        return "failed" if when == "call" else "error"
    if outcome == "skipped":
        return "skipped"
    return "passed" if when == "call" else None
