"""The latency concern's per-test part: each test's gate, judged when its call ends.

Registered from :mod:`.latency` once a collected test has a budget or asks for the
``latency`` fixture. The test's :class:`~pytest_prodguard.latency.gate.TestGate`
measures during the call; when the call ends its result is queued for the one
makereport (:mod:`pytest_prodguard.plugin.outcome`). A warn-tier or undecided verdict
is a :class:`~pytest_prodguard.LatencyWarning`, emitted during the call; under
``-W error`` the test fails with the warning as its headline.
"""

from __future__ import annotations

import warnings
from collections.abc import Generator
from dataclasses import replace
from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.errors import LatencyWarning
from pytest_prodguard.plugin.common import (
    add_result,
    body_end_key,
    gate_key,
    invocation_relative,
    latency_spec_key,
    profiler_key,
)

if TYPE_CHECKING:
    from pytest_prodguard.latency.gate import RecordingBenchmark, TestGate
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

benchmark_key: pytest.StashKey[RecordingBenchmark] = pytest.StashKey()
#: Set while :class:`LatencyTestHooks` wraps the test's call (item stash).
_wrapped_key = pytest.StashKey[bool]()


class LatencyTestHooks:
    """Judges each test's measured calls (registered once a test needs it)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

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
        item.stash[_wrapped_key] = True
        try:
            try:
                result = yield
            except BaseException:
                finish(item, self.settings, judged=False)
                raise
            finish(item, self.settings, judged=True)
        finally:
            del item.stash[_wrapped_key]
            if watcher is not None:  # pytest-benchmark checks the fixture's type afterwards
                item.funcargs["benchmark"] = watcher.fixture  # type: ignore[attr-defined]
        return result


def finish_unwrapped(item: pytest.Item, settings: Settings) -> None:
    """Judge at the end of the body a gate created inside a body the hooks do not wrap.

    ``request.getfixturevalue("latency")`` in the test body registers the hooks only
    after this call began; the outcome concern's body-end callbacks judge it instead.
    """
    ends = item.stash.get(body_end_key, None)
    if ends is not None and _wrapped_key not in item.stash:
        ends.append(lambda returned: finish(item, settings, judged=returned))


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
