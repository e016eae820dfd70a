"""The latency concern: ``latency_budget`` marker, ``latency`` fixture, the per-test gate.

The marker is evaluated once at collection into a frozen ``LatencySpec`` under a
StashKey; the test's :class:`~pytest_prodguard.latency.gate.TestGate` measures
and, when the call ends, its result is queued for the one makereport
(:mod:`pytest_prodguard.plugin.outcome`). A warn-tier or undecided verdict is a
:class:`~pytest_prodguard.LatencyWarning`, emitted during the call; under ``-W error``
the test fails with the warning as its headline.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from pytest_prodguard.errors import LatencyWarning, ProdguardUsageError
from pytest_prodguard.plugin.common import (
    add_result,
    gate_key,
    invocation_relative,
    latency_spec_key,
    profiler_key,
    register_plugin,
    reject,
    requested_fixtures,
    xdist_active,
)

if TYPE_CHECKING:
    from pytest_prodguard.latency import LatencySpec
    from pytest_prodguard.latency.gate import RecordingBenchmark, TestGate
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

LATENCY_SIGNATURE = (
    "latency_budget(*, p50=None, p90=None, p95=None, p99=None, max=None, mean=None, "
    "warn_p50=None, warn_p90=None, warn_p95=None, warn_p99=None, warn_max=None, warn_mean=None, "
    "warn_ratio=None, peak_memory=None, warn_peak_memory=None, max_time='2s', warmup=None, "
    "confidence=0.95, include_cpu_wait=False)"
)
MARKER = (
    f"{LATENCY_SIGNATURE}: latency and memory budget for what the test measures with the "
    "'latency' fixture (or pytest-benchmark's 'benchmark'). Durations in seconds or strings "
    "('150us', '20ms'), memory like '64MB'. Judged with distribution-free confidence intervals: "
    "fails only when confidently over budget; undecided after max_time is a warning."
)
#: The pytest-xdist group of budget-marked tests (serial on one worker under --dist loadgroup).
XDIST_GROUP = "prodguard-latency"

benchmark_key: pytest.StashKey[RecordingBenchmark] = pytest.StashKey()


class LatencyPlugin:
    """Evaluates budget markers, provides the ``latency`` fixture, judges each test's calls."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate every ``latency_budget`` marker once (a bad one errors its test at setup)."""
        group = xdist_active(self.config)
        for item in items:
            marker = item.get_closest_marker("latency_budget")
            if marker is None:
                continue
            try:
                item.stash[latency_spec_key] = parse_budget(
                    item, marker, self.settings.latency_scale
                )
            except ProdguardUsageError as exc:
                reject(item, "latency_budget", exc)
                continue
            if group:
                item.add_marker(pytest.mark.xdist_group(XDIST_GROUP))

    @pytest.fixture
    def latency(self, request: pytest.FixtureRequest) -> Any:
        """Measure a callable adaptively: ``latency(fn, *args, **kwargs)`` returns a Measurement.

        Coroutine functions are awaited (``await latency.measure_async(fn, ...)``
        inside an async test) and generators consumed fully. With
        ``@pytest.mark.latency_budget(...)`` every call is judged against the budget
        after the test body returns; without a marker it measures and records only.
        Example::

            @pytest.mark.latency_budget(p95="20ms")
            def test_predict_is_fast(latency, service):
                result = latency(service.predict, ["a short review"])
                assert result.n > 0
        """
        from pytest_prodguard.latency.gate import LatencyMeter

        nodeid = request.node.nodeid

        def fail(message: str) -> NoReturn:
            __tracebackhide__ = True
            pytest.fail(f"{nodeid}: {message}", pytrace=False)

        return LatencyMeter(gate_for(request.node, self.settings), fail)

    @pytest.hookimpl(tryfirst=True)
    def pytest_runtest_setup(self, item: pytest.Item) -> None:
        """Start each attempt afresh: pytest-rerunfailures runs the same item again.

        Each attempt is measured and judged on its own; an earlier attempt's gate
        would otherwise carry its measurements into the later attempts' verdicts.
        """
        keys: tuple[pytest.StashKey[Any], ...] = (gate_key, benchmark_key)
        for key in keys:
            if key in item.stash:
                del item.stash[key]

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_call(self, item: pytest.Item) -> Generator[None, None, None]:
        """Judge what the test measured once its body has returned (or failed)."""
        watcher = _watch_benchmark(item)
        try:
            try:
                result = yield
            except BaseException:
                finish(item, self.settings, judged=False)
                raise
            finish(item, self.settings, judged=True)
        finally:
            if watcher is not None:  # pytest-benchmark checks the fixture's type afterwards
                item.funcargs["benchmark"] = watcher.fixture  # type: ignore[attr-defined]
        return result


