"""Collected results -> terminal summary lines, JSON and HTML reports.

Plain Python: the plugin's report concern feeds :class:`RunCollector` from the
test reports' ``prodguard.*`` properties. JUnit XML is pytest's own junitxml;
it shows those properties per test case only under ``junit_family=xunit1``.
"""

from __future__ import annotations

from pytest_prodguard.report.collect import (
    PREFIX,
    RunCollector,
    TestRecord,
    decode_properties,
    property_pair,
)
from pytest_prodguard.report.render import build_report, render_html, write_report
from pytest_prodguard.report.terminal import latency_lines

__all__ = [
    "PREFIX",
    "RunCollector",
    "TestRecord",
    "build_report",
    "decode_properties",
    "latency_lines",
    "property_pair",
    "render_html",
    "write_report",
]
