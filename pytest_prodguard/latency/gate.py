"""The latency gate of one test: measure, compare to a baseline, judge, save.

Free of pytest and of the profiling package: the plugin creates one
:class:`TestGate` per test that uses the ``latency`` fixture or a
``latency_budget`` marker, hands it the run's settings and (unless profiling is
off) a :class:`Profiler`, feeds it measurements, and applies
:meth:`TestGate.result` to the test's report.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.results import GuardResult

if TYPE_CHECKING:
    from pytest_prodguard.latency.baseline import Baseline
    from pytest_prodguard.latency.compare import ComparisonVerdict
    from pytest_prodguard.latency.measurement import Measurement
    from pytest_prodguard.latency.spec import LatencySpec
    from pytest_prodguard.latency.verdict import LatencyVerdict
    from pytest_prodguard.settings import Settings

LATENCY_SECTION = "prodguard latency"


class Profiler(Protocol):
    """What the gate needs from a profiler (``profiling.FailureProfiler`` provides it)."""

    def profile(self, thunk: Callable[[], object], baseline: Path | None = None) -> GuardResult:
        """Profile ``thunk``; the result carries the profile's section, record and files."""

    def save_baseline(self, thunk: Callable[[], object], path: Path) -> str | None:
        """Save ``thunk``'s stacks at ``path``; a note when that was not possible."""


@dataclass
class MeasuredCall:
    """One callable measured in a test, with what was decided about it."""

    label: str
    thunk: Callable[[], object] | None
    measurement: Measurement
    verdict: LatencyVerdict | None = None
    comparison: ComparisonVerdict | None = None
    note: str | None = None
    policy: str = "warn"

    def status(self) -> str:
        """pass | fail | warn | inconclusive | improved | recorded."""
        from pytest_prodguard.latency.verdict import overall_status

        if self.verdict is not None:
            status = self.verdict.status
        elif self.comparison is not None:
            status = overall_status((), self.comparison, self.policy)
        else:
            return "recorded"
        improved = self.comparison is not None and self.comparison.status == "improved"
        return "improved" if status == "pass" and improved else status

    def headline(self) -> str:
        """One line on this call's verdict."""
        if self.verdict is not None:
            return self.verdict.headline
        if self.comparison is not None:
            return self.comparison.headline
        from pytest_prodguard.units import format_duration

        p50 = self.measurement.quantiles().get("p50")
        median = format_duration(p50) if p50 is not None else "n/a"
        return f"measured {self.label}: median {median} [n={self.measurement.n}]"

    def details(self) -> str:
        """The multi-line section body."""
        if self.verdict is not None:
            parts = [self.verdict.details]
        elif self.comparison is not None:
            parts = [self.comparison.details]
        else:
            parts = [self.headline()]
        if self.note:
            parts.append(f"note: {self.note}")
        return "\n".join(parts)

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
        if self.verdict is not None:
            data["verdict"] = self.verdict.to_dict()
        else:
            data["measurement"] = self.measurement.to_dict()
            if self.comparison is not None:
                data["comparison"] = self.comparison.to_dict()
        return data


