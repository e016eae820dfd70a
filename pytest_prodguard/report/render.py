"""Turn the collected run into the JSON report, or a self-contained HTML page."""

from __future__ import annotations

import html
import json
import platform
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pytest_prodguard.files import atomic_write_text
from pytest_prodguard.report.collect import RunCollector

REPORT_FORMAT = 1


def build_report(
    collector: RunCollector,
    *,
    sections: Mapping[str, Any],
    started: float,
    finished: float,
    exit_status: int,
) -> dict[str, Any]:
    """The whole run as one JSON-serialisable document.

    ``sections`` holds run-level views (``"incidents"`` now; later kinds add theirs).
    """
    from pytest_prodguard import __version__

    tests = [test.to_dict() for test in collector.tests.values()]
    outcomes: dict[str, int] = {}
    for test in tests:
        outcomes[test["outcome"]] = outcomes.get(test["outcome"], 0) + 1
    return {
        "format": REPORT_FORMAT,
        "tool": {"name": "pytest-prodguard", "version": __version__},
        "environment": {"python": sys.version.split()[0], "platform": platform.platform()},
        "started": started,
        "duration": round(finished - started, 3),
        "exit_status": exit_status,
        "outcomes": outcomes,
        **dict(sections),
        "tests": tests,
    }


def write_report(path: Path, report: Mapping[str, Any]) -> None:
    """Write the report atomically, as JSON or HTML by the file's suffix."""
    if path.suffix == ".html":
        atomic_write_text(path, render_html(report))
    else:
        atomic_write_text(path, json.dumps(report, indent=2, sort_keys=False, default=str) + "\n")


_STYLE = """
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;width:100%}td,th{border:1px solid #ccc;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f3f3}
.failed,.error,.regressed,.now-passes{color:#b00020;font-weight:bold}
.passed,.guarded{color:#1b5e20}.xfailed,.reproducing,.skipped{color:#8a6d00}
pre{white-space:pre-wrap;margin:0;font-size:12px}
"""


def render_html(report: Mapping[str, Any]) -> str:
    """A single HTML page: run summary, incidents, and each test's prodguard results."""
    esc = html.escape
    parts = [
        "<!DOCTYPE html><html><head><meta charset='utf-8'>",
        "<title>prodguard report</title>",
        f"<style>{_STYLE}</style></head><body>",
        "<h1>prodguard report</h1>",
        f"<p>{esc(json.dumps(report.get('outcomes', {})))} in {report.get('duration')} s, "
        f"exit status {report.get('exit_status')}</p>",
    ]
    incidents = report.get("incidents")
    if incidents:
        parts.append("<h2>Incidents</h2><table><tr><th>outcome</th><th>incident</th>")
        parts.append("<th>severity</th><th>title</th><th>test</th></tr>")
        for guard in incidents.get("guards", []):
            parts.append(
                f"<tr><td class='{esc(guard['outcome'])}'>{esc(guard['outcome'])}</td>"
                f"<td>{esc(guard['incident'])}</td><td>{esc(guard['severity'])}</td>"
                f"<td>{esc(guard['title'])}</td><td>{esc(guard['nodeid'])}</td></tr>"
            )
        for incident in incidents.get("unguarded_fixed", []):
            parts.append(
                f"<tr><td class='regressed'>no guard</td><td>{esc(incident['id'])}</td>"
                f"<td>{esc(incident['severity'])}</td><td>{esc(incident['title'])}</td><td></td></tr>"
            )
        parts.append("</table>")
    parts.append("<h2>Tests</h2><table><tr><th>test</th><th>outcome</th><th>results</th></tr>")
    for test in report.get("tests", []):
        extra = {k: v for k, v in test.items() if k not in ("nodeid", "outcome", "duration")}
        body = esc(json.dumps(extra, indent=1, default=str)) if extra else ""
        parts.append(
            f"<tr><td>{esc(test['nodeid'])}</td><td class='{esc(test['outcome'])}'>"
            f"{esc(test['outcome'])}</td><td><pre>{body}</pre></td></tr>"
        )
    parts.append("</table></body></html>\n")
    return "".join(parts)
