"""The latency concern: ``latency_budget`` marker and ``latency`` fixture.

The marker is evaluated once at collection into a frozen ``LatencySpec`` under a
StashKey. The per-test part (:mod:`.latency_calls`: each test's gate, judged when
its call ends) is registered only once a collected test has a budget or asks for
the ``latency`` fixture.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    closest_marker,
    latency_spec_key,
    need,
    on_demand,
    register_plugin,
    reject,
    requested_fixtures,
    xdist_active,
)
from pytest_prodguard.plugin.latency_calls import LatencyTestHooks, finish_unwrapped, gate_for

if TYPE_CHECKING:
    from pytest_prodguard.latency import LatencySpec
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

TEST_HOOKS = "prodguard-latency-tests"


class LatencyPlugin:
    """Evaluates budget markers and provides the ``latency`` fixture."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate every ``latency_budget`` marker once (a bad one errors its test at setup)."""
        group = xdist_active(self.config)
        for item in items:
            marker = closest_marker(item, "latency_budget")
            if marker is None:
                if "latency" in getattr(item, "fixturenames", ()):
                    need(self.config, TEST_HOOKS)
                continue
            need(self.config, TEST_HOOKS)
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

        need(self.config, TEST_HOOKS)  # asked for with request.getfixturevalue("latency")
        finish_unwrapped(request.node, self.settings)
        nodeid = request.node.nodeid

        def fail(message: str) -> NoReturn:
            __tracebackhide__ = True
            pytest.fail(f"{nodeid}: {message}", pytrace=False)

        return LatencyMeter(gate_for(request.node, self.settings), fail)


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


def register(config: pytest.Config, settings: Settings) -> None:
    """The latency concern runs in every process (workers measure)."""
    config.addinivalue_line("markers", MARKER)
    register_plugin(config, LatencyPlugin(config, settings), "prodguard-latency")
    on_demand(
        config, TEST_HOOKS, lambda: register_plugin(config, LatencyTestHooks(settings), TEST_HOOKS)
    )