class TestGate:
    """The latency gate for one test (``nodeid``), with an optional marker ``spec``."""

    __test__ = False  # not a pytest test class, despite the name

    def __init__(
        self,
        nodeid: str,
        spec: LatencySpec | None,
        settings: Settings,
        *,
        profiler: Profiler | None = None,
        display_id: str | None = None,
    ) -> None:
        self.nodeid = nodeid
        # The id as the user would type it from where pytest ran (reproduce lines).
        self.display_id = display_id or nodeid
        self.spec = spec
        self.settings = settings
        self.profiler = profiler
        self.calls: list[MeasuredCall] = []
        self.notes: list[str] = []
        self._labels: dict[str, int] = {}

    # -- measuring

    def measure(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> Measurement:
        """Measure ``fn`` (adaptively, against the baseline when comparing) and judge it."""
        from pytest_prodguard.latency.sampler import BASELINE_SAVE_SECONDS, measure

        if not callable(fn):
            raise ProdguardUsageError("fn", fn, "a callable: latency(fn, *args, **kwargs)")
        label = self._label_for(fn)
        # A partial has no Python frame of its own, so profiles start at ``fn``.
        thunk = functools.partial(fn, *args, **kwargs)
        settings = self.settings
        if settings.latency == "off":
            measurement = _single_call(thunk)
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        baseline, note = self._load_baseline(label)
        measurement = measure(
            fn,
            args,
            kwargs,
            spec=self.spec,
            baseline=baseline,
            tolerance=settings.baseline_compare,
            normalize=settings.latency_normalize == "auto",
            min_seconds=BASELINE_SAVE_SECONDS if settings.baseline_save else 0.0,
        )
        self._judge(MeasuredCall(label, thunk, measurement, note=note), baseline)
        if settings.baseline_save:
            self._save(label, measurement, thunk)
        return measurement

    def judge_samples(self, samples: Sequence[float], label: str = "benchmark") -> None:
        """Judge externally measured per-call seconds (pytest-benchmark's rounds)."""
        from pytest_prodguard.latency.verdict import judge_samples, measurement_from_samples

        if self.spec is None:
            return
        measurement = measurement_from_samples(samples, confidence=self.spec.confidence)
        verdict = judge_samples(
            samples,
            self.spec,
            inconclusive=self.settings.latency_inconclusive,
            nodeid=self.display_id,
        )
        self.calls.append(MeasuredCall(label, None, measurement, verdict=verdict))

    def judge_benchmark(self, fixture: object) -> None:
        """Judge the rounds pytest-benchmark's ``benchmark`` fixture measured, if any."""
        if self.settings.latency == "off":
            return
        stats = getattr(getattr(fixture, "stats", None), "stats", None)
        data = list(getattr(stats, "data", None) or ())
        if data:
            self.judge_samples(data)
        else:
            self.notes.append(
                "pytest-benchmark measured nothing (disabled, e.g. under xdist or "
                "--benchmark-disable): the latency budget was not judged"
            )

    def _label_for(self, fn: Callable[..., object]) -> str:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        count = self._labels.get(name, 0) + 1
        self._labels[name] = count
        return name if count == 1 else f"{name}#{count}"

    def _baseline_file(self, label: str) -> Path:
        from pytest_prodguard.latency.baseline import baseline_path

        return baseline_path(self.settings.baseline_dir, self.nodeid, label)

    def _load_baseline(self, label: str) -> tuple[Baseline | None, str | None]:
        from pytest_prodguard.latency.baseline import BaselineMissingError, load_baseline

        comparing = self.settings.baseline_compare is not None
        normalizing = self.settings.latency_normalize == "auto" and self.spec is not None
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

    def _judge(self, call: MeasuredCall, baseline: Baseline | None) -> None:
        from pytest_prodguard.latency.compare import compare_to_baseline
        from pytest_prodguard.latency.verdict import judge

        policy = self.settings.latency_inconclusive
        call.policy = policy
        tolerance = self.settings.baseline_compare
        if baseline is not None and tolerance is not None:
            call.comparison = compare_to_baseline(
                call.measurement, baseline, tolerance=tolerance, nodeid=self.display_id
            )
        if self.spec is not None:
            call.verdict = judge(
                call.measurement,
                self.spec,
                inconclusive=policy,
                comparison=call.comparison,
                nodeid=self.display_id,
            )
        self.calls.append(call)

    def _save(self, label: str, measurement: Measurement, thunk: Callable[[], object]) -> None:
        from pytest_prodguard.latency.baseline import save_baseline

        path = self._baseline_file(label)
        save_baseline(path, measurement, nodeid=self.nodeid)
        if self.profiler is not None:
            note = self.profiler.save_baseline(thunk, path.with_suffix(".folded"))
            if note:
                self.notes.append(f"profile baseline not saved: {note}")

    # -- deciding

    def result(self, *, judged: bool = True) -> GuardResult:
        """What the gate says about the test: fail, warn or pass from every call's verdict.

        ``judged=False``: the test failed on its own; its measurements are shown and
        recorded, but no verdict applies.
        """
        records: tuple[tuple[str, Any], ...] = ()
        if self.calls:
            records = (("latency", [call.to_dict(judged=judged) for call in self.calls]),)
        body = [call.details() for call in self.calls] + [f"note: {n}" for n in self.notes]
        sections = ((LATENCY_SECTION, "\n\n".join(body)),) if body else ()
        status, headline = self._verdict() if judged else ("pass", "")
        result = GuardResult("latency", status, headline, sections, records)
        if status == "fail":
            result = self._with_profile(result)
        return result

    def _verdict(self) -> tuple[str, str]:
        failing = [call for call in self.calls if call.status() == "fail"]
        undecided = [call for call in self.calls if call.status() in ("warn", "inconclusive")]
        if failing and self.settings.latency == "fail":
            return "fail", "\n".join(call.headline() for call in failing)
        if failing:  # --prodguard-latency=warn
            return "warn", "\n".join(f"(warn only) {call.headline()}" for call in failing)
        if undecided:
            return "warn", "\n".join(call.headline() for call in undecided)
        return "pass", ""

    def _with_profile(self, result: GuardResult) -> GuardResult:
        first = next(call for call in self.calls if call.status() == "fail")
        if self.profiler is None or first.thunk is None:
            return result
        stacks = self._baseline_file(first.label).with_suffix(".folded")
        return result.including(self.profiler.profile(first.thunk, stacks))


def _single_call(thunk: Callable[[], object]) -> Measurement:
    from pytest_prodguard.latency.verdict import measurement_from_samples

    start = time.perf_counter()
    thunk()
    return measurement_from_samples([time.perf_counter() - start])
