"""The latency gate of one test: measure, compare to a baseline, judge, save, profile.

Glue between :mod:`pytest_prodguard.latency` and :mod:`pytest_prodguard.profiling`,
free of pytest: the plugin creates one :class:`TestGate` per test that uses the
``latency`` fixture or a ``latency_budget`` marker, feeds it measurements, and
turns :meth:`TestGate.outcome` into the test's result.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn

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
    #: This pytest run's id: its profiles go to ``profile_dir/run-<id>/`` (see profiling.files).
    profile_run: str = ""
    profile_keep: int = 5
    profile_frames: str = "function"


@dataclass
class MeasuredCall:
    """One callable measured in a test, with what was decided about it."""

    label: str
    thunk: Callable[[], object]
    measurement: Measurement
    verdict: LatencyVerdict | None = None
    comparison: ComparisonVerdict | None = None
    note: str | None = None
    #: Why nothing was judged (a tracer was active, nothing was measured), when so.
    not_judged: str | None = None
    #: What was saved as a baseline run, when the run saved one.
    saved: str | None = None

    def status(self) -> str:
        """pass | fail | warn | inconclusive | improved | recorded | not-judged."""
        if self.not_judged is not None:
            return "not-judged"
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
        if self.not_judged is not None:
            return self.not_judged + self._median_text("; measured")
        if self.verdict is not None:
            return self.verdict.headline
        if self.comparison is not None:
            return self.comparison.headline
        return self._median_text(f"measured {self.label}:")

    def _median_text(self, prefix: str) -> str:
        p50 = self.measurement.quantiles().get("p50")
        if p50 is None:
            return ""
        from pytest_prodguard.units import format_duration

        return f"{prefix} median {format_duration(p50)} [n={self.measurement.n}]"

    def details(self) -> str:
        """The multi-line section body."""
        parts = []
        if self.not_judged is not None:
            parts.append(self.headline())
        elif self.verdict is not None:
            parts.append(self.verdict.details)
        elif self.comparison is not None:
            parts.append(self.comparison.details)
        else:
            parts.append(self.headline())
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
        if self.not_judged is not None:
            data["not_judged"] = self.not_judged
        if self.comparison is not None:
            data["baseline"] = self.comparison.headline
        if self.saved is not None:
            data["saved"] = self.saved
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
    #: What stopped profiling (pytest-timeout's Timeout, Ctrl-C): raise it after attaching.
    interrupted: BaseException | None = None


@dataclass
class _Plan:
    """How one call is measured: measure()'s keywords, and what to do with the result."""

    options: dict[str, Any]
    note: str | None = None
    baseline: Any = None
    not_judged: str | None = None


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
        """Measure ``fn`` (adaptively, against the baseline when comparing) and judge it.

        Coroutine functions are awaited in a fresh event loop and generators
        consumed (:mod:`pytest_prodguard.latency.callables`).
        """
        from pytest_prodguard import latency

        label, thunk = self._prepare(fn, args, kwargs)
        if self.settings.mode == "off":
            measurement = _single_call(thunk)
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        plan = self._plan(label)
        with self._interruptible(label, thunk) as partial:
            measurement = latency.measure(
                fn, args, kwargs, on_interrupt=partial.append, **plan.options
            )
        self._record(label, thunk, measurement, plan)
        return measurement

    async def measure_async(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> Measurement:
        """:meth:`measure`, awaiting ``fn`` in the running event loop (an async test's)."""
        from pytest_prodguard.latency import sampler

        label, thunk = self._prepare(fn, args, kwargs)
        plan = self._plan(label)
        if self.settings.mode == "off":
            plan.options["spec"] = None
        with self._interruptible(label, thunk) as partial:
            measurement = await sampler.measure_async(
                fn, args, kwargs, on_interrupt=partial.append, **plan.options
            )
        if self.settings.mode == "off":
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        # The profile baseline would need a second event loop inside the running one.
        self._record(label, thunk, measurement, plan, profile_baseline=False)
        return measurement

    def _prepare(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> tuple[str, Callable[[], object]]:
        """The call's label and a plain thunk that does its whole work once (for profiling)."""
        from pytest_prodguard.latency import callables

        kind = callables.classify(fn)
        label = self._label_for(fn)
        if kind in callables.ASYNC_KINDS:
            return label, callables.LoopCall(callables.as_awaitable(fn, kind), args, kwargs)
        # A partial has no Python frame of its own, so profiles start at ``fn``; a builtin
        # gets one frame named after it (it has none of its own to be seen in).
        work = callables.in_own_frame(callables.as_sync(fn, kind))
        return label, functools.partial(work, *args, **kwargs)

    def _plan(self, label: str) -> _Plan:
        """How to measure ``label``: against its budget and baseline, or only record (a tracer)."""
        from pytest_prodguard import latency
        from pytest_prodguard.latency.tracers import active_tracer

        tracer = active_tracer()
        if tracer is not None:
            # Recorded for the report, never judged, compared or saved.
            return _Plan({"spec": None, "normalize": False}, not_judged=tracer.reason())
        baseline, note = self._load_baseline(label)
        options = {
            "spec": self.spec,
            "baseline": baseline,
            "tolerance": self.settings.baseline_compare,
            "normalize": self.settings.normalize,
            "min_seconds": latency.BASELINE_SAVE_SECONDS if self.settings.baseline_save else 0.0,
        }
        return _Plan(options, note=note, baseline=baseline)

    @contextlib.contextmanager
    def _interruptible(
        self, label: str, thunk: Callable[[], object]
    ) -> Iterator[list[Measurement]]:
        """Record what was measured before a timeout, Ctrl-C or error stopped the measurement."""
        partial: list[Measurement] = []
        try:
            yield partial
        except ProdguardUsageError:
            raise
        except BaseException as exc:
            if partial:
                measurement = partial[0]
                note = (
                    f"interrupted by {_describe(exc)} after {measurement.n} rounds "
                    f"({measurement.elapsed:.3g} s): partial measurement, not judged"
                )
                self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=note))
            else:
                self.notes.append(
                    f"{label}: interrupted by {_describe(exc)} before any round was timed"
                )
            raise

    def _record(
        self,
        label: str,
        thunk: Callable[[], object],
        measurement: Measurement,
        plan: _Plan,
        *,
        profile_baseline: bool = True,
    ) -> None:
        """Judge the measurement (unless a tracer ran) and save it when asked."""
        if plan.not_judged is not None:
            self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=plan.not_judged))
            return
        self._judge(MeasuredCall(label, thunk, measurement, note=plan.note), plan.baseline)
        if self.settings.baseline_save:
            self._save(label, measurement, thunk if profile_baseline else None)

    def judge_samples(
        self,
        samples: Sequence[float],
        label: str = "benchmark",
        thunk: Callable[[], object] | None = None,
    ) -> None:
        """Judge externally measured per-call seconds (pytest-benchmark's rounds).

        Like a measured call: compared with its baseline and saved when asked,
        and profiled on failure when ``thunk`` (the benchmarked call) is known.
        """
        from pytest_prodguard import latency
        from pytest_prodguard.latency.tracers import active_tracer

        if self.spec is None:
            return
        measurement = replace(
            latency.measurement_from_samples(samples, confidence=self.spec.confidence),
            fingerprint=MappingProxyType(latency.machine_fingerprint()),
        )
        thunk = thunk or _no_thunk
        tracer = active_tracer()
        if tracer is not None:
            self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=tracer.reason()))
            return
        baseline, note = self._load_baseline(label)
        self._judge(MeasuredCall(label, thunk, measurement, note=note), baseline)
        if self.settings.baseline_save:
            self._save(label, measurement, None if thunk is _no_thunk else thunk)

    def not_measured(self, reason: str, label: str = "benchmark") -> None:
        """Record a call whose budget could not be judged because nothing was measured."""
        from pytest_prodguard import latency

        empty = latency.measurement_from_samples([])
        self.calls.append(MeasuredCall(label, _no_thunk, empty, not_judged=f"not judged: {reason}"))

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

    def _save(
        self, label: str, measurement: Measurement, thunk: Callable[[], object] | None
    ) -> None:
        from pytest_prodguard.latency import save_baseline

        path = self._baseline_file(label)
        save_baseline(path, measurement, nodeid=self.nodeid)
        self.calls[-1].saved = _saved_text(path, measurement)
        if self.settings.profile != "off" and thunk is not None:
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
        not_judged = [c for c in self.calls if c.status() == "not-judged"]
        if not_judged and self.settings.inconclusive == "fail":
            failing += not_judged  # --prodguard-latency-inconclusive=fail: no verdict fails
        else:
            warning += not_judged
        if failing and self.settings.mode == "fail":
            message = "\n".join(call.headline() for call in failing)
            try:
                profile = self._profile(failing[0])
            except BaseException as exc:  # a timeout or Ctrl-C: stop, keep what was decided
                sections.append((profile_section_title(), f"profiling stopped by {_describe(exc)}"))
                return GateOutcome("fail", message, sections, records, interrupted=exc)
            if profile is not None:
                sections.append((profile_section_title(), profile.section()))
                records.append(("profile", profile.to_dict()))
            return GateOutcome("fail", message, sections, records, profile)
        if failing:  # --prodguard-latency=warn
            message = "\n".join(f"(warn only) {call.headline()}" for call in failing)
            return GateOutcome("warn", message, sections, records)
        if warning:
            return GateOutcome("warn", "\n".join(c.headline() for c in warning), sections, records)
        return GateOutcome("pass", "", sections, records)

    def _profile(self, call: MeasuredCall) -> ProfileResult | None:
        if self.settings.profile == "off" or call.thunk is _no_thunk or call.not_judged:
            return None
        return profile_thunk(
            call.thunk, self.nodeid, self.settings, self._baseline_file(call.label)
        )


