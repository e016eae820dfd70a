"""The profiling concern: ``profile_on_failure`` marker and the profiler handed to the gate.

A marked test that fails is run again under a profiler (in its judge, while its
fixtures are still alive) and gets the hottest frames and a flamegraph. A test
that passes loses the profile an earlier failing run left behind.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import add_judge, register_plugin, reject

if TYPE_CHECKING:
    from pytest_prodguard.profiling.attach import FailureProfiler
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

PROFILE_SIGNATURE = "profile_on_failure(profiler='auto')"
MARKER = (
    f"{PROFILE_SIGNATURE}: when this test fails, re-run its body under a profiler "
    "('auto', 'py-spy', 'torch' or 'builtin') and attach the hottest frames and a flamegraph. "
    "An explicit --prodguard-profile-with (or ini prodguard_profile_with) wins over profiler=."
)

profiler_key = pytest.StashKey[str]()


def failure_profiler(
    settings: Settings, nodeid: str, marker_profiler: str | None = None
) -> FailureProfiler | None:
    """The profiler of test ``nodeid``; None when profiling is off."""
    if settings.profile == "off":
        return None
    from pytest_prodguard.profiling.attach import FailureProfiler

    return FailureProfiler(
        nodeid=nodeid,
        profiler=settings.profiler_for(marker_profiler),
        seconds=settings.profile_seconds,
        out_dir=settings.profile_dir,
        top=settings.profile_top,
    )


class ProfilingPlugin:
    """Evaluates ``profile_on_failure`` markers and profiles the marked tests that fail."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate every ``profile_on_failure`` marker once."""
        for item in items:
            marker = item.get_closest_marker("profile_on_failure")
            if marker is None:
                continue
            try:
                item.stash[profiler_key] = _parse(marker)
            except ProdguardUsageError as exc:
                reject(item, "profile_on_failure", exc)

    def judge(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> GuardResult | None:
        """Profile a marked test that failed; forget the old profile of one that passed."""
        if report.when != "call":
            return None
        from pytest_prodguard.plugin.latency import gate_key, spec_key

        marked = profiler_key in item.stash
        if not (marked or spec_key in item.stash or gate_key in item.stash):
            return None  # the common case: a test prodguard has nothing to do with
        profiler = failure_profiler(self.settings, item.nodeid, item.stash.get(profiler_key, None))
        if profiler is None:
            return None
        if report.passed:
            profiler.discard()
            return None
        if report.failed and marked and getattr(report, "prodguard_latency", None) != "fail":
            return profiler.profile(_test_body(item))
        return None


def _parse(marker: pytest.Mark) -> str:
    from pytest_prodguard.profiling import check_profile_options

    unknown = sorted(set(marker.kwargs) - {"profiler"})
    if unknown or len(marker.args) > 1:
        raise ProdguardUsageError(
            unknown[0] if unknown else "args",
            marker.kwargs[unknown[0]] if unknown else marker.args,
            f"only {PROFILE_SIGNATURE}",
        )
    profiler = marker.args[0] if marker.args else marker.kwargs.get("profiler", "auto")
    check_profile_options(profiler=profiler, source="marker")
    return str(profiler)


def _test_body(item: pytest.Item) -> Any:
    """A thunk that runs the test function again with the same fixture values.

    Calling the function directly (rather than ``item.runtest``), through a partial
    with no Python frame of its own, keeps pytest's and pluggy's frames out of the profile.
    """
    import functools
    import inspect

    function = getattr(item, "obj", None)
    funcargs = getattr(item, "funcargs", {})
    if function is None:
        return item.runtest
    names = inspect.signature(function).parameters
    arguments = {name: funcargs[name] for name in names if name in funcargs}
    return functools.partial(function, **arguments)


def register(config: pytest.Config, settings: Settings) -> None:
    """The profiling concern runs in every process (workers run the tests)."""
    config.addinivalue_line("markers", MARKER)
    plugin = ProfilingPlugin(settings)
    register_plugin(config, plugin, "prodguard-profiling")
    add_judge(config, plugin.judge)
