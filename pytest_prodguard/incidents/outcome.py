"""What a guard's result means for its incident, and the messages that say so."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pytest_prodguard.incidents.artifacts import Artifacts
from pytest_prodguard.incidents.registry import Incident, Registry
from pytest_prodguard.incidents.repro import ReproSpec
from pytest_prodguard.results import GuardResult


class GuardOutcome:
    """The five things a guard's run can mean for its incident."""

    GUARDED = "guarded"  # fixed incident, guard passed
    REGRESSED = "regressed"  # fixed incident, guard failed: the incident is back
    REPRODUCING = "reproducing"  # open incident, repro still fails (expected)
    NOW_PASSES = "now-passes"  # open incident, repro passed: mark it fixed
    NOT_RUN = "not-run"  # skipped, errored in setup, or deselected

    BAD = (REGRESSED, NOW_PASSES)


@dataclass(frozen=True)
class IncidentContext:
    """What the ``incident`` fixture returns: the record, its status here and its artifacts."""

    record: Incident
    spec: ReproSpec
    artifacts: Artifacts

    @property
    def id(self) -> str:
        """The incident id, e.g. ``INC-2025-001``."""
        return self.record.id

    @property
    def title(self) -> str:
        """The incident's title from the registry."""
        return self.record.title

    @property
    def status(self) -> str:
        """The effective status: the marker's, else the registry's."""
        return effective_status(self.spec, self.record)


def effective_status(spec: ReproSpec, record: Incident) -> str:
    """The marker's status wins over the registry's."""
    return spec.status or record.status


@dataclass(frozen=True)
class GuardRecord:
    """One guard's result as it travels in ``user_properties`` and the JSON report."""

    incident: str
    title: str
    severity: str
    status: str
    outcome: str
    nodeid: str
    runs: int = 1
    failed_run: int | None = None
    guarantee: str | None = None

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> GuardRecord:
        """The inverse of :meth:`to_dict`; unknown keys are ignored."""
        failed_run = data.get("failed_run")
        guarantee = data.get("guarantee")
        return cls(
            incident=str(data["incident"]),
            title=str(data.get("title", "")),
            severity=str(data.get("severity", "")),
            status=str(data.get("status", "")),
            outcome=str(data["outcome"]),
            nodeid=str(data.get("nodeid", "")),
            runs=int(data.get("runs", 1)),
            failed_run=None if failed_run is None else int(failed_run),
            guarantee=None if guarantee is None else str(guarantee),
        )


def guard_record(
    context: IncidentContext, outcome: str, failed_run: int | None, nodeid: str
) -> GuardRecord:
    """The record of ``context``'s guard test ``nodeid`` ending in ``outcome``."""
    return GuardRecord(
        incident=context.record.id,
        title=context.record.title,
        severity=context.record.severity,
        status=context.status,
        outcome=outcome,
        nodeid=nodeid,
        runs=context.spec.runs,
        failed_run=failed_run,
        guarantee=context.spec.guarantee(),
    )


def guard_result(
    context: IncidentContext, outcome: str, failed_run: int | None, nodeid: str
) -> GuardResult:
    """What the incident guard says about its test: an open incident's repro is a strict
    expected failure, a fixed incident's guard only adds its section and record."""
    record, spec = context.record, context.spec
    status, headline = "pass", ""
    if outcome == GuardOutcome.REPRODUCING:
        status, headline = "xfail", reproducing_reason(record, spec, failed_run)
    elif outcome == GuardOutcome.NOW_PASSES:
        status, headline = "fail", now_passes_message(record, spec)
    return GuardResult(
        guard="incident",
        status=status,
        headline=headline,
        sections=(
            (f"prodguard incident {record.id}", guard_section(record, spec, outcome, failed_run)),
        ),
        records=(("incident", guard_record(context, outcome, failed_run, nodeid).to_dict()),),
    )


def classify(expected_status: str, test_failed: bool) -> str:
    """Map (open/fixed, did the test body fail) to a :class:`GuardOutcome` value."""
    if expected_status == "open":
        return GuardOutcome.REPRODUCING if test_failed else GuardOutcome.NOW_PASSES
    return GuardOutcome.REGRESSED if test_failed else GuardOutcome.GUARDED


def label(record: Incident) -> str:
    """``INC-2025-001 [HIGH] Title`` for report lines."""
    return f"{record.id} [{record.severity}] {record.title}"


def now_passes_message(record: Incident, spec: ReproSpec) -> str:
    """The strict-XPASS message for an open incident whose repro stopped failing."""
    runs = f" in all {spec.runs} runs" if spec.runs > 1 else ""
    return (
        f"[XPASS(strict)] incident {record.id} ({record.title!r}) now passes{runs}: "
        f"the repro no longer fails, so the bug looks fixed. Mark it fixed: set "
        f'status = "fixed" for {record.id} in the registry '
        '(and drop status="open" from the marker).'
    )


