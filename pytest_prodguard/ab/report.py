"""The ship-readiness report: one result per check, readable as text and as JSON."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from pytest_prodguard.ab._format import jsonable

PASS, FAIL, SKIP = "pass", "fail", "skip"


@dataclass(frozen=True)
class CheckResult:
    """One check of the report: its status, its numbers in words, and what to do if it failed.

    ``status`` is ``"pass"``, ``"fail"`` or ``"skip"`` (the data or the
    arguments do not allow the check); ``details`` holds the numbers.
    """

    name: str
    status: str
    summary: str
    advice: str = ""
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def failed(self) -> bool:
        """Whether this check failed."""
        return self.status == FAIL

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form."""
        return {
            "name": self.name,
            "status": self.status,
            "summary": self.summary,
            "advice": self.advice,
            "details": jsonable(dict(self.details)),
        }


@dataclass(frozen=True)
class ShipReport:
    """Every check run for one ship decision; ``str(report)`` is the readable report.

    ``experiment`` is the experiment's summary (arms, units, per-arm metrics).
    """

    control: str
    treatment: str
    primary: str
    checks: tuple[CheckResult, ...]
    settings: Mapping[str, Any]
    notes: tuple[str, ...] = ()
    experiment: Mapping[str, Any] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether no check failed."""
        return not self.failures

    @property
    def failures(self) -> tuple[CheckResult, ...]:
        """The failed checks."""
        return tuple(check for check in self.checks if check.failed)

    def check(self, name: str) -> CheckResult:
        """The check called ``name`` (e.g. ``"power"``, ``"guardrail 'revenue'"``)."""
        for item in self.checks:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """JSON-serialisable form, as recorded in the test report."""
        return {
            "ready": self.ready,
            "control": self.control,
            "treatment": self.treatment,
            "primary": self.primary,
            "settings": jsonable(dict(self.settings)),
            "notes": list(self.notes),
            "checks": [check.to_dict() for check in self.checks],
            "experiment": jsonable(dict(self.experiment)),
        }

    def text(self) -> str:
        """The readable report: a headline, then one line per check with advice on failures."""
        failed = len(self.failures)
        verdict = (
            "READY" if self.ready else f"NOT READY ({failed} of {len(self.checks)} checks failed)"
        )
        lines = [
            f"Ship readiness of {self.treatment!r} vs control {self.control!r} "
            f"(primary metric {self.primary!r}): {verdict}"
        ]
        lines += [f"  note: {note}" for note in self.notes]
        width = max(len(check.name) for check in self.checks)
        for check in self.checks:
            lines.append(f"  [{check.status.upper():4}] {check.name:<{width}}  {check.summary}")
            if check.failed and check.advice:
                lines.append(f"  {'':6} {'':<{width}}  -> {check.advice}")
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.text()


class ShipReadinessError(AssertionError):
    """Raised by :func:`assert_ship_ready`; the message is the readable report."""

    def __init__(self, report: ShipReport) -> None:
        super().__init__(report.text())
        self.report = report

    def __reduce__(self) -> tuple[type[ShipReadinessError], tuple[ShipReport]]:
        # Rebuild from the report (not the message) when pickled, e.g. across processes.
        return (type(self), (self.report,))


# Shown in pytest's failure line: name it where users import it from.
ShipReadinessError.__module__ = "pytest_prodguard.ab"
