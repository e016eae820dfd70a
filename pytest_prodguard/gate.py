"""The latency gate of one test: measure, compare to a baseline, judge, save, profile.

Glue between :mod:`pytest_prodguard.latency` and :mod:`pytest_prodguard.profiling`,
free of pytest: the plugin creates one :class:`TestGate` per test that uses the
``latency`` fixture or a ``latency_budget`` marker, feeds it measurements, and
turns :meth:`TestGate.outcome` into the test's result.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_prodguard.errors import ProdguardUsageError

if TYPE_CHECKING:
    from pytest_prodguard.latency import (
        ComparisonVerdict,
        LatencySpec,
        LatencyVerdict,
        Measurement,
    )
    from pytest_prodguard.profiling import ProfileResult

LATENCY_SECTION = "prodguard latency"


@dataclass(frozen=True)
class GateSettings:
    """The run-wide settings the gate needs (a slice of the plugin's Settings)."""

    mode: str = "fail"  # fail | warn | off
    inconclusive: str = "warn"
    normalize: bool = True
    baseline_save: bool = False
    baseline_compare: float | None = None
    baseline_dir: Path = Path(".prodguard/baselines")
    profile: str = "failures"  # failures | off
    profile_with: str = "auto"
    profile_seconds: float = 2.0
    profile_dir: Path = Path(".prodguard/profiles")
    profile_top: int = 8


@dataclass
class MeasuredCall:
    """One callable measured in a test, with what was decided about it."""

    label: str
    thunk: Callable[[], object]
    measurement: Measurement
    verdict: LatencyVerdict | None = None
    comparison: ComparisonVerdict | None = None
    note: str | None = None
    # Seconds other concerns spent inside the measurement (see timeaccounts), and its wall time.
    accounts: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0

    def status(self) -> str:
        """pass | fail | warn | inconclusive | improved | recorded."""
        if self.verdict is not None:
            if self.verdict.status == "pass" and self._improved():
                return "improved"
            return self.verdict.status
        if self.comparison is not None:
            return {
                "regressed": "fail",
                "improved": "improved",
                "inconclusive": "inconclusive",
            }.get(self.comparison.status, "pass")
        return "recorded"

    def _improved(self) -> bool:
        return self.comparison is not None and self.comparison.status == "improved"

    def headline(self) -> str:
        """One line on this call's verdict."""
        if self.verdict is not None:
            return self.verdict.headline
        if self.comparison is not None:
            return self.comparison.headline
        quantiles = self.measurement.quantiles()
        p50 = quantiles.get("p50")
        from pytest_prodguard.units import format_duration

        median = format_duration(p50) if p50 is not None else "n/a"
        return f"measured {self.label}: median {median} [n={self.measurement.n}]"

    def details(self) -> str:
        """The multi-line section body."""
        parts = []
        if self.verdict is not None:
            parts.append(self.verdict.details)
        elif self.comparison is not None:
            parts.append(self.comparison.details)
        else:
            parts.append(self.headline())
        if self.note:
            parts.append(f"note: {self.note}")
        parts.extend(self.account_lines())
        return "\n".join(parts)

    def account_lines(self) -> list[str]:
        """Where the measured time went besides the code itself (the database, say)."""
        from pytest_prodguard.timeaccounts import share_lines

        return share_lines(self.accounts, self.wall)

    def to_dict(self, *, judged: bool = True) -> dict[str, Any]:
        """JSON-serialisable record for ``user_properties`` and the JSON report.

        ``judged=False``: the test failed on its own, so no latency verdict applies.
        """
        data: dict[str, Any] = {
            "label": self.label,
            "status": self.status() if judged else "not-judged",
            "headline": self.headline(),
            "note": self.note,
        }
        if self.accounts:
            data["accounts"] = {name: round(s, 9) for name, s in self.accounts.items()}
        if self.verdict is not None:
            data["verdict"] = self.verdict.to_dict()
        else:
            data["measurement"] = self.measurement.to_dict()
            if self.comparison is not None:
                data["comparison"] = self.comparison.to_dict()
        return data


@dataclass(frozen=True)
class GateOutcome:
    """What the plugin should do with the test."""

    status: str  # pass | fail | warn
    message: str  # the failure headline(s) or warning text
    sections: list[tuple[str, str]] = field(default_factory=list)
    records: list[tuple[str, Any]] = field(default_factory=list)
    profile: ProfileResult | None = None


class TestGate:
    """The latency gate for one test (``nodeid``), with an optional marker ``spec``."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        nodeid: str,
        spec: LatencySpec | None,
        settings: GateSettings,
        *,
        display_id: str | None = None,
    ) -> None:
        self.nodeid = nodeid
        # The id as the user would type it from where pytest ran (reproduce lines).
        self.display_id = display_id or nodeid
        self.spec = spec
        self.settings = settings
        self.calls: list[MeasuredCall] = []
        self.notes: list[str] = []
        self._labels: dict[str, int] = {}

    # -- measuring

    def measure(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> Measurement:
        """Measure ``fn`` (adaptively, against the baseline when comparing) and judge it."""
        from pytest_prodguard import latency

        if not callable(fn):
            raise ProdguardUsageError("fn", fn, "a callable: latency(fn, *args, **kwargs)")
        label = self._label_for(fn)
        # A partial has no Python frame of its own, so profiles start at ``fn``.
        thunk = functools.partial(fn, *args, **kwargs)

        if self.settings.mode == "off":
            measurement = _single_call(thunk)
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        baseline, note = self._load_baseline(label)
        from pytest_prodguard.timeaccounts import accounting

        start = time.perf_counter()
        with accounting() as spent:
            measurement = latency.measure(
                fn,
                args,
                kwargs,
                spec=self.spec,
                baseline=baseline,
                tolerance=self.settings.baseline_compare,
                normalize=self.settings.normalize,
                min_seconds=latency.BASELINE_SAVE_SECONDS if self.settings.baseline_save else 0.0,
            )
        call = MeasuredCall(label, thunk, measurement, note=note, accounts=spent)
        call.wall = time.perf_counter() - start
        self._judge(call, baseline)
        if self.settings.baseline_save:
            self._save(label, measurement, thunk)
        return measurement

    def judge_samples(self, samples: Sequence[float], label: str = "benchmark") -> None:
        """Judge externally measured per-call seconds (pytest-benchmark's rounds)."""
        from pytest_prodguard import latency

        if self.spec is None:
            return
        measurement = latency.measurement_from_samples(samples, confidence=self.spec.confidence)
        verdict = latency.judge_samples(
            samples, self.spec, inconclusive=self.settings.inconclusive, nodeid=self.display_id
        )
        self.calls.append(MeasuredCall(label, _no_thunk, measurement, verdict=verdict))

    def _label_for(self, fn: Callable[..., object]) -> str:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        count = self._labels.get(name, 0) + 1
        self._labels[name] = count
        return name if count == 1 else f"{name}#{count}"

    def _baseline_file(self, label: str) -> Path:
        from pytest_prodguard.latency import baseline_path

        return baseline_path(self.settings.baseline_dir, self.nodeid, label)

    def _load_baseline(self, label: str) -> tuple[Any, str | None]:
        from pytest_prodguard.latency import BaselineMissingError, load_baseline

        comparing = self.settings.baseline_compare is not None
        normalizing = self.settings.normalize and self.spec is not None
        if not (comparing or normalizing):
            return None, None
        path = self._baseline_file(label)
        try:
            return load_baseline(path), None
        except BaselineMissingError:
            if not comparing:
                return None, None
            return None, (
                f"no baseline saved for {label} ({path.name}); comparison skipped — "
                "save one with --prodguard-baseline-save"
            )

    def _judge(self, call: MeasuredCall, baseline: Any) -> None:
        from pytest_prodguard import latency

        if baseline is not None and self.settings.baseline_compare is not None:
            call.comparison = latency.compare_to_baseline(
                call.measurement,
                baseline,
                tolerance=self.settings.baseline_compare,
                nodeid=self.display_id,
            )
        if self.spec is not None:
            call.verdict = latency.judge(
                call.measurement,
                self.spec,
                inconclusive=self.settings.inconclusive,
                comparison=call.comparison,
                nodeid=self.display_id,
            )
        self.calls.append(call)

    def _save(self, label: str, measurement: Measurement, thunk: Callable[[], object]) -> None:
        from pytest_prodguard.latency import save_baseline

        path = self._baseline_file(label)
        save_baseline(path, measurement, nodeid=self.nodeid)
        if self.settings.profile != "off":
            from pytest_prodguard.profiling import save_profile_baseline

            saved = save_profile_baseline(
                thunk,
                path=path.with_suffix(".folded"),
                seconds=min(1.0, self.settings.profile_seconds),
                profiler=self.settings.profile_with,
            )
            if saved.note:
                self.notes.append(f"profile baseline not saved: {saved.note}")

    # -- deciding

    def _records_and_sections(
        self, *, judged: bool = True
    ) -> tuple[list[tuple[str, Any]], list[tuple[str, str]]]:
        records: list[tuple[str, Any]] = []
        if self.calls:
            records.append(("latency", [call.to_dict(judged=judged) for call in self.calls]))
        body = [call.details() for call in self.calls] + [f"note: {n}" for n in self.notes]
        sections = [(LATENCY_SECTION, "\n\n".join(body))] if body else []
        return records, sections

    def outcome_without_verdict(self) -> GateOutcome:
        """Record and show the measurements of a test that failed on its own; judge nothing."""
        records, sections = self._records_and_sections(judged=False)
        return GateOutcome("pass", "", sections, records)

    def outcome(self) -> GateOutcome:
        """Fail, warn or pass the test from every measured call's verdict."""
        records, sections = self._records_and_sections()
        failing = [call for call in self.calls if call.status() == "fail"]
        warning = [c for c in self.calls if c.status() in ("warn", "inconclusive", "improved")]
        if failing and self.settings.mode == "fail":
            profile = self._profile(failing[0])
            if profile is not None:
                body = "\n".join([*failing[0].account_lines(), profile.section()])
                sections.append((profile_section_title(), body))
                records.append(("profile", profile.to_dict()))
            message = "\n".join(call.headline() for call in failing)
            return GateOutcome("fail", message, sections, records, profile)
        if failing:  # --prodguard-latency=warn
            message = "\n".join(f"(warn only) {call.headline()}" for call in failing)
            return GateOutcome("warn", message, sections, records)
        if warning:
            return GateOutcome("warn", "\n".join(c.headline() for c in warning), sections, records)
        return GateOutcome("pass", "", sections, records)

    def _profile(self, call: MeasuredCall) -> ProfileResult | None:
        if self.settings.profile == "off" or call.thunk is _no_thunk:
            return None
        return profile_thunk(
            call.thunk, self.nodeid, self.settings, self._baseline_file(call.label)
        )

    def discard_profile(self) -> None:
        """Remove an earlier profile of this test: a passing test keeps none."""
        discard_profile_of(self.nodeid, self.settings)


def profile_thunk(
    thunk: Callable[[], object], nodeid: str, settings: GateSettings, baseline: Path | None = None
) -> ProfileResult:
    """Profile ``thunk`` for the configured window; never raises for profiling problems."""
    from pytest_prodguard.profiling import profile_callable, sanitize_nodeid

    stacks = baseline.with_suffix(".folded") if baseline is not None else None
    return profile_callable(
        thunk,
        profiler=settings.profile_with,
        seconds=settings.profile_seconds,
        out_dir=settings.profile_dir,
        name=sanitize_nodeid(nodeid),
        top=settings.profile_top,
        baseline=stacks if stacks is not None and stacks.exists() else None,
    )


def discard_profile_of(nodeid: str, settings: GateSettings) -> None:
    """Delete the profile files an earlier failing run of ``nodeid`` left behind."""
    from pytest_prodguard.profiling import discard_profile, sanitize_nodeid

    discard_profile(settings.profile_dir, sanitize_nodeid(nodeid))


def profile_section_title() -> str:
    """The report section title of a profile ("where the time went")."""
    from pytest_prodguard.profiling import SECTION_TITLE

    return SECTION_TITLE


def _single_call(thunk: Callable[[], object]) -> Measurement:
    from pytest_prodguard.latency import measurement_from_samples

    start = time.perf_counter()
    thunk()
    return measurement_from_samples([time.perf_counter() - start])


def _no_thunk() -> None:
    """Stands in for calls the gate did not make itself (pytest-benchmark's)."""


_SUMMARY_WORDS = {
    "fail": "FAIL        ",
    "warn": "WARN        ",
    "inconclusive": "INCONCLUSIVE",
    "improved": "IMPROVED    ",
    "pass": "pass        ",
    "recorded": "recorded    ",
    "not-judged": "not judged  ",
}


def summary_lines(tests: Sequence[tuple[str, list[dict[str, Any]]]]) -> list[str]:
    """The "prodguard latency" terminal lines: one per measured call, worst first."""
    order = list(_SUMMARY_WORDS)
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
        word = _SUMMARY_WORDS.get(call.get("status", ""), call.get("status", "?"))
        lines.append(f"{word} {nodeid} [{call.get('label')}]: {call.get('headline')}")
    improved = sum(1 for row in rows if row[2].get("status") == "improved")
    if improved:
        lines.append(
            f"{improved} measured call(s) got significantly faster than their baseline: "
            "re-save with --prodguard-baseline-save to tighten it"
        )
    return lines