def reproducing_reason(record: Incident, spec: ReproSpec, failed_run: int | None) -> str:
    """The xfail reason for an open incident that still reproduces."""
    where = (
        f" (reproduced in run {failed_run} of {spec.runs})" if failed_run and spec.runs > 1 else ""
    )
    return f"open incident {record.id} still reproduces{where}: {record.title}"


def guard_section(record: Incident, spec: ReproSpec, outcome: str, failed_run: int | None) -> str:
    """The report section text shown with a guard's result."""
    lines = [label(record), f"status: {effective_status(spec, record)}; outcome: {outcome}"]
    if outcome == GuardOutcome.REGRESSED:
        lines.append(
            "the guard of a FIXED incident fails: the incident is back (or the guard is broken)"
        )
    if spec.runs > 1:
        lines.append(runs_line(spec, failed_run))
    if record.root_cause:
        lines.append(f"root cause: {record.root_cause}")
    lines.extend(f"link: {link}" for link in record.links)
    return "\n".join(lines)


def runs_line(spec: ReproSpec, failed_run: int | None) -> str:
    """One line on repeated runs: which run failed, the observed rate, the guarantee."""
    guarantee = spec.guarantee() or ""
    if failed_run is None:
        return f"passed all {spec.runs} runs; {guarantee}"
    return (
        f"run {failed_run} of {spec.runs} failed (observed failure rate 1/{failed_run} "
        f"= {1 / failed_run:.1%} over the runs made); {guarantee}"
    )


@dataclass(frozen=True)
class IncidentSummary:
    """The run-level view: guards by outcome and fixed incidents with no guard."""

    guards: tuple[GuardRecord, ...]
    unguarded_fixed: tuple[Incident, ...]
    registry_path: str | None

    def counts(self) -> dict[str, int]:
        """How many guards ended in each outcome."""
        counts: dict[str, int] = {}
        for guard in self.guards:
            counts[guard.outcome] = counts.get(guard.outcome, 0) + 1
        return counts

    def to_dict(self) -> dict[str, Any]:
        """A JSON-serialisable view for the report."""
        return {
            "registry": self.registry_path,
            "counts": self.counts(),
            "guards": [guard.to_dict() for guard in self.guards],
            "unguarded_fixed": [incident.to_dict() for incident in self.unguarded_fixed],
        }

    def lines(self, *, bad_only: bool = False) -> list[str]:
        """The terminal summary lines, worst news first (``bad_only``: regressions,
        open incidents that now pass and fixed incidents without a guard)."""
        lines: list[str] = []
        order: tuple[str, ...] = (
            GuardOutcome.REGRESSED,
            GuardOutcome.NOW_PASSES,
            GuardOutcome.REPRODUCING,
            GuardOutcome.GUARDED,
            GuardOutcome.NOT_RUN,
        )
        if bad_only:
            order = GuardOutcome.BAD
        words = {
            GuardOutcome.REGRESSED: "REGRESSED  ",
            GuardOutcome.NOW_PASSES: "NOW PASSES ",
            GuardOutcome.REPRODUCING: "REPRODUCING",
            GuardOutcome.GUARDED: "guarded    ",
            GuardOutcome.NOT_RUN: "not run    ",
        }
        for outcome in order:
            for guard in sorted(
                (g for g in self.guards if g.outcome == outcome), key=lambda g: g.incident
            ):
                lines.append(
                    f"{words[outcome]} {guard.incident} [{guard.severity}] "
                    f"{guard.title} ({guard.nodeid})"
                )
        for incident in self.unguarded_fixed:
            lines.append(
                f"NO GUARD    {label(incident)} (fixed {incident.date}; no collected test)"
            )
        return lines

    def headline(self) -> str:
        """One line with the counts."""
        counts = self.counts()
        incidents = len({guard.incident for guard in self.guards})
        parts = [
            f"{incidents} incidents guarded by {len(self.guards)} tests",
            f"{counts.get(GuardOutcome.REGRESSED, 0)} regressed",
            f"{counts.get(GuardOutcome.REPRODUCING, 0)} open still reproducing",
            f"{counts.get(GuardOutcome.NOW_PASSES, 0)} open now passing",
            f"{len(self.unguarded_fixed)} fixed without a guard",
        ]
        return ", ".join(parts)


def summarize(
    guards: Iterable[GuardRecord],
    registry: Registry | None,
    guarded_ids: Iterable[str],
) -> IncidentSummary:
    """Combine guard results with the registry to find fixed incidents nobody guards."""
    guarded = set(guarded_ids)
    unguarded = tuple(
        incident
        for incident in (registry or ())
        if incident.status == "fixed" and incident.id not in guarded
    )
    return IncidentSummary(
        guards=tuple(guards),
        unguarded_fixed=unguarded,
        registry_path=str(registry.path) if registry else None,
    )
