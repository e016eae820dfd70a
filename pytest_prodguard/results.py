"""What a guard says about one test: one result shape for every prodguard concern.

A :class:`GuardResult` is built by domain code (the latency gate, the incident
rules, the profiler) and applied to the test's report in one place by the
plugin: its ``status`` decides the outcome, its ``headline`` becomes the failure
text, its ``sections`` are shown under the failure and its ``records`` travel in
``user_properties`` to the JSON report. Plain Python, no pytest.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

#: pass: nothing to change; fail: a passing test fails with the headline;
#: warn: the test passes with a warning; xfail: a failing test is an expected failure.
STATUSES = ("pass", "fail", "warn", "xfail")


@dataclass(frozen=True)
class GuardResult:
    """One guard's verdict on one test.

    ``guard`` names the concern (``"latency"``, ``"incident"``, ``"profile"``);
    ``records`` are ``(kind, JSON-serialisable payload)`` pairs, stored as
    ``prodguard.<kind>`` JSON properties, and ``properties`` are plain
    ``(name, text)`` pairs such as the path of a flamegraph the guard wrote.
    """

    guard: str
    status: str
    headline: str = ""
    sections: tuple[tuple[str, str], ...] = ()
    records: tuple[tuple[str, Any], ...] = ()
    properties: tuple[tuple[str, str], ...] = ()

    def __post_init__(self) -> None:
        if self.status not in STATUSES:
            raise ValueError(f"GuardResult.status must be one of {STATUSES}, not {self.status!r}")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view (lists for the tuples)."""
        return {
            "guard": self.guard,
            "status": self.status,
            "headline": self.headline,
            "sections": [list(section) for section in self.sections],
            "records": [list(record) for record in self.records],
            "properties": [list(pair) for pair in self.properties],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardResult:
        """The inverse of :meth:`to_dict`."""
        return cls(
            guard=str(data["guard"]),
            status=str(data["status"]),
            headline=str(data.get("headline", "")),
            sections=tuple((str(t), str(b)) for t, b in data.get("sections", ())),
            records=tuple((str(k), p) for k, p in data.get("records", ())),
            properties=tuple((str(n), str(v)) for n, v in data.get("properties", ())),
        )

    def including(self, other: GuardResult) -> GuardResult:
        """This result with ``other``'s sections, records and properties appended."""
        return replace(
            self,
            sections=self.sections + other.sections,
            records=self.records + other.records,
            properties=self.properties + other.properties,
        )
