"""Collected results -> terminal summary lines, JSON and HTML reports.

Plain Python: the plugin's report concern feeds :class:`RunCollector` from the
test reports' ``prodguard.*`` properties. JUnit XML is pytest's own junitxml;
it shows those properties per test case only under ``junit_family=xunit1``.
"""

from __future__ import annotations

from pytest_prodguard.report.collect import (
    PREFIX,
    PhaseText,
    RunCollector,
    TestRecord,
    decode_properties,
    property_pair,
)
from pytest_prodguard.report.environment import run_environment
from pytest_prodguard.report.html import render_html
from pytest_prodguard.report.render import build_report, report_json, write_report
from pytest_prodguard.report.schema import SCHEMA_VERSION, check_report_shape, report_schema
from pytest_prodguard.report.terminal import latency_lines

__all__ = [
    "PREFIX",
    "SCHEMA_VERSION",
    "PhaseText",
    "RunCollector",
    "TestRecord",
    "build_report",
    "check_report_shape",
    "decode_properties",
    "latency_lines",
    "property_pair",
    "render_html",
    "report_json",
    "report_schema",
    "run_environment",
    "write_report",
]
