"""Turn the collected run into the JSON report (see ``schema.json``), or an HTML page."""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.report.collect import RunCollector
from pytest_prodguard.report.html import render_html
from pytest_prodguard.report.schema import SCHEMA_VERSION


def build_report(
    collector: RunCollector,
    *,
    sections: Mapping[str, Any],
    started: float,
    finished: float,
    exit_status: int,
    environment: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The whole run as one JSON-serialisable document.

    ``sections`` holds run-level views (``"incidents"`` now; later kinds add theirs).
    ``environment`` defaults to this machine's (:func:`run_environment`).
    """
    from pytest_prodguard import __version__
    from pytest_prodguard.report.environment import run_environment

    tests = [test.to_dict() for test in collector.tests.values()]
    return {
        "schema_version": SCHEMA_VERSION,
        "tool": {"name": "pytest-prodguard", "version": __version__},
        "environment": dict(environment) if environment is not None else run_environment(),
        "started": started,
        "duration": round(finished - started, 3),
        "exit_status": exit_status,
        "outcomes": count_outcomes(tests),
        **dict(sections),
        "tests": tests,
    }


def count_outcomes(tests: list[dict[str, Any]]) -> dict[str, int]:
    """How many tests ended in each outcome."""
    outcomes: dict[str, int] = {}
    for test in tests:
        outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
    return outcomes


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write the report atomically, as JSON or HTML by the file's suffix."""
    if path.suffix == ".html":
        atomic_write_text(path, render_html(report))
    else:
        atomic_write_text(path, report_json(report))


def report_json(report: Mapping[str, Any]) -> str:
    """The report as JSON text (what ``.json`` report files hold)."""
    return json.dumps(report, indent=1, default=str) + "\n"
