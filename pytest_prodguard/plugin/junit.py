"""JUnit XML: prodguard's results out of an xunit2 file (controller, ``--junitxml`` only).

pytest's junitxml writes a test's ``user_properties`` as ``<properties>`` inside its
``<testcase>``, which pytest's xunit2 schema (the default family) does not allow; pytest
documents per-test properties as xunit1 only. So under any family but xunit1 this
concern hides prodguard's pairs from junitxml, and from nothing else: the report
concern, the incident ledger, the query summary and other plugins still read them.

junitxml reads a test's properties in one hook call only: the ``pytest_runtest_logreport``
of its teardown report, from that report and, when a failed call is followed by a
failed teardown, from the call report. The pairs are hidden from exactly those reports
for exactly that call, innermost of the hook's wrappers (after the report concern's).
"""

from __future__ import annotations

from collections.abc import Generator
from typing import TYPE_CHECKING

import pytest

from pytest_prodguard.plugin.common import is_prodguard_pair, is_worker, register_plugin

if TYPE_CHECKING:
    from pytest_prodguard.settings import Settings

#: A test run's reports as junitxml pairs them (pytest-xdist adds the worker and index).
_ReportKey = tuple[str, object, object]


class JUnitPlugin:
    """Hides prodguard's pairs from junitxml; see the module docstring."""

    def __init__(self) -> None:
        self.failed_calls: dict[_ReportKey, pytest.TestReport] = {}

    @pytest.hookimpl(wrapper=True, trylast=True)
    def pytest_runtest_logreport(self, report: pytest.TestReport) -> Generator[None, None, None]:
        """Around the teardown report's call, the reports junitxml reads lack prodguard's pairs."""
        if report.when == "call" and report.failed:
            self.failed_calls[_key(report)] = report
        if report.when != "teardown":
            return (yield)
        read = [report]
        call = self.failed_calls.pop(_key(report), None)
        if call is not None:
            read.append(call)
        kept = [(each, each.user_properties) for each in read]
        for each in read:
            each.user_properties = [p for p in each.user_properties if not is_prodguard_pair(p)]
        try:
            return (yield)
        finally:
            for each, pairs in kept:
                each.user_properties = pairs


def _key(report: pytest.TestReport) -> _ReportKey:
    return (report.nodeid, getattr(report, "worker_id", None), getattr(report, "item_index", None))


def register(config: pytest.Config, settings: Settings) -> None:
    """Only where junitxml writes the file (the controller) and only for a non-xunit1 family."""
    if is_worker(config) or not config.getoption("xmlpath", None):
        return
    if config.getini("junit_family") in ("xunit1", "legacy"):
        return
    register_plugin(config, JUnitPlugin(), "prodguard-junit")
