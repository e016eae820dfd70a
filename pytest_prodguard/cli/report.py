"""``prodguard report``: show or convert a ``--prodguard-report`` JSON file."""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from pytest_prodguard.errors import ProdguardUsageError
from pytest_prodguard.files import atomic_write_text


def register(commands: Any) -> None:
    """Add ``prodguard report``."""
    report = commands.add_parser("report", help="show or convert a --prodguard-report JSON file")
    report.add_argument("path", type=Path)
    report.add_argument("--html", type=Path, help="write an HTML page instead of printing")
    report.set_defaults(handler=_report)


def _report(args: argparse.Namespace) -> int:
    from pytest_prodguard.report import render_html

    try:
        report = json.loads(args.path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:  # ValueError: not JSON, or not UTF-8 text
        raise ProdguardUsageError(
            "path", str(args.path), f"a prodguard JSON report ({exc})"
        ) from None
    _check_shape(report, args.path, html=args.html is not None)
    if args.html:
        atomic_write_text(args.html, render_html(report))
        print(f"wrote {args.html}")
        return 0
    print(f"outcomes: {report.get('outcomes')}  duration: {report.get('duration')} s")
    incidents = report.get("incidents") or {}
    for guard in incidents.get("guards", []):
        print(f"  {guard['outcome']:<12} {guard['incident']} {guard['title']}")
    for incident in incidents.get("unguarded_fixed", []):
        print(f"  {'no guard':<12} {incident['id']} {incident['title']}")
    for test in report.get("tests", []):
        kinds = sorted(k for k in test if k not in ("nodeid", "outcome", "duration"))
        if kinds:
            print(f"{test['outcome']:<8} {test['nodeid']}  [{', '.join(kinds)}]")
    return 0


def _check_shape(report: object, path: Path, *, html: bool) -> None:
    """A report as ``--prodguard-report`` writes it: the parts shown must have their keys.

    The HTML page also shows each guard's severity and test id.
    """
    accepted = (
        "a prodguard JSON report (an object whose tests have nodeid and outcome, and whose "
        "incidents list guards and unguarded_fixed)"
    )
    if not isinstance(report, dict):
        raise ProdguardUsageError("path", str(path), accepted)
    incidents = report.get("incidents") or {}
    if not isinstance(incidents, dict):
        raise ProdguardUsageError("path", str(path), accepted)
    extra = {"severity", "nodeid"} if html else set()
    parts = [
        (report.get("tests", []), {"nodeid", "outcome"}),
        (incidents.get("guards", []), {"outcome", "incident", "title", *extra}),
        (incidents.get("unguarded_fixed", []), {"id", "title", *(extra - {"nodeid"})}),
    ]
    for rows, keys in parts:
        if not isinstance(rows, list) or not all(
            isinstance(row, dict) and keys <= set(row) for row in rows
        ):
            raise ProdguardUsageError("path", str(path), accepted)
