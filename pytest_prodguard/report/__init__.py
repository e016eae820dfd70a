"""Collected results -> terminal summary, JSON and HTML reports, JUnit properties."""

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
