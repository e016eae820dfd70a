"""Marker misuse that would otherwise be dropped silently, as a setup error of that test.

- A prodguard marker used more than once on one test (stacked decorators, or a
  class or module ``pytestmark`` plus the function's own): pytest hands plugins
  the closest one only, so the others would be ignored.
- ``incident_repro(runs=N)`` or ``repro_rate=`` on a ``unittest.TestCase`` method:
  unittest runs the method itself, so prodguard cannot repeat it.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.plugin.common import (
    closest_marker,
    marker_names,
    register_plugin,
    usage_error_key,
)

if TYPE_CHECKING:
    from pytest_prodguard.settings import Settings

#: Markers that configure one test and so may appear once on it.
SINGLE_USE_MARKERS = ("incident_repro", "latency_budget", "profile_on_failure", "query_budget")


class MarkerChecks:
    """Finds misused markers at collection; the outcome concern fails those tests at setup."""

    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Note each test's marker problem (it replaces a problem with one marker's values)."""
        for item in items:
            problem = repeated_marker(item) or unrepeatable_guard(item)
            if problem is not None:
                item.stash[usage_error_key] = problem


def repeated_marker(item: pytest.Item) -> str | None:
    """The problem if one of :data:`SINGLE_USE_MARKERS` is on ``item`` more than once."""
    for name in SINGLE_USE_MARKERS:
        if name not in marker_names(item):
            continue
        marks = list(item.iter_markers(name))
        if len(marks) > 1:
            shown = ", ".join(_spelled(mark) for mark in marks)
            return (
                f"@pytest.mark.{name} is used {len(marks)} times on this test ({shown}); "
                "accepted: one per test (the test, its class and its module together), "
                "so none is silently ignored: split the test or remove the extra marker"
            )
    return None


def unrepeatable_guard(item: pytest.Item) -> str | None:
    """The problem if an ``incident_repro`` asking for repeats is on a test prodguard cannot
    repeat: a unittest method, or an item that is not a Python test function."""
    marker = closest_marker(item, "incident_repro")
    if marker is None or (isinstance(item, pytest.Function) and not _is_unittest_method(item)):
        return None
    runs = marker.kwargs.get("runs")
    rate = marker.kwargs.get("repro_rate")
    if runs in (None, 1) and rate is None:
        return None
    field, value = ("runs", runs) if runs not in (None, 1) else ("repro_rate", rate)
    return (
        f"@pytest.mark.incident_repro: {field}={value!r}: a plain pytest test function "
        "(a unittest.TestCase method or a non-Python test item runs on its own, so prodguard "
        "cannot repeat it): "
        "write the guard as a pytest function or drop runs=/repro_rate="
    )


def _is_unittest_method(item: pytest.Item) -> bool:
    unittest = sys.modules.get("unittest")  # not imported: no TestCase can exist
    cls = getattr(item, "cls", None)
    return unittest is not None and isinstance(cls, type) and issubclass(cls, unittest.TestCase)


def _spelled(mark: pytest.Mark) -> str:
    arguments = [repr(arg) for arg in mark.args]
    arguments += [f"{key}={value!r}" for key, value in mark.kwargs.items()]
    return f"{mark.name}({', '.join(arguments)})"


def register(config: pytest.Config, settings: Settings) -> None:
    """Register the marker checks (a concern of ``pytest_prodguard.plugin.CONCERNS``)."""
    register_plugin(config, MarkerChecks(), "prodguard-marker-checks")
