"""The latency gate of one test: measure, compare to a baseline, judge, save.

Free of pytest and of the profiling package: the plugin creates one
:class:`TestGate` per test that uses the ``latency`` fixture or a
``latency_budget`` marker, hands it the run's settings and (unless profiling is
off) a :class:`Profiler`, feeds it measurements, and applies
:meth:`TestGate.result` to the test's report.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, NoReturn, Protocol

from pytest_prodguard.errors import ProdguardUsageError, describe_exception
from pytest_prodguard.results import GuardResult

if TYPE_CHECKING:
    from pytest_prodguard.latency.baseline import Baseline
    from pytest_prodguard.latency.compare import ComparisonVerdict
    from pytest_prodguard.latency.decisions import Decisions
    from pytest_prodguard.latency.measurement import Measurement
    from pytest_prodguard.latency.spec import LatencySpec
    from pytest_prodguard.latency.verdict import LatencyVerdict
    from pytest_prodguard.settings import Settings

LATENCY_SECTION = "prodguard latency"
#: The section a profile is shown in (the profiling package's title; not imported here).
PROFILE = "where the time went"


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
    #: Why nothing was judged (a tracer was active, nothing was measured), when so.
    not_judged: str | None = None
    #: What was saved as a baseline run, when the run saved one.
    saved: str | None = None
    #: Seconds other concerns spent inside the measurement (see timeaccounts), and its wall time.
    accounts: dict[str, float] = field(default_factory=dict)
    wall: float = 0.0
    #: What the sampler's looks decided (each budget and the comparison, once), when it sampled.
    decisions: Decisions | None = None

    def status(self) -> str:
        """pass | fail | warn | inconclusive | improved | recorded | not-judged."""
        from pytest_prodguard.latency.verdict import overall_status

        if self.not_judged is not None:
            return "not-judged"
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
        if self.not_judged is not None:
            return self.not_judged + self._median_text("; measured")
        if self.verdict is not None:
            return self.verdict.headline
        if self.comparison is not None:
            return self.comparison.headline
        return self._median_text(f"measured {self.label}:") or f"measured {self.label}: n/a"

    def _median_text(self, prefix: str) -> str:
        p50 = self.measurement.quantiles().get("p50")
        if p50 is None:
            return ""
        from pytest_prodguard.units import format_duration

        return f"{prefix} median {format_duration(p50)} [n={self.measurement.n}]"

    def details(self) -> str:
        """The multi-line section body."""
        if self.not_judged is not None:
            parts = [self.headline()]
        elif self.verdict is not None:
            parts = [self.verdict.details]
        elif self.comparison is not None:
            parts = [self.comparison.details]
        else:
            parts = [self.headline()]
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
        if self.not_judged is not None:
            data["not_judged"] = self.not_judged
        if self.comparison is not None:
            data["baseline"] = self.comparison.headline
        if self.saved is not None:
            data["saved"] = self.saved
        if self.accounts:
            data["accounts"] = {name: round(s, 9) for name, s in self.accounts.items()}
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
        #: What stopped profiling (pytest-timeout's Timeout, Ctrl-C): the plugin re-raises it.
        self.interrupted: BaseException | None = None

    # -- measuring

    def measure(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> Measurement:
        """Measure ``fn`` (adaptively, against the baseline when comparing) and judge it.

        Coroutine functions are awaited in a fresh event loop and generators
        consumed (:mod:`pytest_prodguard.latency.callables`).
        """
        from pytest_prodguard.latency.sampler import measure_with_decisions
        from pytest_prodguard.timeaccounts import accounting

        label, thunk = self._prepare(fn, args, kwargs)
        if self.settings.latency == "off":
            measurement = _single_call(thunk)
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        plan = self._plan(label)
        with self._interruptible(label, thunk) as partial, accounting() as spent:
            start = time.perf_counter()
            measurement, decisions = measure_with_decisions(
                fn, args, kwargs, on_interrupt=partial.append, **plan.options
            )
            wall = time.perf_counter() - start
        self._record(label, thunk, measurement, plan, spent=(spent, wall), decisions=decisions)
        return measurement

    async def measure_async(
        self, fn: Callable[..., object], args: Sequence[object], kwargs: Mapping[str, object]
    ) -> Measurement:
        """:meth:`measure`, awaiting ``fn`` in the running event loop (an async test's)."""
        from pytest_prodguard.latency.sampler import measure_with_decisions_async
        from pytest_prodguard.timeaccounts import accounting

        label, thunk = self._prepare(fn, args, kwargs)
        plan = self._plan(label)
        off = self.settings.latency == "off"
        if off:
            plan.options["spec"] = None
        with self._interruptible(label, thunk) as partial, accounting() as spent:
            start = time.perf_counter()
            measurement, decisions = await measure_with_decisions_async(
                fn, args, kwargs, on_interrupt=partial.append, **plan.options
            )
            wall = time.perf_counter() - start
        if off:
            self.calls.append(
                MeasuredCall(label, thunk, measurement, note="--prodguard-latency=off")
            )
            return measurement
        # The profile baseline would need a second event loop inside the running one.
        self._record(
            label,
            thunk,
            measurement,
            plan,
            profile_baseline=False,
            spent=(spent, wall),
            decisions=decisions,
        )
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
        from pytest_prodguard.latency.sampler import BASELINE_SAVE_SECONDS
        from pytest_prodguard.latency.tracers import active_tracer

        tracer = active_tracer()
        if tracer is not None:
            # Recorded for the report, never judged, compared or saved.
            return _Plan({"spec": None, "normalize": False}, not_judged=tracer.reason())
        settings = self.settings
        baseline, note = self._load_baseline(label)
        options = {
            "spec": self.spec,
            "baseline": baseline,
            "tolerance": settings.baseline_compare,
            "normalize": settings.latency_normalize == "auto",
            "min_seconds": BASELINE_SAVE_SECONDS if settings.baseline_save else 0.0,
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
                    f"interrupted by {describe_exception(exc)} after {measurement.n} rounds "
                    f"({measurement.elapsed:.3g} s): partial measurement, not judged"
                )
                self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=note))
            else:
                self.notes.append(
                    f"{label}: interrupted by {describe_exception(exc)} before any round was timed"
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
        spent: tuple[dict[str, float], float] | None = None,
        decisions: Decisions | None = None,
    ) -> None:
        """Judge the measurement (unless a tracer ran) and save it when asked.

        ``spent``: the time accounts' seconds inside the measurement, and its wall time;
        ``decisions``: what the sampler's looks decided (judged once, not replayed).
        """
        if plan.not_judged is not None:
            self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=plan.not_judged))
            return
        call = MeasuredCall(label, thunk, measurement, note=plan.note, decisions=decisions)
        if spent is not None:
            call.accounts, call.wall = spent
        self._judge(call, plan.baseline)
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
        from pytest_prodguard.latency.environment import machine_fingerprint
        from pytest_prodguard.latency.tracers import active_tracer
        from pytest_prodguard.latency.verdict import measurement_from_samples

        if self.spec is None:
            return
        measurement = replace(
            measurement_from_samples(samples, confidence=self.spec.confidence),
            fingerprint=MappingProxyType(machine_fingerprint()),
        )
        tracer = active_tracer()
        if tracer is not None:
            self.calls.append(MeasuredCall(label, thunk, measurement, not_judged=tracer.reason()))
            return
        baseline, note = self._load_baseline(label)
        self._judge(MeasuredCall(label, thunk, measurement, note=note), baseline)
        if self.settings.baseline_save:
            self._save(label, measurement, thunk)

    def judge_benchmark(self, fixture: object) -> None:
        """Judge the rounds pytest-benchmark's ``benchmark`` fixture measured, if any.

        ``fixture`` may be the :class:`RecordingBenchmark` that stood in for it,
        which also knows the benchmarked call (for the flamegraph).
        """
        if self.settings.latency == "off":
            return
        thunk = fixture.thunk if isinstance(fixture, RecordingBenchmark) else None
        stats = getattr(getattr(fixture, "stats", None), "stats", None)
        data = list(getattr(stats, "data", None) or ())
        if data:
            self.judge_samples(data, thunk=thunk)
        else:
            self.not_measured(
                "pytest-benchmark measured nothing (it is disabled under pytest-xdist "
                "and by --benchmark-disable)"
            )

    def not_measured(self, reason: str, label: str = "benchmark") -> None:
        """Record a call whose budget could not be judged because nothing was measured."""
        from pytest_prodguard.latency.verdict import measurement_from_samples

        empty = measurement_from_samples([])
        self.calls.append(MeasuredCall(label, None, empty, not_judged=f"not judged: {reason}"))

    def _label_for(self, fn: Callable[..., object]) -> str:
        name = getattr(fn, "__qualname__", None) or type(fn).__name__
        count = self._labels.get(name, 0) + 1
        self._labels[name] = count
        return name if count == 1 else f"{name}#{count}"

    def _baseline_file(self, label: str) -> Path:
        from pytest_prodguard.latency.baseline import baseline_path

        return baseline_path(self.settings.baseline_dir, self.nodeid, label)

    def _load_baseline(self, label: str) -> tuple[Baseline | None, str | None]:
        from pytest_prodguard.latency.baseline import (
            BaselineError,
            BaselineMissingError,
            load_baseline,
        )

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
        except BaselineError as error:
            if comparing:  # the comparison was asked for: the error (naming the file) stands
                raise
            return None, f"baseline ignored: {error}"

    def _judge(self, call: MeasuredCall, baseline: Baseline | None) -> None:
        from pytest_prodguard.latency.compare import compare_to_baseline
        from pytest_prodguard.latency.verdict import judge

        policy = self.settings.latency_inconclusive
        call.policy = policy
        tolerance = self.settings.baseline_compare
        if baseline is not None and tolerance is not None:
            call.comparison = compare_to_baseline(
                call.measurement,
                baseline,
                tolerance=tolerance,
                nodeid=self.display_id,
                decisions=call.decisions,
            )
        if self.spec is not None:
            call.verdict = judge(
                call.measurement,
                self.spec,
                inconclusive=policy,
                comparison=call.comparison,
                nodeid=self.display_id,
                decisions=call.decisions,
            )
        self.calls.append(call)

    def _save(
        self, label: str, measurement: Measurement, thunk: Callable[[], object] | None
    ) -> None:
        from pytest_prodguard.latency.baseline import BaselineError, save_baseline

        path = self._baseline_file(label)
        try:
            note = save_baseline(path, measurement, nodeid=self.nodeid)
        except (OSError, BaselineError) as error:  # the test's own verdict still stands
            self.notes.append(f"baseline not saved: {_one_line(error)}")
            return
        if note:
            self.notes.append(note)
        self.calls[-1].saved = _saved_text(path, measurement)
        if self.profiler is not None and thunk is not None:
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
        not_judged = [call for call in self.calls if call.status() == "not-judged"]
        if not_judged and self.settings.latency_inconclusive == "fail":
            failing += not_judged  # --prodguard-latency-inconclusive=fail: no verdict fails
        else:
            undecided += not_judged
        if failing and self.settings.latency == "fail":
            return "fail", "\n".join(call.headline() for call in failing)
        if failing:  # --prodguard-latency=warn
            return "warn", "\n".join(f"(warn only) {call.headline()}" for call in failing)
        if undecided:
            return "warn", "\n".join(call.headline() for call in undecided)
        return "pass", ""

    def _with_profile(self, result: GuardResult) -> GuardResult:
        first = next((call for call in self.calls if call.status() == "fail"), None)
        if self.profiler is None or first is None or first.thunk is None:
            return result
        stacks = self._baseline_file(first.label).with_suffix(".folded")
        try:
            profile = self.profiler.profile(first.thunk, stacks)
        except BaseException as exc:  # a timeout or Ctrl-C: stop at once, keep the verdict
            self.interrupted = exc
            stopped = f"profiling stopped by {describe_exception(exc)}"
            return result.including(GuardResult("profile", "pass", sections=((PROFILE, stopped),)))
        shares = first.account_lines()
        if shares:  # "where the time went" opens with the database's share, say
            sections = tuple(
                (title, "\n".join([*shares, body])) for title, body in profile.sections
            )
            profile = replace(profile, sections=sections)
        return result.including(profile)


