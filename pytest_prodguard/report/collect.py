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
#: ``("prodguard.profile.<name>", path)`` pairs carry profile files as plain paths.
PROFILE_FILE_PREFIX = PREFIX + "profile."
_SEVERITY = {"passed": 0, "skipped": 1, "xfailed": 1, "failed": 2, "error": 3}
#: Failure text is kept short: the end of the traceback, where the error is.
MAX_FAILURE_LINES = 40
MAX_FAILURE_CHARS = 4000
MAX_MESSAGE_CHARS = 300


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


def profile_files(pairs: Iterable[tuple[str, object]]) -> dict[str, str]:
    """The profile files (``{"svg": path, ...}``) among a report's ``user_properties``."""
    return {
        name[len(PROFILE_FILE_PREFIX) :]: value
        for name, value in pairs
        if isinstance(name, str) and name.startswith(PROFILE_FILE_PREFIX) and isinstance(value, str)
    }


@dataclass(frozen=True)
class PhaseText:
    """What a phase report says about itself: one-line message, short text, location."""

    message: str = ""
    text: str = ""
    path: str | None = None
    line: int | None = None

    @classmethod
    def short(
        cls, message: str, text: str, path: str | None = None, line: int | None = None
    ) -> PhaseText:
        """Cut ``message`` to one line and ``text`` to the end of the traceback."""
        first = next((part.strip() for part in message.splitlines() if part.strip()), "")
        return cls(_cap(first, MAX_MESSAGE_CHARS), short_failure_text(text), path, line)


def short_failure_text(text: str) -> str:
    """The last :data:`MAX_FAILURE_LINES` lines (at most :data:`MAX_FAILURE_CHARS` characters)."""
    lines = text.rstrip().splitlines()
    kept = "\n".join(lines[-MAX_FAILURE_LINES:])
    if len(kept) > MAX_FAILURE_CHARS:
        kept = kept[-MAX_FAILURE_CHARS:]
    if kept != text.rstrip():
        kept = "...\n" + kept
    return kept


def _cap(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


@dataclass
class TestRecord:
    """One test's outcome, its failure text and its prodguard results."""

    nodeid: str
    outcome: str = "passed"
    duration: float = 0.0
    results: dict[str, list[Any]] = field(default_factory=dict)
    message: str = ""
    failure: str = ""
    path: str | None = None
    line: int | None = None
    files: dict[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view; result kinds sit beside the fixed keys."""
        data: dict[str, Any] = {
            "nodeid": self.nodeid,
            "outcome": self.outcome,
            "duration": round(self.duration, 6),
        }
        if self.path is not None:
            data["location"] = {"path": self.path, "line": self.line}
        if self.message:
            data["message"] = self.message
        if self.failure:
            data["failure"] = self.failure
        if self.files:
            data["profile_files"] = dict(self.files)
        return {**data, **self.results}


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
        text: PhaseText | None = None,
    ) -> None:
        """Fold one phase report (setup/call/teardown) into the test's record.

        ``text`` is the phase's failure (or skip/xfail reason) text, kept when
        the phase sets the test's outcome.
        """
        record = self.tests.setdefault(nodeid, TestRecord(nodeid))
        record.duration += duration
        if text is not None and text.path is not None and record.path is None:
            record.path, record.line = text.path, text.line
        phase_outcome = _phase_outcome(when, outcome, xfailed)
        if phase_outcome and _SEVERITY[phase_outcome] >= _SEVERITY[record.outcome]:
            record.outcome = phase_outcome
            if text is not None and (text.message or text.text):
                record.message, record.failure = text.message, text.text
        pairs = list(properties)
        decoded = decode_properties(pairs)
        if decoded:
            # Each phase carries all properties recorded so far; the latest phase wins.
            record.results.update(decoded)
        record.files.update(profile_files(pairs))

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
