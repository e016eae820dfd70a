"""What every concern of the plugin shares: stash keys, registration, small helpers."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.settings import Settings

if TYPE_CHECKING:
    from pytest_prodguard.latency import LatencySpec
    from pytest_prodguard.latency.gate import TestGate
    from pytest_prodguard.results import GuardResult

#: The run's validated settings (config stash).
settings_key = pytest.StashKey[Settings]()
#: A bad marker of this test, reported as a setup error (item stash).
usage_error_key = pytest.StashKey[str]()
#: Results a concern computed while the test ran, applied to the call report (item stash).
results_key = pytest.StashKey[list["GuardResult"]]()
#: A test's evaluated ``latency_budget`` marker, latency gate, ``profile_on_failure``
#: profiler (item stash; shared by the latency and profiling concerns).
latency_spec_key: pytest.StashKey[LatencySpec] = pytest.StashKey()
gate_key: pytest.StashKey[TestGate] = pytest.StashKey()
profiler_key = pytest.StashKey[str]()

#: Callbacks run when the test body ends, with whether it returned (item stash; present
#: only while the body runs, see the outcome concern's call wrapper).
body_end_key = pytest.StashKey[list[Callable[[bool], None]]]()

#: A judge looks at a phase report (after the results before it were applied) and says
#: what its guard makes of it; the outcome concern applies what it returns.
Judge = Callable[[pytest.Item, pytest.CallInfo[None], pytest.TestReport], "GuardResult | None"]
judges_key = pytest.StashKey[list[Judge]]()
_registered_key = pytest.StashKey[list[str]]()
#: The markers the concerns read (the only names :func:`marker_names` keeps).
MARKERS = frozenset(
    {"incident_repro", "latency_budget", "log_contract", "profile_on_failure", "query_budget"}
)
_marker_names_key = pytest.StashKey[frozenset[str]]()
_on_demand_key = pytest.StashKey[dict[str, Callable[[], None]]]()
#: The on-demand part every other one needs: the outcome concern's reports (it applies results).
OUTCOME_REPORTS = "prodguard-outcome-reports"


def register_plugin(config: pytest.Config, plugin: object, name: str) -> None:
    """Register ``plugin`` under ``name``; it is unregistered in ``pytest_unconfigure``."""
    config.pluginmanager.register(plugin, name)
    config.stash.setdefault(_registered_key, []).append(name)


def unregister_plugins(config: pytest.Config) -> None:
    """Unregister every plugin object :func:`register_plugin` registered, newest first."""
    names: list[str] = config.stash.get(_registered_key, [])
    for name in reversed(names):
        plugin = config.pluginmanager.get_plugin(name)
        if plugin is not None:
            config.pluginmanager.unregister(plugin, name)
    config.stash[_registered_key] = []


def marker_names(item: pytest.Item) -> frozenset[str]:
    """The prodguard :data:`MARKERS` on ``item``, its class or module, found in one walk.

    Remembered per test: at collection every concern looks for its marker on every
    test, and one walk up the node chain is cheaper than one per concern.
    """
    names = item.stash.get(_marker_names_key, None)
    if names is None:
        names = frozenset(mark.name for mark in item.iter_markers() if mark.name in MARKERS)
        item.stash[_marker_names_key] = names
    return names


def closest_marker(item: pytest.Item, name: str) -> pytest.Mark | None:
    """``item.get_closest_marker(name)`` for one of :data:`MARKERS`, quick when it is absent."""
    return item.get_closest_marker(name) if name in marker_names(item) else None


def on_demand(config: pytest.Config, name: str, activate: Callable[[], None]) -> None:
    """Keep ``activate`` (it registers plugin ``name``'s per-test hooks) until :func:`need`.

    A concern's hooks that run for every test (setup, call, makereport, logreport) cost
    every test of every suite a pluggy dispatch, so they are registered only once a
    collected test needs them (a marker, a fixture asked for by name) or a fixture is
    asked for dynamically.
    """
    config.stash.setdefault(_on_demand_key, {})[name] = activate


def need(config: pytest.Config, name: str) -> None:
    """Register the on-demand hooks ``name`` (once), and the outcome reports that apply them."""
    pending = config.stash.get(_on_demand_key, {})
    activate = pending.pop(name, None)
    if activate is not None:
        activate()
    if name != OUTCOME_REPORTS:
        need(config, OUTCOME_REPORTS)


def need_all(config: pytest.Config) -> None:
    """Register every on-demand part (pytest-xdist's controller never sees the collection)."""
    pending: dict[str, Callable[[], None]] = config.stash.get(_on_demand_key, {})
    for name in list(pending):
        need(config, name)


def add_judge(config: pytest.Config, judge: Judge) -> None:
    """Have the outcome concern ask ``judge`` about every phase report, in registration order."""
    config.stash.setdefault(judges_key, []).append(judge)


def add_result(item: pytest.Item, result: GuardResult) -> None:
    """Queue a result computed during the call for the call report."""
    item.stash.setdefault(results_key, []).append(result)


def reject(item: pytest.Item, marker: str, error: ProdguardUsageError) -> None:
    """Remember a bad ``marker`` argument: the test errors at setup, the others run."""
    item.stash[usage_error_key] = f"@pytest.mark.{marker}: {error}"


def is_prodguard_pair(pair: tuple[object, object]) -> bool:
    """True for a ``("prodguard.<kind>", value)`` pair of ``user_properties``."""
    name = pair[0]
    return isinstance(name, str) and name.startswith("prodguard.")


def is_worker(config: pytest.Config) -> bool:
    """True in a pytest-xdist worker (only the controller writes files and summaries)."""
    return hasattr(config, "workerinput")


def xdist_active(config: pytest.Config) -> bool:
    """True when pytest-xdist distributes this run over workers."""
    if not config.pluginmanager.hasplugin("xdist"):
        return False
    return bool(getattr(config.option, "numprocesses", None)) or is_worker(config)


def invocation_relative(config: pytest.Config, nodeid: str) -> str:
    """The node id as typed from the folder pytest was started in (for reproduce lines)."""
    path, sep, rest = nodeid.partition("::")
    try:
        relative = os.path.relpath(config.rootpath / path, config.invocation_params.dir)
    except ValueError:  # another drive on Windows
        return nodeid
    return relative.replace(os.sep, "/") + sep + rest


def requested_fixtures(item: pytest.Item) -> list[str]:
    """The fixtures the test function asks for by name (autouse ones of other plugins left out)."""
    import inspect

    function = getattr(item, "obj", None)
    if function is None:
        return []
    try:
        return sorted(inspect.signature(function).parameters)
    except (TypeError, ValueError):
        return []
