"""The profiling concern: ``profile_on_failure`` marker and the profiler handed to the gate.

A marked test that fails is run again under a profiler (in its judge, while its
fixtures are still alive) and gets the hottest frames and a flamegraph. Profiles
go to one folder per pytest run (workers use the controller's run id), so a later
run never deletes the profiles an earlier run's reports point at.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.plugin.common import (
    add_judge,
    closest_marker,
    is_worker,
    need,
    on_demand,
    profiler_key,
    register_plugin,
    reject,
    xdist_active,
)

if TYPE_CHECKING:
    from pytest_prodguard.profiling.attach import FailureProfiler
    from pytest_prodguard.results import GuardResult
    from pytest_prodguard.settings import Settings

PROFILE_SIGNATURE = "profile_on_failure(profiler='auto')"
MARKER = (
    f"{PROFILE_SIGNATURE}: when this test fails, re-run its body under a profiler "
    "('auto', 'py-spy', 'torch' or 'builtin'; at most 1000 runs, and side effects repeat) "
    "and attach the hottest frames and a flamegraph. "
    "An explicit --prodguard-profile-with (or ini prodguard_profile_with) wins over profiler=."
)
#: The on-demand part: the judge that profiles failing marked tests.
JUDGE = "prodguard-profiling-judge"

_run_id_key = pytest.StashKey[str]()


def run_id(config: pytest.Config) -> str:
    """This pytest run's id (its profile folder): the controller's under pytest-xdist."""
    known = config.stash.get(_run_id_key, None)
    if known is None:
        worker = getattr(config, "workerinput", None) or {}
        if worker.get("prodguard_run"):
            known = str(worker["prodguard_run"])
        else:
            from pytest_prodguard.profiling.files import new_run_id

            known = new_run_id()
        config.stash[_run_id_key] = known
    return known


def failure_profiler(
    config: pytest.Config, settings: Settings, nodeid: str, marker_profiler: str | None = None
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
        run_id=run_id(config),
        keep=settings.profile_keep,
        frames=settings.profile_frames,
    )


class ProfilingPlugin:
    """Evaluates ``profile_on_failure`` markers and profiles the marked tests that fail."""

    def __init__(self, config: pytest.Config, settings: Settings) -> None:
        self.config = config
        self.settings = settings

    @pytest.hookimpl(tryfirst=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Evaluate every ``profile_on_failure`` marker once."""
        for item in items:
            marker = closest_marker(item, "profile_on_failure")
            if marker is None:
                continue
            need(self.config, JUDGE)
            try:
                item.stash[profiler_key] = _parse(marker)
            except ProdguardUsageError as exc:
                reject(item, "profile_on_failure", exc)

    def judge(
        self, item: pytest.Item, call: pytest.CallInfo[None], report: pytest.TestReport
    ) -> GuardResult | None:
        """Profile a marked test that failed (a timeout while profiling stops it at once)."""
        if report.when != "call" or not report.failed or profiler_key not in item.stash:
            return None
        if getattr(report, "prodguard_latency", None) == "fail":
            return None  # the latency gate profiled the measured call already
        marked = item.stash[profiler_key]
        profiler = failure_profiler(self.config, self.settings, item.nodeid, marked)
        if profiler is None:
            return None
        from pytest_prodguard.limits import MAX_PROFILE_RERUNS

        try:
            return profiler.profile(_test_body(item), max_calls=MAX_PROFILE_RERUNS)
        except (KeyboardInterrupt, SystemExit):
            raise
        except BaseException as exc:  # pytest-timeout's Timeout: keep the test's own failure
            from pytest_prodguard.errors import describe_exception
            from pytest_prodguard.profiling import SECTION_TITLE
            from pytest_prodguard.results import GuardResult

            stopped = f"profiling stopped by {describe_exception(exc)}"
            return GuardResult("profile", "pass", sections=((SECTION_TITLE, stopped),))


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
    plugin = ProfilingPlugin(config, settings)
    register_plugin(config, plugin, "prodguard-profiling")
    on_demand(config, JUDGE, lambda: add_judge(config, plugin.judge))
    if xdist_active(config) and not is_worker(config):
        register_plugin(config, RunIdGlue(config), "prodguard-profiling-xdist")


class RunIdGlue:
    """Hands the run id to pytest-xdist workers (registered only when xdist distributes)."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config

    def pytest_configure_node(self, node: Any) -> None:
        """Workers write their profiles into the controller's run folder."""
        node.workerinput["prodguard_run"] = run_id(self.config)