def _single_call(thunk: Callable[[], object]) -> Measurement:
    from pytest_prodguard.latency.verdict import measurement_from_samples

    start = time.perf_counter()
    thunk()
    return measurement_from_samples([time.perf_counter() - start])


def _one_line(error: BaseException) -> str:
    """An exception as one line: ``OSError`` as its message and file, others as ``str``."""
    if isinstance(error, OSError) and error.strerror:
        target = f": {error.filename}" if error.filename else ""
        return f"{error.strerror}{target}"
    return " ".join(str(error).split())


def _saved_text(path: Path, measurement: Measurement) -> str:
    """``baseline run 3 of 3 saved to <path> (p50 1.2 ms)``: what the summary shows for a save."""
    from pytest_prodguard.latency.baseline import BaselineError, load_baseline
    from pytest_prodguard.units import format_duration

    try:
        runs = len(load_baseline(path).runs)
    except BaselineError:
        runs = 0
    p50 = measurement.quantiles().get("p50")
    median = f" (p50 {format_duration(p50)})" if p50 is not None else ""
    which = f"run {runs} of {runs}" if runs else "run"
    return f"baseline {which} saved to {path}{median}"


@dataclass
class _Plan:
    """How one call is measured: measure()'s keywords, and what to do with the result."""

    options: dict[str, Any]
    note: str | None = None
    baseline: Baseline | None = None
    not_judged: str | None = None


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
        from pytest_prodguard.latency.baseline import BaselineError

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
        from pytest_prodguard.latency.baseline import BaselineError

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