def parse_budget(item: pytest.Item, marker: pytest.Mark, scale: float) -> LatencySpec:
    """The test's ``latency_budget`` marker as a frozen spec; a usage error when it is bad."""
    from pytest_prodguard.latency import parse_latency_spec

    if marker.args:
        raise ProdguardUsageError(
            "args", marker.args, f"keyword arguments only: {LATENCY_SIGNATURE}"
        )
    spec = parse_latency_spec(marker.kwargs, scale=scale)
    if not set(getattr(item, "fixturenames", ())) & {"latency", "benchmark"}:
        raise ProdguardUsageError(
            "fixtures",
            requested_fixtures(item),
            "a test that uses the 'latency' fixture "
            "(latency(fn, *args)) or pytest-benchmark's 'benchmark' fixture",
        )
    return spec


def gate_for(item: pytest.Item, settings: Settings) -> TestGate:
    """The latency gate of ``item``, created on first use (with the test's profiler)."""
    gate = item.stash.get(gate_key, None)
    if gate is None:
        from pytest_prodguard.latency.gate import TestGate
        from pytest_prodguard.plugin.profiling import failure_profiler

        marked = item.stash.get(profiler_key, None)
        gate = TestGate(
            item.nodeid,
            item.stash.get(latency_spec_key, None),
            settings,
            profiler=failure_profiler(item.config, settings, item.nodeid, marked),
            display_id=invocation_relative(item.config, item.nodeid),
        )
        item.stash[gate_key] = gate
    return gate


def finish(item: pytest.Item, settings: Settings, *, judged: bool) -> None:
    """Queue the gate's result for the call report (and warn, for a warn verdict)."""
    __tracebackhide__ = True
    spec = item.stash.get(latency_spec_key, None)
    if spec is None and gate_key not in item.stash:
        return
    gate = gate_for(item, settings)
    bench = getattr(item, "funcargs", {}).get("benchmark")
    if spec is not None and not gate.calls and bench is not None:
        gate.judge_benchmark(bench)
    if gate.calls or gate.notes:
        result = gate.result(judged=judged)
    elif judged and spec is not None and settings.latency != "off":
        result = _nothing_measured(item)
    else:
        return
    if result.status == "warn" and not _warn(item, result):
        result = replace(result, status="fail", headline=f"LatencyWarning: {result.headline}")
    add_result(item, result)
    if gate.interrupted is not None:  # a timeout or Ctrl-C while profiling: let it through
        raise gate.interrupted


def _watch_benchmark(item: pytest.Item) -> RecordingBenchmark | None:
    """Put a recorder in front of pytest-benchmark's fixture of a budgeted test (see the gate)."""
    funcargs = getattr(item, "funcargs", None)
    if not funcargs or "benchmark" not in funcargs or latency_spec_key not in item.stash:
        return None
    from pytest_prodguard.latency.gate import RecordingBenchmark

    watcher = RecordingBenchmark(funcargs["benchmark"])
    funcargs["benchmark"] = watcher
    item.stash[benchmark_key] = watcher
    return watcher


def _nothing_measured(item: pytest.Item) -> GuardResult:
    from pytest_prodguard.results import GuardResult

    return GuardResult(
        "usage",
        "fail",
        f"{item.nodeid}: @pytest.mark.latency_budget: nothing was measured; call "
        "latency(fn, *args) in the test (or use pytest-benchmark's benchmark(fn))",
    )


def _warn(item: pytest.Item, result: GuardResult) -> bool:
    """Warn at the test's definition; False when a filter made the warning an error
    (``-W error``): then the test fails with the warning as its headline."""
    path, line, _ = item.location
    try:
        warnings.warn_explicit(
            LatencyWarning(f"{item.nodeid}: {result.headline}"),
            LatencyWarning,
            filename=str(item.config.rootpath / path),
            lineno=(line or 0) + 1,
        )
    except LatencyWarning:
        return False
    return True


def register(config: pytest.Config, settings: Settings) -> None:
    """The latency concern runs in every process (workers measure)."""
    config.addinivalue_line("markers", MARKER)
    register_plugin(config, LatencyPlugin(config, settings), "prodguard-latency")