class LatencyMeter:
    """The ``latency`` fixture: ``latency(fn, *args)``, ``await latency.measure_async(fn, *args)``.

    A usage error (a coroutine object, a broken baseline file) goes to ``fail``
    with the message, outside the ``except`` block so no chained traceback shows.
    """

    def __init__(self, gate: TestGate, fail: Callable[[str], NoReturn]) -> None:
        self._gate = gate
        self._fail = fail

    def __call__(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> Measurement:
        """Measure ``fn(*args, **kwargs)``: called, awaited in a fresh loop, or consumed."""
        __tracebackhide__ = True
        from pytest_prodguard.latency import BaselineError

        try:
            return self._gate.measure(fn, args, kwargs)
        except (ProdguardUsageError, BaselineError) as exc:
            message = f"latency(): {exc}"
        self._fail(message)

    async def measure_async(
        self, fn: Callable[..., object], /, *args: Any, **kwargs: Any
    ) -> Measurement:
        """Measure ``await fn(*args, **kwargs)`` in the running event loop (async tests)."""
        __tracebackhide__ = True
        from pytest_prodguard.latency import BaselineError

        try:
            return await self._gate.measure_async(fn, args, kwargs)
        except (ProdguardUsageError, BaselineError) as exc:
            message = f"latency.measure_async(): {exc}"
        self._fail(message)


class RecordingBenchmark:
    """Stands in for pytest-benchmark's fixture during a budgeted test and notes what it ran.

    ``benchmark(fn, *args)`` and ``benchmark.pedantic(fn, args, kwargs)`` go to the
    real fixture unchanged; the call is kept as :attr:`thunk` so that a failing
    budget can be profiled and a saved baseline gets its profile. Everything else
    is forwarded. (A pedantic ``setup`` makes the arguments per round: no thunk.)
    """

    def __init__(self, fixture: Any) -> None:
        self.fixture = fixture
        self.thunk: Callable[[], object] | None = None

    def __call__(self, fn: Callable[..., object], /, *args: Any, **kwargs: Any) -> Any:
        """Benchmark ``fn(*args, **kwargs)`` with pytest-benchmark, remembering the call."""
        self.thunk = functools.partial(fn, *args, **kwargs)
        return self.fixture(fn, *args, **kwargs)

    def pedantic(
        self,
        target: Callable[..., object],
        args: Sequence[object] = (),
        kwargs: Mapping[str, object] | None = None,
        setup: Callable[[], object] | None = None,
        *rest: Any,
        **options: Any,
    ) -> Any:
        """pytest-benchmark's ``pedantic``, remembering the call when it has fixed arguments."""
        if setup is None:
            self.thunk = functools.partial(target, *args, **(kwargs or {}))
        return self.fixture.pedantic(target, args, kwargs, setup, *rest, **options)

    def __getattr__(self, name: str) -> Any:
        return getattr(self.fixture, name)


def profile_thunk(
    thunk: Callable[[], object], nodeid: str, settings: GateSettings, baseline: Path | None = None
) -> ProfileResult:
    """Profile ``thunk`` for the configured window; never raises for profiling problems."""
    from pytest_prodguard.profiling import new_run_id, profile_callable, run_folder, sanitize_nodeid

    stacks = baseline.with_suffix(".folded") if baseline is not None else None
    out_dir = run_folder(
        settings.profile_dir, settings.profile_run or new_run_id(), keep=settings.profile_keep
    )
    return profile_callable(
        thunk,
        profiler=settings.profile_with,
        seconds=settings.profile_seconds,
        out_dir=out_dir,
        name=sanitize_nodeid(nodeid),
        top=settings.profile_top,
        baseline=stacks if stacks is not None and stacks.exists() else None,
        frames=settings.profile_frames,
    )


def profile_section_title() -> str:
    """The report section title of a profile ("where the time went")."""
    from pytest_prodguard.profiling import SECTION_TITLE

    return SECTION_TITLE


def _single_call(thunk: Callable[[], object]) -> Measurement:
    from pytest_prodguard.latency import measurement_from_samples

    start = time.perf_counter()
    thunk()
    return measurement_from_samples([time.perf_counter() - start])


def _saved_text(path: Path, measurement: Measurement) -> str:
    """``baseline run 3 of 3 saved to <path> (p50 1.2 ms)``: what the summary shows for a save."""
    from pytest_prodguard.latency import BaselineError, load_baseline
    from pytest_prodguard.units import format_duration

    try:
        runs = len(load_baseline(path).runs)
    except BaselineError:
        runs = 0
    p50 = measurement.quantiles().get("p50")
    median = f" (p50 {format_duration(p50)})" if p50 is not None else ""
    which = f"run {runs} of {runs}" if runs else "run"
    return f"baseline {which} saved to {path}{median}"


def _describe(exc: BaseException) -> str:
    from pytest_prodguard.profiling.runner import describe_exception

    return describe_exception(exc)


def _no_thunk() -> None:
    """Stands in for calls the gate did not make itself (pytest-benchmark's)."""


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
